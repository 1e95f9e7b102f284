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

A missing truth (NaN: a value the series does not have, or one a fill made up) is masked: every
mean above runs over the observed truths only, and :func:`mase_scale` over the seasonal
differences whose two ends are observed. Without missing truths the figures are those of the
plain means, bit for bit.
"""

from __future__ import annotations

import numpy as np

from jaxseq.errors import InputError, check_positive_int
from jaxseq.evaluate import summarize

METRICS = ("mae", "rmse", "mase", "smape")


def _as_2d(name: str, array, missing: bool = False) -> np.ndarray:
    """``[time, targets]`` float64, finite (or NaN for a missing value, with ``missing``)."""
    a = np.asarray(array, np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise InputError(f"{name} must be [time, targets] (or 1-D [time]), got shape {a.shape}")
    _check_finite(name, np.where(np.isnan(a), 0.0, a) if missing else a)
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
    y = _as_2d("train", train, missing=True)
    if season >= len(y):
        raise InputError(
            f"season {season} needs a training part longer than {season} steps; the training "
            f"part has {len(y)}: use a smaller --season or more data"
        )
    diffs = np.abs(y[season:] - y[:-season])
    scale = _mean(diffs, ~np.isnan(diffs), axis=0)
    for j in np.flatnonzero(np.isnan(scale)):
        raise InputError(
            f"target {j}'s training part has no two observed values {season} steps apart, so "
            "its seasonal naive error (MASE's scale) is unknown; fill its gaps or use more data"
        )
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


def _mean(x: np.ndarray, observed: np.ndarray, axis=None):
    """The mean of ``x`` over its ``observed`` entries along ``axis`` (NaN where there are
    none); the plain ``x.mean(axis)`` when every entry is observed, so the figures of a
    complete truth do not move by a rounding."""
    if observed.all():
        return x.mean(axis=axis)
    count = observed.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(observed, x, 0.0).sum(axis=axis) / np.where(count > 0, count, np.nan)


def masked_targets(truth) -> int:
    """How many truths are missing (NaN) and so left out of every score."""
    return int(np.isnan(np.asarray(truth, np.float64)).sum())


def _check_truth(y: np.ndarray) -> None:
    """Finite or missing (NaN) truths, at least one observed."""
    if np.isinf(y).any():
        _check_finite("truth", y)
    if np.isnan(y).all():
        raise InputError(
            f"truth holds no observed value ({y.size} missing): there is nothing to score"
        )


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
    _check_truth(y)
    return p, y, _check_scale(scale, y.shape[-1])


def _score(p: np.ndarray, y: np.ndarray, s: np.ndarray) -> dict:
    seen = ~np.isnan(y)
    y0 = np.where(seen, y, p)  # a missing truth: an error of 0, left out of every mean
    err = y0 - p
    abs_err = np.abs(err)
    terms = _smape_terms(p, y0)
    mae_step_target = _mean(abs_err, seen, axis=0)  # [horizon, targets]
    return {
        "mae": float(_mean(abs_err, seen)),
        "rmse": float(np.sqrt(_mean(err * err, seen))),
        "mase": float(np.mean(_mean(abs_err, seen, axis=(0, 1)) / s)),
        "smape": float(_mean(terms, seen)),
        "per_step": {
            "mae": _mean(abs_err, seen, axis=(0, 2)).tolist(),
            "rmse": np.sqrt(_mean(err * err, seen, axis=(0, 2))).tolist(),
            "mase": (mae_step_target / s).mean(axis=1).tolist(),
            "smape": _mean(terms, seen, axis=(0, 2)).tolist(),
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
        over seeds (:func:`jaxseq.evaluate.summarize`, population std); ``"per_step"``:
        each metric's ``[horizon]`` list averaged over seeds; and ``"issued"``: each metric of
        the forecast issued, the seeds' average (for one seed, that seed).
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
    issued = _score(p.mean(axis=0), y, s)
    out["issued"] = {m: issued[m] for m in METRICS}
    return out


# --------------------------------------------------------------------------- quantile forecasts
#
# A quantile forecast holds, for every window w, step k and target j, the values q_{w,k,j,l}
# at levels tau_1 < ... < tau_L (``[windows, horizon, targets, L]``). With the pinball loss
# rho_tau(e) = max(tau e, (tau - 1) e) of the error e = y - q:
#
#   pinball         = mean_{w,k,j,l} rho_{tau_l}(y_{w,k,j} - q_{w,k,j,l})
#   scaled pinball  = mean_j (mean_{w,k,l} rho_{tau_l}(...)) / s_j       (s_j: mase_scale)
#   CRPS (approx.)  = 2 * pinball                 (CRPS = 2 * integral_0^1 pinball_tau d tau)
#   coverage        = share of y in [q_lo, q_hi] for each central interval (lo + hi = 1)
#   width           = mean (q_hi - q_lo)


def _check_levels(levels) -> np.ndarray:
    tau = np.asarray(levels)
    if tau.ndim != 1 or tau.size == 0:
        raise InputError(
            f"levels must be a non-empty 1-D list of quantile levels, got shape {tau.shape}: "
            "give the levels of qpred's last axis, such as [0.1, 0.5, 0.9]"
        )
    if not np.issubdtype(tau.dtype, np.number):
        raise InputError(f"levels must be numbers in (0, 1), got an array of dtype {tau.dtype}")
    tau = tau.astype(np.float64)
    if not np.all((tau > 0) & (tau < 1)):
        raise InputError(
            f"levels must lie strictly between 0 and 1, got {tau.tolist()}: give quantile "
            "levels such as [0.1, 0.5, 0.9]"
        )
    if not np.all(np.diff(tau) > 0):
        raise InputError(
            f"levels must be strictly increasing, got {tau.tolist()}: sort them (and qpred's "
            "last axis with them) and give each level once"
        )
    return tau


def _check_quantile_forecasts(qpred, truth, levels, qpred_ndim: int):
    tau = _check_levels(levels)
    what = "[windows, horizon, targets, L]"
    if qpred_ndim == 5:
        what = "[seeds, windows, horizon, targets, L]"
    q = np.asarray(qpred, np.float64)
    y = np.asarray(truth, np.float64)
    if y.ndim != 3:
        raise InputError(f"truth must be [windows, horizon, targets], got shape {y.shape}")
    if q.ndim != qpred_ndim or q.shape[-4:] != (*y.shape, len(tau)):
        raise InputError(
            f"qpred must be {what} matching truth {y.shape} and L = {len(tau)} levels, got "
            f"shape {q.shape}"
        )
    if y.size == 0:
        raise InputError(f"truth is empty (shape {y.shape}): there is nothing to score")
    _check_finite("qpred", q)
    _check_truth(y)
    return q, y, tau


def _pinball_terms(q: np.ndarray, y: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """``rho_tau(y - q)`` ``[..., L]``, ``q`` ``[..., L]``, ``y`` ``[...]``."""
    e = y[..., None] - q
    return np.maximum(tau * e, (tau - 1.0) * e)


def _observed_terms(q: np.ndarray, y: np.ndarray, tau: np.ndarray):
    """The pinball terms ``[..., L]`` and where their truth is observed (same shape)."""
    seen = ~np.isnan(y)
    terms = _pinball_terms(q, np.where(seen, y, 0.0), tau)
    return terms, np.broadcast_to(seen[..., None], terms.shape)


def pinball(qpred, truth, levels) -> float:
    """The pinball (quantile) loss averaged over windows, steps, targets and levels.

    ``mean_{w,k,j,l} max(tau_l e, (tau_l - 1) e)`` with ``e = y_{w,k,j} - q_{w,k,j,l}``: for
    each level, the loss that the ``tau_l`` quantile of the truth minimises in expectation.

    Args:
        qpred: ``[windows, horizon, targets, L]`` quantile forecasts.
        truth: ``[windows, horizon, targets]``.
        levels: ``[L]`` strictly increasing levels in ``(0, 1)``, those of ``qpred``'s last axis.

    Returns:
        The mean loss, in the data's units.
    """
    q, y, tau = _check_quantile_forecasts(qpred, truth, levels, 4)
    return float(_mean(*_observed_terms(q, y, tau)))


def scaled_pinball(qpred, truth, levels, scale) -> float:
    """The pinball loss of each target divided by its MASE scale, averaged over targets.

    ``mean_j (mean_{w,k,l} rho_{tau_l}(y_{w,k,j} - q_{w,k,j,l})) / s_j``: unit free, and every
    target counts equally, as in MASE (for a single level 0.5 it is half the MASE of the
    median forecast).

    Args:
        qpred: ``[windows, horizon, targets, L]``; truth: ``[windows, horizon, targets]``;
        levels: ``[L]`` strictly increasing, in ``(0, 1)``.
        scale: ``[targets]``, :func:`mase_scale` of the training part.
    """
    q, y, tau = _check_quantile_forecasts(qpred, truth, levels, 4)
    s = _check_scale(scale, y.shape[-1])
    terms, seen = _observed_terms(q, y, tau)
    return float(np.mean(_mean(terms, seen, axis=(0, 1, 3)) / s))


def intervals(levels) -> list[tuple[float, float, float]]:
    """The central prediction intervals that pairs of levels make.

    A pair is a level ``lo < 0.5`` and a level ``hi = 1 - lo`` (within 1e-9); its nominal
    coverage is ``hi - lo``. Levels 0.05, 0.1, 0.5, 0.9, 0.95 give
    ``[(0.8, 0.1, 0.9), (0.9, 0.05, 0.95)]``.

    Args:
        levels: ``[L]`` strictly increasing levels in ``(0, 1)``.

    Returns:
        ``(nominal, lo, hi)`` for every pair, narrowest first (empty if no level pairs up).
    """
    tau = _check_levels(levels)
    out = []
    for lo in tau[tau < 0.5][::-1]:
        for hi in tau[tau > 0.5]:
            if abs(lo + hi - 1.0) <= 1e-9:
                out.append((round(float(hi - lo), 12), float(lo), float(hi)))
                break
    return out


def _check_bounds(low, high, truth=None):
    lo = np.asarray(low, np.float64)
    hi = np.asarray(high, np.float64)
    if lo.shape != hi.shape:
        raise InputError(
            f"low and high must have the same shape, got {lo.shape} and {hi.shape}: give one "
            "interval per forecast value"
        )
    if lo.size == 0:
        raise InputError(f"low is empty (shape {lo.shape}): there is nothing to score")
    _check_finite("low", lo)
    _check_finite("high", hi)
    if truth is None:
        return lo, hi, None
    y = np.asarray(truth, np.float64)
    if y.shape != lo.shape:
        raise InputError(
            f"truth must have the shape of low and high, {lo.shape}, got shape {y.shape}"
        )
    _check_finite("truth", y)
    return lo, hi, y


def coverage(low, high, truth) -> float:
    """The share of truths inside their interval, bounds included: ``mean [lo <= y <= hi]``.

    Args:
        low, high: the interval's bounds, arrays of one shape; truth: the same shape.

    Returns:
        A share in ``[0, 1]``; compare it with the interval's nominal coverage.
    """
    lo, hi, y = _check_bounds(low, high, truth)
    return float(np.mean((y >= lo) & (y <= hi)))


def width(low, high) -> float:
    """The mean width of the intervals, ``mean (hi - lo)``, in the data's units."""
    lo, hi, _ = _check_bounds(low, high)
    return float(np.mean(hi - lo))


def _interval_key(nominal: float) -> str:
    return f"{100 * nominal:g}"


def _score_quantiles(q: np.ndarray, y: np.ndarray, tau: np.ndarray, s: np.ndarray) -> dict:
    terms, seen_l = _observed_terms(q, y, tau)
    seen = seen_l[..., 0]
    y = np.where(seen, y, q[..., 0])  # a missing truth: left out of the coverage below
    loss = float(_mean(terms, seen_l))
    rows = []
    for nominal, lo, hi in intervals(tau):
        low, high = (
            q[..., int(np.flatnonzero(tau == lo)[0])],
            q[..., int(np.flatnonzero(tau == hi)[0])],
        )
        rows.append(
            {
                "nominal": nominal,
                "low": lo,
                "high": hi,
                "coverage": float(_mean((y >= low) & (y <= high), seen)),
                "width": float(np.mean(high - low)),
            }
        )
    return {
        "pinball": loss,
        "scaled_pinball": float(np.mean(_mean(terms, seen_l, axis=(0, 1, 3)) / s)),
        "crps_approx": 2.0 * loss,
        "intervals": rows,
    }


def score_quantiles(qpred, truth, levels, scale) -> dict:
    """Pinball loss, scaled pinball loss, approximate CRPS and interval coverage of one set of
    quantile forecasts.

    ``crps_approx = 2 * pinball``: the CRPS equals ``2 int_0^1 rho_tau d tau`` (the pinball
    loss integrated over all levels), so twice the mean over levels spread evenly across
    ``(0, 1)`` (such as 0.05, 0.15, ..., 0.95) approximates it; with few or uneven levels it is
    a rougher proxy, comparable only between forecasts with the same levels.

    Args:
        qpred: ``[windows, horizon, targets, L]`` quantile forecasts, non-decreasing along ``L``
            (crossing quantiles are scored as given: an interval's width may then be negative).
        truth: ``[windows, horizon, targets]``.
        levels: ``[L]`` strictly increasing, in ``(0, 1)``.
        scale: ``[targets]``, :func:`mase_scale` of the training part.

    Returns:
        ``{"pinball", "scaled_pinball", "crps_approx"}`` floats, and ``"intervals"``: for each
        central interval of :func:`intervals`, narrowest first, ``{"nominal", "low", "high",
        "coverage", "width"}`` (``low``/``high`` the levels; coverage and width over every
        window, step and target).
    """
    q, y, tau = _check_quantile_forecasts(qpred, truth, levels, 4)
    return _score_quantiles(q, y, tau, _check_scale(scale, y.shape[-1]))


def score_quantiles_seeds(qpred, truth, levels, scale, *, ensemble=None) -> dict:
    """:func:`score_quantiles` of the seed-averaged quantiles, and each metric over seeds.

    The seeds' quantiles are averaged level by level (Vincentization: the mean of
    non-decreasing quantile functions is one, so the average never crosses), which usually
    scores better than the typical seed.

    Args:
        qpred: ``[seeds, windows, horizon, targets, L]``; a single forecast ``[windows,
            horizon, targets, L]`` counts as one seed.
        truth: ``[windows, horizon, targets]``; levels: ``[L]``; scale: ``[targets]``.
        ensemble: the forecast issued from the seeds, ``[windows, horizon, targets, L]``, when
            it is not their plain average (the average conformally calibrated as a whole).

    Returns:
        :func:`score_quantiles`'s dict for the averaged quantiles (or ``ensemble``), plus
        ``"seeds"``: for each scalar metric of a single seed, ``{"mean", "min", "max",
        "std"}`` over seeds (:func:`jaxseq.evaluate.summarize`): ``"pinball"``,
        ``"scaled_pinball"``, ``"crps_approx"``, and ``"coverage_80"``, ``"width_80"`` for an
        80% interval (the nominal coverage in percent).
    """
    q = np.asarray(qpred, np.float64)
    if q.ndim == 4:
        q = q[None]
    q, y, tau = _check_quantile_forecasts(q, truth, levels, 5)
    if len(q) == 0:
        raise InputError("qpred has no seeds (shape starts with 0)")
    s = _check_scale(scale, y.shape[-1])
    per_seed = [_score_quantiles(seed, y, tau, s) for seed in q]
    if ensemble is None:
        out = _score_quantiles(q.mean(axis=0), y, tau, s)
    else:
        out = score_quantiles(ensemble, y, tau, s)
    seeds = {
        m: summarize([sc[m] for sc in per_seed])
        for m in ("pinball", "scaled_pinball", "crps_approx")
    }
    for i, row in enumerate(out["intervals"]):
        key = _interval_key(row["nominal"])
        seeds[f"coverage_{key}"] = summarize([sc["intervals"][i]["coverage"] for sc in per_seed])
        seeds[f"width_{key}"] = summarize([sc["intervals"][i]["width"] for sc in per_seed])
    out["seeds"] = seeds
    return out
