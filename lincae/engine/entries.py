"""What the engine's cache entries must hold to be used, and how a table entry becomes a `TrackTable`."""
from __future__ import annotations

import logging

from lincae.data.track import Track
from lincae.engine.cache import Entry
from lincae.rows import MODEL_ROWS

log = logging.getLogger(__name__)


class NonFiniteAudio(ValueError):
    """A decode produced NaN or inf: there is no audio to return for this combination."""


class TrackTable(dict):
    """`{row_id: audio}` at the track's rate and length; `nonfinite` names rows whose decode produced
    NaN or inf (those samples were replaced by zeros)."""

    nonfinite: tuple[str, ...] = ()


def complete_entry(signals: tuple[str, ...], length: int | None = None, also: tuple[str, ...] = ()) -> dict:
    """`TwoLevelCache.get` arguments: the entry must hold `signals` (each `length` samples long when given) and
    `also`; anything less is a miss, recomputed."""
    valid = None if length is None else (lambda e: all(e[n].shape == (length,) for n in signals))
    return {"names": signals + also, "valid": valid}


def table_from_entry(entry: Entry, model_name: str, track: Track) -> TrackTable:
    """The `TrackTable` of a table entry (`MODEL_ROWS` and their `nonfinite` flags)."""
    table = TrackTable((r, entry[r]) for r in MODEL_ROWS)
    table.nonfinite = tuple(r for r, bad in zip(MODEL_ROWS, entry["nonfinite"]) if bad)
    if table.nonfinite:
        log.warning("%s on %s: NaN/inf replaced by zeros in %s", model_name, track.id, ", ".join(table.nonfinite))
    return table
