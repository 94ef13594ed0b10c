"""The audio of a trial: the reference, each model's cell of the row, and the low-pass anchors.

The reference of a row is what a perfect linear autoencoder would play — the row's operation applied to the
waveforms (`Row.original`): the original mix for Autoencoded Mix *and* Latent Addition,
the original vocals for Separated Vocals, a·vocals for Latent Scaling ×a. One reference per trial is what a
MUSHRA trial needs; Dec(Enc(mix)) would differ per model, and would reward a model for agreeing with its own
reconstruction errors (the Analysis tab measures that decode-against-decode view).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lincae.data.track import Track
from lincae.engine import Engine
from lincae.listening.design import ANCHOR_CUTOFFS, HIDDEN_REFERENCE
from lincae.registry import ModelUnavailable
from lincae.rows import get_row

log = logging.getLogger(__name__)

ANCHOR_ORDER = 8
"""Butterworth order, applied forwards and backwards (zero phase, 16th-order slope, −6 dB at the cut-off)."""


def lowpass(x: np.ndarray, sample_rate: int, cutoff: float) -> np.ndarray:
    """`x` low-pass filtered at `cutoff` Hz without phase shift, the way BS.1534 builds its anchors."""
    if not 0 < cutoff < sample_rate / 2:
        raise ValueError(f"cut-off {cutoff} Hz is outside (0, {sample_rate / 2}) Hz")
    from scipy import signal  # here, not at import: scipy.signal takes a second to import, the page's start waits

    sos = signal.butter(ANCHOR_ORDER, cutoff, btype="low", fs=sample_rate, output="sos")
    x = np.asarray(x, dtype=np.float64)
    if len(x) <= 3 * (2 * len(sos) + 1):  # too short for filtfilt's padding
        return signal.sosfilt(sos, x).astype(np.float32)
    return signal.sosfiltfilt(sos, x).astype(np.float32)


@dataclass(frozen=True)
class TrialAudio:
    """`reference`: the open reference; `conditions`: audio per condition; `failures`: model → why it is missing."""

    reference: np.ndarray
    conditions: dict[str, np.ndarray]
    failures: dict[str, str] = field(default_factory=dict)


def trial_audio(engine: Engine, track: Track, row: str, models: Sequence[str], seed: int) -> TrialAudio:
    """Every condition of the trial (track, row). Model cells come from the engine's cached tables."""
    reference = np.asarray(get_row(row).original_audio(track), dtype=np.float32)
    conditions: dict[str, np.ndarray] = {HIDDEN_REFERENCE: reference}
    for name, cutoff in ANCHOR_CUTOFFS.items():
        conditions[name] = lowpass(reference, track.sample_rate, cutoff)
    failures: dict[str, str] = {}
    for model in models:
        try:
            conditions[model] = engine.track_table(track, model, seed=seed)[row]
        except ModelUnavailable as err:
            failures[model] = err.reason
        except Exception as err:  # one broken model must not take the test down
            log.exception("%s failed on %s", model, track.id)
            failures[model] = f"failed on this track ({type(err).__name__}: {err})"
    return TrialAudio(reference, conditions, failures)
