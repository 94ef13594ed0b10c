"""The lincae demo: the paper's comparison table computed live, with one synced Web Audio player.

    pip install -r requirements.txt && python app.py [--help]

Host and port follow GRADIO_SERVER_NAME / GRADIO_SERVER_PORT. The flags (`--musdb`, `--max-seconds`,
`--cpu-bf16`, `--compile`, `--cache-dir`, `--cache-gb`, `--device`, `--listening-db`) and their environment variables
are in `lincae.settings`.
"""
from __future__ import annotations

import gc
import os

# Start-up creates a great many long-lived objects (torch, Gradio, the page): collecting garbage while they are
# imported only walks them again and again. Collections resume once they are frozen, below.
gc.disable()
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # the app makes no requests of its own
# numpy's BLAS on one thread (before numpy is imported): the server runs its computations side by side, one per core,
# and BLAS threads waiting for work (the metrics' small matrix products) took the other computation's core.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
from ui.gradio_import import skip_unused_import_work  # noqa: E402

skip_unused_import_work()  # before anything imports Gradio: half of its import time is work a server never uses
if os.environ.get("SPACES_ZERO_GPU"):
    import spaces  # noqa: F401  # ZeroGPU hardware: imported before torch, which it prepares for GPU calls

import argparse  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402

from lincae import settings as app_settings  # noqa: E402
from lincae.data import musdb_previews  # noqa: E402
from lincae.data.library import list_tracks, load_track  # noqa: E402
from lincae.engine import Engine  # noqa: E402
from lincae.engine.device import on_zero_gpu  # noqa: E402
from lincae.engine.memory import limit_malloc_arenas  # noqa: E402
from lincae.registry import Reprober, list_models  # noqa: E402
from ui.first_table import FirstTable  # noqa: E402
from ui.tables import TableBuilder  # noqa: E402  # no Gradio yet: it is imported below

FIRST_TABLE_WAIT_S = 2.0
"""How long the server waits, once the page is built, for the first table, so that the page opens with it and
starts fetching its audio at once (docs/BENCHMARKS.md); a slower one fills in after the page opens."""


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
# The event loop waits for the interpreter lock after each socket read or file check; while the computing threads
# run Python (metrics, WAV writing) it would wait up to the default interval each time: hand the lock over sooner.
sys.setswitchinterval(0.001)
limit_malloc_arenas()  # fewer glibc arenas: freed memory goes back to the system instead of staying spread out
engine = Engine.from_settings(settings)
models = list_models(probe=True, settings=settings)
if settings.musdb_previews:
    musdb_previews.fetch()
tracks = list_tracks()
builder = TableBuilder(engine, models, load_track, cells_dir=settings.cache_dir / "cells",
                       refresh=Reprober(settings))
gc.freeze()  # what is loaded now lives as long as the server: garbage collections (the engine's too) skip it
# The first track's table is what the first visitor asks for: computed (and its cells written) while Gradio is
# imported and the page is built, not after the server starts. On ZeroGPU a GPU exists only inside a request.
first_table = (FirstTable.start(builder, tracks[0].id)
               if __name__ == "__main__" and tracks and not on_zero_gpu() else None)

from ui.layout import build_demo, launch_kwargs  # noqa: E402  # Gradio: the longest import, after the above

demo = build_demo(builder, tracks, settings, ahead=first_table)
gc.freeze()  # and what Gradio and the page added
gc.enable()

if __name__ == "__main__":
    first = first_table.result(FIRST_TABLE_WAIT_S) if first_table else None  # the table the page opens with
    demo.launch(prevent_thread_lock=True, **launch_kwargs(builder.cells_dir, first.value if first else None))
    demo.block_thread()
