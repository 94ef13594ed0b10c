"""MUSDB18's 7-second previews as tracks, offline: a self-made folder in the layout the `musdb` package downloads
(`<root>/{train,test}/<name>.stem.mp4`, streams mixture, drums, bass, other, vocals), decoded by the app's ffmpeg."""
from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lincae.audio import ffmpeg_exe
from lincae.data import library, musdb_previews

SR = 44100
TONES = {"drums": 330.0, "bass": 110.0, "other": 660.0, "vocals": 440.0}  # one sine per stem


def write_stem_file(path: Path, seconds: float = 2.0) -> None:
    """A `.stem.mp4` as MUSDB18 ships them: five AAC streams, the mixture first."""
    t = np.arange(int(seconds * SR)) / SR
    stems = {s: (0.2 * np.sin(2 * np.pi * f * t)).astype(np.float32) for s, f in TONES.items()}
    streams = [sum(stems.values()), stems["drums"], stems["bass"], stems["other"], stems["vocals"]]
    path.parent.mkdir(parents=True, exist_ok=True)
    inputs, maps = [], []
    for i, audio in enumerate(streams):
        raw = path.parent / f".{path.name}.{i}.f32"
        raw.write_bytes(np.ascontiguousarray(audio, dtype=np.float32).tobytes())
        inputs += ["-f", "f32le", "-ar", str(SR), "-ac", "1", "-i", str(raw)]
        maps += ["-map", f"{i}:a"]
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *inputs, *maps, "-c:a", "aac", "-b:a", "128k", "-f", "mp4",
                    str(path)], check=True, timeout=120)
    for raw in path.parent.glob(f".{path.name}.*.f32"):
        raw.unlink()


@pytest.fixture
def previews(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if ffmpeg_exe() is None:
        pytest.skip("no ffmpeg (imageio-ffmpeg) to write the test's .stem.mp4 files")
    root = tmp_path / "MUSDB18-7"
    write_stem_file(root / "test" / "Some Artist - A Song.stem.mp4")
    write_stem_file(root / "train" / "Another Artist - Another Song.stem.mp4", seconds=1.0)
    monkeypatch.setattr(musdb_previews, "DEFAULT_ROOT", root)
    library.load_track.cache_clear()
    return root


def dominant_hz(audio: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.argmax(spectrum) * SR / len(audio))


def test_previews_follow_the_bundled_songs_and_play_their_stems(previews: Path) -> None:
    tracks = library.list_tracks()
    ids = [t.id for t in tracks]
    assert ids[0] == "song-1"  # the bundled songs stay first: the default track
    assert ids[-2:] == ["musdb7:test/Some Artist - A Song", "musdb7:train/Another Artist - Another Song"]
    track = library.load_track("musdb7:test/Some Artist - A Song")
    assert track.sample_rate == SR and 1.8 * SR < track.num_samples <= 2 * SR
    for stem, hz in TONES.items():
        assert abs(dominant_hz(track.stems[stem]) - hz) < 2, stem
    assert np.abs(track.mix).max() <= 1.0


def test_unknown_preview_ids_are_refused(previews: Path) -> None:
    for bad in ("musdb7:test/../../etc/passwd", "musdb7:test/Nobody - Nothing", "musdb7:valid/x"):
        with pytest.raises(KeyError):
            library.load_track(bad)


def test_fetch_unpacks_the_archive_and_says_when_it_cannot(tmp_path, previews) -> None:
    """The archive as the `musdb` package downloads it (here from a file: URL), unpacked into the layout."""
    archive = tmp_path / "MUSDB18-7-STEMS.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in previews.rglob("*.stem.mp4"):
            zf.write(path, path.relative_to(previews).as_posix())
        zf.writestr("../outside.stem.mp4", b"not unpacked")
    root = tmp_path / "downloaded"
    assert musdb_previews.fetch(root, url=archive.as_uri())
    assert [t.id for t in musdb_previews.list_previews(root)] == [t.id for t in musdb_previews.list_previews(previews)]
    assert not (tmp_path / "outside.stem.mp4").exists()
    assert musdb_previews.fetch(root, url="http://127.0.0.1:9/unreachable.zip")  # already there: nothing to do
    assert not musdb_previews.fetch(tmp_path / "elsewhere", url="http://127.0.0.1:9/unreachable.zip")
    assert musdb_previews.list_previews(tmp_path / "elsewhere") == []
