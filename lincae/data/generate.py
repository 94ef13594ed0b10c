"""`python -m lincae.data.generate --seeds 1 2 3 --out assets/songs`: render songs into the bundled layout."""
from __future__ import annotations

import argparse
from pathlib import Path

from lincae.data.library import SONGS_DIR, save_track
from lincae.data.songs import render_song


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", required=True)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per song")
    parser.add_argument("--out", type=Path, default=SONGS_DIR)
    args = parser.parse_args(argv)
    for seed in args.seeds:
        track = render_song(seed, args.duration)
        save_track(track, args.out / track.id)
        print(f"{track.id}: {track.title}, {track.duration:.2f} s -> {args.out / track.id}")


if __name__ == "__main__":
    main()
