"""A deterministic song generator: seed → four stems (vocals, drums, bass, other) of a short composed song.

Each song draws a tempo, key, mode, chord progression, a GM instrument for bass and for the harmony part, a drum
groove (CC0 recorded samples) and a sung melody (espeak-ng, one syllable per note). Stems are mono float32 at
44.1 kHz; the mix is their exact sum and peaks below 1.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lincae.data.instruments import SAMPLE_RATE, Note, drum_sample, singer, soundfont_player
from lincae.data.track import Track, headroom_gain

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
PROGRESSIONS = ((0, 4, 5, 3), (0, 5, 3, 4), (5, 3, 0, 4), (0, 3, 4, 3), (0, 5, 1, 4), (0, 4, 3, 4), (0, 2, 3, 4))
BASS_PROGRAMS = (32, 33, 34, 35, 38, 39)  # acoustic, finger, pick, fretless, synth 1, synth 2
HARMONY_PROGRAMS = (0, 1, 4, 5, 16, 19, 24, 25, 26, 27, 29, 48, 49, 50, 61, 81, 88, 89)
KICKS = ("bd_haus", "bd_klub", "bd_fat", "bd_tek", "bd_boom", "drum_heavy_kick", "bd_pure", "bd_zum")
SNARES = ("sn_dub", "sn_generic", "sn_zome", "sn_dolf", "drum_snare_hard", "elec_snare", "elec_hi_snare")
HATS = ("drum_cymbal_closed", "drum_cymbal_pedal", "elec_tick", "drum_cymbal_soft")
SYLLABLES = ("la", "na", "da", "ma", "ya", "ba", "ta", "ra", "lo", "no", "do", "so", "go", "yo", "mo", "ho")
STEM_LEVELS_DB = {"vocals": (-14, -9), "drums": (-16, -11), "bass": (-17, -12), "other": (-19, -13)}


@dataclass(frozen=True)
class Arrangement:
    """Everything a seed decides before rendering."""

    seed: int
    bpm: float
    root: int  # MIDI key of the tonic, octave 3
    mode: tuple[int, ...]
    progression: tuple[int, ...]
    bass_program: int
    harmony_program: int
    harmony_style: str  # "block" | "arpeggio" | "offbeat"
    drum_kit: tuple[str, str, str]
    voice_formant: int
    vocal_octave: int

    @property
    def beat(self) -> float:
        return 60.0 / self.bpm

    def chord(self, degree: int) -> list[int]:
        """Triad on a scale degree as MIDI keys in octave 3."""
        scale = [self.root + s for s in self.mode] + [self.root + 12 + s for s in self.mode]
        return [scale[degree], scale[degree + 2], scale[degree + 4]]

    def scale_keys(self, low: int, high: int) -> list[int]:
        keys = [self.root + 12 * o + s for o in range(-2, 5) for s in self.mode]
        return [k for k in keys if low <= k <= high]


def arrange(seed: int) -> Arrangement:
    rng = np.random.default_rng(seed)
    return Arrangement(
        seed=seed,
        bpm=float(rng.integers(84, 132)),
        root=int(48 + rng.integers(0, 12)),
        mode=MAJOR if rng.random() < 0.6 else MINOR,
        progression=PROGRESSIONS[rng.integers(len(PROGRESSIONS))],
        bass_program=int(rng.choice(BASS_PROGRAMS)),
        harmony_program=int(rng.choice(HARMONY_PROGRAMS)),
        harmony_style=str(rng.choice(["block", "arpeggio", "offbeat"])),
        drum_kit=(str(rng.choice(KICKS)), str(rng.choice(SNARES)), str(rng.choice(HATS))),
        voice_formant=int(rng.integers(85, 125)),
        vocal_octave=int(rng.integers(0, 2)),
    )


def _bass_notes(a: Arrangement, bars: int, rng: np.random.Generator) -> list[Note]:
    pattern = rng.choice(["quarters", "eighths", "root-fifth"])
    notes: list[Note] = []
    for bar in range(bars):
        root = a.chord(a.progression[bar % len(a.progression)])[0] - 12
        for step in range(8 if pattern == "eighths" else 4):
            dur = a.beat / 2 if pattern == "eighths" else a.beat
            key = root + 7 if pattern == "root-fifth" and step % 2 else root
            start = bar * 4 * a.beat + step * dur
            notes.append((start, dur * 0.9, key, int(rng.integers(85, 115))))
    return notes


def _harmony_notes(a: Arrangement, bars: int, rng: np.random.Generator) -> list[Note]:
    notes: list[Note] = []
    for bar in range(bars):
        chord = [k + 12 for k in a.chord(a.progression[bar % len(a.progression)])]
        t0 = bar * 4 * a.beat
        if a.harmony_style == "block":
            notes += [(t0, 4 * a.beat * 0.95, k, int(rng.integers(60, 90))) for k in chord]
        elif a.harmony_style == "arpeggio":
            cycle = chord + [chord[1], chord[0] + 12, chord[1]]
            for step in range(8):
                notes.append((t0 + step * a.beat / 2, a.beat / 2, cycle[step % len(cycle)], int(rng.integers(60, 95))))
        else:
            for beat in range(4):
                notes += [(t0 + (beat + 0.5) * a.beat, a.beat * 0.4, k, int(rng.integers(60, 90))) for k in chord]
    return notes


def _drums(a: Arrangement, bars: int, length: int, rng: np.random.Generator) -> np.ndarray:
    kick, snare, hat = (drum_sample(n) for n in a.drum_kit)
    out = np.zeros(length + SAMPLE_RATE * 2, dtype=np.float32)
    busy = rng.random() < 0.5
    for bar in range(bars):
        for step in range(16):
            t = round((bar * 4 + step / 4) * a.beat * SAMPLE_RATE)
            if t >= length:
                break
            hits = []
            if step in (0, 8) or (busy and step == 10):
                hits.append((kick, 1.0))
            if step in (4, 12):
                hits.append((snare, 0.8))
            if step % 2 == 0 or (busy and step % 4 == 3):
                hits.append((hat, 0.35 if step % 4 else 0.5))
            for sample, gain in hits:
                g = gain * float(rng.uniform(0.8, 1.0))
                out[t: t + len(sample)] += g * sample[: len(out) - t]
    return out[:length]


def _vocals(a: Arrangement, bars: int, length: int, rng: np.random.Generator) -> np.ndarray:
    voice = singer()
    low = a.root + 9 + 12 * a.vocal_octave
    keys = a.scale_keys(low, low + 14)
    out = np.zeros(length + SAMPLE_RATE * 2, dtype=np.float32)
    idx = len(keys) // 2
    for bar in range(bars):
        chord_pcs = {k % 12 for k in a.chord(a.progression[bar % len(a.progression)])}
        beat = 0.0
        while beat < 4:
            dur = float(rng.choice([0.5, 1.0, 1.0, 1.5, 2.0]))
            dur = min(dur, 4 - beat)
            if rng.random() < 0.15 and beat > 0:  # a breath
                beat += dur
                continue
            idx = int(np.clip(idx + rng.integers(-2, 3), 0, len(keys) - 1))
            if beat == 0 or dur >= 1.0:  # strong notes land on chord tones
                near = [i for i, k in enumerate(keys) if k % 12 in chord_pcs]
                idx = min(near, key=lambda i: abs(i - idx))
            freq = 440.0 * 2 ** ((keys[idx] - 69) / 12)
            note_len = round(dur * a.beat * SAMPLE_RATE)
            syllable = str(rng.choice(SYLLABLES))
            syllable += syllable[-1] * int(max(0, dur * a.beat - 0.5) / 0.1)  # a held vowel for a long note
            sung = voice.syllable(syllable, freq, a.voice_formant, 90)[:note_len]
            fade = min(len(sung), int(0.05 * SAMPLE_RATE))
            sung = sung * np.concatenate([np.ones(len(sung) - fade), np.linspace(1, 0, fade)]).astype(np.float32)
            t = round((bar * 4 + beat) * a.beat * SAMPLE_RATE)
            if t < length:
                out[t: t + len(sung)] += sung
            beat += dur
    return out[:length]


def _db(x: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-12)


def render_song(seed: int, duration: float = 8.0, peak: float = 0.9) -> Track:
    """Render song `seed` as a Track of `duration` seconds. The same seed always gives the same samples."""
    a = arrange(seed)
    rng = np.random.default_rng([seed, 1])
    length = round(duration * SAMPLE_RATE)
    bars = int(np.ceil(duration / (4 * a.beat))) + 1
    player = soundfont_player()
    stems = {
        "vocals": _vocals(a, bars, length, rng),
        "drums": _drums(a, bars, length, rng),
        "bass": player.render(_bass_notes(a, bars, rng), a.bass_program, length),
        "other": player.render(_harmony_notes(a, bars, rng), a.harmony_program, length),
    }
    for name, audio in stems.items():
        lo, hi = STEM_LEVELS_DB[name]
        stems[name] = audio * np.float32(10 ** ((rng.uniform(lo, hi) - _db(audio)) / 20))
    gain = headroom_gain(stems, peak)
    stems = {name: (audio * gain).astype(np.float32) for name, audio in stems.items()}
    scale = "major" if a.mode == MAJOR else "minor"
    return Track(
        id=f"song-{seed}",
        title=f"Generated song #{seed} ({int(a.bpm)} bpm, {scale})",
        stems=stems,
        source="lincae song generator",
        licence="CC0 (generated from CC0/MIT sound sources, see assets/NOTICE.md)",
        meta={"seed": seed, "bpm": a.bpm, "root": a.root, "mode": scale, "bass_program": a.bass_program,
              "harmony_program": a.harmony_program, "harmony_style": a.harmony_style, "drum_kit": list(a.drum_kit)},
    )
