"""`python -m lincae.evaluate`: measure the embedded models on songs they never saw and write their model cards.

Writes `assets/models/<name>.md` (card), `<name>.png` (spectrogram of input vs reconstruction) and
`evaluation.json` (every number, per track) next to the checkpoints. Beside each model, a linear yardstick: a PCA
code of MDCT frames keeping as many values per 256 samples as the model's latent (`lincae.models.pca_code`),
fitted on training songs and measured with the same reconstruction metrics.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch

from typing import Callable

from lincae.analysis import spectrogram_figure
from lincae.audio import load
from lincae.data.library import STEMPEG_TRACK_ID, list_tracks, load_track
from lincae.data.songs import render_song
from lincae.data.track import Track
from lincae.engine import Engine
from lincae.models.pca_code import MdctPcaCode
from lincae.models.spectral_ae import ADAPTER_THREADS, EmbeddedAutoencoder, load_checkpoint, read_info
from lincae.rows import SCALES, STEMS
from lincae.table_metrics import METRICS, homogeneity_key, table_metrics
from lincae.train.data import RESERVED_RECORDINGS, SONIC_PI_SAMPLES, TRAIN_SEED_BASE

MODELS_DIR = Path(__file__).resolve().parents[1] / "assets" / "models"
EVAL_SEEDS = (1, 2, 3, 11, 12, 13, 14, 15)  # never in training (training uses seeds ≥ 1000)
PCA_FIT_SONGS = 8  # training songs the PCA yardstick is fitted on
TARGETS = {"recon_spectral_snr": 18.0, "recon_log_mel_db": 4.0, "recon_bandwidth_khz": 5.0, "additivity_snr": 15.0,
           "separation_snr": 12.0, "homogeneity_worst": 15.0, "realtime_factor": 50.0}
PCA_METRICS = {  # the reconstruction metrics of `METRICS`, measured for the PCA yardstick too
    m.key: m for m in METRICS if m.key in ("recon_spectral_snr", "recon_log_mel_db", "recon_bandwidth_khz",
                                           "recon_mrstft", "recon_si_sdr")}


def _engine(model: EmbeddedAutoencoder) -> Engine:
    """An engine around one loaded model, caching in memory only."""
    return Engine(device="cpu", loader=lambda name, device: model)


def measure_track(model: EmbeddedAutoencoder, track: Track) -> dict[str, float]:
    """The table metrics of `lincae.table_metrics`, and the worst homogeneity over the table's gains."""
    out = table_metrics(_engine(model), track, model.name)
    out["homogeneity_worst"] = min(out[homogeneity_key(a)] for a in SCALES)
    return out


def pca_yardstick(values: int) -> MdctPcaCode:
    """The linear reference code at `values` per 256 samples, fitted on training songs' mixes."""
    return MdctPcaCode(values).fit(render_song(TRAIN_SEED_BASE + i).mix for i in range(PCA_FIT_SONGS))


def measure_pca(code: MdctPcaCode, track: Track) -> dict[str, float]:
    """The reconstruction metrics of the PCA code on `track`'s mix."""
    return measure_recording(pca_autoencode(code), track.mix)


def reserved_recordings(folder: Path = SONIC_PI_SAMPLES) -> dict[str, np.ndarray]:
    """The CC0 recordings kept out of training (`RESERVED_RECORDINGS`) that are installed, by name."""
    paths = [folder / f"{name}.flac" for name in RESERVED_RECORDINGS]
    return {p.stem: load(p, 44100)[0] for p in paths if p.exists()}


def measure_recording(autoencode: Callable[[np.ndarray], np.ndarray], audio: np.ndarray) -> dict[str, float]:
    """The reconstruction metrics of `PCA_METRICS` for one recording, measured as a track's mix."""
    track = Track("recording", "recording", {s: audio if s == STEMS[0] else np.zeros_like(audio) for s in STEMS})
    return {key: float(m.compute(track, {"ae_mix": autoencode(audio)})) for key, m in PCA_METRICS.items()}


def model_autoencode(model: EmbeddedAutoencoder) -> Callable[[np.ndarray], np.ndarray]:
    def run(audio: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(audio)[None]
        return model.decode(model.encode(x), x.shape[-1])[0].numpy()
    return run


def pca_autoencode(code: MdctPcaCode) -> Callable[[np.ndarray], np.ndarray]:
    return lambda audio: code.decode(code.encode(audio), len(audio))


def mean_over(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]} if rows else {}


def realtime_factor(model: EmbeddedAutoencoder, seconds: float = 10.0, repeats: int = 3) -> float:
    """Audio seconds processed (encode + decode) per wall-clock second, best of `repeats`."""
    x = torch.from_numpy(render_song(EVAL_SEEDS[0], seconds).mix)[None]
    model.decode(model.encode(x), x.shape[-1])  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.decode(model.encode(x), x.shape[-1])
        best = min(best, time.perf_counter() - t0)
    return seconds / best


def evaluation_tracks(include_stempeg: bool = True) -> list[Track]:
    bundled = {info.id for info in list_tracks()}
    tracks = [load_track(f"song-{s}") if f"song-{s}" in bundled else render_song(s) for s in EVAL_SEEDS]
    if include_stempeg and STEMPEG_TRACK_ID in bundled:
        tracks.append(load_track(STEMPEG_TRACK_ID))
    return tracks


def save_spectrogram(model: EmbeddedAutoencoder, track: Track, path: Path) -> None:
    recon = _engine(model).track_table(track, model.name)["ae_mix"]
    fig = spectrogram_figure(recon, track.mix, track.sample_rate, f"{model.name}: Dec(Enc(mix))",
                             f"input: {track.title}")
    fig.savefig(path, dpi=80)


def summarize(per_track: dict[str, dict[str, float]], songs_only: bool) -> dict[str, float]:
    return mean_over([m for t, m in per_track.items() if not songs_only or t != STEMPEG_TRACK_ID])


def _results(per_track: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    out = {"generated_songs": summarize(per_track, songs_only=True)}
    if STEMPEG_TRACK_ID in per_track:
        out["musdb_excerpt"] = per_track[STEMPEG_TRACK_ID]
    return out


def _target(key: str) -> str:
    if key not in TARGETS:
        return ""
    lower = any(m.key == key and not m.higher_is_better for m in METRICS)
    return f"{'≤' if lower else '≥'} {TARGETS[key]:g}"


def _stages(info: dict) -> str:
    """How the checkpoint was trained, stage by stage: steps, loss and whether the exponent moved."""
    stages, parts, done = [*info.get("earlier_stages", []), info], [], 0
    for stage in stages:
        loss = f"waveform + spectral convergence + {stage.get('mel_weight', 0):g}·log-mel"
        if stage.get("band_weight"):
            loss += f" + {stage['band_weight']:g}·band-balanced spectral convergence"
        exponent = "p trained" if stage.get("exponent_lr_scale", 20.0) else f"p fixed at {stage['power']:.3f}"
        parts.append(f"{stage['steps'] - done} steps ({exponent}; loss {loss})")
        done = stage["steps"]
    return f"{done} in all: " + ", then ".join(parts)


def _homogeneity_note(power: float) -> str:
    r = 0.1 ** (1 / power - 1)
    return (f"The decoder is scale-equivariant (no normalisation, no biases, ReLU), so Dec(a·z) = a^(1/p)·Dec(z) "
            f"exactly for a > 0: the homogeneity figures depend on p alone and are the same on every track (p = "
            f"{power:.3f}: ×0.1 decodes at {r:.3f} of the wanted level, {20 * np.log10(r / abs(1 - r)):.1f} dB).")


def model_card(name: str, info: dict, result: dict) -> str:
    values = int(round(256 / info["compression"]))
    columns = [("generated songs", result["generated_songs"]), ("MUSDB18 excerpt", result.get("musdb_excerpt", {})),
               ("reserved recordings", result.get("recordings", {})),
               *((f"PCA{values} {what}", result["pca"].get(key, {}))
                 for what, key in (("songs", "generated_songs"), ("MUSDB", "musdb_excerpt"),
                                   ("recordings", "recordings")))]
    power = info.get("power", 1.0)
    lines = [
        f"# {name}",
        "",
        "A demo-scale **deterministic MDCT-domain autoencoder trained by the lincae project** on generated songs and "
        "real recordings — not one of the paper's checkpoints. Its front end compresses MDCT magnitudes as the "
        "paper's models do (0.34·|c|^p, sign kept, p starting at 0.65) and expands the decoder's output back. "
        + ("Trained **with** the Lin-CAE linearity augmentation (latent mixtures and latent/target gains)."
           if info["recipe"]["linear"] else
           "Trained **without** the linearity augmentation (M2L-style baseline: mixtures encoded directly, no "
           "gains): same architecture, data, steps and seed as its linear twin."),
        "",
        f"- data: {info['train_songs']}, random stem subsets; {info.get('train_recordings', 'no recordings')}; "
        f"{info['clip_seconds']} s clips at random levels {info.get('level_db', [0, 0])} dB, batch {info['batch']}",
        f"- steps: {_stages(info)}; wall time {info['wall_seconds'] / 3600:.2f} h on {info['threads']} CPU thread(s)",
        f"- parameters: {info['parameters']:,}; compression {info['compression']:g}× ({values} latent values per "
        f"256 audio samples); 44.1 kHz mono; front-end exponent p = {power:.3f}",
        f"- recipe: `{json.dumps(info['recipe'])}`; shipped weights: {info.get('weights', 'ema')}",
        f"- {_homogeneity_note(power)}",
        f"- evaluated {result['date']} on {len(EVAL_SEEDS)} held-out generated songs"
        + (", the MUSDB18 excerpt from stempeg" if result.get("musdb_excerpt") else "")
        + (f" and the {result.get('recording_count', 0)} sonic-pi-samples recordings kept out of training (mean; "
           "reconstruction only: they have no stems)" if result.get("recordings") else "")
        + f"; PCA{values}: the linear yardstick ({values} principal components of MDCT frames, fitted on "
        f"{PCA_FIT_SONGS} training songs); \"+ origin\": Enc(silence)·(1 − Σ coefficients) added to the latent",
        "",
        f"| measure | {' | '.join(label for label, _ in columns)} | target (linear model) |",
        "|---|" + "---|" * (len(columns) + 1),
    ]
    names = {**{m.key: m.label for m in METRICS}, "homogeneity_worst": "Homogeneity, worst gain (dB)"}
    for key, label in names.items():
        cells = [f"{values_[key]:.2f}" if key in values_ else "" for _, values_ in columns]
        lines.append(f"| {label} | {' | '.join(cells)} | {_target(key)} |")
    threads = f"{result['threads']} thread{'s' * (result['threads'] != 1)}"
    lines += [f"| encode + decode speed (× real time, {threads}) | {result['realtime_factor']:.0f} "
              + "| " * len(columns) + "≥ 50 |", "", f"![spectrogram]({name}.png)", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", nargs="+", default=["demo-lincae", "demo-ae"])
    parser.add_argument("--dir", type=Path, default=MODELS_DIR)
    args = parser.parse_args(argv)
    tracks, recordings = evaluation_tracks(), reserved_recordings()
    results, yardsticks = {}, {}
    for name in args.models:
        path = args.dir / f"{name}.pt"
        model = load_checkpoint(path)
        values = round(256 / model.model.config.compression)
        if values not in yardsticks:
            code = pca_yardstick(values)
            yardsticks[values] = {**_results({t.id: measure_pca(code, t) for t in tracks}), "recordings": mean_over(
                [measure_recording(pca_autoencode(code), audio) for audio in recordings.values()])}
        per_track = {t.id: measure_track(model, t) for t in tracks}
        per_recording = {n: measure_recording(model_autoencode(model), a) for n, a in recordings.items()}
        result = {"date": date.today().isoformat(), "machine": platform.processor() or platform.machine(),
                  "threads": ADAPTER_THREADS, "per_track": per_track, "per_recording": per_recording,
                  **_results(per_track), "recordings": mean_over(list(per_recording.values())),
                  "recording_count": len(per_recording), "pca": yardsticks[values],
                  "realtime_factor": realtime_factor(model)}
        save_spectrogram(model, tracks[0], args.dir / f"{name}.png")
        (args.dir / f"{name}.md").write_text(model_card(name, read_info(path), result))
        results[name] = result
        print(name, json.dumps(result["generated_songs"], indent=1), f"RTF {result['realtime_factor']:.0f}")
    (args.dir / "evaluation.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
