"""Forecast accuracy in the data's own units: MAE, RMSE, MASE and sMAPE, overall and per step.

Everything here is NumPy in float64 and pure. Shapes follow rolling-origin evaluation:

- a training part is ``[time, targets]``;
- forecasts and truths are ``[windows, horizon, targets]`` (one row per forecast origin);
- the forecasts of several seeds of one model are ``[seeds, windows, horizon, targets]``.

With the error ``e = y - yhat`` over windows ``w``, steps ``k`` and targets ``j``:

- ``MAE  = mean_{w,k,j} |e|``;
- ``RMSE = sqrt(mean_{w,k,j} e^2)`` (one root of the mean over everything, not a mean of roots);
- ``MASE = mean_j (mean_{w,k} |e_{w,k,j}|) / s_j`` where ``s_j`` is :func:`mase_scale` of
  target ``j`` (Hyndman & Koehler, 2006), so every target counts equally whatever its units;
- ``sMAPE = mean_{w,k,j} 200 |e| / (|y| + |yhat|)`` in percent, 0 to 200, with ``0/0`` (a
  forecast of exactly 0 for a truth of exactly 0) counted as 0: the form of M4 and darts.

The per-step versions (``per_step``) apply the same formula to the forecasts ``k + 1`` steps
ahead only (the mean runs over windows, and targets; MASE still divides target by target).
"""

from __future__ import annotations

import numpy as np

from jaxseq.errors import InputError, check_positive_int
from jaxseq.evaluate import summarize

METRICS = ("mae", "rmse", "mase", "smape")


def _as_2d(name: str, array) -> np.ndarray:
    a = np.asarray(array, np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise InputError(f"{name} must be [time, targets] (or 1-D [time]), got shape {a.shape}")
    _check_finite(name, a)
    return a


def _check_finite(name: str, a: np.ndarray) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(
            f"{name} holds {int(bad.sum())} NaN or infinite value(s) (first at index {where}); "
            "metrics need finite numbers"
        )


def mase_scale(train, season: int = 1) -> np.ndarray:
    """The in-sample seasonal naive MAE of a training part, MASE's denominator.

    ``s_j = mean_{t >= m} |y_{t,j} - y_{t-m,j}|`` over the ``T - m`` steps that have a value one
    season ``m`` before them (``m = 1`` is the plain naive forecast).

    Args:
        train: ``[time, targets]`` (or 1-D ``[time]``), the data a model was fitted on; only
            this part may set the scale, never the values being forecast.
        season: ``m``, steps per season.

    Returns:
        ``[targets]`` float64, all > 0.

    Raises:
        InputError: ``season`` is not shorter than the training part, or a target's scale is 0
            (its training part is constant, or repeats exactly every ``m`` steps), which would
            divide by zero.
    """
    season = check_positive_int("season", season)
    y = _as_2d("train", train)
    if season >= len(y):
        raise InputError(
            f"season {season} needs a training part longer than {season} steps; the training "
            f"part has {len(y)}: use a smaller --season or more data"
        )
    scale = np.mean(np.abs(y[season:] - y[:-season]), axis=0)
    for j in np.flatnonzero(~(scale > 0)):
        what = (
            "is constant" if np.all(y[:, j] == y[0, j]) else f"repeats exactly every {season} steps"
        )
        raise InputError(
            f"target {j}'s training part {what}, so its seasonal naive error is 0 and MASE would "
            "divide by zero; use another --season or judge this target by MAE or RMSE"
        )
    return scale


def _smape_terms(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``200 |y - yhat| / (|y| + |yhat|)`` elementwise, 0 where both are 0."""
    num = 200.0 * np.abs(truth - pred)
    den = np.abs(truth) + np.abs(pred)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def smape(pred, truth) -> float:
    """Symmetric mean absolute percentage error in percent (0..200), as M4 and darts define it.

    ``sMAPE = mean 200 |y - yhat| / (|y| + |yhat|)``; a term with ``y = yhat = 0`` counts as 0
    (a perfect forecast), not as NaN. ``pred`` and ``truth`` are arrays of the same shape.
    """
    pred = np.asarray(pred, np.float64)
    truth = np.asarray(truth, np.float64)
    if pred.shape != truth.shape:
        raise InputError(
            f"pred and truth must have the same shape, got {pred.shape} and {truth.shape}"
        )
    _check_finite("pred", pred)
    _check_finite("truth", truth)
    return float(np.mean(_smape_terms(pred, truth)))


def _check_scale(scale, targets: int) -> np.ndarray:
    s = np.asarray(scale, np.float64)
    if s.ndim == 0:
        s = s[None]
    if s.shape != (targets,):
        raise InputError(
            f"scale must be [targets] = [{targets}] (one mase_scale per target), got shape {s.shape}"
        )
    _check_finite("scale", s)
    if not np.all(s > 0):
        raise InputError(
            f"scale must be positive (a mase_scale of the training part), got {s.tolist()}"
        )
    return s


def _check_forecasts(pred, truth, scale, pred_ndim: int):
    expect = (
        "[windows, horizon, targets]" if pred_ndim == 3 else "[seeds, windows, horizon, targets]"
    )
    p = np.asarray(pred, np.float64)
    y = np.asarray(truth, np.float64)
    if y.ndim != 3:
        raise InputError(f"truth must be [windows, horizon, targets], got shape {y.shape}")
    if p.ndim != pred_ndim or p.shape[-3:] != y.shape:
        raise InputError(f"pred must be {expect} matching truth {y.shape}, got shape {p.shape}")
    if y.size == 0:
        raise InputError(f"truth is empty (shape {y.shape}): there is nothing to score")
    _check_finite("pred", p)
    _check_finite("truth", y)
    return p, y, _check_scale(scale, y.shape[-1])


def _score(p: np.ndarray, y: np.ndarray, s: np.ndarray) -> dict:
    err = y - p
    abs_err = np.abs(err)
    terms = _smape_terms(p, y)
    mae_step_target = abs_err.mean(axis=0)  # [horizon, targets]
    return {
        "mae": float(abs_err.mean()),
        "rmse": float(np.sqrt(np.mean(err * err))),
        "mase": float(np.mean(abs_err.mean(axis=(0, 1)) / s)),
        "smape": float(terms.mean()),
        "per_step": {
            "mae": abs_err.mean(axis=(0, 2)).tolist(),
            "rmse": np.sqrt(np.mean(err * err, axis=(0, 2))).tolist(),
            "mase": (mae_step_target / s).mean(axis=1).tolist(),
            "smape": terms.mean(axis=(0, 2)).tolist(),
        },
    }


def score(pred, truth, scale) -> dict:
    """MAE, RMSE, MASE and sMAPE of one set of forecasts (equations in the module docstring).

    Args:
        pred: ``[windows, horizon, targets]`` forecasts.
        truth: the same shape, the values that came.
        scale: ``[targets]``, :func:`mase_scale` of the training part.

    Returns:
        ``{"mae", "rmse", "mase", "smape"}``: floats over every window, step and target; and
        ``"per_step"``: ``{"mae", "rmse", "mase", "smape"}``, each a list of ``horizon`` floats
        (step ``k + 1`` ahead at index ``k``).
    """
    return _score(*_check_forecasts(pred, truth, scale, 3))


def score_seeds(pred, truth, scale) -> dict:
    """:func:`score` of every seed of a model, summarised over seeds.

    Args:
        pred: ``[seeds, windows, horizon, targets]``; a single forecast ``[windows, horizon,
            targets]`` (a baseline) counts as one seed, so its min = max = mean and std = 0.
        truth: ``[windows, horizon, targets]``.
        scale: ``[targets]``, :func:`mase_scale` of the training part.

    Returns:
        For each of ``mae``, ``rmse``, ``mase``, ``smape``: ``{"mean", "min", "max", "std"}``
        over seeds (:func:`jaxseq.evaluate.summarize`, population std); and ``"per_step"``:
        each metric's ``[horizon]`` list averaged over seeds.
    """
    p = np.asarray(pred, np.float64)
    if p.ndim == 3:
        p = p[None]
    p, y, s = _check_forecasts(p, truth, scale, 4)
    if len(p) == 0:
        raise InputError("pred has no seeds (shape starts with 0)")
    scores = [_score(seed, y, s) for seed in p]
    out: dict = {m: summarize([sc[m] for sc in scores]) for m in METRICS}
    out["per_step"] = {
        m: np.mean([sc["per_step"][m] for sc in scores], axis=0).tolist() for m in METRICS
    }
    return out
