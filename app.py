"""The lincae demo: the paper's comparison table computed live, with one synced Web Audio player.

    pip install -r requirements.txt && python app.py [--help]

Host and port follow GRADIO_SERVER_NAME / GRADIO_SERVER_PORT. The flags (`--musdb`, `--max-seconds`,
`--cpu-bf16`, `--compile`, `--cache-dir`, `--cache-gb`, `--device`, `--listening-db`) and their environment variables
are in `lincae.settings`.
"""
from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # the app makes no requests of its own
if os.environ.get("SPACES_ZERO_GPU"):
    import spaces  # noqa: F401  # ZeroGPU hardware: imported before torch, which it prepares for GPU calls

import argparse  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from collections.abc import Sequence  # noqa: E402

from lincae import settings as app_settings  # noqa: E402
from lincae.data import musdb_previews  # noqa: E402
from lincae.data.library import list_tracks, load_track  # noqa: E402
from lincae.engine import Engine  # noqa: E402
from lincae.engine.device import on_zero_gpu  # noqa: E402
from lincae.engine.memory import limit_malloc_arenas  # noqa: E402
from lincae.registry import Reprober, list_models  # noqa: E402
from ui.layout import build_demo, launch_kwargs  # noqa: E402
from ui.tables import TableBuilder  # noqa: E402


def parse_settings(argv: Sequence[str]) -> app_settings.Settings:
    """`python app.py [flags]`: the environment's settings with the command line's on top."""
    parser = argparse.ArgumentParser(prog="app.py", description="The lincae demo app.")
    app_settings.add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return app_settings.from_arguments(args)
    except ValueError as err:
        parser.error(str(err))


settings = parse_settings(sys.argv[1:]) if __name__ == "__main__" else app_settings.from_environment()
limit_malloc_arenas()  # fewer glibc arenas: freed memory goes back to the system instead of staying spread out
engine = Engine.from_settings(settings)
builder = TableBuilder(engine, list_models(probe=True, settings=settings), load_track,
                       cells_dir=settings.cache_dir / "cells", refresh=Reprober(settings))
if settings.musdb_previews:
    musdb_previews.fetch()
tracks = list_tracks()
if __name__ == "__main__" and tracks and not on_zero_gpu():
    # The first track's table is what the first visitor asks for: computed while the page is built and the server
    # starts (seconds on 2 cores), not after. On ZeroGPU a GPU exists only inside a request.
    threading.Thread(target=builder.warm, args=(tracks[0].id,), daemon=True).start()
demo = build_demo(builder, tracks, settings)

if __name__ == "__main__":
    demo.launch(**launch_kwargs(builder.cells_dir))
