"""The command line: `python -m lincae <command>`. Each command is a subparser with a `run` function."""
from __future__ import annotations

import argparse
import json
import sys

from lincae.engine import precompute
from lincae.models.base import ModelInfo
from lincae.registry import list_models


def format_models(infos: list[ModelInfo]) -> str:
    """A plain-text table: one line per model, with where it comes from or why it cannot run."""
    rows = [("name", "model", "linear", "status")] + [
        (
            i.name,
            i.display_name,
            "yes" if i.linear else "no",
            f"ready: {i.source}" if i.available else f"unavailable: {i.reason}",
        )
        for i in infos
    ]
    widths = [max(len(r[c]) for r in rows) for c in range(3)]
    return "\n".join("  ".join([*(r[c].ljust(widths[c]) for c in range(3)), r[3]]).rstrip() for r in rows)


def _models(args: argparse.Namespace) -> int:
    infos = list_models(probe=args.probe)
    print(json.dumps([i.to_dict() for i in infos], indent=2) if args.json else format_models(infos))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lincae", description="Linear audio autoencoders.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    models = commands.add_parser("models", help="list the models and whether they can run here")
    models.add_argument("--json", action="store_true", help="print JSON instead of a table")
    models.add_argument("--probe", action="store_true", help="also ask the Hub whether downloads are reachable")
    models.set_defaults(run=_models)

    warm = commands.add_parser("precompute", help="fill the cache: every bundled track × every available model")
    precompute.add_arguments(warm)
    warm.set_defaults(run=precompute.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
