"""A local MUSDB18-HQ folder: its test tracks, and a segment of one as a track.

The folder is the dataset's root (holding `test/`) or its `test/` folder itself; each track is a folder
`<artist> - <title>/` with `vocals.wav`, `drums.wav`, `bass.wav`, `other.wav` (and `mixture.wav`, not needed:
a track's mix is the sum of its stems, which is what MUSDB18-HQ's mixture is). Point the app at it with
`python app.py --musdb PATH` or `$LINCAE_MUSDB_DIR` (`lincae.settings`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from lincae.data.track import SAMPLE_RATE, Track
from lincae.data.uploads import AudioInputError, read_audio
from lincae.rows import STEMS

LICENCE = "MUSDB18-HQ: research use, per-track licences (see the dataset's documentation)"


@dataclass(frozen=True)
class MusdbTrack:
    name: str  # the track's folder name, "<artist> - <title>"
    folder: Path
    duration: float  # seconds, of the vocals stem


def test_folder(root: str | os.PathLike) -> Path:
    """The folder holding the test tracks: `root/test`, or `root` itself when it holds track folders."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"MUSDB18-HQ folder {root} does not exist")
    return root / "test" if (root / "test").is_dir() else root


def list_test_tracks(root: str | os.PathLike) -> list[MusdbTrack]:
    """The test tracks that have all four stems, sorted by name. Raises FileNotFoundError when there are none."""
    folder = test_folder(root)
    tracks = []
    for d in sorted(p for p in folder.iterdir() if p.is_dir()):
        if all((d / f"{s}.wav").is_file() for s in STEMS):
            tracks.append(MusdbTrack(d.name, d, sf.info(str(d / "vocals.wav")).duration))
    if not tracks:
        raise FileNotFoundError(
            f"no MUSDB18-HQ tracks in {folder}: expected test/<track>/{{vocals,drums,bass,other}}.wav"
        )
    return tracks


def track_id(name: str, start: float, length: float) -> str:
    return f"musdb:{name}@{start:g}+{length:g}"


def load_segment(root: str | os.PathLike, name: str, start: float, length: float, limit: float | None = None) -> Track:
    """`length` seconds of a test track from `start`, mono at 44.1 kHz, as a track. A segment reaching past
    the end is shortened. Raises KeyError for an unknown track and `AudioInputError` for a bad segment."""
    folder = test_folder(root) / name
    if not name or Path(name).name != name or not all((folder / f"{s}.wav").is_file() for s in STEMS):
        raise KeyError(f"no MUSDB18-HQ test track named {name!r}")
    stems = {s: read_audio(folder / f"{s}.wav", f"{name}: {s}", start, length, limit) for s in STEMS}
    n = min(len(a) for a in stems.values())  # the dataset's stems have equal lengths; guard against a damaged copy
    stems = {s: a[:n] for s, a in stems.items()}
    if max(float(abs(a).max()) for a in stems.values()) == 0.0:
        raise AudioInputError(f"{name} is silent from {start:g} s for {length:g} s: choose another segment.")
    end = start + n / SAMPLE_RATE
    return Track(
        id=track_id(name, start, length),
        title=f"{name} (MUSDB18-HQ, {start:g}–{end:.1f} s)",
        stems=stems,
        source="MUSDB18-HQ test set (local folder)",
        licence=LICENCE,
        meta={"musdb": name, "start": float(start), "length": float(length)},
    )
