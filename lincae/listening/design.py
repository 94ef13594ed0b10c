"""What a listening test plays: its trials (track × row), their conditions, and the blind order each rater gets.

A test after ITU-R BS.1534 (MUSHRA): every trial offers the open reference and, in a random order labelled
A, B, C…, one condition per model (that model's cell of the row), the hidden reference and two low-pass anchors
computed from the reference (`lincae.listening.audio`).
"""
from __future__ import annotations

import hashlib
import random
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from lincae.models.base import ModelInfo
from lincae.rows import MODEL_ROWS

HIDDEN_REFERENCE = "hidden_reference"
ANCHOR_CUTOFFS: dict[str, float] = {"anchor_3_5k": 3500.0, "anchor_7k": 7000.0}
"""BS.1534-3's low-range (3.5 kHz) and mid-range (7 kHz) anchors: the reference low-pass filtered (Hz)."""
MID_ANCHOR = "anchor_7k"
FIXED_CONDITIONS: tuple[str, ...] = (HIDDEN_REFERENCE, *ANCHOR_CUTOFFS)
CONDITION_NAMES: dict[str, str] = {
    HIDDEN_REFERENCE: "Hidden reference",
    "anchor_3_5k": "Anchor 3.5 kHz",
    "anchor_7k": "Anchor 7 kHz",
}
DEFAULT_ROWS: tuple[str, ...] = ("ae_mix", "additivity", "sep_vocals")
MAX_MODELS = 9
"""With the hidden reference and two anchors, 12 conditions a trial: BS.1534 advises against more."""
MAX_CONDITIONS = MAX_MODELS + len(FIXED_CONDITIONS)
LABELS: str = string.ascii_uppercase[:MAX_CONDITIONS]


class ListeningError(ValueError):
    """Input a listening test cannot accept; the message says what to do."""


@dataclass(frozen=True)
class Trial:
    index: int  # position in the design, the same for every rater
    track: str
    row: str


@dataclass(frozen=True)
class Design:
    """Tracks × rows × models. `seed` is the decoder seed of every model cell (the page's)."""

    tracks: tuple[str, ...]
    rows: tuple[str, ...]
    models: tuple[str, ...]
    seed: int = 0

    @property
    def conditions(self) -> tuple[str, ...]:
        """Every condition of every trial: the models, the hidden reference, the anchors."""
        return (*self.models, *FIXED_CONDITIONS)

    @property
    def trials(self) -> tuple[Trial, ...]:
        pairs = [(t, r) for t in self.tracks for r in self.rows]
        return tuple(Trial(i, t, r) for i, (t, r) in enumerate(pairs))

    def to_dict(self) -> dict:
        return {"tracks": list(self.tracks), "rows": list(self.rows), "models": list(self.models), "seed": self.seed}

    @classmethod
    def from_dict(cls, d: Mapping) -> Design:
        return cls(tuple(d["tracks"]), tuple(d["rows"]), tuple(d["models"]), int(d.get("seed", 0)))


def make_design(
    tracks: Iterable[str] | None,
    rows: Iterable[str] | None,
    models: Iterable[str] | None,
    *,
    known_tracks: Sequence[str],
    model_infos: Sequence[ModelInfo],
    seed: int = 0,
) -> Design:
    """A checked design; `ListeningError` says what is wrong. Order follows the known tracks, rows and models."""
    tracks, rows, models = set(tracks or ()), set(rows or ()), set(models or ())
    if not tracks:
        raise ListeningError("Pick at least one track.")
    unknown = sorted(tracks - set(known_tracks))
    if unknown:
        raise ListeningError(f"Unknown track(s): {', '.join(unknown)}.")
    if not rows:
        raise ListeningError("Pick at least one row.")
    bad_rows = sorted(rows - set(MODEL_ROWS))
    if bad_rows:
        raise ListeningError(f"Not a model row: {', '.join(bad_rows)}. Rows: {', '.join(MODEL_ROWS)}.")
    infos = {m.name: m for m in model_infos}
    unknown = sorted(models - set(infos))
    if unknown:
        raise ListeningError(f"Unknown model(s): {', '.join(unknown)}.")
    playable = [m.name for m in model_infos if m.name in models and m.available]
    if not playable:
        why = "; ".join(f"{infos[n].display_name}: {infos[n].reason}" for n in sorted(models)) or "none picked"
        raise ListeningError(f"This test has no playable model ({why}). Pick at least one model that runs here.")
    not_playable = sorted(models - set(playable))
    if not_playable:
        raise ListeningError("These models cannot run here: "
                             + "; ".join(f"{infos[n].display_name} ({infos[n].reason})" for n in not_playable) + ".")
    if len(playable) > MAX_MODELS:
        raise ListeningError(f"At most {MAX_MODELS} models per test ({len(playable)} picked): with the hidden "
                             "reference and two anchors more conditions than BS.1534 advises.")
    return Design(
        tracks=tuple(t for t in known_tracks if t in tracks),
        rows=tuple(r for r in MODEL_ROWS if r in rows),
        models=tuple(playable),
        seed=int(seed),
    )


@dataclass(frozen=True)
class PresentedTrial:
    """A trial as one rater sees it: conditions in the order shown, labelled A, B, C…"""

    trial: Trial
    conditions: tuple[str, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(LABELS[: len(self.conditions)])

    def by_label(self) -> dict[str, str]:
        return dict(zip(self.labels, self.conditions))


def _rng(*parts: object) -> random.Random:
    """A generator seeded by the parts themselves (stable across processes, unlike `hash`)."""
    digest = hashlib.sha256("\0".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def presentation(test_id: str, rater_id: str, design: Design) -> tuple[PresentedTrial, ...]:
    """The rater's blind order: trials shuffled, and conditions shuffled within each trial, seeded by the test and
    rater ids, so a rater who reopens the link gets the same order."""
    trials = list(design.trials)
    _rng(test_id, rater_id).shuffle(trials)
    out = []
    for trial in trials:
        conditions = list(design.conditions)
        _rng(test_id, rater_id, trial.index).shuffle(conditions)
        out.append(PresentedTrial(trial, tuple(conditions)))
    return tuple(out)


def condition_name(condition: str, model_infos: Sequence[ModelInfo] = ()) -> str:
    """A condition for people: the model's display name, "Hidden reference", "Anchor 3.5 kHz"."""
    names = {m.name: m.display_name for m in model_infos}
    return CONDITION_NAMES.get(condition) or names.get(condition, condition)
