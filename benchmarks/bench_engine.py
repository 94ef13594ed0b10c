"""Benchmark the engine against the reference loop, and the cache, on this machine.

    python benchmarks/bench_engine.py official [--seconds 6] [--no-bf16] [--no-compile] [--device cuda]
    python benchmarks/bench_engine.py cached
    python benchmarks/bench_engine.py embedded

`official`: one track table (6 encodes, 7 decodes) of the official architecture at full size with random
weights (served through a local mirror of the Hub layout, as `LINCAE_WEIGHTS_DIR`), computed by
  - the reference: the official demo's straightforward loop over `linear_cae.Autoencoder`, one `encode` per
    signal and one `decode` per row, each decode seeded with `torch.manual_seed(seed)`;
  - the engine (its CPU batch policy, channels-last decoder) in fp32, in fp32 with the
    decoder compiled, with the decoder in bf16, and in bf16 compiled (the encoder is fp32 in every case);
    with `--device cuda`: the engine with its GPU policy (decoder under autocast), plain and compiled;
and compares outputs row by row. Heavy: ~15 minutes on 2 CPU cores. `cached`: the same engine serving a table again, from memory and from
disk after a restart. `embedded`: real-time factor of the bundled models.
Results print as JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lincae import metrics  # noqa: E402
from lincae.data.track import SAMPLE_RATE, Track  # noqa: E402
from lincae.engine import MODEL_ROWS, ROW_COEFFICIENTS, SIGNALS, Engine  # noqa: E402
from lincae.registry import load_model  # noqa: E402
from lincae.rows import STEMS  # noqa: E402
from lincae.settings import Settings  # noqa: E402

# Music2Latent's defaults: the architecture of the released checkpoints (58,185,026 parameters)
FRONTEND = {"hop_size": 512, "n_fft_factor": 4, "alpha_rescale": 0.65, "beta_rescale": 0.34, "sample_rate": SAMPLE_RATE}
GENERATOR = {
    "base_channels": 64, "layers_list": [2, 2, 2, 2, 2], "multipliers_list": [1, 2, 4, 4, 4],
    "attention_list": [0, 0, 1, 1, 1], "freq_downsample_list": [1, 0, 0, 0], "layers_list_encoder": [1, 1, 1, 1, 1],
    "bottleneck_base_channels": 512, "num_bottleneck_layers": 4, "bottleneck_channels": 64, "heads": 4,
    "cond_channels": 256, "data_channels": 2, "hop": 512,
}
# a tiny variant, to check the benchmark itself in seconds (`--small`); its timings mean nothing
SMALL_GENERATOR = {
    **GENERATOR, "base_channels": 8, "layers_list": [1, 1, 1, 1, 1], "multipliers_list": [1, 1, 1, 1, 1],
    "bottleneck_base_channels": 16, "num_bottleneck_layers": 1, "bottleneck_channels": 8, "cond_channels": 16,
}
DIFFUSION: dict = {}
MODEL = "lin-cae"


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def write_mirror(root: Path, generator: dict) -> None:
    """A local copy of the Hub layout for `lin-cae`, with random weights (seed 0)."""
    from linear_cae import Autoencoder as PackageAutoencoder

    from lincae.models.official import FILE_NAMES, hub_folder

    torch.manual_seed(0)
    module = PackageAutoencoder(FRONTEND, generator, DIFFUSION, name=MODEL)
    with torch.no_grad():
        for p in module.parameters():
            if not p.any():  # zero-initialised output layers would make the decoder ignore its latent
                p.normal_(0.0, 0.02)
    folder = root / hub_folder(MODEL)
    folder.mkdir(parents=True)
    torch.save(module.state_dict(), folder / FILE_NAMES.checkpoint)
    for name, kwargs in zip(FILE_NAMES[1:], (FRONTEND, generator, DIFFUSION)):
        (folder / name).write_text(yaml.safe_dump(kwargs))


def bench_track(seconds: float) -> Track:
    """The first `seconds` of the stempeg MUSDB excerpt, else of the first bundled song."""
    from lincae.data.library import list_tracks, load_track

    infos = list_tracks()
    chosen = next((t for t in infos if t.id.startswith("musdb")), infos[0] if infos else None)
    if chosen is None:
        raise SystemExit("no track available to benchmark on")
    t = load_track(chosen.id)
    n = int(seconds * t.sample_rate)
    return Track(id=f"{t.id}-{seconds:g}s", title=t.title, sample_rate=t.sample_rate,
                 stems={s: t.stems[s][:n].copy() for s in STEMS})


def reversed_track(track: Track) -> Track:
    """Other audio of the same length: what a compiling engine warms up on."""
    return Track(id=f"{track.id}-reversed", title=track.title, sample_rate=track.sample_rate,
                 stems={s: x[::-1].copy() for s, x in track.stems.items()})


def reference_table(ref, track: Track, seed: int) -> tuple[dict[str, np.ndarray], dict]:
    """The official demo's loop: one encode per signal, one seeded decode per row, on the module's device."""
    audio = {"mix": track.mix, **track.stems, "accomp": track.accomp}
    length = track.num_samples
    with torch.no_grad():
        start, cpu = time.perf_counter(), time.process_time()
        z = {s: ref.encode(torch.from_numpy(audio[s])[None].to(ref.device)) for s in SIGNALS}
        encode_s = time.perf_counter() - start
        out = {}
        for row in MODEL_ROWS:
            latent = sum(c * z[s] for s, c in ROW_COEFFICIENTS[row].items())
            torch.manual_seed(seed)
            out[row] = ref.decode(latent, full_length=length)[0].float().cpu().numpy()
    timing = {"encode_s": encode_s, "total_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu}
    return out, timing


def compare(reference: dict[str, np.ndarray], table) -> dict:
    diffs = {r: float(np.max(np.abs(reference[r] - table[r]))) for r in MODEL_ROWS}
    snrs = {r: round(metrics.snr(reference[r], table[r]), 1) for r in MODEL_ROWS}
    scale = max(float(np.max(np.abs(reference[r]))) for r in MODEL_ROWS)
    return {"max_abs_diff": max(diffs.values()), "peak": scale, "min_snr_db": min(snrs.values()), "snr_db": snrs}


def timed_table(engine: Engine, track: Track, seed: int, warm_up: Track | None = None) -> tuple[dict, dict]:
    """Wall-clock and CPU seconds (CPU time is the fairer measure on a machine shared with other work).

    Loading is not timed. A compiling engine first computes the table of `warm_up`, other audio of the same
    length (the track reversed), so that the timed table runs the compiled code; that first table is reported apart.
    """
    engine.model(MODEL)
    timing = {}
    if engine.compile:
        start, cpu = time.perf_counter(), time.process_time()
        engine.track_table(warm_up, MODEL, seed=seed)
        timing = {"first_table_with_compilation_s": time.perf_counter() - start,
                  "first_table_with_compilation_cpu_s": time.process_time() - cpu}
    start, cpu = time.perf_counter(), time.process_time()
    table = engine.track_table(track, MODEL, seed=seed)
    return table, {"total_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu, **timing}


def served_again(engine: Engine, track: Track, model: str, seed: int, memory_runs: int, disk_runs: int,
                 loader) -> dict:
    """A computed table served again: from memory (same engine), and from disk in a new engine on the same
    cache directory (its model loaded first, not timed). Medians, in ms."""

    def timed(e: Engine) -> float:
        start = time.perf_counter()
        e.track_table(track, model, seed=seed)
        return time.perf_counter() - start

    memory = [timed(engine) for _ in range(memory_runs)]
    disk = []
    for _ in range(disk_runs):
        restarted = Engine(device="cpu", cache_dir=engine.cache_dir, loader=loader)
        restarted.model(model)
        disk.append(timed(restarted))
    return {"memory_ms": 1000 * statistics.median(memory), "disk_ms": 1000 * statistics.median(disk)}


def run_official(args: argparse.Namespace) -> dict:
    from lincae.models.official import FILE_NAMES, build_module, hub_folder

    track = bench_track(args.seconds)
    result: dict = {"machine": machine(), "track": track.id, "seconds": track.duration, "seed": args.seed}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_mirror(tmp / "mirror", SMALL_GENERATOR if args.small else GENERATOR)
        mirror = Settings(weights_dir=tmp / "mirror")
        files = type(FILE_NAMES)(*(tmp / "mirror" / hub_folder(MODEL) / f for f in FILE_NAMES))
        ref = build_module(MODEL, files).to(args.device)
        result["parameters"] = sum(p.numel() for p in ref.parameters())

        result["load_before_reference"] = uptime()
        reference, result["reference"] = reference_table(ref, track, args.seed)
        del ref
        print(json.dumps(result["reference"]), flush=True)

        warm_up = reversed_track(track)
        variants = ({"engine_fp32": {}, "engine_fp32_compiled": {"compile": True}, "engine_bf16": {"cpu_bf16": True},
                     "engine_bf16_compiled": {"cpu_bf16": True, "compile": True}}
                    if args.device == "cpu" else {"engine_autocast": {}, "engine_autocast_compiled": {"compile": True}})
        for name, options in variants.items():
            if (args.no_bf16 and options.get("cpu_bf16")) or (args.no_compile and options.get("compile")):
                continue
            result[f"load_before_{name}"] = uptime()
            engine = Engine.from_settings(replace(mirror, device=args.device, cache_dir=tmp / name, **options))
            table, timing = timed_table(engine, track, args.seed, warm_up)
            result[name] = {**timing, **compare(reference, table),
                            "cpu_speed_up": result["reference"]["cpu_s"] / timing["cpu_s"],
                            "wall_speed_up": result["reference"]["total_s"] / timing["total_s"],
                            "rows_realtime_factor": len(MODEL_ROWS) * track.duration / timing["total_s"],
                            "max_mrstft_vs_reference": max(metrics.mrstft(reference[r], table[r]) for r in MODEL_ROWS)}
            print(json.dumps({name: result[name]}), flush=True)
            if name == "engine_fp32":
                result["cached"] = served_again(engine, track, MODEL, args.seed, memory_runs=20, disk_runs=1,
                                                loader=lambda name, device: load_model(name, device, mirror))
                print(json.dumps(result["cached"]), flush=True)
            del engine
    result["load_after"] = uptime()
    result["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    if torch.cuda.is_available():
        result["peak_gpu_gb"] = torch.cuda.max_memory_allocated() / 2**30
    return result


def run_cached(args: argparse.Namespace) -> dict:
    """The cache alone, with a small deterministic model: what serving a table again costs."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from engine_fakes import IdentityAE

    track = bench_track(args.seconds)
    model = IdentityAE(name="fake")
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(device="cpu", cache_dir=tmp, loader=lambda name, device: model)
        engine.track_table(track, "fake")
        served = served_again(engine, track, "fake", seed=0, memory_runs=50, disk_runs=5,
                              loader=lambda name, device: model)
    return {"machine": machine(), "track_seconds": track.duration, "memory_ms_median": served["memory_ms"],
            "disk_ms_median": served["disk_ms"], "load": uptime()}


def run_embedded(args: argparse.Namespace) -> dict:
    from lincae.audio import resample
    from lincae.registry import list_models

    out: dict = {"machine": machine(), "load": uptime(), "models": {}}
    track = bench_track(args.seconds)
    for info in list_models():
        if not info.embedded:
            continue
        if not info.available:
            out["models"][info.name] = {"available": False, "reason": info.reason}
            continue
        model = load_model(info.name, device="cpu")
        x = torch.from_numpy(resample(track.mix, track.sample_rate, model.sample_rate))[None]
        with torch.inference_mode():
            model.decode(model.encode(x), x.shape[-1], seed=0)  # warm-up
            start = time.perf_counter()
            z = model.encode(x)
            enc = time.perf_counter() - start
            model.decode(z, x.shape[-1], seed=0)
            total = time.perf_counter() - start
        out["models"][info.name] = {"encode_s": enc, "encode_decode_s": total,
                                    "realtime_factor": track.duration / total}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["official", "cached", "embedded"])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-bf16", action="store_true", help="skip the bf16 engine runs")
    parser.add_argument("--no-compile", action="store_true", help="skip the compiled engine runs")
    parser.add_argument("--device", default="cpu", help="`official` on this device, e.g. cuda (default cpu)")
    parser.add_argument("--small", action="store_true", help="a tiny network: checks the benchmark, not the speed")
    args = parser.parse_args()
    run = {"official": run_official, "cached": run_cached, "embedded": run_embedded}[args.what]
    print(json.dumps(run(args), indent=2))


if __name__ == "__main__":
    main()
