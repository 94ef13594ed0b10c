"""The tracks the app offers out of the box: bundled generated songs, stempeg's MUSDB18 excerpt when installed, and
MUSDB18's 7-second previews when they were downloaded (`lincae.data.musdb_previews`)."""
from __future__ import annotations

import functools
import importlib.util
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from lincae.audio import ffmpeg_exe
from lincae.data.track import SAMPLE_RATE, Track, headroom_gain
from lincae.rows import STEMS

SONGS_DIR = Path(__file__).resolve().parents[2] / "assets" / "songs"
STEMPEG_TRACK_ID = "musdb-falcon-69"
# MUSDB18 .stem.mp4 stream order: mixture, drums, bass, other, vocals
_STEMPEG_STREAMS = {"drums": 1, "bass": 2, "other": 3, "vocals": 4}
_AAC_EDGE = 4096


@dataclass(frozen=True)
class TrackInfo:
    id: str
    title: str
    source: str
    licence: str


def list_tracks() -> list[TrackInfo]:
    """Bundled songs first (sorted by id), then the stempeg excerpt when it can be decoded here, then the MUSDB18
    previews found on disk."""
    from lincae.data import musdb_previews  # builds on this module

    infos = []
    for folder in sorted(SONGS_DIR.glob("*/meta.json")):
        meta = json.loads(folder.read_text())
        infos.append(TrackInfo(meta["id"], meta["title"], meta["source"], meta["licence"]))
    if _stempeg_file() is not None and ffmpeg_exe() is not None:
        infos.append(TrackInfo(STEMPEG_TRACK_ID, "The Easton Ellises – Falcon 69 (MUSDB18 excerpt, 6 s)",
                               "MUSDB18 sample shipped with the stempeg package", "CC BY-NC-SA 3.0"))
    if ffmpeg_exe() is not None:
        infos += musdb_previews.list_previews(musdb_previews.DEFAULT_ROOT)
    return infos


@functools.lru_cache(maxsize=16)
def load_track(track_id: str) -> Track:
    """Load a track by id; raises KeyError for an unknown id."""
    from lincae.data import musdb_previews

    if track_id == STEMPEG_TRACK_ID:
        return _load_stempeg()
    if track_id.startswith(musdb_previews.ID_PREFIX):
        return musdb_previews.load_preview(track_id, musdb_previews.DEFAULT_ROOT)
    folder = SONGS_DIR / track_id
    if not (folder / "meta.json").exists():
        raise KeyError(f"unknown track {track_id!r}")
    meta = json.loads((folder / "meta.json").read_text())
    stems = {}
    for stem in STEMS:
        audio, rate = sf.read(folder / f"{stem}.flac", dtype="float32")
        if rate != SAMPLE_RATE:
            raise ValueError(f"{folder / stem}.flac is {rate} Hz, expected {SAMPLE_RATE}")
        stems[stem] = audio
    return Track(id=meta["id"], title=meta["title"], stems=stems, source=meta["source"], licence=meta["licence"],
                 meta=meta.get("arrangement", {}))


def save_track(track: Track, folder: Path) -> None:
    """Write a track in the bundled layout: one 16-bit FLAC per stem plus meta.json (the mix is not stored)."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem in STEMS:
        sf.write(folder / f"{stem}.flac", track.stems[stem], track.sample_rate, subtype="PCM_16")
    meta = {"id": track.id, "title": track.title, "source": track.source, "licence": track.licence,
            "arrangement": track.meta}
    (folder / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")


def _stempeg_file() -> Path | None:
    spec = importlib.util.find_spec("stempeg")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "data" / "The Easton Ellises - Falcon 69.stem.mp4"
    return path if path.exists() else None


def decode_stem_file(path: Path) -> dict[str, np.ndarray]:
    """The four stems of a MUSDB18 `.stem.mp4`, mono at 44.1 kHz, decoded by the bundled ffmpeg, scaled by one
    common gain that keeps their sum below full scale. Raises `FileNotFoundError` without ffmpeg."""
    ffmpeg = ffmpeg_exe()
    if ffmpeg is None:
        raise FileNotFoundError("decoding .stem.mp4 files needs the imageio-ffmpeg package")
    stems = {}
    for stem, stream in _STEMPEG_STREAMS.items():
        raw = subprocess.run(
            [ffmpeg, "-v", "error", "-i", str(path), "-map", f"0:{stream}", "-ac", "2", "-ar", str(SAMPLE_RATE),
             "-f", "f32le", "-"],
            check=True, capture_output=True, timeout=60,
        ).stdout
        stems[stem] = np.frombuffer(raw, dtype=np.float32).reshape(-1, 2).mean(axis=1)
    # The first and last AAC frames carry priming / end-of-stream bursts: drop them.
    n = min(len(a) for a in stems.values()) - _AAC_EDGE
    stems = {s: a[_AAC_EDGE:n] for s, a in stems.items()}
    # The AAC stems don't sum exactly to the shipped mixture: the track's mix is the stem sum, as everywhere.
    # One common gain keeps that sum below full scale.
    gain = headroom_gain(stems)
    return {s: (a * gain).astype(np.float32) for s, a in stems.items()}


def _load_stempeg() -> Track:
    path = _stempeg_file()
    if path is None or ffmpeg_exe() is None:
        raise KeyError(f"{STEMPEG_TRACK_ID} needs the stempeg and imageio-ffmpeg packages")
    return Track(id=STEMPEG_TRACK_ID, title="The Easton Ellises – Falcon 69 (MUSDB18 excerpt)",
                 stems=decode_stem_file(path), source="MUSDB18 sample shipped with stempeg",
                 licence="CC BY-NC-SA 3.0")
