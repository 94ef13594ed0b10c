"""Tracks from uploaded files: formats, rates, channels, segments, the mixture + vocals layout, the store."""
from __future__ import annotations

import gc
import shutil

import numpy as np
import pytest

from lincae.audio import ffmpeg_exe
from lincae.data import uploads
from lincae.data.track import Track
from lincae.data.uploads import TrackStore, build_track, read_audio
from lincae.rows import STEMS
from upload_files import FREQS, SR, stem_files, tone, write


def dominant_hz(x: np.ndarray, rate: int = SR) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * rate / len(x))


@pytest.mark.parametrize("rate,channels", [(44100, 1), (48000, 2), (22050, 6)])
def test_any_rate_and_channel_count_becomes_mono_44k(tmp_path, rate, channels):
    upload = build_track(stem_files(tmp_path, seconds=0.5, rate=rate, channels=channels))
    track = upload.track
    assert upload.mode == uploads.MODE_STEMS and upload.warnings == ()
    assert track.sample_rate == SR and abs(track.num_samples - SR // 2) <= 1
    for stem in STEMS:
        assert track.stems[stem].ndim == 1 and track.stems[stem].dtype == np.float32
        assert dominant_hz(track.stems[stem]) == pytest.approx(FREQS[stem], abs=3)
        assert np.abs(track.stems[stem]).max() == pytest.approx(0.2, abs=0.01)


@pytest.mark.parametrize("ext", ["flac", "mp3", "ogg"])
def test_compressed_formats_are_read(tmp_path, ext):
    path = write(tmp_path / f"vocals.{ext}", tone(440.0, 1.0, 48000, 2), 48000)
    audio = read_audio(path, "vocals")
    assert abs(len(audio) - SR) < 0.05 * SR
    assert dominant_hz(audio) == pytest.approx(440.0, abs=3)


def test_formats_soundfile_does_not_know_go_through_ffmpeg(tmp_path):
    ffmpeg = ffmpeg_exe()
    if ffmpeg is None:
        pytest.skip("imageio-ffmpeg is not installed")
    import subprocess

    wav = write(tmp_path / "v.wav", tone(440.0, 1.0), SR)
    m4a = tmp_path / "vocals.m4a"
    subprocess.run([ffmpeg, "-v", "error", "-i", str(wav), "-c:a", "aac", str(m4a)], check=True, timeout=60)
    audio = read_audio(m4a, "vocals", start=0.2, length=0.5)
    assert abs(len(audio) - SR // 2) < 0.03 * SR
    assert dominant_hz(audio) == pytest.approx(440.0, abs=3)


def test_segment_reads_exactly_start_to_start_plus_length(tmp_path):
    ramp = (np.arange(3 * SR, dtype=np.float32) / (3 * SR))[:, None]  # value = position / length
    path = write(tmp_path / "ramp.wav", ramp, SR, subtype="FLOAT")
    audio = read_audio(path, "ramp", start=1.0, length=0.5)
    assert len(audio) == SR // 2
    np.testing.assert_allclose(audio[[0, -1]], ramp[[SR, SR + SR // 2 - 1], 0], atol=1e-7)
    # A segment reaching past the end is shortened; no length means "to the end".
    assert len(read_audio(path, "ramp", start=2.5, length=5.0)) == SR // 2
    assert len(read_audio(path, "ramp", start=2.0)) == SR


def test_a_stem_that_ends_before_the_segment_is_silence_like_any_padding(tmp_path):
    files = stem_files(tmp_path, seconds=3.0)
    files["bass"] = write(tmp_path / "short-bass.wav", tone(FREQS["bass"], 1.0, SR, 1), SR)
    upload = build_track(files, start=2.0, length=1.0)
    assert upload.track.num_samples == SR
    assert not np.any(upload.track.stems["bass"])
    assert np.abs(dominant_hz(upload.track.stems["vocals"]) - FREQS["vocals"]) < 5
    assert any("bass (short-bass.wav) ends before the segment starts" in w for w in upload.warnings)
    assert not any("differ in length" in w for w in upload.warnings)


def test_a_segment_past_the_end_of_every_file_is_refused(tmp_path):
    with pytest.raises(uploads.AudioInputError, match="cannot start at 5 s"):
        build_track(stem_files(tmp_path, seconds=1.0), start=5.0)


def test_mixture_and_vocals_become_vocals_plus_accompaniment_in_other(tmp_path):
    vocals = tone(440.0)
    accomp = tone(110.0, amplitude=0.3)
    mix = write(tmp_path / "song.wav", vocals + accomp, SR, subtype="FLOAT")
    voc = write(tmp_path / "voc.wav", vocals, SR, subtype="FLOAT")
    upload = build_track({"mixture": mix, "vocals": voc})
    track = upload.track
    assert upload.mode == uploads.MODE_MIXTURE and track.meta["mode"] == uploads.MODE_MIXTURE
    np.testing.assert_allclose(track.stems["other"], accomp[:, 0], atol=1e-6)
    assert not track.stems["drums"].any() and not track.stems["bass"].any()
    np.testing.assert_allclose(track.mix, (vocals + accomp)[:, 0], atol=1e-6)  # the mix is the uploaded mixture
    np.testing.assert_allclose(track.accomp, accomp[:, 0], atol=1e-6)
    assert "mixture + vocals" in track.title


def test_vocals_that_are_not_in_the_mixture_are_flagged(tmp_path):
    mix = write(tmp_path / "song.wav", tone(110.0), SR)
    voc = write(tmp_path / "other-song-vocals.wav", tone(440.0, amplitude=0.3), SR)
    upload = build_track({"mixture": mix, "vocals": voc})
    assert any("do not seem to be part of this mixture" in w for w in upload.warnings)


def test_four_stems_and_a_mixture_ignore_the_mixture(tmp_path):
    files = stem_files(tmp_path, names=(*STEMS, "mixture"))
    upload = build_track(files)
    assert upload.mode == uploads.MODE_STEMS
    assert any("mixture was given with all four stems" in w for w in upload.warnings)
    np.testing.assert_allclose(upload.track.mix, sum(upload.track.stems[s] for s in STEMS), atol=1e-6)


def test_ids_follow_the_audio_titles_follow_the_user(tmp_path):
    files = stem_files(tmp_path, seconds=0.5)
    a = build_track(files, title="  My song ").track
    b = build_track(files).track
    assert a.title == "My song (0–0.5 s)" and b.title.startswith("Upload: vocals")
    assert a.id.startswith("upload-") and a.id == build_track(files, title="My song").track.id
    assert a.content_hash == b.content_hash and a.id != b.id  # same audio, another name: another track
    assert build_track(files, start=0.1, title="My song").track.id != a.id


def test_unknown_inputs_are_a_programming_error(tmp_path):
    with pytest.raises(ValueError, match="unknown inputs"):
        build_track({"guitar": tmp_path / "x.wav"})


def test_store_finds_tracks_while_someone_holds_them_then_falls_back():
    fallback_calls = []

    def fallback(track_id: str) -> Track:
        fallback_calls.append(track_id)
        raise KeyError(track_id)

    store = TrackStore(fallback)
    held = Track("upload-x", "x", {s: np.zeros(10, np.float32) for s in STEMS})
    assert store.add(held) is held
    same_audio = Track("upload-x", "x again", {s: np.zeros(10, np.float32) for s in STEMS})
    assert store.add(same_audio) is held  # one object per id: sessions share it
    assert store.load("upload-x") is held and "upload-x" in store
    del held, same_audio
    gc.collect()
    assert "upload-x" not in store
    with pytest.raises(KeyError):
        store.load("upload-x")
    assert fallback_calls == ["upload-x"]


def test_reading_never_needs_more_than_the_segment(tmp_path, monkeypatch):
    """A long file is not decoded whole: only the requested frames are read."""
    long = write(tmp_path / "long.wav", tone(440.0, 40.0), SR)
    reads = []
    real_read = uploads.sf.SoundFile.read

    def counting_read(self, frames=-1, *args, **kwargs):
        reads.append(frames)
        return real_read(self, frames, *args, **kwargs)

    monkeypatch.setattr(uploads.sf.SoundFile, "read", counting_read)
    assert len(read_audio(long, "long", start=35.0, length=2.0)) == 2 * SR
    assert reads == [2 * SR]
    shutil.rmtree(tmp_path)
