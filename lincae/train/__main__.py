"""Train an embedded autoencoder: `python -m lincae.train --name demo-lincae --linear` (or without `--linear`
for the baseline). Resumable: run the same command again to continue from `runs/<name>/state.pt`.
`--export PATH` writes the EMA weights in the shipped checkpoint format."""
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
from lincae.train.data import TRAIN_SEED_BASE, sample_batch, song_pool
from lincae.train.losses import reconstruction_loss
from lincae.train.recipe import Recipe, draw_plan, prepare


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--name", required=True)
    p.add_argument("--linear", action="store_true", help="apply the Lin-CAE augmentation (else: baseline)")
    p.add_argument("--anneal-gains", action="store_true", help="Lin-CAE gain annealing (Lin-CAE-2 style if off)")
    p.add_argument("--steps", type=int, default=5000)
    p.add_argument("--batch", type=int, default=12)
    p.add_argument("--clip-seconds", type=float, default=0.75)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--ema", type=float, default=0.998)
    p.add_argument("--songs", type=int, default=200, help="training songs in the pool")
    p.add_argument("--song-seconds", type=float, default=10.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--save-every", type=int, default=250)
    p.add_argument("--runs", type=Path, default=Path("runs"))
    p.add_argument("--export", type=Path, help="write the shipped checkpoint here after training")
    p.add_argument("--export-only", action="store_true", help="export the latest saved state and exit")
    p.add_argument("--init-from", type=Path,
                   help="start a new run from a shipped checkpoint's weights (fresh optimizer; its steps count on)")
    p.add_argument("--export-weights", choices=("ema", "raw"), default="ema",
                   help="ship the EMA of the weights or the last weights themselves")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    run = args.runs / args.name
    run.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)  # same initial weights for the linear model and its baseline
    model = SpectralAE(SpectralAEConfig())
    ema = SpectralAE(SpectralAEConfig())
    ema.load_state_dict(model.state_dict())
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    step, wall = 0, 0.0
    state_path = run / "state.pt"
    if state_path.exists():
        state = torch.load(state_path, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["opt"])
        step, wall = state["step"], state["wall"]
        print(f"resumed {args.name} at step {step}")
    elif args.init_from:
        blob = torch.load(args.init_from, map_location="cpu", weights_only=True)
        model.load_state_dict(blob["state_dict"])
        ema.load_state_dict(blob["state_dict"])
        step, wall = blob["info"]["steps"], float(blob["info"]["wall_seconds"])
        print(f"{args.name}: starting from {args.init_from} (step {step})")
    recipe = Recipe(linear=args.linear, anneal_gains=args.anneal_gains)
    pool = song_pool(args.songs, args.song_seconds, args.runs / "data")
    samples = int(args.clip_seconds * model.config.sample_rate)

    def save() -> None:
        blob = {"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "step": step,
                "wall": wall, "args": {k: str(v) for k, v in vars(args).items()}}
        torch.save(blob, run / "state.tmp")
        os.replace(run / "state.tmp", state_path)

    def export(path: Path) -> None:
        info = {"name": args.name, "recipe": asdict(recipe), "steps": step, "wall_seconds": round(wall),
                "batch": args.batch, "clip_seconds": args.clip_seconds, "lr": args.lr, "ema": args.ema,
                "train_songs": f"generated songs seeds {TRAIN_SEED_BASE}..{TRAIN_SEED_BASE + args.songs - 1}, "
                               f"{args.song_seconds:g} s each",
                "threads": args.threads, "compression": model.config.compression,
                "parameters": sum(p.numel() for p in model.parameters()), "weights": args.export_weights}
        save_checkpoint(ema if args.export_weights == "ema" else model, path, info)
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
        rng = np.random.default_rng([args.seed, step])  # the data of step n is the same for every run
        batch = sample_batch(pool, args.batch, samples, rng)
        plan = draw_plan(args.batch, recipe, step / args.steps, rng)
        lr = args.lr * min(1.0, (step + 1) / args.warmup)
        for group in opt.param_groups:
            group["lr"] = lr
        z, target = prepare(model, batch, recipe, plan)
        loss = reconstruction_loss(model.decode(z, target.shape[-1]), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.lerp_(pm, 1 - args.ema)
        step += 1
        wall += time.time() - t0
        if step % 25 == 0:
            log.write(json.dumps({"step": step, "loss": round(loss.item(), 4), "wall": round(wall, 1)}) + "\n")
            log.flush()
            print(f"{args.name} step {step} loss {loss.item():.4f} {wall / step:.2f} s/step", flush=True)
        if step % args.save_every == 0:
            save()
    save()
    if args.export:
        export(args.export)


if __name__ == "__main__":
    main()
