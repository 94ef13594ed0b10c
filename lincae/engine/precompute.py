"""`python -m lincae precompute`: fill the cache with every bundled track × every available model.

Run once after installing (or in a Space's build step) so that the app serves tables from disk at once.
"""
from __future__ import annotations

import argparse
import sys
import time

from tqdm import tqdm

from lincae import settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", nargs="*", metavar="NAME", help="only these models (default: all available)")
    parser.add_argument("--tracks", nargs="*", metavar="ID", help="only these tracks (default: all bundled)")
    parser.add_argument("--seed", type=int, default=0, help="the decoding seed shared by every row (default 0)")
    settings.add_arguments(parser, sources=False)


def run(args: argparse.Namespace) -> int:
    from lincae.data.library import list_tracks, load_track
    from lincae.engine import Engine
    from lincae.registry import list_models

    chosen = settings.from_arguments(args)
    known = list_models(settings=chosen)
    infos = [m for m in known if m.available and (not args.models or m.name in args.models)]
    tracks = [t.id for t in list_tracks() if not args.tracks or t.id in args.tracks]
    unknown = set(args.models or ()) - {m.name for m in known}
    if unknown:
        print(f"unknown models: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if not infos or not tracks:
        print("nothing to precompute: no available model or no track", file=sys.stderr)
        return 1
    engine = Engine.from_settings(chosen)
    failures = 0
    with tqdm(total=len(infos) * len(tracks), unit="table") as bar:
        for info in infos:
            for track_id in tracks:
                bar.set_description(f"{info.name} × {track_id}")
                start = time.perf_counter()
                try:
                    engine.track_table(load_track(track_id), info.name, seed=args.seed)
                except Exception as err:  # one broken model or track must not stop the others
                    failures += 1
                    tqdm.write(f"{info.name} × {track_id}: failed: {err}")
                else:
                    tqdm.write(f"{info.name} × {track_id}: {time.perf_counter() - start:.1f} s")
                bar.update()
    print(f"cache: {engine.cache_dir}")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lincae precompute", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
