"""Distances between two signals, including those that mean something for generative decoders.

A consistency decoder regenerates phase, so waveform SNR against the original is near 0 dB even for a good
reconstruction. Spectral distances (multi-resolution STFT, mel) and decode-vs-decode comparisons with a
shared noise seed are the meaningful ones (`lincae.table_metrics` uses them); waveform SNR / SI-SDR are here
for deterministic models.

All functions take mono float arrays (numpy, or anything `np.asarray` accepts) and return a float; the
reference comes first. Decibel measures are clamped by `EPS` so that silence gives a finite number.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache

import numpy as np

EPS = 1e-8
# auraloss MultiResolutionSTFTLoss defaults
MRSTFT_RESOLUTIONS: tuple[tuple[int, int, int], ...] = ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240))
# multi-scale mel distance: FFT sizes, hop = n_fft // 4, `n_mels` bands each
MEL_FFT_SIZES: tuple[int, ...] = (2048, 1024, 512, 256)


def _f64(x) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"expected a mono signal [T], got shape {a.shape}")
    return a


def _pair(ref, est) -> tuple[np.ndarray, np.ndarray]:
    r, e = _f64(ref), _f64(est)
    if r.shape != e.shape:
        raise ValueError(f"signals differ in length: {r.shape} vs {e.shape}")
    return r, e


def _db(num: float, den: float) -> float:
    return float(10.0 * np.log10((num + EPS) / (den + EPS)))


# --- waveform ---------------------------------------------------------------------------------------

def snr(ref, est) -> float:
    """10·log10(‖ref‖² / ‖ref − est‖²) in dB."""
    r, e = _pair(ref, est)
    return _db(np.sum(r**2), np.sum((r - e) ** 2))


def si_sdr(ref, est) -> float:
    """Scale-invariant SDR in dB (zero-mean signals, optimal scaling of the reference)."""
    r, e = _pair(ref, est)
    r, e = r - r.mean(), e - e.mean()
    alpha = np.dot(e, r) / (np.dot(r, r) + EPS)
    target = alpha * r
    return _db(np.sum(target**2), np.sum((e - target) ** 2))


# --- spectra ----------------------------------------------------------------------------------------

def stft_magnitude(x, n_fft: int, hop: int, win_length: int | None = None) -> np.ndarray:
    """|STFT| as [frames, n_fft // 2 + 1]: Hann window of `win_length` centred in `n_fft`, reflect padding
    of n_fft // 2 on both sides (torch.stft(center=True) conventions)."""
    a = _f64(x)
    win_length = win_length or n_fft
    window = np.zeros(n_fft)
    start = (n_fft - win_length) // 2
    window[start : start + win_length] = np.hanning(win_length + 1)[:-1]  # periodic Hann
    pad = n_fft // 2
    mode = "reflect" if len(a) > pad else "constant"
    a = np.pad(a, (pad, pad), mode=mode)
    n_frames = 1 + (len(a) - n_fft) // hop
    frames = np.lib.stride_tricks.as_strided(
        a, shape=(n_frames, n_fft), strides=(a.strides[0] * hop, a.strides[0]), writeable=False
    )
    return np.abs(np.fft.rfft(frames * window, axis=-1))


REFERENCE_SPECTRA_BYTES = 96 << 20
"""Most memory the spectra of references may take while `reference_spectra` is on (least recently used go)."""


class _ReferenceSpectra:
    """Magnitude spectra of reference signals by content and STFT parameters, while at least one
    `reference_spectra` block runs (in any thread); forgotten when the last one ends. A spectrum one thread is
    computing is waited for by the others (models measured side by side share their references)."""

    def __init__(self) -> None:
        self.users = 0
        self.spectra: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self.computing: dict[tuple, threading.Event] = {}
        self.lock = threading.Lock()

    def magnitude(self, a: np.ndarray, n_fft: int, hop: int, win_length: int | None) -> np.ndarray:
        if not self.users:
            return stft_magnitude(a, n_fft, hop, win_length)
        key = (hashlib.blake2b(a.tobytes(), digest_size=16).digest(), len(a), n_fft, hop, win_length)
        while True:
            with self.lock:
                hit = self.spectra.get(key)
                if hit is not None:
                    self.spectra.move_to_end(key)
                    return hit
                other = self.computing.get(key)
                if other is None:
                    self.computing[key] = threading.Event()
                    break
            other.wait()  # then it is remembered, unless the last block ended meanwhile: computed here then
        try:
            mag = stft_magnitude(a, n_fft, hop, win_length)
            mag.flags.writeable = False
            with self.lock:
                if self.users:
                    self.spectra[key] = mag
                    while sum(m.nbytes for m in self.spectra.values()) > REFERENCE_SPECTRA_BYTES:
                        self.spectra.popitem(last=False)
            return mag
        finally:
            with self.lock:
                self.computing.pop(key).set()


_references = _ReferenceSpectra()


@contextmanager
def reference_spectra() -> Iterator[None]:
    """While inside, a reference signal's spectra are computed once: the metrics below compare many signals
    (every model's decodes) with the same few references (a track's mix, vocals, stem sums)."""
    with _references.lock:
        _references.users += 1
    try:
        yield
    finally:
        with _references.lock:
            _references.users -= 1
            if not _references.users:
                _references.spectra.clear()


def _stft_distance(mag_ref: np.ndarray, mag_est: np.ndarray) -> float:
    """Spectral convergence + mean |log magnitude difference| (auraloss STFTLoss, weights 1 and 1)."""
    sc = np.linalg.norm(mag_ref - mag_est) / (np.linalg.norm(mag_ref) + EPS)
    log_mag = np.mean(np.abs(np.log(mag_ref + EPS) - np.log(mag_est + EPS)))
    return float(sc + log_mag)


def mrstft(ref, est, resolutions: Sequence[tuple[int, int, int]] = MRSTFT_RESOLUTIONS) -> float:
    """Multi-resolution STFT distance: mean over (n_fft, hop, win) of spectral convergence + log-mag L1."""
    r, e = _pair(ref, est)
    return float(
        np.mean([_stft_distance(_references.magnitude(r, n, h, w), stft_magnitude(e, n, h, w))
                 for n, h, w in resolutions])
    )


_MEL_LINEAR_HZ, _MEL_BREAK_HZ, _MEL_LOG_STEP = 200.0 / 3, 1000.0, np.log(6.4) / 27.0  # the Slaney mel scale


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Linear (200/3 Hz per mel) below 1 kHz, logarithmic above."""
    log_part = _MEL_BREAK_HZ / _MEL_LINEAR_HZ + np.log(np.maximum(f, _MEL_BREAK_HZ) / _MEL_BREAK_HZ) / _MEL_LOG_STEP
    return np.where(f < _MEL_BREAK_HZ, f / _MEL_LINEAR_HZ, log_part)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    break_mel = _MEL_BREAK_HZ / _MEL_LINEAR_HZ
    return np.where(m < break_mel, m * _MEL_LINEAR_HZ, _MEL_BREAK_HZ * np.exp(_MEL_LOG_STEP * (m - break_mel)))


@lru_cache(maxsize=32)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """Triangular, equal-area (Slaney) mel filters from 0 Hz to Nyquist as [n_mels, n_fft // 2 + 1], read-only:
    librosa's `filters.mel(norm="slaney")`, which the tests check it against, without the seconds that
    importing librosa costs."""
    fft_freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    edges = _mel_to_hz(np.linspace(0.0, _hz_to_mel(np.float64(sample_rate / 2)), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (fft_freqs - lower) / (centre - lower)
    falling = (upper - fft_freqs) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling)) * (2.0 / (upper - lower))
    weights.flags.writeable = False
    return weights


def mel_distance(
    ref, est, sample_rate: int, fft_sizes: Sequence[int] = MEL_FFT_SIZES, n_mels: int = 80
) -> float:
    """Multi-scale mel spectral distance: mean over FFT sizes of L1 between log10 mel magnitudes
    (clamped at 1e-5), plus L1 between mel magnitudes."""
    r, e = _pair(ref, est)
    total = []
    for n_fft in fft_sizes:
        fb = mel_filterbank(sample_rate, n_fft, min(n_mels, n_fft // 8))
        mr = _references.magnitude(r, n_fft, n_fft // 4, None) @ fb.T
        me = stft_magnitude(e, n_fft, n_fft // 4) @ fb.T
        log_l1 = np.mean(np.abs(np.log10(np.maximum(mr, 1e-5)) - np.log10(np.maximum(me, 1e-5))))
        total.append(log_l1 + np.mean(np.abs(mr - me)))
    return float(np.mean(total))


def spectral_snr(ref, est, n_fft: int = 2048) -> float:
    """SNR between STFT magnitudes (hop n_fft // 4): insensitive to phase, so fair to generative decoders."""
    r, e = _pair(ref, est)
    mr, me = _references.magnitude(r, n_fft, n_fft // 4, None), stft_magnitude(e, n_fft, n_fft // 4)
    return _db(np.sum(mr**2), np.sum((mr - me) ** 2))


def log_mel_db(ref, est, sample_rate: int, n_fft: int = 2048, n_mels: int = 128, range_db: float = 80.0) -> float:
    """Mean |difference| of log-mel magnitudes in dB (hop n_fft // 4). Both spectrograms are floored at
    `range_db` below the reference's loudest mel bin, so inaudibly quiet bins count as equal."""
    r, e = _pair(ref, est)
    fb = mel_filterbank(sample_rate, n_fft, n_mels)
    mr = _references.magnitude(r, n_fft, n_fft // 4, None) @ fb.T
    me = stft_magnitude(e, n_fft, n_fft // 4) @ fb.T
    floor = max(float(mr.max()), EPS) * 10 ** (-range_db / 20)
    return float(np.mean(np.abs(20 * np.log10(np.maximum(mr, floor)) - 20 * np.log10(np.maximum(me, floor)))))


def third_octave_edges(low: float = 44.2, high: float = 22050.0) -> np.ndarray:
    """Band edges a third of an octave apart from `low`; the last band ends at `high`."""
    count = int(np.ceil(3 * np.log2(high / low)))
    return np.minimum(low * 2.0 ** (np.arange(count + 1) / 3), high)


def third_octave_bins(n_fft: int, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(band edges [n + 1], the third-octave band of each STFT bin [n_fft // 2 + 1]: −1 below the first edge,
    n above the last)."""
    edges = third_octave_edges(high=sample_rate / 2)
    return edges, np.digitize(np.fft.rfftfreq(n_fft, 1 / sample_rate), edges) - 1


def band_snrs(ref, est, sample_rate: int, n_fft: int = 2048) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(band edges [n + 1], magnitude SNR per third-octave band in dB [n], band energy share [n])."""
    r, e = _pair(ref, est)
    mr, me = _references.magnitude(r, n_fft, n_fft // 4, None), stft_magnitude(e, n_fft, n_fft // 4)
    edges, band = third_octave_bins(n_fft, sample_rate)
    inside = (band >= 0) & (band < len(edges) - 1)
    per_bin = np.sum(mr**2, axis=0)[inside], np.sum((mr - me) ** 2, axis=0)[inside]
    signal, noise = (np.bincount(band[inside], weights=w, minlength=len(edges) - 1) for w in per_bin)
    snrs = 10 * np.log10((signal + EPS) / (noise + EPS))
    return edges, snrs, signal / max(float(np.sum(mr**2)), EPS)


def bandwidth(ref, est, sample_rate: int, threshold_db: float = 6.0, min_share: float = 1e-6) -> float:
    """The 6 dB band-SNR bandwidth in Hz: the upper edge of the last third-octave band before the first band
    (from low to high, among bands holding at least `min_share` of the reference's energy) whose magnitude SNR is
    below `threshold_db`; the top edge when none is."""
    edges, snrs, share = band_snrs(ref, est, sample_rate)
    for i, (value, part) in enumerate(zip(snrs, share)):
        if part >= min_share and value < threshold_db:
            return float(edges[i])
    return float(edges[-1])
