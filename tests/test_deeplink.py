"""Deep links: which track a link opens, and which cell the player value selects."""
from __future__ import annotations

import json

import gradio as gr

from ui import deeplink

TRACKS = ["t1", "t2"]
MODELS = [{"name": "m", "display_name": "M (trained here)", "available": True, "reason": ""},
          {"name": "gated", "display_name": "Gated VAE", "available": False, "reason": "needs an HF token (set HF_TOKEN)"}]
VALUE = json.dumps({"track": {"id": "t2", "title": "T2"}, "rows": [], "models": MODELS})


def request(**params) -> gr.Request:
    return gr.Request(query_params=params)


def test_a_link_to_a_known_track_redirects_the_page():
    link = request(track="t2", model="m", row="sep_vocals")
    assert deeplink.linked_track(link, TRACKS) == "t2"
    assert deeplink.redirected("t1", link, TRACKS)
    assert not deeplink.redirected("t2", link, TRACKS)


def test_unknown_or_missing_tracks_are_ignored():
    assert deeplink.linked_track(request(track="nope"), TRACKS) is None
    assert not deeplink.redirected("t1", request(track="nope"), TRACKS)
    assert not deeplink.redirected("t1", request(), TRACKS)
    assert not deeplink.redirected("t1", None, TRACKS)


def test_the_linked_cell_is_selected_in_its_track_only():
    link = request(track="t2", model="m", row="sep_vocals")
    assert json.loads(deeplink.selected(VALUE, "t2", link, TRACKS))["select"] == {"row": "sep_vocals", "model": "m"}
    assert deeplink.selected(VALUE, "t1", link, TRACKS) == VALUE  # the user moved on to another track
    assert deeplink.selected(VALUE, "t2", request(), TRACKS) == VALUE
    assert deeplink.selected(None, "t2", link, TRACKS) is None


def notice(track: str = "t2", model: str = "m", row: str = "sep_vocals") -> str:
    value = json.loads(deeplink.selected(VALUE, "t2", request(track=track, model=model, row=row), TRACKS))
    assert "select" not in value
    return value["notice"]


def test_a_link_that_cannot_open_its_cell_says_why():
    assert notice(model="gated") == "The linked cell (Separated Vocals · Gated VAE) cannot play here: needs an HF token (set HF_TOKEN)."
    assert notice(track="upload-0123456789ab").startswith("This link points to an uploaded track.")
    assert notice(track="nope") == "This link points to a track this page does not have (nope)."
    assert notice(row="no_such_row") == "This link points to a row the table does not have (no_such_row)."
    assert notice(model="") == "This link points to a model this page does not have (none given)."
