"""The numbers that describe one model on one track, computed from its table: declared once, reported by the
API, the Analysis tab and the model cards alike.

Reconstruction is measured against the original audio with spectral distances, which are fair to decoders
that regenerate phase; waveform SI-SDR only for deterministic models. Linearity is measured decode against
decode with the table's shared seed, so that differences come from the latents alone: Dec(a·z) against
a·Dec(z), Dec(Σ z) against Dec(Enc(Σ x)), Dec(z_mix − z_accomp) against Dec(Enc(x_vocals)).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from lincae import metrics
from lincae.data.track import Track
from lincae.engine import Engine
from lincae.rows import ROWS, SCALES, scale_row_id


def with_origin(row: str) -> str:
    """Id of a row's origin-corrected audio: its latent plus Enc(silence)·(1 − Σ coefficients)."""
    return f"{row}_origin"


ORIGIN_ROWS: tuple[str, ...] = tuple(r.id for r in ROWS if not r.reference and sum(r.latent.values()) != 1)
"""Rows whose latent coefficients do not sum to 1: origin correction changes them (decoded beside the table)."""
SEPARATED_WITH_ORIGIN = with_origin("sep_vocals")

Audio = Mapping[str, np.ndarray]  # row id (and SEPARATED_WITH_ORIGIN) → decoded audio


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    higher_is_better: bool
    good: str  # one line: what it compares and what a good value is
    compute: Callable[[Track, Audio], float]
    deterministic_only: bool = False  # compares waveforms with the original: undefined for generative decoders


def _homogeneity(a: float) -> Metric:
    return Metric(
        homogeneity_key(a), f"Homogeneity ×{a} (dB)", True,
        f"Dec({a}·z_vocals) vs {a}·Dec(z_vocals), same seed: above 15 dB scales like a gain.",
        lambda t, y: metrics.snr(y[scale_row_id(a)], a * y["ae_vocals"]),
    )


def homogeneity_key(a: float) -> str:
    return f"homogeneity_{str(a).replace('.', '_')}"


def _vocals(track: Track) -> np.ndarray:
    return track.stems["vocals"]


METRICS: tuple[Metric, ...] = (
    Metric("recon_spectral_snr", "Recon. spectral SNR (dB)", True,
           "SNR of STFT magnitudes, Dec(Enc(mix)) vs the mix: above 10 dB is close, 20 dB+ near transparent.",
           lambda t, y: metrics.spectral_snr(t.mix, y["ae_mix"])),
    Metric("recon_mrstft", "Recon. MR-STFT", False,
           "Multi-resolution STFT distance to the mix: 0 is identical; below 1 is good, above 2 poor.",
           lambda t, y: metrics.mrstft(t.mix, y["ae_mix"])),
    Metric("recon_mel", "Recon. mel distance", False,
           "Multi-scale mel distance to the mix: 0 is identical; lower is better.",
           lambda t, y: metrics.mel_distance(t.mix, y["ae_mix"], t.sample_rate)),
    Metric("recon_si_sdr", "Recon. SI-SDR (dB)", True,
           "Waveform SI-SDR, deterministic models only (generative decoders regenerate phase): above 10 dB is good.",
           lambda t, y: metrics.si_sdr(t.mix, y["ae_mix"]), deterministic_only=True),
    Metric("vocals_spectral_snr", "Vocals spectral SNR (dB)", True,
           "SNR of STFT magnitudes, Dec(Enc(vocals)) vs the vocals: above 10 dB is close.",
           lambda t, y: metrics.spectral_snr(_vocals(t), y["ae_vocals"])),
    Metric("additivity_snr", "Additivity SNR (dB)", True,
           "Dec(Σ z_stem) vs Dec(Enc(mix)), same seed: above 15 dB means latent sums mix like audio.",
           lambda t, y: metrics.snr(y["ae_mix"], y["additivity"])),
    Metric("separation_snr", "Separation SNR (dB)", True,
           "Dec(z_mix − z_accomp) vs Dec(Enc(vocals)), same seed: above 10 dB separates; below 0 fails.",
           lambda t, y: metrics.snr(y["ae_vocals"], y["sep_vocals"])),
    Metric("separation_origin_snr", "Separation + origin (dB)", True,
           "As above with Enc(silence) added back (the coefficients sum to 0): higher is better.",
           lambda t, y: metrics.snr(y["ae_vocals"], y[SEPARATED_WITH_ORIGIN])),
    Metric("separation_spectral_snr", "Separated vocals spectral SNR (dB)", True,
           "SNR of STFT magnitudes, Dec(z_mix − z_accomp) vs the vocals: the separation as heard.",
           lambda t, y: metrics.spectral_snr(_vocals(t), y["sep_vocals"])),
    *(_homogeneity(a) for a in SCALES),
    Metric("recon_log_mel_db", "Recon. log-mel distance (dB)", False,
           "Mean |difference| of log-mel spectra, Dec(Enc(mix)) vs the mix: below 2 dB is close, above 6 dB poor.",
           lambda t, y: metrics.log_mel_db(t.mix, y["ae_mix"], t.sample_rate)),
    Metric("recon_bandwidth_khz", "Recon. bandwidth (kHz)", True,
           "Highest frequency below which every third-octave band keeps a magnitude SNR ≥ 6 dB: 5 kHz+ is full.",
           lambda t, y: metrics.bandwidth(t.mix, y["ae_mix"], t.sample_rate) / 1000),
    Metric("additivity_origin_snr", "Additivity + origin (dB)", True,
           "As additivity, with Enc(silence)·(1 − 4) added to the latent sum: a latent origin away from 0 no "
           "longer counts.",
           lambda t, y: metrics.snr(y["ae_mix"], y[with_origin("additivity")])),
    Metric("homogeneity_origin_worst", "Homogeneity + origin, worst (dB)", True,
           "Worst table gain a of Dec(a·z_vocals + (1 − a)·Enc(silence)) vs a·Dec(z_vocals): above 15 dB scales "
           "like a gain.",
           lambda t, y: min(metrics.snr(y[with_origin(scale_row_id(a))], a * y["ae_vocals"]) for a in SCALES)),
)
METRIC_KEYS: tuple[str, ...] = tuple(m.key for m in METRICS)
METRICS_OP = "table_metrics-1"
"""The cache's name for these metrics; bump it when a metric's definition changes."""


def score(track: Track, audio: Audio, deterministic: bool) -> dict[str, float]:
    """Every metric of `METRICS` (NaN where undefined) from a table's rows and their `with_origin` versions."""
    return {m.key: math.nan if m.deterministic_only and not deterministic else float(m.compute(track, audio))
            for m in METRICS}


def table_metrics(engine: Engine, track: Track, model: str, seed: int = 0) -> dict[str, float]:
    """`score` of `model`'s table on `track` decoded with `seed`, computed once and then kept in the engine's
    cache (with the table it comes from)."""

    def compute() -> dict[str, np.ndarray]:
        table = engine.track_table(track, model, seed=seed)
        origin_rows = [r for r in ROWS if r.id in ORIGIN_ROWS]
        decoded = engine.decode_combinations(track, model, [r.latent for r in origin_rows], seed=seed,
                                             origin_correction=True)
        corrected = {with_origin(r.id): audio for r, audio in zip(origin_rows, decoded)}
        deterministic = engine.model(model).deterministic
        scores = engine.compute(lambda: score(track, {**table, **corrected}, deterministic))
        return {k: np.array(v) for k, v in scores.items()}

    return {k: float(v) for k, v in engine.derived(track, model, METRICS_OP, METRIC_KEYS, compute, seed=seed).items()}


def cached_table_metrics(engine: Engine, track: Track, model: str, seed: int = 0) -> dict[str, float] | None:
    """`table_metrics` if they are cached, else None: never computes, never loads a model."""
    hit = engine.derived(track, model, METRICS_OP, METRIC_KEYS, seed=seed)
    return None if hit is None else {k: float(v) for k, v in hit.items()}
