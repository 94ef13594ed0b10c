"""The rows of the demo table, declared once: what each row plays, how it is computed, what it approximates.

The engine decodes `Row.latent`, the player shows `label` and `formula`, the analysis, the API and the
spectrograms compare a row with `Row.original`. Adding a row to `ROWS` is all it takes to show it everywhere.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from lincae.data.track import Track

STEMS: tuple[str, ...] = ("vocals", "drums", "bass", "other")
SIGNALS: tuple[str, ...] = ("mix", *STEMS, "accomp")
"""What gets encoded per track: the mix, each stem, and the accompaniment x_mix − x_vocals."""
SCALES: tuple[float, ...] = (0.1, 0.5, 2.0)
"""Gains of the latent-scaling rows."""
DEFAULT_SEED = 0
"""The decoder seed shared by every cell of every track the page shows: differences between cells are the models'."""

Coefficients = Mapping[str, float]  # signal name → coefficient


def _frozen(coeffs: Coefficients | None) -> Coefficients | None:
    if coeffs is None:
        return None
    unknown = sorted(set(coeffs) - set(SIGNALS))
    if unknown:
        raise ValueError(f"unknown signals {unknown}; choose from {', '.join(SIGNALS)}")
    return MappingProxyType({s: float(c) for s, c in coeffs.items()})


def signal(track: Track, name: str) -> np.ndarray:
    """One of `SIGNALS` of `track`."""
    if name == "mix":
        return track.mix
    if name == "accomp":
        return track.accomp
    return track.stems[name]


def combine_signals(track: Track, coeffs: Coefficients) -> np.ndarray:
    """Σ coeffs[s] · signal s of `track`, as float32 audio."""
    total = np.zeros(track.num_samples, dtype=np.float32)
    for name, c in coeffs.items():
        total += np.float32(c) * signal(track, name)
    return total


@dataclass(frozen=True)
class Row:
    """One row of the table.

    `latent`: the row's latent as coefficients of the encoded signals (decoded by every model), or None for a
    reference row, which plays the original audio. `original`: what the row approximates, as coefficients of
    the track's own signals (for a reference row, what it plays).
    """

    id: str
    label: str
    formula: str
    latent: Coefficients | None
    original: Coefficients

    def __post_init__(self) -> None:
        object.__setattr__(self, "latent", _frozen(self.latent))
        object.__setattr__(self, "original", _frozen(self.original))

    @property
    def reference(self) -> bool:
        """Plays the original audio, the same for every model."""
        return self.latent is None

    def original_audio(self, track: Track) -> np.ndarray:
        return combine_signals(track, self.original)


def scale_row_id(a: float) -> str:
    """Row id of the latent-scaling row for gain `a` (0.1 → "scale_0_1")."""
    return f"scale_{str(a).replace('.', '_')}"


ROWS: tuple[Row, ...] = (
    Row("gt_mix", "Original Mix", "x_mix", latent=None, original={"mix": 1}),
    Row("ae_mix", "Autoencoded Mix", "Dec(Enc(x_mix))", latent={"mix": 1}, original={"mix": 1}),
    Row("additivity", "Latent Addition", "Dec(z_vocals + z_drums + z_bass + z_other)",
        latent={s: 1 for s in STEMS}, original={"mix": 1}),
    Row("gt_vocals", "Original Vocals", "x_vocals", latent=None, original={"vocals": 1}),
    Row("ae_vocals", "Autoencoded Vocals", "Dec(Enc(x_vocals))", latent={"vocals": 1}, original={"vocals": 1}),
    Row("sep_vocals", "Separated Vocals", "Dec(z_mix − z_accomp),  x_accomp = x_mix − x_vocals",
        latent={"mix": 1, "accomp": -1}, original={"vocals": 1}),
    *(
        Row(scale_row_id(a), f"Latent Scaling ×{a}", f"Dec({a} · z_vocals)", latent={"vocals": a},
            original={"vocals": a})
        for a in SCALES
    ),
)
ROW_IDS: tuple[str, ...] = tuple(r.id for r in ROWS)
ROW_BY_ID: Mapping[str, Row] = MappingProxyType({r.id: r for r in ROWS})
MODEL_ROWS: tuple[str, ...] = tuple(r.id for r in ROWS if not r.reference)
"""The rows every model decodes, in table order."""
REFERENCE_ROWS: tuple[str, ...] = tuple(r.id for r in ROWS if r.reference)


def get_row(row_id: str) -> Row:
    """The row named `row_id`; KeyError names the known ones."""
    try:
        return ROW_BY_ID[row_id]
    except KeyError:
        raise KeyError(f"unknown row {row_id!r}; rows: {', '.join(ROW_IDS)}") from None
