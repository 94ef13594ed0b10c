"""What the player needs for one cell of the table: a WAV file and a waveform overview.

Model outputs can be louder than full scale (latent scaling ×2, a non-linear baseline). A 16-bit WAV
cannot hold that, and clipping would hide exactly what the demo shows, so a loud signal is written scaled
down to a peak of 1 and the cell carries `gain`, the factor that restores its true level (the player applies
it before its limiter). Peaks are of the true-level signal.

A WAV already on disk is reused only if it is complete (libsndfile reads its header and counts its frames; a
truncated or damaged file is rewritten), and reusing it marks it used for the cache's disk budget. A cell then
remembers the file's size: a later check that the file is still whole is one `stat`.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lincae.audio import peak, peaks, wav_is_complete, write_wav
from lincae.engine.disk_budget import touch

N_PEAKS = 800


@dataclass(frozen=True)
class Cell:
    path: Path
    peaks: list[float]  # [min0, max0, min1, max1, ...] of the true-level signal
    gain: float  # multiply the file's samples by this to get the true level (1.0 unless peak > 1)
    peak: float  # max |x| of the true-level signal
    size: int  # bytes of the WAV when it was written or found whole (-1: it was gone by then)

    def is_complete(self) -> bool:
        """Whether the WAV is still on disk at its size (the disk budget may have deleted it; a crash or a full
        disk emptied or cut it): one `stat`, cheap enough for every request that serves it."""
        try:
            return os.stat(self.path).st_size == self.size
        except OSError:
            return False

    def to_dict(self, url: str | None = None) -> dict:
        d = {"path": str(self.path), "peaks": self.peaks, "gain": self.gain, "peak": round(self.peak, 4)}
        if url is not None:
            d["url"] = url
        return d


def audio_hash(x: np.ndarray, sample_rate: int) -> str:
    h = hashlib.sha256(str(sample_rate).encode())
    h.update(np.ascontiguousarray(x, dtype=np.float32).tobytes())
    return h.hexdigest()[:24]


def wav_path(root: str | Path, x: np.ndarray, sample_rate: int) -> Path:
    """Content-addressed location of the cell's WAV under `root`."""
    key = audio_hash(x, sample_rate)
    return Path(root) / "wav" / key[:2] / f"{key}.wav"


def make_cell(x: np.ndarray, sample_rate: int, root: str | Path, n_peaks: int = N_PEAKS) -> Cell:
    """Write `x` (mono float) as a 16-bit WAV under `root` (once per content) and summarise it."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"expected mono audio [T], got shape {x.shape}")
    top = peak(x)
    gain = top if top > 1.0 else 1.0
    path = wav_path(root, x, sample_rate)
    if wav_is_complete(path, len(x)):
        touch(path)
    else:
        write_wav(path, x / gain, sample_rate)
    return Cell(path=path, peaks=peaks(x, n_peaks), gain=float(gain), peak=top, size=_size(path))


def _size(path: Path) -> int:
    """The file's size; -1 if the disk budget deleted it meanwhile (the cell then reads as incomplete and its
    table is rebuilt, as for any missing file)."""
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return -1
