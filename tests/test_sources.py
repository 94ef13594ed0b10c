"""The upload panel's handler: one message area that says it is working, then what happened."""
from __future__ import annotations

import gradio as gr

from test_app import make_track
from ui.layout import build_demo
from ui.sources import unique_title
from ui.tables import TableBuilder
from upload_files import BASE_TRACKS, MODELS, fake_engine, stem_files


def add_upload(tmp_path):
    builder = TableBuilder(fake_engine(tmp_path / "cache"), MODELS, {"t1": make_track("t1")}.__getitem__,
                           cells_dir=tmp_path / "cells")
    demo = build_demo(builder, BASE_TRACKS)
    [handler] = [d for d in demo.fns.values() if d.name == "add_upload"]
    return handler.fn


def test_the_note_says_it_is_reading_then_replaces_that_with_the_result(tmp_path):
    files = stem_files(tmp_path / "stems", seconds=0.5)
    steps = list(add_upload(tmp_path)("stems", *(str(files[s]) for s in ("vocals", "drums", "bass", "other")),
                                      None, 0.0, None, "Mine", {}))
    assert [s[2] for s in steps[:-1]] == ["Reading and converting your files…"]
    selector, session, note, title = steps[-1]
    assert note.startswith("✔ Added **Mine (0–0.5 s)**") and title == ""
    assert isinstance(selector, gr.Dropdown) and list(session.values())[0].title == "Mine (0–0.5 s)"


def test_an_error_replaces_the_note_and_leaves_the_selector_and_title_alone(tmp_path):
    files = stem_files(tmp_path / "stems", seconds=0.5, names=("vocals",))
    *_, (selector, session, note, title) = add_upload(tmp_path)("stems", str(files["vocals"]), None, None, None,
                                                                None, 0.0, None, "Mine", {})
    assert note.startswith("✖ Missing stems: drums, bass, other.")
    assert not isinstance(selector, gr.Dropdown) and not isinstance(title, str)  # gr.skip(): unchanged


def test_titles_already_listed_get_a_number():
    assert unique_title("Song", ["Other"]) == "Song"
    assert unique_title("Song", ["Song", "Song #2"]) == "Song #3"
