"""Latent operations as pure functions.

Latents are arrays (numpy or torch) of one model and one length; each operation returns a new array.
`combine` is the one operation: every row of the demo table (`lincae.rows`) is a weighted sum of latents,
e.g. separation z_mix − z_accomp and scaling a · z_vocals.

Origin correction: an encoder need not map silence to zero, so a linear combination whose coefficients
do not sum to one moves the origin. Adding Enc(silence) · (1 − Σ coefficients) puts it back.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

Latent = TypeVar("Latent")  # np.ndarray or torch.Tensor: any array that supports + and scalar *


def combine(
    coeffs: Mapping[str, float],
    latents: Mapping[str, Latent],
    silence: Latent | None = None,
) -> Latent:
    """Σ coeffs[k] · latents[k], plus `silence` · (1 − Σ coeffs) when `silence` (Enc of silence) is given.

    Zero coefficients are skipped; an all-zero combination is zeros shaped like the latents (or the origin
    itself with `silence`).
    """
    unknown = [k for k in coeffs if k not in latents]
    if unknown:
        raise KeyError(f"no latent for: {', '.join(unknown)}")
    total = None
    for name, c in coeffs.items():
        if c == 0:
            continue
        term = latents[name] * float(c)
        total = term if total is None else total + term
    if silence is not None:
        origin = silence * (1.0 - float(sum(coeffs.values())))
        total = origin if total is None else total + origin
    if total is None:
        if not latents:
            raise ValueError("an empty combination needs at least one latent to take its shape from")
        total = next(iter(latents.values())) * 0.0
    return total
