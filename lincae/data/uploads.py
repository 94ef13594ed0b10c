"""Tracks from the user's own files: four stems, or a mixture and its vocals.

Any format soundfile reads (WAV, FLAC, MP3, OGG/Opus, AIFF…; others through the ffmpeg binary of the
`imageio-ffmpeg` package when it is installed), any rate and channel count: each file becomes mono float32
at 44.1 kHz. One segment (start, length) is read from every file; a segment longer than the duration limit
is refused with a message that says how to choose a shorter one (owners raise the limit: `HOW_TO_RAISE`).

Everything wrong with the input raises `AudioInputError`, whose message is meant for the user as it is.
Problems that still leave a usable track (a silent stem, stems of slightly different lengths) are returned
as warnings instead.

A mixture + vocals upload becomes a four-stem track as follows: vocals as uploaded, the accompaniment
(mixture − vocals) as `other`, silent `drums` and `bass`. The track's mix (the stem sum) is then exactly the
uploaded mixture, and the accompaniment is the paper's x_mix − x_vocals.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from lincae.audio import ffmpeg_exe, resample
from lincae.data.track import SAMPLE_RATE, Track
from lincae.limits import INPUT_PEAK_LIMIT, INPUT_PEAK_WARNING
from lincae.rows import STEMS
from lincae.settings import DEFAULT_MAX_SECONDS, ENVIRONMENT, MIN_SECONDS

ID_PREFIX = "upload-"  # every uploaded track's id starts with it
SILENCE_PEAK = 1e-5  # −100 dBFS: below this a file counts as silent
LENGTH_TOLERANCE_S = 0.05  # files shorter than the longest by more than this get a warning (they are padded anyway)
MIXTURE = "mixture"
INPUTS: tuple[str, ...] = (*STEMS, MIXTURE)
MODE_STEMS = "stems"
MODE_MIXTURE = "mixture+vocals"
FORMATS = "WAV, FLAC, MP3, OGG/Opus, AIFF"
HOW_TO_RAISE = f"`python app.py --max-seconds N` or the {ENVIRONMENT['max_seconds']} environment variable"


class AudioInputError(ValueError):
    """Something is wrong with the user's audio; the message says what, and how to fix it."""


@dataclass(frozen=True)
class Upload:
    """A track built from uploaded files, and what the user should know about it."""

    track: Track
    mode: str  # MODE_STEMS or MODE_MIXTURE
    warnings: tuple[str, ...] = ()


# --- reading ------------------------------------------------------------------------------------------


class EndsBeforeSegment(AudioInputError):
    """The file ends before the segment starts (or too soon after): with other files that reach it, the file is
    silence in the segment, as a short file is padded with silence."""


def _check_segment(start: float, length: float | None) -> None:
    if not math.isfinite(start) or start < 0:
        raise AudioInputError(f"The segment start must be 0 s or later (got {start:g} s).")
    if length is not None and (not math.isfinite(length) or length <= 0):
        raise AudioInputError(f"The segment length must be a positive number of seconds (got {length:g} s), "
                              "or empty for 'to the end'.")


def _too_long(what: str, seconds: float, limit: float, exact: bool = True) -> AudioInputError:
    size = f"{seconds:.1f} s long" if exact else f"longer than {limit:g} s"
    return AudioInputError(
        f"{what} is {size}; the limit is {limit:g} s. Choose a segment of at most {limit:g} s (start and length)."
    )


def _read_soundfile(path: Path, what: str, start: float, length: float | None, limit: float) -> tuple[np.ndarray, int]:
    with sf.SoundFile(str(path)) as f:
        rate, frames = f.samplerate, f.frames
        if frames == 0:
            raise AudioInputError(f"{what} is empty: it holds no audio samples.")
        duration = frames / rate
        if start >= duration:
            raise EndsBeforeSegment(f"{what} is {duration:.2f} s long: a segment cannot start at {start:g} s.")
        seconds = duration - start if length is None else min(length, duration - start)
        if seconds > limit + 1e-9:
            raise _too_long(what if length is None and start == 0 else f"The segment of {what}", seconds, limit)
        f.seek(int(round(start * rate)))
        data = f.read(int(round(seconds * rate)), dtype="float32", always_2d=True)
    return data, rate


def _read_ffmpeg(path: Path, what: str, start: float, length: float | None, limit: float) -> np.ndarray:
    """Decode with ffmpeg straight to mono at 44.1 kHz (formats libsndfile does not know, e.g. AAC)."""
    ffmpeg = ffmpeg_exe()
    if ffmpeg is None:
        raise AudioInputError(f"{what}: this file cannot be read. Supported formats: {FORMATS} "
                              "(install the imageio-ffmpeg package for others, e.g. M4A/AAC).")
    # Read a little past the limit, so that a file that is too long is recognised as such.
    seconds = limit + 0.5 if length is None else min(length, limit + 0.5)
    cmd = [ffmpeg, "-nostdin", "-v", "error", "-ss", f"{start:.6f}", "-i", str(path), "-t", f"{seconds:.6f}",
           "-map", "0:a:0", "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "-"]
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        raise AudioInputError(f"{what}: decoding took too long; convert the file to WAV or FLAC.") from None
    if out.returncode != 0:
        raise AudioInputError(f"{what}: this is not an audio file this app can decode. Supported formats: {FORMATS}, "
                              "and what ffmpeg reads (M4A/AAC…).")
    audio = np.frombuffer(out.stdout, dtype=np.float32)
    if audio.size == 0:
        raise (EndsBeforeSegment if start else AudioInputError)(
            f"{what} holds no audio samples" + (f" after {start:g} s." if start else "."))
    if audio.size > limit * SAMPLE_RATE + 1:
        raise _too_long(what if length is None else f"The segment of {what}", audio.size / SAMPLE_RATE, limit,
                        exact=False)
    return audio


def read_audio(
    path: str | os.PathLike,
    what: str,
    start: float = 0.0,
    length: float | None = None,
    limit: float = DEFAULT_MAX_SECONDS,
) -> np.ndarray:
    """One segment of an audio file as mono float32 at 44.1 kHz.

    `what` names the file in messages (e.g. "vocals (song.wav)"); `length` None reads to the end; `limit`
    bounds the segment. Raises `AudioInputError` for anything unreadable.
    """
    _check_segment(start, length)
    path = Path(path)
    if not path.is_file():
        raise AudioInputError(f"{what}: the file is missing (upload it again).")
    if path.stat().st_size == 0:
        raise AudioInputError(f"{what} is an empty file (0 bytes).")
    try:
        data, rate = _read_soundfile(path, what, start, length, limit)
    except RuntimeError:  # libsndfile does not know the format (LibsndfileError is a RuntimeError)
        audio = _read_ffmpeg(path, what, start, length, limit)
    else:
        if data.shape[1] == 0:
            raise AudioInputError(f"{what} has no audio channels.")
        audio = resample(data.mean(axis=1, dtype=np.float32), rate, SAMPLE_RATE)
    bad = int(np.count_nonzero(~np.isfinite(audio)))
    if bad:
        raise AudioInputError(f"{what} contains {bad} NaN or infinite sample(s): the file is damaged. "
                              "Re-export it and upload it again.")
    if audio.size < MIN_SECONDS * SAMPLE_RATE:
        raise (EndsBeforeSegment if start else AudioInputError)(
            f"{what}: the segment is {audio.size / SAMPLE_RATE:.3f} s long; at least {MIN_SECONDS:g} s is needed.")
    return np.ascontiguousarray(audio, dtype=np.float32)


# --- building a track -----------------------------------------------------------------------------------


def _mode(given: set[str]) -> str:
    stems = given & set(STEMS)
    if stems == set(STEMS):
        return MODE_STEMS
    if MIXTURE in given and stems == {"vocals"}:
        return MODE_MIXTURE
    if MIXTURE in given and "vocals" not in stems:
        raise AudioInputError("A mixture needs its vocals: upload the vocals too (the accompaniment is "
                              "mixture − vocals), or upload the four stems instead.")
    missing = [s for s in STEMS if s not in stems]
    if MIXTURE in given:
        raise AudioInputError(f"Missing stems: {', '.join(missing)}. Upload all four stems, or only a mixture and "
                              "its vocals.")
    raise AudioInputError(f"Missing stems: {', '.join(missing)}. Upload all four stems (vocals, drums, bass, "
                          "other), or a mixture and its vocals.")


def _pad_to_longest(audio: dict[str, np.ndarray], names: Mapping[str, str]) -> tuple[dict[str, np.ndarray], list[str]]:
    n = max(len(a) for a in audio.values())
    # an empty file ended before the segment: the caller says so
    short = {k: len(a) for k, a in audio.items() if 0 < len(a) < n - LENGTH_TOLERANCE_S * SAMPLE_RATE}
    warnings = []
    if short:
        listed = ", ".join(f"{names[k]} {v / SAMPLE_RATE:.2f} s" for k, v in short.items())
        warnings.append(f"The files differ in length ({listed}; longest {n / SAMPLE_RATE:.2f} s): the shorter ones "
                        "were padded with silence at the end.")
    return {k: np.pad(a, (0, n - len(a))) for k, a in audio.items()}, warnings


def _read_all(given: Mapping[str, Path], names: Mapping[str, str], start: float, length: float | None,
              limit: float | None) -> tuple[dict[str, np.ndarray], list[str]]:
    """Every file's segment; a file that ends before the segment is silence (padded like any shorter file),
    unless every file does."""
    audio: dict[str, np.ndarray] = {}
    ended: dict[str, EndsBeforeSegment] = {}
    for k, p in given.items():
        try:
            audio[k] = read_audio(p, names[k], start, length, limit)
        except EndsBeforeSegment as err:
            ended[k] = err
    if not audio:
        raise next(iter(ended.values()))
    return {k: audio.get(k, np.zeros(0, dtype=np.float32)) for k in given}, list(ended)


def _truncated(path: Path) -> bool:
    """Whether the file's header announces more audio than the file holds (a WAV or AIFF cut short, e.g. by an
    interrupted copy): libsndfile reads what is there and notes the difference."""
    try:
        return "should be" in sf.info(str(path)).extra_info
    except (OSError, RuntimeError):  # not a format libsndfile knows: nothing to say
        return False


def _level_warnings(audio: Mapping[str, np.ndarray], given: Mapping[str, Path], names: Mapping[str, str]) -> list[str]:
    """Refuse audio far beyond full scale (no model was trained on it, its metrics mean nothing); warn about
    audio above full scale and about truncated files."""
    peaks = {k: float(np.max(np.abs(a))) for k, a in audio.items() if a.size}
    absurd = {k: p for k, p in peaks.items() if p > INPUT_PEAK_LIMIT}
    if absurd:
        listed = ", ".join(f"{names[k]} peaks at {p:.3g}" for k, p in absurd.items())
        raise AudioInputError(f"The audio is far too loud ({listed}; full scale is 1): normalise the file(s) to a "
                              "peak of at most 1 and upload again.")
    warnings = [f"{names[k]} peaks at {p:.3g}, above full scale (1): results may be distorted; normalise it for a "
                "fair comparison." for k, p in peaks.items() if p > INPUT_PEAK_WARNING]
    warnings += [f"{names[k]} seems truncated: its header announces more audio than the file holds. What it holds "
                 "was used; upload the complete file for the whole segment." for k, p in given.items() if _truncated(p)]
    return warnings


def _silent(x: np.ndarray) -> bool:
    return float(np.max(np.abs(x))) <= SILENCE_PEAK


def build_track(
    files: Mapping[str, str | os.PathLike | None],
    *,
    start: float = 0.0,
    length: float | None = None,
    limit: float = DEFAULT_MAX_SECONDS,
    title: str | None = None,
) -> Upload:
    """A track from uploaded files: `files` maps "vocals", "drums", "bass", "other" and/or "mixture" to paths
    (None or absent: not uploaded). Four stems make a stem track (a mixture given too is ignored: the mix is the
    stem sum); a mixture and its vocals make a mixture + vocals track (see the module note)."""
    unknown = sorted(set(files) - set(INPUTS))
    if unknown:
        raise ValueError(f"unknown inputs {unknown}; expected some of {', '.join(INPUTS)}")
    given = {k: Path(v) for k, v in files.items() if v}
    mode = _mode(set(given))
    warnings: list[str] = []
    if mode == MODE_STEMS and MIXTURE in given:
        warnings.append("A mixture was given with all four stems: it was ignored, the mix is the sum of the stems.")
        del given[MIXTURE]
    names = {k: f"{k} ({p.name})" for k, p in given.items()}
    audio, ended = _read_all(given, names, start, length, limit)
    warnings += _level_warnings(audio, given, names)
    audio, padded = _pad_to_longest(audio, names)
    warnings += [f"{names[k]} ends before the segment starts: it is silence in this segment." for k in ended]
    warnings += padded
    if all(_silent(a) for a in audio.values()) or (mode == MODE_MIXTURE and _silent(audio[MIXTURE])):
        raise AudioInputError("The audio is silent: there is nothing to compare. Check the files (and the segment).")
    if mode == MODE_MIXTURE:
        mix, vocals = audio[MIXTURE], audio["vocals"]
        accomp = (mix - vocals).astype(np.float32)
        stems = {"vocals": vocals, "drums": np.zeros_like(mix), "bass": np.zeros_like(mix), "other": accomp}
        if _silent(vocals):
            warnings.append(f"{names['vocals']} is silent: the vocal rows will be silence.")
        elif float(np.sum(accomp.astype(np.float64) ** 2)) > float(np.sum(mix.astype(np.float64) ** 2)):
            warnings.append("The vocals do not seem to be part of this mixture (mixture − vocals is louder than the "
                            "mixture): check that both files cover the same excerpt at the same gain.")
    else:
        stems = audio
        warnings += [f"{names[s]} is silent: the rows built from it will be silence." for s in STEMS
                     if _silent(stems[s])]
    files_used = ", ".join(p.name for p in given.values())
    label = title.strip() if title and title.strip() else _default_title(given, mode)
    segment = _segment_label(start, len(stems["vocals"]) / SAMPLE_RATE)
    title = f"{label} ({segment})"
    meta = {"mode": mode, "start": float(start), "files": {k: p.name for k, p in given.items()}}
    # The id covers what the user sees (title, file names) as well as the audio: two users who upload the same
    # audio under different names get different tracks, never each other's titles.
    identity = hashlib.sha256(json.dumps([Track("", "", stems).content_hash, title, meta]).encode()).hexdigest()
    track = Track(
        id=f"{ID_PREFIX}{identity[:12]}",
        title=title,
        stems=stems,
        source=f"uploaded files: {files_used}",
        licence="the uploader's",
        meta=meta,
    )
    return Upload(track, mode, tuple(warnings))


def _default_title(given: Mapping[str, Path], mode: str) -> str:
    if mode == MODE_MIXTURE:
        return f"Upload: {given[MIXTURE].stem} (mixture + vocals)"
    return f"Upload: {given['vocals'].stem} + 3 stems"


def _segment_label(start: float, seconds: float) -> str:
    return f"{start:g}–{start + seconds:.1f} s"


# --- run-time tracks ---------------------------------------------------------------------------------------


class TrackStore:
    """Tracks made at run time (uploads, MUSDB segments), found by id for as long as someone holds them.

    The store keeps only weak references: a user's session owns its tracks, so they go when the session
    goes, and one session's tracks are never listed to another. Unknown ids go to `fallback` (the library).
    """

    def __init__(self, fallback: Callable[[str], Track]) -> None:
        self.fallback = fallback
        self._tracks: weakref.WeakValueDictionary[str, Track] = weakref.WeakValueDictionary()
        self._lock = threading.Lock()

    def add(self, track: Track) -> Track:
        with self._lock:
            return self._tracks.setdefault(track.id, track)

    def __contains__(self, track_id: str) -> bool:
        return track_id in self._tracks

    def load(self, track_id: str) -> Track:
        track = self._tracks.get(track_id)
        return track if track is not None else self.fallback(track_id)
