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

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from lincae import metrics  # noqa: E402
from lincae.data.library import STEMPEG_TRACK_ID, list_tracks, load_track  # noqa: E402
from lincae.data.songs import render_song  # noqa: E402
from lincae.data.track import Track  # noqa: E402
from lincae.models.spectral_ae import EmbeddedAutoencoder, load_checkpoint, read_info  # noqa: E402
from lincae.rows import SCALES, STEMS  # noqa: E402

MODELS_DIR = Path(__file__).resolve().parents[1] / "assets" / "models"
EVAL_SEEDS = (1, 2, 3, 11, 12, 13, 14, 15)  # never in training (training uses seeds ≥ 1000)
TARGETS = {"spectral_snr": 10.0, "additivity_snr": 15.0, "separation_snr": 10.0, "homogeneity_worst": 15.0,
           "realtime_factor": 50.0}


def _codec(model: EmbeddedAutoencoder):
    def encode(x: np.ndarray) -> np.ndarray:
        return model.encode(torch.from_numpy(np.ascontiguousarray(x, np.float32))[None]).numpy()

    def decode_to(length: int):
        return lambda z: model.decode(torch.from_numpy(np.asarray(z, np.float32)), length)[0].numpy()

    return encode, decode_to


def measure_track(model: EmbeddedAutoencoder, track: Track) -> dict[str, float]:
    encode, decode_to = _codec(model)
    decode = decode_to(track.num_samples)
    mix, vocals = track.mix, track.stems["vocals"]
    z_mix = encode(mix)
    recon = decode(z_mix)
    out = {
        "spectral_snr": metrics.spectral_snr(mix, recon),
        "si_sdr": metrics.si_sdr(mix, recon),
        "mrstft": metrics.mrstft(mix, recon),
        "additivity_snr": metrics.decoder_additivity(decode, encode, [track.stems[s] for s in STEMS]),
        "separation_snr": metrics.separation(decode, encode, mix, vocals),
    }
    z_vocals = encode(vocals)
    for a in SCALES:
        out[f"homogeneity_{a:g}"] = metrics.decoder_homogeneity(decode, z_vocals, a)
    out["homogeneity_worst"] = min(out[f"homogeneity_{a:g}"] for a in SCALES)
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


def spectrogram_figure(model: EmbeddedAutoencoder, track: Track, path: Path) -> None:
    encode, decode_to = _codec(model)
    mix = track.mix
    recon = decode_to(len(mix))(encode(mix))
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4), sharey=True)
    for ax, audio, title in zip(axes, (mix, recon), ("input mix", f"{model.name}: Dec(Enc(mix))")):
        ax.specgram(audio + 1e-9, NFFT=2048, Fs=track.sample_rate, noverlap=1536, cmap="magma", vmin=-120)
        ax.set_ylim(0, 8000)
        ax.set_title(f"{title} — {track.title}", fontsize=9)
        ax.set_xlabel("time (s)")
    axes[0].set_ylabel("frequency (Hz)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


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
        f"- recipe: `{json.dumps(info['recipe'])}`; shipped weights: {info.get('weights', 'ema')} "
        "(EMA or last weights: whichever served the linear model better on validation songs 900–903; the "
        "baseline ships the same kind)",
        f"- evaluated {result['date']} on {len(EVAL_SEEDS)} held-out generated songs"
        + (" and the MUSDB18 excerpt from stempeg" if real else ""),
        "",
        "| measure | generated songs | MUSDB18 excerpt | target (linear model) |",
        "|---|---|---|---|",
    ]
    names = {"spectral_snr": "reconstruction spectral SNR (dB)", "si_sdr": "reconstruction SI-SDR (dB)",
             "mrstft": "reconstruction MR-STFT distance", "additivity_snr": "additivity SNR (dB)",
             "separation_snr": "separation SNR (dB)", "homogeneity_0.1": "homogeneity SNR a=0.1 (dB)",
             "homogeneity_0.5": "homogeneity SNR a=0.5 (dB)", "homogeneity_2": "homogeneity SNR a=2 (dB)",
             "homogeneity_worst": "homogeneity SNR, worst a (dB)"}
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
        spectrogram_figure(model, tracks[0], args.dir / f"{name}.png")
        (args.dir / f"{name}.md").write_text(model_card(name, read_info(path), result))
        results[name] = result
        print(name, json.dumps(result["generated_songs"], indent=1), f"RTF {result['realtime_factor']:.0f}")
    (args.dir / "evaluation.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
