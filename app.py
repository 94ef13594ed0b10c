"""The lincae demo: the paper's comparison table computed live, with one synced Web Audio player.

    pip install -r requirements.txt && python app.py

Host and port follow GRADIO_SERVER_NAME / GRADIO_SERVER_PORT; LINCAE_CACHE_DIR moves the cache.
`--musdb PATH` (or LINCAE_MUSDB_DIR) offers a local MUSDB18-HQ folder; `--max-seconds N` (or LINCAE_MAX_SECONDS)
sets the longest upload or segment (30 s by default). `--cpu-bf16` (LINCAE_CPU_BF16=1) decodes in bf16 on a
CPU; `--compile` (LINCAE_COMPILE=1) compiles the official decoders.
"""
from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # the app makes no requests of its own

import sys  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402

from lincae.data.library import list_tracks, load_track  # noqa: E402
from lincae.engine import Engine  # noqa: E402
from lincae.registry import list_models  # noqa: E402
from ui.layout import build_demo, launch_kwargs  # noqa: E402
from ui.sources import apply_cli_args  # noqa: E402
from ui.tables import TableBuilder  # noqa: E402

if __name__ == "__main__":
    apply_cli_args(sys.argv[1:])
engine = Engine()
builder = TableBuilder(engine, list_models(probe=True), load_track, cells_dir=Path(engine.cache_dir) / "cells")
tracks = list_tracks()
demo = build_demo(builder, tracks)

if __name__ == "__main__":
    if tracks:  # the first track's table is usually what the first visitor asks for
        threading.Thread(target=builder.warm, args=(tracks[0].id,), daemon=True).start()
    demo.launch(**launch_kwargs(builder.cells_dir))
