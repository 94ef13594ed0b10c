"""The comparison player: one `gr.HTML` whose behaviour lives in the scripts of `ui/player/` and in `player.css`.

The scripts (`SCRIPTS`, in load order): `dom.js` shared helpers, `value.js` reading the player value,
`prefetch.js` fetching and decoding files (and the page head's early start on the first table's: `prefetch_head`),
`audio.js` the audio engine (buffers, scheduling, crossfade, gain chain and limiter), `waves.js` the waveform
view, `table.js` the table view, `controls.js` the control bar, keys and links, `player.js` the player that ties
them together and mounts it. They are classic scripts inlined into the page head (Gradio runs no `<script>` in a
component's value), each adding its part to one namespace. The component's template is a static container; the
player builds the table in `js_on_load` and redraws when the value changes, so playback survives value updates.
The value is the JSON described in docs/ARCHITECTURE.md ("Player value"); `player_value` builds it.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from lincae.engine.cells import Cell
from lincae.models.base import ModelInfo
from lincae.rows import ROWS, Row

if TYPE_CHECKING:
    import gradio as gr

HERE = Path(__file__).resolve().parent
SCRIPTS = ("dom.js", "value.js", "prefetch.js", "audio.js", "waves.js", "table.js", "controls.js", "player.js")
TEMPLATE = '<div class="lincae-player-root"></div>'


def file_url(path: str | Path) -> str:
    """URL of a file under the app's allowed paths (relative, so it works behind a proxy prefix)."""
    return "gradio_api/file=" + quote(str(Path(path).resolve()))


ORIGINS = {"consistency-ae": "the paper's model", "oobleck": "non-linear reference"}
"""What the header says under a model's name, by family; embedded models say which recipe trained them."""


def origin(m: ModelInfo) -> str | None:
    """Where a model comes from, in a few words for its column header (None: say nothing)."""
    if m.embedded:
        return "trained here, paper's recipe" if m.linear else "trained here, baseline recipe"
    return ORIGINS.get(m.family)


def _cell(cell: Cell) -> dict:
    return {"url": file_url(cell.path), "peaks": list(cell.peaks), "gain": cell.gain, "peak": cell.peak}


def player_value(
    *,
    track_id: str,
    title: str,
    duration: float,
    models: Sequence[ModelInfo],
    cells: Mapping[str, Mapping[str, Cell]],
    reference: Mapping[str, Cell],
    sample_rate: int = 44100,
    rows: Sequence[Row] = ROWS,
    try_first: str | None = None,
) -> str:
    """The player's JSON value. Models without cells yet show as "computing"; unavailable ones as N/A.

    `cells[row][model]` holds the model rows, `reference[row]` the original audio of the reference rows
    (its `gt_mix` entry also gives the mix waveform). `try_first`: the row the table points visitors to.
    """
    return json.dumps(
        {
            "track": {"id": track_id, "title": title},
            "duration": float(duration),
            "sample_rate": int(sample_rate),
            "rows": [
                {"id": r.id, "label": r.label, "formula": r.formula, "reference": r.reference} for r in rows
            ],
            "models": [
                {
                    "name": m.name,
                    "display_name": m.display_name,
                    "origin": origin(m),
                    "linear": m.linear,
                    "embedded": m.embedded,
                    "available": m.available,
                    "reason": m.reason,
                    "description": m.description,
                }
                for m in models
            ],
            "cells": {
                row: {model: _cell(c) for model, c in by_model.items()} for row, by_model in cells.items()
            },
            "reference": {row: _cell(c) for row, c in reference.items()},
            "mix_peaks": list(reference["gt_mix"].peaks) if "gt_mix" in reference else [],
            "try_first": try_first,
        },
        ensure_ascii=False,
    )


def _script(name: str) -> str:
    js = (HERE / "player" / name).read_text(encoding="utf-8")
    if "</script" in js.lower():
        raise ValueError("player scripts must not contain closing script tags")
    return js


def _head() -> str:
    css = (HERE / "player.css").read_text(encoding="utf-8")
    if "</style" in css.lower():
        raise ValueError("the player's style must not contain closing style tags")
    js = "\n".join(_script(name) for name in SCRIPTS)
    return f"<style>{css}</style><script>{js}</script>"


def value_urls(value: str) -> list[str]:
    """Every file a player value plays: its reference rows' and its model cells'."""
    data = json.loads(value)
    return [c["url"] for c in data["reference"].values()] + [
        c["url"] for by_model in data["cells"].values() for c in by_model.values()]


def prefetch_head(value: str) -> str:
    """Page-head HTML that starts fetching and decoding the files of a table (the first track's) as the page loads,
    before Gradio's scripts have built the player; the player then takes them over (`prefetch.js`). A page whose
    link opens another track skips it."""
    data = json.loads(value)
    call = json.dumps([data["track"]["id"], data["sample_rate"], value_urls(value)]).replace("</", "<\\/")
    return f"<script>{_script('prefetch.js')}</script><script>window.lincaePlayerKit.prefetch(...{call});</script>"


def with_selection(value: str, row: str, model: str) -> str:
    """The player value with `select: {row, model}`: the player selects that cell (without playing it)."""
    data = json.loads(value)
    data["select"] = {"row": row, "model": model}
    return json.dumps(data, ensure_ascii=False)


def with_notice(value: str, text: str) -> str:
    """The player value with `notice`: a message the player shows above the table until the track changes."""
    data = json.loads(value)
    data["notice"] = text
    return json.dumps(data, ensure_ascii=False)


def player(value: str | None = None, *, name: str = "table", links: bool = True, **kwargs) -> gr.HTML:
    """The player component. Its script and style are inlined into the page head: no extra requests.

    `name` tells several players on one page apart (`window.lincaePlayers[name]`; "table" is also
    `window.lincaePlayer`); `links` adds the "Copy link" button.
    """
    import gradio as gr  # here only: a table's value is made before the app imports Gradio (app.py)

    options = json.dumps({"name": name, "links": links})
    return gr.HTML(
        value=value,
        html_template=TEMPLATE,
        js_on_load=f"window.lincaeMountPlayer(element, props, watch, {options});",
        head=_head(),
        apply_default_css=False,
        elem_id=kwargs.pop("elem_id", "lincae-player"),
        **kwargs,
    )
