"""Deep links: which track a link opens, and which cell the player value selects."""
from __future__ import annotations

import json

import gradio as gr

from ui import deeplink

TRACKS = ["t1", "t2"]
VALUE = json.dumps({"track": {"id": "t2", "title": "T2"}, "rows": [], "models": []})


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
    assert json.loads(deeplink.selected(VALUE, "t2", link))["select"] == {"row": "sep_vocals", "model": "m"}
    assert deeplink.selected(VALUE, "t1", link) == VALUE  # the user moved on to another track
    assert deeplink.selected(VALUE, "t2", request(track="t2", model="m", row="no_such_row")) == VALUE
    assert deeplink.selected(VALUE, "t2", request(track="t2", row="sep_vocals")) == VALUE
    assert deeplink.selected(None, "t2", link) is None
