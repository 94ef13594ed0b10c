"""The table's rows are declared once, in `lincae.rows`: the engine, the player and the API all follow it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lincae import rows
from lincae.rows import MODEL_ROWS, REFERENCE_ROWS, ROWS, SIGNALS, Row, get_row
from test_app import make_track

TESTS = Path(__file__).resolve().parent
TRIAL_ROW = ('Row("scale_0_25", "Latent Scaling ×0.25", "Dec(0.25 · z_vocals)", latent={"vocals": 0.25}, '
             'original={"vocals": 0.25}),')


def test_every_row_plays_or_decodes_and_says_what_it_approximates():
    assert [r.id for r in ROWS if r.reference] == list(REFERENCE_ROWS) == ["gt_mix", "gt_vocals"]
    assert [r.id for r in ROWS if not r.reference] == list(MODEL_ROWS)
    track = make_track("t", 0.1)
    np.testing.assert_array_equal(get_row("gt_mix").original_audio(track), track.mix)
    np.testing.assert_array_equal(get_row("sep_vocals").original_audio(track), track.stems["vocals"])
    np.testing.assert_allclose(get_row("scale_2_0").original_audio(track), 2 * track.stems["vocals"])
    assert dict(get_row("sep_vocals").latent) == {"mix": 1.0, "accomp": -1.0}
    assert all(set(r.original) <= set(SIGNALS) for r in ROWS)


def test_rows_refuse_unknown_signals_and_ids():
    with pytest.raises(ValueError, match="unknown signals"):
        Row("x", "X", "Dec(z_piano)", latent={"piano": 1.0}, original={"mix": 1.0})
    with pytest.raises(KeyError, match="unknown row 'nope'"):
        get_row("nope")


TRIAL_SCRIPT = r"""
import json, sys, types
from pathlib import Path

module = types.ModuleType("lincae.rows")
module.__file__ = ROWS_FILE
sys.modules["lincae.rows"] = module
exec(compile(PATCHED, ROWS_FILE, "exec"), module.__dict__)

from gradio_client import Client, handle_file
from engine_fakes import IdentityAE
from lincae.engine import Engine
from test_app import make_track
from ui.tables import TableBuilder
from upload_files import MODELS, served_app, stem_files

tmp = Path(TMP)
track = make_track("t", 0.3)
engine = Engine(device="cpu", loader=lambda name, device: IdentityAE(name))
table = engine.track_table(track, "linear")
*_, final = TableBuilder(engine, MODELS[:1], {"t": track}.__getitem__, cells_dir=tmp / "cells").updates("t")
player = json.loads(final.value)
stems = stem_files(tmp / "stems", seconds=0.3)
with served_app(tmp / "app") as (url, _):
    paths, summary = Client(url, verbose=False).predict(
        **{s: handle_file(str(p)) for s, p in stems.items()}, model="linear", api_name="/process_stems")
print(json.dumps({
    "engine_error": float(abs(table["scale_0_25"] - 0.25 * track.stems["vocals"]).max()),
    "player_rows": [r["id"] for r in player["rows"]],
    "player_cells": sorted(player["cells"]["scale_0_25"]),
    "api_files": [Path(p).name for p in paths],
    "api_rows": summary["rows"],
}))
"""


def test_a_row_added_to_the_declaration_reaches_the_engine_the_player_and_the_api(tmp_path):
    """Adds one line to `lincae/rows.py` (in a fresh interpreter) and follows the new row everywhere."""
    source = Path(rows.__file__).read_text()
    end_of_rows = "    ),\n)\nROW_IDS"
    assert source.count(end_of_rows) == 1
    patched = source.replace(end_of_rows, f"    ),\n    {TRIAL_ROW}\n)\nROW_IDS")
    script = "\n".join([f"ROWS_FILE = {rows.__file__!r}", f"PATCHED = {patched!r}", f"TMP = {str(tmp_path)!r}",
                        TRIAL_SCRIPT])
    root = TESTS.parent
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": f"{root}:{TESTS}"})
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["engine_error"] < 1e-6
    assert seen["player_rows"][-1] == "scale_0_25" and seen["player_cells"] == ["linear"]
    assert seen["api_rows"][-1] == "scale_0_25" and seen["api_files"][-1] == "scale_0_25.wav"
