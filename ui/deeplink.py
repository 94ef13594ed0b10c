"""Deep links: `?track=…&model=…&row=…` opens the page on that track with that cell selected.

The page's load handler switches the track selector to the linked track (its change event then builds the
table); every table update of that track carries `select: {row, model}`, which the player honours by selecting
the cell without playing it (browsers block autoplay): one click or Space plays it. The player's "Copy link"
button writes such a URL for the selected cell.
"""
from __future__ import annotations

from collections.abc import Sequence

import gradio as gr

from lincae.rows import ROW_IDS
from ui.player import with_selection


def query(request: gr.Request | None) -> dict[str, str]:
    """The page URL's query parameters (every event of a page carries them)."""
    if request is None:
        return {}
    return {k: v for k, v in dict(request.query_params).items() if isinstance(v, str)}


def linked_track(request: gr.Request | None, track_ids: Sequence[str]) -> str | None:
    """The linked track when it is one the page offers."""
    track = query(request).get("track")
    return track if track in track_ids else None


def redirected(current: str | None, request: gr.Request | None, track_ids: Sequence[str]) -> bool:
    """Whether the page is about to switch from `current` to a linked track (its change event does the work)."""
    linked = linked_track(request, track_ids)
    return linked is not None and linked != current


def selected(value: str | None, track_id: str | None, request: gr.Request | None) -> str | None:
    """The player value with the linked cell selected, when the link points into this track."""
    q = query(request)
    if not value or not track_id or q.get("track") != track_id or q.get("row") not in ROW_IDS or not q.get("model"):
        return value
    return with_selection(value, q["row"], q["model"])
