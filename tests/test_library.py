"""Bundled tracks load from assets; a written track reads back identically; the stempeg excerpt when present."""
from __future__ import annotations

import numpy as np
import pytest

from lincae.data.library import STEMPEG_TRACK_ID, list_tracks, load_track, save_track
from lincae.data.track import Track
from lincae.rows import STEMS


def test_at_least_three_bundled_songs_of_6_to_10_seconds():
    songs = [t for t in list_tracks() if t.id.startswith("song-")]
    assert len(songs) >= 3
    for info in songs:
        track = load_track(info.id)
        assert 6.0 <= track.duration <= 10.0
        assert np.abs(track.mix).max() <= 1.0


def test_unknown_track_is_a_key_error():
    with pytest.raises(KeyError):
        load_track("no-such-track")


def test_save_then_load_round_trips_within_16_bit(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    stems = {s: (0.2 * rng.standard_normal(4410)).astype(np.float32) for s in STEMS}
    track = Track(id="t", title="T", stems=stems, source="test", licence="CC0")
    save_track(track, tmp_path / "t")
    monkeypatch.setattr("lincae.data.library.SONGS_DIR", tmp_path)
    load_track.cache_clear()
    loaded = load_track("t")
    for s in STEMS:
        np.testing.assert_allclose(loaded.stems[s], stems[s], atol=1 / 32768)
    assert [t.id for t in list_tracks() if t.id == "t"] == ["t"]
    load_track.cache_clear()


def test_track_rejects_missing_or_unequal_stems():
    with pytest.raises(ValueError, match="missing"):
        Track(id="x", title="x", stems={"vocals": np.zeros(10, np.float32)})
    stems = {s: np.zeros(10, np.float32) for s in STEMS}
    stems["bass"] = np.zeros(11, np.float32)
    with pytest.raises(ValueError, match="different lengths"):
        Track(id="x", title="x", stems=stems)


@pytest.mark.skipif(STEMPEG_TRACK_ID not in {t.id for t in list_tracks()}, reason="stempeg not installed")
def test_stempeg_excerpt_decodes_to_four_real_stems():
    track = load_track(STEMPEG_TRACK_ID)
    assert 5.0 < track.duration < 6.5
    assert np.abs(track.mix).max() <= 0.9 + 1e-6
    levels = {s: float(np.sqrt(np.mean(track.stems[s] ** 2))) for s in STEMS}
    assert all(v > 1e-3 for v in levels.values()), levels
