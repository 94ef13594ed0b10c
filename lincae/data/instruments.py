"""Sound sources for the song generator: a General MIDI soundfont, CC0 drum samples, a singing synthesiser.

All three are Debian packages (`fluid-soundfont-gm` or `csound-soundfont`, `sonic-pi-samples`, `espeak-ng`);
the soundfont is played by `tinysoundfont`. `missing_tools()` says what is absent so callers can explain it.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

SAMPLE_RATE = 44100
SOUNDFONTS = (Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"), Path("/usr/share/sounds/sf2/sf_GMbank.sf2"))
DRUM_SAMPLES_DIR = Path("/usr/share/sonic-pi/samples")
ESPEAK_DATA_DIRS = (
    Path("/usr/lib/x86_64-linux-gnu/espeak-ng-data"),
    Path("/usr/lib/aarch64-linux-gnu/espeak-ng-data"),
    Path("/usr/share/espeak-ng-data"),
)


def soundfont_path() -> Path | None:
    return next((p for p in SOUNDFONTS if p.exists()), None)


def _espeak_data_dir() -> Path | None:
    return next((p for p in ESPEAK_DATA_DIRS if (p / "phontab").exists()), None)


def missing_tools() -> list[str]:
    """Human-readable list of what the generator needs and cannot find."""
    missing = []
    if soundfont_path() is None:
        missing.append("a General MIDI soundfont (apt: fluid-soundfont-gm)")
    if not DRUM_SAMPLES_DIR.exists():
        missing.append("drum samples (apt: sonic-pi-samples)")
    if shutil.which("espeak-ng") is None or _espeak_data_dir() is None:
        missing.append("espeak-ng (apt: espeak-ng)")
    if importlib.util.find_spec("tinysoundfont") is None:
        missing.append("tinysoundfont (pip install --no-deps tinysoundfont)")
    return missing


Note = tuple[float, float, int, int]  # start seconds, duration seconds, MIDI key, velocity


class SoundfontPlayer:
    """Renders note lists with one GM program each; the soundfont is loaded once per process."""

    def __init__(self) -> None:
        import tinysoundfont

        path = soundfont_path()
        if path is None:
            raise RuntimeError("no General MIDI soundfont installed (apt: fluid-soundfont-gm)")
        self._synth = tinysoundfont.Synth(samplerate=SAMPLE_RATE)
        self._sfid = self._synth.sfload(str(path))

    def render(self, notes: list[Note], program: int, length: int, drums: bool = False) -> np.ndarray:
        """Mono float32 of `length` samples; events are placed sample-exactly."""
        synth, channel = self._synth, 9 if drums else 0
        synth.program_select(channel, self._sfid, 128 if drums else 0, program, drums)
        events = sorted(
            [(round(s * SAMPLE_RATE), 1, k, v) for s, _, k, v in notes]
            + [(round((s + d) * SAMPLE_RATE), 0, k, 0) for s, d, k, _ in notes]
        )
        out = np.zeros(length, dtype=np.float32)
        pos = 0
        for at, on, key, vel in events + [(length, 0, -1, 0)]:
            at = min(at, length)
            if at > pos:
                out[pos:at] = self._generate(at - pos)
                pos = at
            if key < 0:
                break
            if on:
                synth.noteon(channel, key, vel)
            else:
                synth.noteoff(channel, key)
        synth.notes_off(channel)
        synth.sounds_off(channel)
        self._generate(SAMPLE_RATE // 10)  # flush voices so the next stem starts clean
        return out

    def _generate(self, n: int) -> np.ndarray:
        stereo = np.frombuffer(self._synth.generate(n), dtype=np.float32).reshape(-1, 2)
        return stereo.mean(axis=1)


@functools.lru_cache(maxsize=1)
def soundfont_player() -> SoundfontPlayer:
    return SoundfontPlayer()


@functools.lru_cache(maxsize=64)
def drum_sample(name: str) -> np.ndarray:
    """A sonic-pi sample (CC0) as mono float32 at 44.1 kHz."""
    audio, rate = sf.read(DRUM_SAMPLES_DIR / f"{name}.flac", dtype="float32", always_2d=True)
    mono = audio.mean(axis=1)
    if rate != SAMPLE_RATE:
        mono = soxr.resample(mono, rate, SAMPLE_RATE).astype(np.float32)
    return mono


class Singer:
    """Sings one syllable per note with espeak-ng: a private voice variant with a flat pitch contour."""

    def __init__(self, voice: str = "en") -> None:
        data = _espeak_data_dir()
        if data is None or shutil.which("espeak-ng") is None:
            raise RuntimeError("espeak-ng is not installed (apt: espeak-ng)")
        self._root = Path(tempfile.mkdtemp(prefix="lincae-espeak-"))
        private = self._root / "espeak-ng-data"
        (private / "voices" / "!v").mkdir(parents=True)
        for entry in data.iterdir():
            if entry.name != "voices":
                os.symlink(entry, private / entry.name)
        self._variants = private / "voices" / "!v"
        self._voice = voice

    @functools.lru_cache(maxsize=512)
    def syllable(self, text: str, freq: float, formant: int, speed: int) -> np.ndarray:
        """`text` sung at `freq` Hz, mono float32 at 44.1 kHz (length set by espeak's speed)."""
        hz = int(round(freq))
        name = f"s{hz}_{formant}"
        (self._variants / name).write_text(
            f"name {name}\npitch {hz} {hz}\nintonation 0\nformant 1 {formant} 100 100\nbreath 0\n"
        )
        out = self._root / f"{name}.wav"
        subprocess.run(
            ["espeak-ng", f"--path={self._root}", "-v", f"{self._voice}+{name}", "-s", str(speed),
             "-w", str(out), text],
            check=True, capture_output=True, timeout=20,
        )
        audio, rate = sf.read(out, dtype="float32")
        out.unlink()
        audio = soxr.resample(audio, rate, SAMPLE_RATE).astype(np.float32)
        nonzero = np.flatnonzero(np.abs(audio) > 1e-3)
        return audio[nonzero[0]: nonzero[-1] + 1] if len(nonzero) else audio


@functools.lru_cache(maxsize=1)
def singer() -> Singer:
    return Singer()
