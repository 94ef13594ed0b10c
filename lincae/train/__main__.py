"""Train an embedded autoencoder: `python -m lincae.train --name demo-lincae --linear` (or without `--linear`
for the baseline). Resumable: run the same command again to continue from `runs/<name>/state.pt` (a larger
`--steps` extends the run; the schedule is in absolute steps, so it is unchanged). `--export PATH` writes the
weights in the shipped checkpoint format."""
from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from lincae.models.spectral_ae import SpectralAE, SpectralAEConfig, save_checkpoint
from lincae.train.data import TRAIN_SEED_BASE, recording_pool, sample_batch, song_pool
from lincae.train.losses import reconstruction_loss
from lincae.train.recipe import Recipe, draw_plan, prepare

STAGE_ONE_DEFAULTS = {"band_weight": 0.0, "exponent_lr_scale": 20.0}  # checkpoints written before these options
PCA_FRAMES_CLIPS = 64  # clips of the data stream whose frames initialise the linear paths


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--name", required=True)
    p.add_argument("--linear", action="store_true", help="apply the Lin-CAE augmentation (else: baseline)")
    p.add_argument("--anneal-steps", type=int, nargs=2, metavar=("HOLD", "END"),
                   help="Lin-CAE gain annealing: full range until step HOLD, cosine to [1, 1] by step END "
                        "(default: no annealing, Lin-CAE-2 style)")
    p.add_argument("--steps", type=int, default=5000)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--clip-seconds", type=float, default=0.5)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--ema", type=float, default=0.99)
    p.add_argument("--songs", type=int, default=100, help="training songs in the pool")
    p.add_argument("--song-seconds", type=float, default=10.0)
    p.add_argument("--recording-share", type=float, default=0.3,
                   help="share of clips cut from real recordings (sonic-pi-samples, when installed)")
    p.add_argument("--level-db", type=float, nargs=2, default=(-30.0, 6.0), metavar=("LOW", "HIGH"),
                   help="range of the random input level applied to each clip")
    p.add_argument("--mel-weight", type=float, default=0.5, help="weight of the log-mel loss term")
    p.add_argument("--band-weight", type=float, default=0.0,
                   help="weight of the band-balanced spectral convergence term (every third-octave band counts alike)")
    p.add_argument("--exponent-lr-scale", type=float, default=20.0,
                   help="learning-rate multiplier of the front end's exponent (one scalar: 20 lets it move as fast as "
                        "a whole layer does; 0 keeps it fixed, e.g. when fine-tuning a trained model)")
    p.add_argument("--latent-channels", type=int, default=SpectralAEConfig.latent_channels)
    p.add_argument("--compress-power", type=float, default=SpectralAEConfig.compress_power,
                   help="front-end magnitude compression exponent (1 with --compress-gain 1: none)")
    p.add_argument("--compress-gain", type=float, default=SpectralAEConfig.compress_gain)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--save-every", type=int, default=25)
    p.add_argument("--runs", type=Path, default=Path("runs"))
    p.add_argument("--export", type=Path, help="write the shipped checkpoint here after training")
    p.add_argument("--export-only", action="store_true", help="export the latest saved state and exit")
    p.add_argument("--init-from", type=Path,
                   help="start a new run from a shipped checkpoint's weights (fresh optimizer; its steps count on)")
    p.add_argument("--export-weights", choices=("ema", "raw"), default="ema",
                   help="ship the EMA of the weights or the last weights themselves")
    return p.parse_args(argv)


def _recipe(args: argparse.Namespace) -> Recipe:
    return Recipe(linear=args.linear, anneal_steps=tuple(args.anneal_steps) if args.anneal_steps else None)


def _config(args: argparse.Namespace) -> SpectralAEConfig:
    return SpectralAEConfig(latent_channels=args.latent_channels, compress_power=args.compress_power,
                            compress_gain=args.compress_gain)


def _stage(info: dict) -> dict:
    """What a card needs to know of an earlier training stage: where it ended and its loss and exponent settings."""
    keys = ("wall_seconds", "mel_weight", "band_weight", "exponent_lr_scale", "power")
    return {"steps": info["steps"], **{k: info.get(k, STAGE_ONE_DEFAULTS.get(k)) for k in keys}}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    run = args.runs / args.name
    run.mkdir(parents=True, exist_ok=True)
    recipe, config = _recipe(args), _config(args)
    pool = song_pool(args.songs, args.song_seconds, args.runs / "data")
    recordings = recording_pool() if args.recording_share > 0 else []
    samples = int(args.clip_seconds * config.sample_rate)

    def batch_at(*key: int):
        rng = np.random.default_rng([args.seed, *key])  # the data of step n is the same for every run
        batch = sample_batch(pool, args.batch, samples, rng, recordings, args.recording_share, tuple(args.level_db))
        return batch, rng

    torch.manual_seed(args.seed)  # same initial weights for the linear model and its baseline
    model = SpectralAE(config)
    step, wall = 0, 0.0
    history: list[dict] = []  # the stages a run started with `--init-from` continues (oldest first)
    state_path = run / "state.pt"
    exponent = [model.compress_power]
    others = [p for p in model.parameters() if p is not model.compress_power]
    opt = torch.optim.AdamW([{"params": others, "scale": 1.0}, {"params": exponent, "scale": args.exponent_lr_scale}],
                            lr=args.lr, weight_decay=0.0)
    ema = SpectralAE(config)
    if state_path.exists():
        state = torch.load(state_path, map_location="cpu", weights_only=False)
        saved = (state.get("recipe"), state.get("config"))
        if saved != (asdict(recipe), asdict(config)):
            raise SystemExit(f"{state_path} was trained with recipe/config {saved}; this command asks for "
                             f"{(asdict(recipe), asdict(config))}. Use another --name or the same options.")
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["opt"])
        step, wall, history = state["step"], state["wall"], state.get("history", [])
        print(f"resumed {args.name} at step {step}")
    elif args.init_from:
        blob = torch.load(args.init_from, map_location="cpu", weights_only=True)
        model.load_state_dict(blob["state_dict"])
        ema.load_state_dict(blob["state_dict"])
        step, wall = blob["info"]["steps"], float(blob["info"]["wall_seconds"])
        history = [*blob["info"].get("earlier_stages", []), _stage(blob["info"])]
        print(f"{args.name}: starting from {args.init_from} (step {step})")
    else:
        clips = np.concatenate([batch_at(step, 1, i)[0].x for i in range(-(-PCA_FRAMES_CLIPS // args.batch))])
        with torch.no_grad():
            frames = model.front_end(torch.from_numpy(clips))
        model.init_linear_from_pca(frames.transpose(1, 2).reshape(-1, config.hop))
        ema.load_state_dict(model.state_dict())

    def save() -> None:
        blob = {"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "step": step,
                "wall": wall, "history": history, "recipe": asdict(recipe), "config": asdict(config),
                "args": {k: str(v) for k, v in vars(args).items()}}
        torch.save(blob, run / "state.tmp")
        os.replace(run / "state.tmp", state_path)

    def export(path: Path) -> None:
        shipped = ema if args.export_weights == "ema" else model
        info = {"name": args.name, "recipe": asdict(recipe), "steps": step, "wall_seconds": round(wall),
                "batch": args.batch, "clip_seconds": args.clip_seconds, "lr": args.lr, "ema": args.ema,
                "train_songs": f"generated songs seeds {TRAIN_SEED_BASE}..{TRAIN_SEED_BASE + args.songs - 1}, "
                               f"{args.song_seconds:g} s each",
                "train_recordings": f"{len(recordings)} sonic-pi-samples recordings, "
                                    f"{args.recording_share:.0%} of clips" if recordings else "none",
                "level_db": list(args.level_db), "mel_weight": args.mel_weight, "band_weight": args.band_weight,
                "exponent_lr_scale": args.exponent_lr_scale, "earlier_stages": history,
                "threads": args.threads, "compression": config.compression, "power": round(shipped.power.item(), 4),
                "parameters": sum(p.numel() for p in model.parameters()), "weights": args.export_weights}
        save_checkpoint(shipped, path, info)
        print(f"exported {path} ({path.stat().st_size / 1e6:.1f} MB)")

    if args.export_only:
        if not state_path.exists():
            raise SystemExit(f"nothing to export: {state_path} does not exist yet")
        export(args.export)
        return
    log = (run / "log.jsonl").open("a")
    model.train()
    while step < args.steps:
        t0 = time.time()
        batch, rng = batch_at(step)
        plan = draw_plan(args.batch, recipe, step, rng)
        lr = args.lr * min(1.0, (step + 1) / args.warmup)
        for group in opt.param_groups:
            group["lr"] = lr * group["scale"]
        z, target = prepare(model, batch, recipe, plan)
        loss = reconstruction_loss(model.decode(z, target.shape[-1]), target, args.mel_weight, args.band_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.lerp_(pm, 1 - args.ema)
        step += 1
        wall += time.time() - t0
        if step % 10 == 0:
            power = model.power.item()
            log.write(json.dumps({"step": step, "loss": round(loss.item(), 4), "power": round(power, 4),
                                  "wall": round(wall, 1)}) + "\n")
            log.flush()
            print(f"{args.name} step {step} loss {loss.item():.4f} power {power:.3f} {wall / step:.2f} s/step",
                  flush=True)
        if step % args.save_every == 0:
            save()
    save()
    if args.export:
        export(args.export)


if __name__ == "__main__":
    main()
