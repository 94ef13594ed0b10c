"""What the library accepts, defined once: every edge (page, API, library) checks input against these and
refuses the rest with a message that says what to do.

Each check raises `InputError` (a `ValueError`) whose message is meant for the user as it is.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

SEED_MAX = 2**32 - 1
"""Decoder seeds are 0 … 2³²−1 (what every random generator the models use accepts)."""
COEFFICIENT_LIMIT = 10.0
"""Largest |coefficient| of a latent combination (a mixer gain times its scale): ten times a stem is +20 dB,
already far beyond what the demo needs; beyond it decodes are noise at levels no one should hear."""
INPUT_PEAK_LIMIT = 100.0
"""Uploaded audio peaking above this (+40 dB over full scale) is refused: it is not audio at a level any model
was trained on, and its metrics would mean nothing."""
INPUT_PEAK_WARNING = 1.0
"""Uploaded audio peaking above full scale gets a warning (float files can hold such samples)."""


class InputError(ValueError):
    """A value from the user that cannot be used; the message says what to give instead."""


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, str)):
        raise InputError(f"{what} must be a number, got {value!r}.")
    try:
        number = float(value)
    except ValueError:
        raise InputError(f"{what} must be a number, got {value!r}.") from None
    if not math.isfinite(number):
        raise InputError(f"{what} must be a finite number, got {value!r}.")
    return number


def check_seed(seed: object) -> int:
    """The seed as an int, or `InputError` when it is not a whole number in 0 … `SEED_MAX`."""
    number = _number(seed, "The seed")
    if number != int(number) or not 0 <= number <= SEED_MAX:
        raise InputError(f"The seed must be a whole number from 0 to {SEED_MAX} (2**32 − 1), got {seed!r}.")
    return int(number)


def check_number(value: object, what: str) -> float:
    """`value` as a finite float, or `InputError` naming `what`."""
    return _number(value, what)


def check_coefficients(coeffs: Mapping[str, object], what: str = "coefficient") -> dict[str, float]:
    """Finite latent coefficients within ±`COEFFICIENT_LIMIT`, as floats."""
    out = {name: _number(c, f"The {name} {what}") for name, c in coeffs.items()}
    over = {name: c for name, c in out.items() if abs(c) > COEFFICIENT_LIMIT}
    if over:
        listed = ", ".join(f"{name} {c:g}" for name, c in over.items())
        raise InputError(f"Each {what} must stay within ±{COEFFICIENT_LIMIT:g} (got {listed}): lower the gains "
                         "or the scale.")
    return out
