"""Training clips from generated songs: a pool of rendered songs, cut into random windows of random stem subsets."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lincae.data.songs import render_song
from lincae.rows import STEMS

TRAIN_SEED_BASE = 1000  # songs 1..999 are reserved for the bundled examples and evaluation


def song_pool(count: int, duration: float, cache: Path) -> np.ndarray:
    """float32 [count, 4 stems, samples] of training songs `TRAIN_SEED_BASE + i`, cached in one .npy file."""
    path = cache / f"pool_{count}x{duration:g}s.npy"
    if path.exists():
        return np.load(path, mmap_mode="r")
    pool = np.stack([np.stack([render_song(TRAIN_SEED_BASE + i, duration).stems[s] for s in STEMS])
                     for i in range(count)])
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, pool)
    os.replace(tmp, path)
    return pool


@dataclass
class Batch:
    """Clips the encoder sees (`x`) and, per clip, the clip of the same song window made of the other stems
    (`complement`): together they sum to the song's mix, the case the demo's rows test."""

    x: np.ndarray  # [B, T]
    complement: np.ndarray  # [B, T]


def sample_batch(pool: np.ndarray, batch: int, samples: int, rng: np.random.Generator) -> Batch:
    songs, stems, length = pool.shape
    x = np.empty((batch, samples), np.float32)
    comp = np.empty((batch, samples), np.float32)
    for b in range(batch):
        song = rng.integers(songs)
        start = rng.integers(0, length - samples)
        window = np.asarray(pool[song, :, start:start + samples], dtype=np.float32)
        mask = np.zeros(stems, bool)
        while not mask.any() or mask.all() and rng.random() < 0.5:
            mask = rng.random(stems) < 0.5
        x[b] = window[mask].sum(0)
        comp[b] = window[~mask].sum(0)
    return Batch(x, comp)
