"""Reading, converting and summarising audio: mono float32 arrays in, mono float32 arrays out."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr


def ffmpeg_exe() -> str | None:
    """The ffmpeg binary of the `imageio-ffmpeg` package, or None when it is not installed."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return None


def to_mono(x: np.ndarray) -> np.ndarray:
    """Average the channels of `[T]`, `[T, C]` (soundfile layout) or `[C, T]` (torch layout, C < T) audio."""
    a = np.asarray(x, dtype=np.float32)
    if a.ndim == 1:
        return a
    if a.ndim != 2:
        raise ValueError(f"expected [T], [T, C] or [C, T] audio, got shape {a.shape}")
    channel_axis = 0 if a.shape[0] < a.shape[1] else 1
    return a.mean(axis=channel_axis, dtype=np.float32)


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Band-limited resampling (soxr, high quality) of mono audio; a no-op when the rates agree."""
    a = np.asarray(x, dtype=np.float32)
    if sr_in == sr_out:
        return a
    return soxr.resample(a, sr_in, sr_out, quality="HQ").astype(np.float32, copy=False)


def fit_length(x: np.ndarray, length: int) -> np.ndarray:
    """Trim or zero-pad the last axis to `length` samples."""
    n = x.shape[-1]
    if n >= length:
        return x[..., :length]
    pad = [(0, 0)] * (x.ndim - 1) + [(0, length - n)]
    return np.pad(x, pad)


def load(path: str | Path, sample_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Read any file soundfile knows as mono float32, resampled to `sample_rate` when given."""
    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    mono = to_mono(data)
    if sample_rate is not None and sample_rate != sr:
        return resample(mono, sr, sample_rate), sample_rate
    return mono, sr


def write_wav(path: str | Path, x: np.ndarray, sample_rate: int) -> Path:
    """Write 16-bit PCM WAV atomically (temp file + rename). Samples beyond ±1 are clipped by the format
    itself, so callers that care should check `peak` first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.tmp.", suffix=".wav")
    try:
        with os.fdopen(fd, "wb") as f:
            sf.write(f, np.asarray(x, dtype=np.float32), sample_rate, subtype="PCM_16", format="WAV")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def wav_is_complete(path: str | Path, frames: int) -> bool:
    """Whether `path` is a readable audio file holding exactly `frames` frames (a truncated or damaged file is
    not: libsndfile counts the frames actually present)."""
    try:
        return sf.info(str(path)).frames == frames
    except (OSError, RuntimeError):  # missing, or not audio (LibsndfileError is a RuntimeError)
        return False


def peak(x: np.ndarray) -> float:
    a = np.asarray(x)
    return float(np.max(np.abs(a))) if a.size else 0.0


def peaks(x: np.ndarray, n: int = 800, decimals: int = 4) -> list[float]:
    """Waveform overview: `n` (min, max) pairs, flattened to [min0, max0, min1, max1, ...] and rounded.

    Bins split the signal as evenly as possible; a signal shorter than `n` gives one pair per sample.
    """
    a = np.asarray(x, dtype=np.float32)
    if a.ndim != 1:
        raise ValueError(f"expected mono audio [T], got shape {a.shape}")
    if a.size == 0:
        return []
    bins = min(n, a.size)
    edges = np.linspace(0, a.size, bins + 1).astype(np.int64)
    mins = np.minimum.reduceat(a, edges[:-1])
    maxs = np.maximum.reduceat(a, edges[:-1])
    pairs = np.stack([mins, maxs], axis=1).reshape(-1)
    return [round(float(v), decimals) for v in pairs]
