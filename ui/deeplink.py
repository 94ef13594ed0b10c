"""Deep links: `?track=…&model=…&row=…` opens the page on that track with that cell selected.

The page's load handler switches the track selector to the linked track (its change event then builds the
table); every table update of that track carries `select: {row, model}`, which the player honours by selecting
the cell without playing it (browsers block autoplay): one click or Space plays it. The player's "Copy link"
button writes such a URL for the selected cell. A link that cannot open its cell (an unknown or uploaded track,
an unknown row or model, a model that cannot play here) opens the page as usual with a notice saying why.
"""
from __future__ import annotations

import json
from collections.abc import Sequence

import gradio as gr

from lincae.data.uploads import ID_PREFIX as UPLOAD_PREFIX
from lincae.rows import ROW_BY_ID, ROW_IDS
from ui.player import with_notice, with_selection


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


def link_problem(value: str, track_id: str, request: gr.Request | None, track_ids: Sequence[str]) -> str | None:
    """Why the page's link cannot open its cell, in words for the visitor; None when it can (or there is no link).

    `value` is the player value of `track_id`, the track being shown.
    """
    q = query(request)
    if not any(q.get(k) for k in ("track", "model", "row")):
        return None
    track, model, row = q.get("track", ""), q.get("model", ""), q.get("row", "")
    if track not in track_ids:
        if track.startswith(UPLOAD_PREFIX):
            return ("This link points to an uploaded track. Uploads stay with the visitor who added them, so it "
                    "cannot be opened here; add the stems again to hear it.")
        return f"This link points to a track this page does not have ({track or 'none given'})."
    if track != track_id:
        return None  # the visitor has moved on to another track
    if row not in ROW_IDS:
        return f"This link points to a row the table does not have ({row or 'none given'})."
    models = {m["name"]: m for m in json.loads(value)["models"]}
    if model not in models:
        return f"This link points to a model this page does not have ({model or 'none given'})."
    if not models[model]["available"]:
        name = models[model]["display_name"].split(" (")[0]
        return f"The linked cell ({ROW_BY_ID[row].label} · {name}) cannot play here: {models[model]['reason']}."
    return None


def selected(value: str | None, track_id: str | None, request: gr.Request | None,
             track_ids: Sequence[str]) -> str | None:
    """The player value with the linked cell selected when the link points into this track, or with a notice
    saying why the link cannot open its cell."""
    if not value or not track_id:
        return value
    problem = link_problem(value, track_id, request, track_ids)
    if problem:
        return with_notice(value, problem)
    q = query(request)
    if q.get("track") != track_id:
        return value
    return with_selection(value, q["row"], q["model"])
