"""The rows of the demo table: which latent operation each one shows."""
from __future__ import annotations

from dataclasses import dataclass

STEMS: tuple[str, ...] = ("vocals", "drums", "bass", "other")
SCALES: tuple[float, ...] = (0.1, 0.5, 2.0)


def scale_row_id(a: float) -> str:
    """Row id of the latent-scaling row for gain `a` (0.1 → "scale_0_1")."""
    return f"scale_{str(a).replace('.', '_')}"


@dataclass(frozen=True)
class Row:
    id: str
    label: str
    formula: str
    reference: bool = False  # plays the original audio, the same for every model


ROWS: tuple[Row, ...] = (
    Row("gt_mix", "Original Mix", "x_mix", reference=True),
    Row("ae_mix", "Autoencoded Mix", "Dec(Enc(x_mix))"),
    Row("additivity", "Latent Addition", "Dec(z_vocals + z_drums + z_bass + z_other)"),
    Row("gt_vocals", "Original Vocals", "x_vocals", reference=True),
    Row("ae_vocals", "Autoencoded Vocals", "Dec(Enc(x_vocals))"),
    Row("sep_vocals", "Separated Vocals", "Dec(z_mix − z_accomp),  x_accomp = x_mix − x_vocals"),
    *(
        Row(scale_row_id(a), f"Latent Scaling ×{a}", f"Dec({a} · z_vocals)")
        for a in SCALES
    ),
)
ROW_IDS: tuple[str, ...] = tuple(r.id for r in ROWS)
