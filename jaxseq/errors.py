"""The one exception type jaxseq raises for bad input.

Every check runs where the input enters the library (a data loader, a layer's
``__call__``, a model's ``init``/``apply``, the command line), so the user sees a
sentence that names the argument, what was expected and what came, instead of a
trace from deep inside XLA.
"""

from __future__ import annotations

import numpy as np


class InputError(ValueError):
    """Bad input given to jaxseq: the message names the argument, the expectation and the fix."""


def check_positive_int(name: str, value, *, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise :class:`InputError` if it is not an integer >= minimum."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def check_fraction(name: str, value, *, allow_zero: bool = True) -> float:
    """Return ``value`` as a float in [0, 1) (or (0, 1) if not ``allow_zero``)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number in [0, 1), got {value!r}") from None
    low_ok = value >= 0.0 if allow_zero else value > 0.0
    if not (low_ok and value < 1.0):
        bound = "[0, 1)" if allow_zero else "(0, 1)"
        raise InputError(f"{name} must be in {bound}, got {value}")
    return value


def check_finite(name: str, array: np.ndarray) -> None:
    """Raise :class:`InputError` naming the first NaN or inf in ``array``."""
    array = np.asarray(array)
    if not np.issubdtype(array.dtype, np.number):
        raise InputError(f"{name} must be numeric, got an array of dtype {array.dtype}")
    bad = ~np.isfinite(array)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        kind = "NaN" if np.isnan(array[where]) else "inf"
        raise InputError(
            f"{name} contains {int(bad.sum())} non-finite value(s) ({kind} first at index {where}); "
            "remove or fill them before training"
        )
