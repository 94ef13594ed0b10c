"""Per track × model analysis: a metrics table, linearity curves and spectrogram figures.

Everything audible comes from the engine (the table rows and `decode_combination`, all decoded with one
seed), so the numbers describe exactly what the player plays. A whole analysis is cached in the engine's
cache under the track's content hash, the model's weights hash and the seed. The metrics are those of
`lincae.table_metrics`, which says what they mean.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from lincae import metrics
from lincae.data.track import Track
from lincae.engine import Engine
from lincae.engine.cache import cache_key
from lincae.rows import SCALES, STEMS, get_row, scale_row_id
from lincae.table_metrics import METRIC_KEYS, METRICS, table_metrics

if TYPE_CHECKING:  # matplotlib is imported when the first figure is drawn, not when the app starts
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

ANALYSIS_VERSION = 3
SPECTROGRAM_FFT, SPECTROGRAM_HOP = 2048, 512
SPECTROGRAM_LOW_HZ, SPECTROGRAM_BANDS = 30.0, 240
"""The spectrogram's lowest frequency and the most rows it draws (log-spaced bands: a figure's worth of rows)."""
SPECTROGRAM_TICKS_HZ = (50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000)
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
    """One model on one track. Undefined values (SI-SDR of a stochastic model) are NaN. The curves are empty
    until computed (`analyse(..., curves=False)` gives the metrics alone, in a fraction of the time)."""

    model: str
    deterministic: bool
    metrics: dict[str, float]
    homogeneity: dict[float, float] = field(default_factory=dict)  # gain a → SNR(Dec(a·z), a·Dec(z)) in dB
    additivity: dict[int, tuple[float, float]] = field(default_factory=dict)
    """k stems → spectral SNR (dB) vs Σ x of (Dec(Σ z), Dec(Enc(Σ x)))"""


def reference_audio(track: Track, row_id: str) -> np.ndarray:
    """What a row of the demo table should sound like: the original audio it approximates."""
    return get_row(row_id).original_audio(track)


def partial_track(track: Track) -> Track:
    """A track whose encoded signals include the sums of the first 2 and 3 stems (in `STEMS` order): its vocals
    are vocals + drums, its drums the bass, the rest silent, so its mix is vocals + drums + bass. One encode of
    it gives both partial sums the additivity curve needs."""
    silent = np.zeros(track.num_samples, dtype=np.float32)
    first, second, third = (track.stems[s] for s in STEMS[:3])
    stems = {STEMS[0]: first + second, STEMS[1]: third, **{s: silent for s in STEMS[2:]}}
    return Track(id=f"{track.id}~partial", title=f"{track.title} (partial sums)", stems=stems,
                 sample_rate=track.sample_rate)


def _curves(engine: Engine, track: Track, model: str, seed: int) -> tuple[dict, dict]:
    table = engine.track_table(track, model, seed=seed)
    recon, ae_vocals = table["ae_mix"], table["ae_vocals"]
    # Every decode the curves need beyond the table, in two batched calls (this track's, the partial track's).
    gains = [a for a in CURVE_GAINS if scale_row_id(a) not in table]
    partial_sums = range(2, len(STEMS))  # the first k stems summed in the latents: 2 and 3 (1 and 4 are rows)
    decoded = engine.decode_combinations(
        track, model, [{"vocals": a} for a in gains] + [{s: 1.0 for s in STEMS[:k]} for k in partial_sums],
        seed=seed)
    scaled = {**{a: table[scale_row_id(a)] for a in CURVE_GAINS if a not in gains}, **dict(zip(gains, decoded))}
    summed = dict(zip(partial_sums, decoded[len(gains):]))
    partial = partial_track(track)
    encoded = dict(zip(partial_sums, engine.decode_combinations(partial, model, [{STEMS[0]: 1.0}, {"mix": 1.0}],
                                                                seed=seed)))
    homogeneity = {a: metrics.snr(scaled[a], a * ae_vocals) for a in CURVE_GAINS}
    summed[1], encoded[1] = ae_vocals, ae_vocals
    summed[len(STEMS)], encoded[len(STEMS)] = table["additivity"], recon
    additivity = {}
    for k in range(1, len(STEMS) + 1):
        target = np.sum([track.stems[s] for s in STEMS[:k]], axis=0)
        additivity[k] = (metrics.spectral_snr(target, summed[k]), metrics.spectral_snr(target, encoded[k]))
    return homogeneity, additivity


def _key(engine: Engine, track: Track, model: str, seed: int, part: str) -> str:
    return cache_key(v=ANALYSIS_VERSION, op=f"analysis-{part}", model=model, weights=engine.model(model).weights_hash,
                     audio=track.content_hash, seed=seed, precision=engine.precision.name, gains=CURVE_GAINS,
                     metrics=METRIC_KEYS)


def analyse(engine: Engine, track: Track, model: str, seed: int = 0, curves: bool = True) -> ModelAnalysis:
    """Metrics (and with `curves`, the homogeneity and additivity curves) of `model` on `track`, decoder seed
    `seed`. The metrics come from the table the page plays plus one decode; the curves take 9 more decodes and
    an encode, so they are computed (and cached, in the engine's cache) apart."""
    result = ModelAnalysis(model=model, deterministic=engine.model(model).deterministic,
                           metrics=table_metrics(engine, track, model, seed))  # cached by `table_metrics`
    if not curves:
        return result
    key = _key(engine, track, model, seed, "curves")
    hit = engine.cache.get(key)
    if hit is None:
        homogeneity, additivity = _curves(engine, track, model, seed)
        hit = engine.cache.put(key, {"homogeneity": np.array([homogeneity[a] for a in CURVE_GAINS]),
                                     "additivity": np.array([additivity[k] for k in sorted(additivity)])})
    return dataclasses.replace(
        result,
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


def new_figure(width: float, height: float, layout: str | None = "constrained") -> Figure:
    """An empty figure of `width` × `height` inches (drawn without pyplot: no backend, no global state); the
    constrained layout fits labels and legends but measures every text several times as the figure is drawn."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout=layout)


def _curve_axes() -> tuple[Figure, Axes]:
    fig = new_figure(7.2, 3.6)
    return fig, fig.add_subplot()


def _label_axes(ax: Axes, xlabel: str, ylabel: str, title: str, legend: bool, legend_size: str) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if legend:  # beside the axes, never over the curves or the tick numbers
        ax.legend(fontsize=legend_size, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


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


def log_frequency_bands(spec: np.ndarray, sample_rate: int, low_hz: float = SPECTROGRAM_LOW_HZ,
                        bands: int = SPECTROGRAM_BANDS) -> tuple[np.ndarray, np.ndarray]:
    """(band edges in Hz [bands + 1], `spec` [bins, frames] pooled into bands [bands, frames]): bands evenly
    spaced in log frequency from `low_hz` to Nyquist, each the loudest of the FFT bins whose centre it holds (the
    bin just above it where bins are sparser than bands). Evenly spaced rows draw as an image: what a
    log-frequency plot can show, at a fraction of the drawing cost of a mesh."""
    n_bins = spec.shape[0]
    bin_hz = sample_rate / 2 / (n_bins - 1)
    edges = np.geomspace(low_hz, sample_rate / 2, bands + 1)
    first = np.minimum(np.ceil(edges[:-1] / bin_hz).astype(int), n_bins - 2)  # the Nyquist bin is left out
    return edges, np.maximum.reduceat(spec[: n_bins - 1], first, axis=0)


def spectrogram_figure(audio: np.ndarray, reference: np.ndarray, sample_rate: int, title: str,
                       reference_title: str = "reference", range_db: float = 80.0) -> Figure:
    """The spectrogram of `audio` beside that of `reference`, on one colour scale, log frequency."""
    specs = [spectrogram_db(reference), spectrogram_db(audio)]
    top = max(float(s.max()) for s in specs)
    fig = new_figure(10, 3.6, layout=None)  # fixed margins: its labels are short and known, and it is drawn often
    fig.subplots_adjust(left=0.075, right=0.9, bottom=0.14, top=0.91, wspace=0.06)
    axes = fig.subplots(1, 2, sharey=True)
    frame_s = SPECTROGRAM_HOP / sample_rate
    times = (-frame_s / 2, (specs[0].shape[1] - 0.5) * frame_s)  # frame i is centred at i·hop
    low, high = np.log10(SPECTROGRAM_LOW_HZ), np.log10(sample_rate / 2)  # the y axis is log10(Hz), drawn linear
    ticks = [f for f in SPECTROGRAM_TICKS_HZ if f <= sample_rate / 2]
    image = None
    for ax, spec, name in zip(axes, specs, (reference_title, title)):
        _, pooled = log_frequency_bands(spec, sample_rate)
        image = ax.imshow(pooled, origin="lower", aspect="auto", interpolation="nearest", cmap="magma",
                          vmin=top - range_db, vmax=top, extent=(*times, low, high))
        ax.set_yticks(np.log10(ticks), [f"{f / 1000:g}k" if f >= 1000 else f"{f:g}" for f in ticks])
        ax.set_title(name, fontsize="medium")
        ax.set_xlabel("time (s)")
    axes[0].set_ylabel("frequency (Hz)")
    fig.colorbar(image, cax=fig.add_axes((0.915, 0.14, 0.012, 0.77)), label="dB")
    return fig
