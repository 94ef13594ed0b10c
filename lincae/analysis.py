"""Per track × model analysis: a metrics table, linearity curves and spectrogram figures.

Everything audible comes from the engine (the table rows and `decode_combination`, all decoded with one
seed), so the numbers describe exactly what the player plays. A whole analysis is cached in the engine's
cache under the track's content hash, the model's weights hash and the seed. The metrics are those of
`lincae.table_metrics`, which says what they mean.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lincae import metrics  # noqa: E402
from lincae.data.track import Track  # noqa: E402
from lincae.engine import Engine  # noqa: E402
from lincae.engine.cache import cache_key  # noqa: E402
from lincae.rows import SCALES, STEMS, get_row, scale_row_id  # noqa: E402
from lincae.table_metrics import METRIC_KEYS, METRICS, table_metrics  # noqa: E402

ANALYSIS_VERSION = 2
SPECTROGRAM_FFT, SPECTROGRAM_HOP = 2048, 512
CURVE_GAINS: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 1.5, 2.0, 2.5, 3.0)
"""Gains of the homogeneity curve; they include the table's scales so both show the same numbers."""
if not set(SCALES) <= set(CURVE_GAINS):
    raise RuntimeError("the homogeneity curve must include the table's scales")


HOMOGENEITY_GOOD = "Good: a flat line high up (above 15 dB) at every gain; a dip means that gain distorts."
ADDITIVITY_GOOD = ("Good: the solid line (latents summed) on the dashed one (the sum encoded); "
                   "a gap growing with the number of stems means latent sums drift away from mixes.")
SPECTROGRAM_GOOD = "Good: the two spectrograms look alike — same harmonics, onsets and noise floor."


@dataclass(frozen=True)
class ModelAnalysis:
    """One model on one track. Undefined values (SI-SDR of a stochastic model) are NaN."""

    model: str
    deterministic: bool
    metrics: dict[str, float]
    homogeneity: dict[float, float]  # gain a → SNR(Dec(a·z), a·Dec(z)) in dB
    additivity: dict[int, tuple[float, float]]  # k stems → spectral SNR (dB) vs Σ x of (Dec(Σ z), Dec(Enc(Σ x)))


def reference_audio(track: Track, row_id: str) -> np.ndarray:
    """What a row of the demo table should sound like: the original audio it approximates."""
    return get_row(row_id).original_audio(track)


def partial_track(track: Track, k: int) -> Track:
    """The first `k` stems of `track` (in `STEMS` order), the others silent: its mix is their sum."""
    silent = np.zeros(track.num_samples, dtype=np.float32)
    stems = {s: track.stems[s] if i < k else silent for i, s in enumerate(STEMS)}
    return Track(id=f"{track.id}~{k}stems", title=f"{track.title} (first {k} stems)", stems=stems,
                 sample_rate=track.sample_rate)


def _compute(engine: Engine, track: Track, model: str, seed: int) -> ModelAnalysis:
    table = engine.track_table(track, model, seed=seed)
    recon, ae_vocals = table["ae_mix"], table["ae_vocals"]
    values = table_metrics(engine, track, model, seed)
    homogeneity = {}
    for a in CURVE_GAINS:
        row_id = scale_row_id(a)
        scaled = table[row_id] if row_id in table else engine.decode_combination(track, model, {"vocals": a}, seed=seed)
        homogeneity[a] = metrics.snr(scaled, a * ae_vocals)
    additivity = {}
    for k in range(1, len(STEMS) + 1):
        target = np.sum([track.stems[s] for s in STEMS[:k]], axis=0)
        if k == 1:
            summed = encoded = ae_vocals
        elif k == len(STEMS):
            summed, encoded = table["additivity"], recon
        else:
            summed = engine.decode_combination(track, model, {s: 1.0 for s in STEMS[:k]}, seed=seed)
            encoded = engine.decode_combination(partial_track(track, k), model, {"mix": 1.0}, seed=seed)
        additivity[k] = (metrics.spectral_snr(target, summed), metrics.spectral_snr(target, encoded))
    return ModelAnalysis(model, engine.model(model).deterministic, values, homogeneity, additivity)


def analyse(engine: Engine, track: Track, model: str, seed: int = 0) -> ModelAnalysis:
    """Metrics and curves of `model` on `track` (decoder seed `seed`), cached in the engine's cache."""
    weights = engine.model(model).weights_hash
    key = cache_key(v=ANALYSIS_VERSION, op="analysis", model=model, weights=weights, audio=track.content_hash,
                    seed=seed, precision=engine.precision.name, gains=CURVE_GAINS, metrics=METRIC_KEYS)
    hit = engine.cache.get(key)
    if hit is None:
        result = _compute(engine, track, model, seed)
        engine.cache.put(key, {
            "metrics": np.array([result.metrics[k] for k in METRIC_KEYS]),
            "homogeneity": np.array([result.homogeneity[a] for a in CURVE_GAINS]),
            "additivity": np.array([result.additivity[k] for k in sorted(result.additivity)]),
            "deterministic": np.array(result.deterministic),
        })
        return result
    return ModelAnalysis(
        model=model,
        deterministic=bool(hit["deterministic"]),
        metrics={k: float(v) for k, v in zip(METRIC_KEYS, hit["metrics"])},
        homogeneity={a: float(v) for a, v in zip(CURVE_GAINS, hit["homogeneity"])},
        additivity={k + 1: (float(s), float(e)) for k, (s, e) in enumerate(hit["additivity"])},
    )


# --- presentation -----------------------------------------------------------------------------------


def metrics_table(analyses: Sequence[ModelAnalysis], labels: Mapping[str, str] | None = None,
                  decimals: int = 2) -> tuple[list[str], list[list]]:
    """Headers and rows (one per model) with values rounded; an undefined value is None."""
    labels = labels or {}
    headers = ["Model", *(m.label + (" ↑" if m.higher_is_better else " ↓") for m in METRICS)]
    rows = []
    for a in analyses:
        values = [a.metrics[k] for k in METRIC_KEYS]
        rows.append([labels.get(a.model, a.model),
                     *(None if not math.isfinite(v) else round(v, decimals) for v in values)])
    return headers, rows


def _curve_axes() -> tuple[Figure, Axes]:
    fig = Figure(figsize=(6.4, 3.6), layout="constrained")
    return fig, fig.add_subplot()


def _label_axes(ax: Axes, xlabel: str, ylabel: str, title: str, legend: bool, legend_size: str) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if legend:
        ax.legend(fontsize=legend_size)


def homogeneity_figure(analyses: Sequence[ModelAnalysis], labels: Mapping[str, str] | None = None) -> Figure:
    """SNR(Dec(a·z), a·Dec(z)) against the gain a, one line per model."""
    labels = labels or {}
    fig, ax = _curve_axes()
    for a in analyses:
        gains = sorted(a.homogeneity)
        ax.plot(gains, [a.homogeneity[g] for g in gains], marker="o", label=labels.get(a.model, a.model))
    ax.set_xscale("log")
    ax.set_xticks(CURVE_GAINS, [f"{g:g}" for g in CURVE_GAINS])
    ax.axhline(15, color="0.6", lw=0.8, ls=":")
    _label_axes(ax, "gain a", "SNR (dB)", "Homogeneity: Dec(a·z_vocals) vs a·Dec(z_vocals)", bool(analyses), "small")
    return fig


def additivity_figure(analyses: Sequence[ModelAnalysis], labels: Mapping[str, str] | None = None) -> Figure:
    """Spectral SNR against the stem sum of Dec(Σ z) (solid) and Dec(Enc(Σ x)) (dashed), per number of stems."""
    labels = labels or {}
    fig, ax = _curve_axes()
    ks = list(range(1, len(STEMS) + 1))
    for i, a in enumerate(analyses):
        color = f"C{i}"
        name = labels.get(a.model, a.model)
        ax.plot(ks, [a.additivity[k][0] for k in ks], marker="o", color=color, label=f"{name}: Dec(Σ z)")
        ax.plot(ks, [a.additivity[k][1] for k in ks], marker="s", ls="--", color=color, alpha=0.7,
                label=f"{name}: Dec(Enc(Σ x))")
    ax.set_xticks(ks, ["+".join(s[0].upper() for s in STEMS[:k]) + f"\n({k})" for k in ks])
    _label_axes(ax, "stems summed (V vocals, D drums, B bass, O other)", "spectral SNR vs Σ x (dB)",
                "Additivity vs number of stems", bool(analyses), "x-small")
    return fig


def spectrogram_db(x: np.ndarray, n_fft: int = SPECTROGRAM_FFT, hop: int = SPECTROGRAM_HOP) -> np.ndarray:
    """Log-magnitude STFT in dB (re full scale, floored at −120 dB) as [bins, frames]."""
    mag = metrics.stft_magnitude(x, n_fft, hop)
    return (20 * np.log10(np.maximum(mag, 1e-6))).T


def spectrogram_figure(audio: np.ndarray, reference: np.ndarray, sample_rate: int, title: str,
                       reference_title: str = "reference", range_db: float = 80.0) -> Figure:
    """The spectrogram of `audio` beside that of `reference`, on one colour scale, log frequency."""
    specs = [spectrogram_db(reference), spectrogram_db(audio)]
    top = max(float(s.max()) for s in specs)
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    n_bins, n_frames = specs[0].shape
    freqs = np.linspace(0, sample_rate / 2, n_bins)
    times = np.arange(n_frames) * SPECTROGRAM_HOP / sample_rate
    mesh = None
    for ax, spec, name in zip(axes, specs, (reference_title, title)):
        mesh = ax.pcolormesh(times, freqs[1:], spec[1:], shading="auto", cmap="magma", vmin=top - range_db,
                             vmax=top, rasterized=True)
        ax.set_yscale("log")
        ax.set_ylim(30, sample_rate / 2)
        ax.set_title(name, fontsize="medium")
        ax.set_xlabel("time (s)")
    axes[0].set_ylabel("frequency (Hz)")
    fig.colorbar(mesh, ax=axes, label="dB", shrink=0.9)
    return fig
