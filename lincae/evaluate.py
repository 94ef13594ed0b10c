"""`python -m lincae.evaluate`: measure the embedded models on songs they never saw and write their model cards.

Writes `assets/models/<name>.md` (card), `<name>.png` (spectrogram of input vs reconstruction) and
`evaluation.json` (every number, per track) next to the checkpoints.
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

from lincae.analysis import spectrogram_figure
from lincae.data.library import STEMPEG_TRACK_ID, list_tracks, load_track
from lincae.data.songs import render_song
from lincae.data.track import Track
from lincae.engine import Engine
from lincae.models.spectral_ae import EmbeddedAutoencoder, load_checkpoint, read_info
from lincae.rows import SCALES
from lincae.table_metrics import METRICS, homogeneity_key, table_metrics

MODELS_DIR = Path(__file__).resolve().parents[1] / "assets" / "models"
EVAL_SEEDS = (1, 2, 3, 11, 12, 13, 14, 15)  # never in training (training uses seeds ≥ 1000)
TARGETS = {"recon_spectral_snr": 10.0, "additivity_snr": 15.0, "separation_snr": 10.0, "homogeneity_worst": 15.0,
           "realtime_factor": 50.0}


def _engine(model: EmbeddedAutoencoder) -> Engine:
    """An engine around one loaded model, caching in memory only."""
    return Engine(device="cpu", loader=lambda name, device: model)


def measure_track(model: EmbeddedAutoencoder, track: Track) -> dict[str, float]:
    """The table metrics of `lincae.table_metrics`, and the worst homogeneity over the table's gains."""
    out = table_metrics(_engine(model), track, model.name)
    out["homogeneity_worst"] = min(out[homogeneity_key(a)] for a in SCALES)
    return out


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
    fig = spectrogram_figure(recon, track.mix, track.sample_rate, f"{model.name}: Dec(Enc(mix)) — {track.title}",
                             f"input mix — {track.title}")
    fig.savefig(path, dpi=80)


def summarize(per_track: dict[str, dict[str, float]], songs_only: bool) -> dict[str, float]:
    rows = [m for t, m in per_track.items() if not songs_only or t != STEMPEG_TRACK_ID]
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def model_card(name: str, info: dict, result: dict) -> str:
    songs, real = result["generated_songs"], result.get("musdb_excerpt")
    lines = [
        f"# {name}",
        "",
        "A demo-scale **deterministic MDCT-domain autoencoder trained by the lincae project** on generated songs — not "
        "one of the paper's checkpoints. "
        + ("Trained **with** the Lin-CAE linearity augmentation (latent mixtures and latent/target gains)."
           if info["recipe"]["linear"] else
           "Trained **without** the linearity augmentation (M2L-style baseline: mixtures encoded directly, no "
           "gains): same architecture, data, steps and seed as its linear twin."),
        "",
        f"- data: {info['train_songs']}, random stem subsets, {info['clip_seconds']} s clips, batch {info['batch']}",
        f"- steps: {info['steps']}, wall time {info['wall_seconds'] / 3600:.2f} h on {info['threads']} CPU thread(s)",
        f"- parameters: {info['parameters']:,}; compression {info['compression']:g}× (audio samples per latent "
        "value); 44.1 kHz mono",
        f"- recipe: `{json.dumps(info['recipe'])}`; shipped weights: {info.get('weights', 'ema')}",
        f"- evaluated {result['date']} on {len(EVAL_SEEDS)} held-out generated songs"
        + (" and the MUSDB18 excerpt from stempeg" if real else ""),
        "",
        "| measure | generated songs | MUSDB18 excerpt | target (linear model) |",
        "|---|---|---|---|",
    ]
    names = {**{m.key: m.label for m in METRICS}, "homogeneity_worst": "Homogeneity, worst gain (dB)"}
    for key, label in names.items():
        target = f"≥ {TARGETS[key]:g}" if key in TARGETS else ""
        lines.append(f"| {label} | {songs[key]:.2f} | {real[key]:.2f} |  {target} |" if real else
                     f"| {label} | {songs[key]:.2f} | – | {target} |")
    lines += [f"| encode + decode speed (× real time, {result['threads']} threads) | {result['realtime_factor']:.0f} "
              f"| | ≥ 50 |", "", f"![spectrogram]({name}.png)", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", nargs="+", default=["demo-lincae", "demo-ae"])
    parser.add_argument("--dir", type=Path, default=MODELS_DIR)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    tracks = evaluation_tracks()
    results = {}
    for name in args.models:
        path = args.dir / f"{name}.pt"
        model = load_checkpoint(path)
        per_track = {t.id: measure_track(model, t) for t in tracks}
        result = {
            "date": date.today().isoformat(), "machine": platform.processor() or platform.machine(),
            "threads": args.threads, "per_track": per_track,
            "generated_songs": summarize(per_track, songs_only=True),
            "realtime_factor": realtime_factor(model),
        }
        if STEMPEG_TRACK_ID in per_track:
            result["musdb_excerpt"] = per_track[STEMPEG_TRACK_ID]
        save_spectrogram(model, tracks[0], args.dir / f"{name}.png")
        (args.dir / f"{name}.md").write_text(model_card(name, read_info(path), result))
        results[name] = result
        print(name, json.dumps(result["generated_songs"], indent=1), f"RTF {result['realtime_factor']:.0f}")
    (args.dir / "evaluation.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
