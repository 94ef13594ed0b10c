"""Training clips: generated songs (cut into random windows of random stem subsets) and real recordings (Debian's
CC0 `sonic-pi-samples`, paired with another recording as their "rest"), each at a random level."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lincae.audio import load
from lincae.data.songs import render_song
from lincae.rows import STEMS

TRAIN_SEED_BASE = 1000  # songs 1..999 are reserved for the bundled examples and evaluation
SONIC_PI_SAMPLES = Path("/usr/share/sonic-pi/samples")  # Debian package sonic-pi-samples (CC0)
RESERVED_RECORDINGS = (  # kept out of training for independent evaluation
    "loop_breakbeat", "bass_woodsy_c", "guit_em9", "ambi_piano", "ambi_choir",
    "loop_tabla", "loop_compus", "bass_voxy_c", "ambi_glass_hum", "guit_harmonics",
)


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


def recording_pool(folder: Path = SONIC_PI_SAMPLES, sample_rate: int = 44100) -> list[np.ndarray]:
    """The real recordings in `folder` (mono float32, sorted by name), minus `RESERVED_RECORDINGS`; empty when
    the package is not installed."""
    files = sorted(p for p in folder.glob("*.flac") if p.stem not in RESERVED_RECORDINGS) if folder.is_dir() else []
    return [load(p, sample_rate)[0] for p in files]


@dataclass
class Batch:
    """Clips the encoder sees (`x`) and, per clip, the clip of the same song window made of the other stems
    (`complement`): together they sum to the song's mix, the case the demo's rows test."""

    x: np.ndarray  # [B, T]
    complement: np.ndarray  # [B, T]


def _window(recording: np.ndarray, samples: int, rng: np.random.Generator) -> np.ndarray:
    """A random window of `samples`; a shorter recording lands at a random offset in silence."""
    out = np.zeros(samples, np.float32)
    if len(recording) >= samples:
        start = rng.integers(0, len(recording) - samples + 1)
        out[:] = recording[start:start + samples]
    else:
        start = rng.integers(0, samples - len(recording) + 1)
        out[start:start + len(recording)] = recording
    return out


def sample_batch(pool: np.ndarray, batch: int, samples: int, rng: np.random.Generator,
                 recordings: list[np.ndarray] | None = None, recording_share: float = 0.0,
                 level_db: tuple[float, float] = (0.0, 0.0)) -> Batch:
    """`batch` clips: a share `recording_share` from `recordings`, the rest from the song pool; each clip and its
    complement scaled together by a level drawn uniformly in `level_db`."""
    songs, stems, length = pool.shape
    x = np.empty((batch, samples), np.float32)
    comp = np.empty((batch, samples), np.float32)
    for b in range(batch):
        if recordings and rng.random() < recording_share:
            first, second = rng.choice(len(recordings), 2, replace=False)
            x[b] = _window(recordings[first], samples, rng)
            comp[b] = _window(recordings[second], samples, rng)
        else:
            song = rng.integers(songs)
            start = rng.integers(0, length - samples)
            window = np.asarray(pool[song, :, start:start + samples], dtype=np.float32)
            mask = np.zeros(stems, bool)
            while not mask.any() or mask.all() and rng.random() < 0.5:
                mask = rng.random(stems) < 0.5
            x[b] = window[mask].sum(0)
            comp[b] = window[~mask].sum(0)
        level = np.float32(10 ** (rng.uniform(*level_db) / 20))
        x[b] *= level
        comp[b] *= level
    return Batch(x, comp)
