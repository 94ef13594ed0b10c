"""How this installation runs: built once by the app or the command line, from flags and the environment,
then handed to whatever needs it. No other module reads the environment for these."""
from __future__ import annotations

import argparse
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_MAX_SECONDS = 30.0
DEFAULT_CACHE_GB = 2.0
"""The cache folder's default bound: a small Space's disk holds it easily; the bundled tables of every model take
far less, a 30 s upload's table about 85 MB per model and seed."""
MIN_SECONDS = 0.1
ENVIRONMENT = {
    "cache_dir": "LINCAE_CACHE_DIR",
    "cache_gb": "LINCAE_CACHE_GB",
    "max_seconds": "LINCAE_MAX_SECONDS",
    "musdb_dir": "LINCAE_MUSDB_DIR",
    "cpu_bf16": "LINCAE_CPU_BF16",
    "compile": "LINCAE_COMPILE",
    "weights_dir": "LINCAE_WEIGHTS_DIR",
    "sao_vae_dir": "LINCAE_SAO_VAE_DIR",
    "musdb_previews": "LINCAE_MUSDB_PREVIEWS",
    "official_revision": "LINCAE_OFFICIAL_REVISION",
    "sao_vae_revision": "LINCAE_SAO_VAE_REVISION",
    "listening_db": "LINCAE_LISTENING_DB",
}
"""The environment variable that sets each field (a Space has no command line)."""


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "lincae"


@dataclass(frozen=True)
class Settings:
    """cache_dir: where computed audio is kept across restarts. cache_gb: the most it may hold, in GB (least
    recently used files are deleted beyond it). max_seconds: the longest upload or MUSDB
    segment. musdb_dir: a local MUSDB18-HQ folder (None: not offered). cpu_bf16: decode in bf16 on a CPU.
    compile: compile the decoders that support it. device: "cuda", "mps", "cpu" or None for the best one.
    weights_dir: a local mirror of the official checkpoints' Hub repository. sao_vae_dir: a local copy of the
    Stable Audio VAE (its `vae/` folder). musdb_previews: download MUSDB18's 7-second previews at start (when
    the network allows) and offer them as tracks. official_revision, sao_vae_revision: the Hub revision (a commit
    SHA) to download the official checkpoints / the Stable Audio VAE at (None: the registry's pinned one).
    listening_db: the SQLite file of listening tests (None: `listening.sqlite` in the cache folder)."""

    cache_dir: Path = field(default_factory=default_cache_dir)
    cache_gb: float = DEFAULT_CACHE_GB
    max_seconds: float = DEFAULT_MAX_SECONDS
    musdb_dir: Path | None = None
    cpu_bf16: bool = False
    compile: bool = False
    device: str | None = None
    weights_dir: Path | None = None
    sao_vae_dir: Path | None = None
    musdb_previews: bool = False
    official_revision: str | None = None
    sao_vae_revision: str | None = None
    listening_db: Path | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.max_seconds) or self.max_seconds < MIN_SECONDS:
            raise ValueError(f"the duration limit must be at least {MIN_SECONDS} s, got {self.max_seconds:g}")
        if not (math.isfinite(self.cache_gb) and self.cache_gb > 0):
            raise ValueError(f"the cache budget must be more than 0 GB, got {self.cache_gb:g}")


def _path(raw: str) -> Path:
    return Path(raw).expanduser().resolve()


def _number(raw: str, source: str, unit: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{source}={raw!r} is not a number of {unit}") from None


def from_environment(environ: Mapping[str, str] = os.environ) -> Settings:
    """Settings from the `LINCAE_*` variables of `ENVIRONMENT`; defaults for those unset."""
    found: dict[str, object] = {}
    for name, variable in ENVIRONMENT.items():
        raw = environ.get(variable, "").strip()
        if not raw:
            continue
        if name in ("cache_dir", "musdb_dir", "weights_dir", "sao_vae_dir", "listening_db"):
            found[name] = _path(raw)
        elif name == "max_seconds":
            found[name] = _number(raw, variable, "seconds")
        elif name == "cache_gb":
            found[name] = _number(raw, variable, "gigabytes")
        elif name.endswith("_revision"):
            found[name] = raw
        else:
            found[name] = raw == "1"
    try:
        return Settings(**found)
    except ValueError as err:
        which = "cache_gb" if "cache budget" in str(err) else "max_seconds"
        raise ValueError(f"{ENVIRONMENT[which]}: {err}") from None


def add_arguments(parser: argparse.ArgumentParser, *, sources: bool = True) -> None:
    """The flags that override the environment. `sources`: also --musdb, --max-seconds and --listening-db
    (the app's)."""
    env = ENVIRONMENT
    parser.add_argument("--cache-dir", metavar="PATH",
                        help=f"cache root (default ~/.cache/lincae; same as ${env['cache_dir']})")
    parser.add_argument("--cache-gb", type=float, metavar="GB",
                        help=f"the most the cache folder may hold; least recently used files are deleted beyond it "
                             f"(default {DEFAULT_CACHE_GB:g}; same as ${env['cache_gb']})")
    parser.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    parser.add_argument("--cpu-bf16", action="store_true", default=None,
                        help=f"decode in bf16 on a CPU: faster, less exact (docs/BENCHMARKS.md); "
                             f"same as {env['cpu_bf16']}=1")
    parser.add_argument("--compile", action="store_true", default=None,
                        help=f"compile the official decoders (minutes at first, then faster); same as {env['compile']}=1")
    if sources:
        parser.add_argument("--musdb", metavar="PATH",
                            help=f"a local MUSDB18-HQ folder (test/<track>/*.wav); same as ${env['musdb_dir']}")
        parser.add_argument("--max-seconds", type=float, metavar="N",
                            help=f"longest upload or segment, in seconds (default {DEFAULT_MAX_SECONDS:g}); "
                                 f"same as ${env['max_seconds']}")
        parser.add_argument("--listening-db", metavar="PATH",
                            help=f"the SQLite file of listening tests (default: listening.sqlite in the cache "
                                 f"folder); same as ${env['listening_db']}")


def from_arguments(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> Settings:
    """The environment's settings with the flags given in `args` (parsed with `add_arguments`) on top."""
    given = {
        "cache_dir": _path(args.cache_dir) if args.cache_dir else None,
        "cache_gb": getattr(args, "cache_gb", None),
        "device": args.device,
        "cpu_bf16": args.cpu_bf16,
        "compile": args.compile,
        "musdb_dir": _path(args.musdb) if getattr(args, "musdb", None) else None,
        "max_seconds": getattr(args, "max_seconds", None),
        "listening_db": _path(args.listening_db) if getattr(args, "listening_db", None) else None,
    }
    return replace(from_environment(environ), **{k: v for k, v in given.items() if v is not None})
