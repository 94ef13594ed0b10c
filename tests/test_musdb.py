"""A local MUSDB18-HQ folder: listing test tracks, segments as tracks, the panel and the command-line flag."""
from __future__ import annotations

import numpy as np
import pytest

from lincae.data import musdb
from lincae.data.uploads import AudioInputError
from lincae.rows import STEMS
from lincae.settings import Settings
from upload_files import SR, tone, write

NAMES = ("Al James - Schoolboy Facination", "Zeno - Signs")


@pytest.fixture
def root(tmp_path):
    """A MUSDB18-HQ layout: stereo 44.1 kHz stems; each stem's left channel is a ramp, so positions are known."""
    root = tmp_path / "musdb18hq"
    for k, name in enumerate(NAMES):
        folder = root / "test" / name
        n = (4 + k) * SR
        ramp = np.arange(n, dtype=np.float32) / n
        for i, stem in enumerate(STEMS):
            write(folder / f"{stem}.wav", np.stack([ramp * (i + 1) / 8, np.zeros(n, np.float32)], 1), SR, "FLOAT")
        write(folder / "mixture.wav", tone(100.0, 4 + k, channels=2), SR)
    (root / "test" / "incomplete").mkdir()
    write(root / "train" / "Other - Song" / "vocals.wav", tone(100.0), SR)
    return root


def test_lists_test_tracks_with_all_stems(root):
    tracks = musdb.list_test_tracks(root)
    assert [t.name for t in tracks] == sorted(NAMES)
    assert [round(t.duration, 3) for t in tracks] == [4.0, 5.0]
    assert musdb.list_test_tracks(root / "test") == tracks  # the test folder itself works too


def test_missing_or_empty_folder_says_what_is_expected(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        musdb.list_test_tracks(tmp_path / "nowhere")
    (tmp_path / "test").mkdir()
    with pytest.raises(FileNotFoundError, match=r"test/<track>/\{vocals,drums,bass,other\}.wav"):
        musdb.list_test_tracks(tmp_path)


def test_segment_is_the_right_samples_as_mono(root):
    track = musdb.load_segment(root, NAMES[0], start=1.0, length=2.0, limit=30)
    assert track.num_samples == 2 * SR and track.sample_rate == SR
    n = 4 * SR
    for i, stem in enumerate(STEMS):
        # mono = mean of (ramp, 0); the first sample is at 1 s
        expected = (np.arange(SR, 3 * SR) / n) * (i + 1) / 8 / 2
        np.testing.assert_allclose(track.stems[stem], expected, atol=1e-6)
    assert track.id == "musdb:Al James - Schoolboy Facination@1+2"
    assert track.title == "Al James - Schoolboy Facination (MUSDB18-HQ, 1–3.0 s)"
    assert track.meta == {"musdb": NAMES[0], "start": 1.0, "length": 2.0}


def test_segment_past_the_end_is_shortened_and_one_starting_past_it_refused(root):
    assert musdb.load_segment(root, NAMES[0], 3.0, 10.0, limit=30).duration == pytest.approx(1.0)
    with pytest.raises(AudioInputError, match="cannot start at 9 s"):
        musdb.load_segment(root, NAMES[0], 9.0, 1.0, limit=30)


def test_segment_longer_than_the_limit_is_refused(root):
    with pytest.raises(AudioInputError, match="limit is 2 s"):
        musdb.load_segment(root, NAMES[1], 0.0, 3.0, limit=2)


@pytest.mark.parametrize("name", ["Nobody - Nothing", "../train/Other - Song", "incomplete", ""])
def test_unknown_names_and_paths_outside_the_test_folder_are_refused(root, name):
    with pytest.raises(KeyError):
        musdb.load_segment(root, name, 0.0, 1.0)


def test_the_page_offers_the_folder_and_adds_a_segment_to_the_session(root, tmp_path, monkeypatch):
    """The MUSDB panel's handler, called as the page calls it: the segment joins this session's track list."""
    import gradio as gr

    from test_app import make_track
    from ui.layout import build_demo
    from ui.tables import TableBuilder
    from upload_files import BASE_TRACKS, MODELS, fake_engine

    builder = TableBuilder(fake_engine(tmp_path / "cache"), MODELS, {"t1": make_track("t1")}.__getitem__,
                           cells_dir=tmp_path / "cells")
    demo = build_demo(builder, BASE_TRACKS, Settings(musdb_dir=root))
    [musdb_track] = [b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "lincae-musdb-track"]
    assert musdb_track.choices[0] == (f"{NAMES[0]} (4 s)", NAMES[0])
    [add] = [d for d in demo.fns.values() if d.name == "add_segment"]
    dropdown, session, note = add.fn(NAMES[1], 1.0, 2.0, {})
    track_id = "musdb:Zeno - Signs@1+2"
    assert isinstance(dropdown, gr.Dropdown) and dropdown.value == track_id
    assert list(session) == [track_id] and "Added" in note
    assert builder.load_track(track_id) is session[track_id]  # the table builder finds it while the session holds it
    selector, kept, note = add.fn(NAMES[1], 9.0, 2.0, session)  # refused in the panel's note, nothing changes
    assert note.startswith("✖") and "cannot start at 9 s" in note
    assert selector is not None and not isinstance(selector, gr.Dropdown)
