"""Hybrids: a network that forecasts what a classical model leaves.

A *base* model (a baseline or classical model of :mod:`jaxseq.baselines`) is fitted once on
the training part and forecasts ``horizon`` steps from every origin of the series::

    B[o, k] = its forecast of y[o + k] made at origin o      (o = 1 .. T, k = 0 .. h - 1)

A hybrid network reads ``B`` as known-future inputs (input step ``t`` of a window, series index
``i``, carries ``B[i + 1]``: the base forecast made right after it, so the last step carries
the base forecast for the window's own horizon) and adds its output to it: the network learns
the base's residual, ``y = B + f(x, B)`` (in each window's frame when windows are normalised;
:class:`jaxseq.models.Model`). Like ES-RNN's exponential smoothing inside an RNN, the classical
model carries level and season and the network what they miss.

Nothing reads the future: ``B[o]`` is the forward pass of a model fitted on the training part
over ``y[:o]`` only. For origins inside the training part these are in-sample forecasts (the
fit saw those values), as a classical model's fitted values are; they only ever enter the
training windows. Origins with too little history for the base (seasonal naive before one
season, a classical model before two seasons or ``MIN_HISTORY`` steps) get the naive forecast,
the last value.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from jaxseq import baselines
from jaxseq.errors import InputError, check_positive_int

#: ``--base`` choices: none, or a base model's name in jaxseq.baselines
BASES = ("none", "seasonal_naive", "auto_ets", "auto_theta", "auto_arima")
#: ``compare``'s base for point forecasts, chosen on the benchmark's validation parts
#: (``experiments/option_choice.py --option base``, docs/forecasting.md): over AutoTheta the
#: networks' validation MASE was 0.925 times the plain networks' (geometric mean over 8
#: series and 4 networks), over AutoETS 0.942, over seasonal naive 0.975; re-checked with
#: ``compare``'s networks stopping on the first half of validation and scored on the second,
#: 0.940 (``experiments/results/choice_base_first_half``).
DEFAULT = "auto_theta"
#: the least history a classical base forecasts from (shorter prefixes get the naive forecast)
MIN_HISTORY = 8


def check(name: str) -> str:
    if name not in BASES:
        raise InputError(f"base must be one of {', '.join(BASES)}; got {name!r}")
    return name


def base_forecasts(name: str, series, horizon: int, *, season: int, fit_end: int) -> np.ndarray:
    """``B`` of the module docstring: ``[T + 1, horizon, targets]`` float64 for a series
    ``[T, targets]`` (row 0, the origin with no history, is the first value repeated)."""
    check(name)
    if name == "none":
        raise InputError("base 'none' has no forecasts")
    y = np.asarray(series, np.float64)
    y = y[:, None] if y.ndim == 1 else y
    horizon = check_positive_int("horizon", horizon)
    season = check_positive_int("season", season)
    return _cached(name, y.tobytes(), y.shape, horizon, season, fit_end).copy()


@functools.lru_cache(maxsize=8)
def _cached(name, raw, shape, horizon, season, fit_end) -> np.ndarray:
    """One computation per series and settings in a process (a comparison's networks, their
    calibration and forecasts all read the same ``B``)."""
    y = np.frombuffer(raw, np.float64).reshape(shape)
    T = len(y)
    origins = np.arange(1, T + 1)
    out = np.empty((T + 1, horizon, y.shape[1]))
    out[1:] = baselines.naive(y, origins, horizon)
    out[0] = y[0]
    if name == "seasonal_naive":
        later = origins[origins >= season]
        if len(later):
            out[later] = baselines.seasonal_naive(y, later, horizon, season=season)
        return out
    first = max(MIN_HISTORY, 2 * season if season > 1 else 0)
    later = origins[origins >= first]
    for j in range(y.shape[1]):
        out[later, :, j] = _classical(name, y[:, j], later, horizon, season, fit_end)
    return out


def _classical(name, y, origins, horizon, season, fit_end) -> np.ndarray:
    """The classical model fitted on ``y[:fit_end]``, forward from every origin (the
    fitted baselines' own routine, :func:`jaxseq.baselines.fit_forward`)."""
    if not baselines.available():
        raise InputError(f"base {name!r} needs statsforecast: {baselines.INSTALL_HINT}")
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.filterwarnings("ignore", module=r"statsforecast(\.|$)")
            return baselines.fit_forward(name, season, y, origins, horizon, fit_end)
    except Exception as error:  # the model's own failure, as the baselines report it
        first_line = (str(error).strip().splitlines() or [""])[0][:200]
        raise InputError(
            f"base {name!r} cannot forecast this series ({type(error).__name__}: "
            f"{first_line}); use another --base"
        ) from None
