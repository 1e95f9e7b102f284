"""Conformal calibration of forecast quantiles on held-out windows.

A network trained with the pinball loss learns its quantiles on the training windows, where it
fits best; on new windows its intervals are often too narrow. Conformalized quantile
regression (CQR; Romano, Patterson and Candes, 2019) widens or narrows each central interval by
what held-out windows show. For the interval of levels ``(lo, hi = 1 - lo)``, nominal coverage
``c = hi - lo``, and ``n`` held-out forecasts of step ``k`` and target ``j``::

    E_i   = max(q_lo,i - y_i, y_i - q_hi,i)                (> 0: outside, < 0: inside)
    Q_kj  = the ceil((n + 1) c) / n empirical quantile of {E_i}  (the largest E_i if above 1)
    q_lo' = q_lo - Q_kj,    q_hi' = q_hi + Q_kj

The guarantee relied on: if the ``n`` held-out scores and the new window's score are
exchangeable, the calibrated interval covers the new value with probability at least ``c``,
and exactly ``ceil((n + 1) c) / (n + 1)`` for continuous scores (Romano et al., Theorem 1;
checked by simulation in ``tests/test_calibration.py``). Exchangeability fails when the held-out
windows also chose what is calibrated (an epoch, a model, ensemble weights): their errors are
then the smallest of several tries, and coverage runs low. The median is left as it is; levels that pair with no other (no ``1 - lo`` among them)
are left too. Widening pairs by different amounts can make neighbouring levels cross, so the
calibrated quantiles are sorted along the levels (a monotone rearrangement, which never raises
the pinball loss; Chernozhukov, Fernandez-Val and Galichon, 2010).

The held-out windows must not be the ones the reported scores are computed on: the workflow
calibrates on the validation windows and reports the test windows.

Static offsets follow the validation part even where the test part differs from it (a series
whose error level drifts). :func:`rolling` is the online form a deployed forecaster uses:
each window is calibrated on the latest ``n`` earlier windows whose target at that step was
already observed at its origin (validation windows first, then the earlier test windows as
their values arrive), so the offsets follow the newest errors and no window ever uses a value
at or after its own origin; :func:`offsets_at` carries it to a new origin (the end of the
series, for a forecast). statsforecast's
``ConformalIntervals`` and darts' conformal models do the same job by cross-validation of
point forecasts; CQR keeps the network's own, input-dependent interval widths.
"""

from __future__ import annotations

import numpy as np

from jaxseq import metrics
from jaxseq.errors import InputError

#: The adaptation step of :func:`rolling` used by the workflow's adaptive scores: a short test
#: part (tens of origins) needs a step large enough to move the level within it; Gibbs and
#: Candes use 0.005 on streams of thousands.
ADAPT_STEP = 0.05


def offsets(qpred, truth, levels) -> np.ndarray:
    """CQR offsets ``Q`` of every central interval, per step and target.

    Args:
        qpred: held-out quantile forecasts ``[..., windows, horizon, targets, L]``, any leading
            axes (seeds) kept.
        truth: ``[windows, horizon, targets]``.
        levels: ``[L]`` strictly increasing levels in ``(0, 1)``.

    Returns:
        ``[..., horizon, targets, P]`` float64, one column per interval of
        :func:`jaxseq.metrics.intervals`, narrowest first.
    """
    q, y, tau = _checked(qpred, truth, levels)
    if not metrics.intervals(tau):
        return np.zeros(q.shape[:-4] + q.shape[-3:-1] + (0,))
    # [..., windows, horizon, targets, P] -> the rank along windows, for every step
    return _conformal_rank(np.moveaxis(_scores(q, y, tau), -4, -3), _nominal(tau))


def apply(qpred, shift, levels) -> np.ndarray:
    """Quantiles ``[..., windows, horizon, targets, L]`` with each interval moved out by its
    offset ``shift`` ``[..., horizon, targets, P]`` (:func:`offsets`), then sorted along ``L``."""
    shift = np.asarray(shift, np.float64)[..., None, :, :, :]  # a windows axis
    return _moved(qpred, shift, np.asarray(levels, np.float64))


def rolling(
    qpred,
    truth,
    origins,
    levels,
    *,
    start: int,
    window: int | None = None,
    gamma: float | None = None,
):
    r"""Quantiles of windows ``start..N-1``, each conformalized on the latest earlier errors.

    Window ``j`` (origin ``o_j``, the series index of its first target) and step ``k`` take
    the scores of the windows ``i < j`` whose step-``k`` target was observed before ``o_j``
    (``o_i + k < o_j``), at most ``window`` of the latest (all when ``None``), and shift the
    intervals by their conformal rank as :func:`offsets` does. A step with no such window
    stays as it is.

    With ``gamma``, the rank also adapts to the misses seen so far (adaptive conformal
    inference; Gibbs and Candes, 2021): each interval of nominal coverage ``c`` is taken at
    the level

    .. math::  c_j = c + \gamma \sum_{i} (\mathrm{miss}_i - (1 - c))

    over the scored windows ``start <= i < j`` whose step-``k`` target was observed before
    ``o_j``, ``miss_i`` being 1 where window ``i``'s calibrated interval missed its value. Misses
    raise the level and hits lower it, so the long-run miss rate follows ``1 - c`` however the
    errors drift (levels beyond 1 take the largest score, below 0 the smallest).

    Args:
        qpred: ``[..., N, horizon, targets, L]`` quantile forecasts of all windows in time
            order, the calibration windows (``:start``) first; leading axes (seeds) kept.
        truth: ``[N, horizon, targets]``.
        origins: ``[N]`` strictly increasing forecast origins.
        levels: ``[L]`` strictly increasing levels in ``(0, 1)``.
        start: the first window to calibrate (``>= 1``).
        window: how many of the latest eligible windows to calibrate on.
        gamma: the adaptation step (``None``: no adaptation).

    Returns:
        ``[..., N - start, horizon, targets, L]`` float64, sorted along ``L``.
    """
    q, y, tau = _checked(qpred, truth, levels)
    o = _checked_origins(origins, q.shape[-4], start, window, gamma, scored=True)
    shift = _rolling_shifts(_scores(q, y, tau), o, _nominal(tau), start, window, gamma)
    return _moved(q[..., start:, :, :, :], shift, tau)


def offsets_at(
    qpred,
    truth,
    origins,
    levels,
    *,
    origin: int,
    start: int,
    window: int | None = None,
    gamma: float | None = None,
) -> np.ndarray:
    """The offsets :func:`rolling` gives a new forecast at ``origin``, after every window:
    ``[..., horizon, targets, P]`` float64, for :func:`apply`.

    Step ``k`` takes the latest ``window`` windows whose step-``k`` target was observed
    before ``origin`` and, with ``gamma``, the level adapted by the misses of the windows
    ``start..N-1`` calibrated by :func:`rolling` (``start = N``: none yet, the nominal
    level). This is what a deployed forecaster applies at the end of the series.
    """
    q, y, tau = _checked(qpred, truth, levels)
    o = _checked_origins(origins, q.shape[-4], start, window, gamma, scored=False)
    if origin <= o[-1]:
        raise InputError(f"origin must come after the last window's ({o[-1]}), got {origin}")
    scores = _scores(q, y, tau)
    shifts = _rolling_shifts(scores, o, _nominal(tau), start, window, gamma, next_origin=origin)
    return shifts[..., -1, :, :, :]


def _checked_origins(origins, n: int, start: int, window, gamma, *, scored: bool) -> np.ndarray:
    """``origins`` as an array, with ``start``, ``window`` and ``gamma`` checked against the
    ``n`` windows (``scored``: at least one window from ``start`` on)."""
    o = np.asarray(origins)
    if o.shape != (n,) or np.any(np.diff(o) <= 0):
        raise InputError(
            f"origins must be {n} strictly increasing indices, one per window, "
            f"got shape {o.shape}: give the windows in time order"
        )
    last = n - 1 if scored else n
    if not 1 <= start <= last or (window is not None and window < 1):
        raise InputError(
            f"start must be in [1, {last}] and window at least 1, got start={start}, "
            f"window={window}: keep at least one calibration window before the first one scored"
        )
    if gamma is not None and not 0 < gamma < 1:
        raise InputError(f"gamma must be in (0, 1), got {gamma}: a small step such as 0.05")
    return o


def _rolling_shifts(scores, o, nominal, start, window, gamma, next_origin=None) -> np.ndarray:
    """The offsets of windows ``start..N-1`` (and of a forecast at ``next_origin``, last) as
    :func:`rolling` defines them: ``[..., N - start (+ 1), horizon, targets, P]``."""
    N, horizon = len(o), scores.shape[-3]
    at = list(o[start:]) + ([] if next_origin is None else [next_origin])
    shift = np.zeros(scores.shape[:-4] + (len(at),) + scores.shape[-3:])
    missed = np.zeros(shift.shape)  # 1 a miss, 0 a hit, 1 - c a missing truth (no evidence)
    for j, origin in enumerate(at):
        for k in range(horizon):
            end = int(np.searchsorted(o + k, origin, side="left"))  # the i with o_i + k < o_j
            begin = 0 if window is None else max(0, end - window)
            cover = nominal
            if gamma is not None:  # the scored windows seen so far: start <= i < end
                seen = missed[..., : max(0, end - start), k, :, :]
                cover = nominal + gamma * np.sum(seen - (1 - nominal), axis=-3)
            if end > begin:
                shift[..., j, k, :, :] = _conformal_rank(scores[..., begin:end, k, :, :], cover)
            if start + j < N:
                score = scores[..., start + j, k, :, :]
                missed[..., j, k, :, :] = np.where(
                    np.isnan(score), 1 - nominal, score > shift[..., j, k, :, :]
                )
    return shift


def _checked(qpred, truth, levels):
    """``(q, y, tau)`` as float64, their shapes and values checked."""
    q = np.asarray(qpred, np.float64)
    y = np.asarray(truth, np.float64)
    tau = np.asarray(levels, np.float64)
    if q.ndim < 4 or q.shape[-1] != len(tau) or q.shape[-4:-1] != y.shape:
        raise InputError(
            f"qpred must be [..., windows, horizon, targets, {len(tau)}] for truth {y.shape}, "
            f"got {q.shape}: give one quantile per level for every held-out forecast"
        )
    if not np.all(np.isfinite(q)) or np.isinf(y).any():
        raise InputError(
            "qpred must be finite and truth finite or missing (NaN) to calibrate: drop the "
            "windows with infinite values"
        )
    return q, y, tau


def _bounds(tau) -> tuple[list[int], list[int]]:
    """Level indices of the low and high ends of every central interval, narrowest first."""
    pairs = metrics.intervals(tau)
    return [_index(tau, lo) for _, lo, _ in pairs], [_index(tau, hi) for _, _, hi in pairs]


def _scores(q, y, tau) -> np.ndarray:
    """CQR scores ``max(q_lo - y, y - q_hi)``: ``[..., windows, horizon, targets, P]``."""
    lo, hi = _bounds(tau)
    return np.maximum(q[..., lo] - y[..., None], y[..., None] - q[..., hi])


def _moved(q, shift, tau) -> np.ndarray:
    """``q`` with every interval moved out by ``shift`` (broadcast to ``[..., windows,
    horizon, targets, P]``), sorted along the levels."""
    lo, hi = _bounds(tau)
    q = np.array(q, np.float64)
    q[..., lo] -= shift
    q[..., hi] += shift
    return np.sort(q, axis=-1)


def _nominal(tau) -> np.ndarray:
    """The nominal coverage of every central interval, narrowest first: ``[P]``."""
    return np.array([c for c, _, _ in metrics.intervals(tau)], np.float64)


def _conformal_rank(scores: np.ndarray, cover) -> np.ndarray:
    """The ``ceil((n + 1) c)``-th smallest of ``n`` scores along axis ``-3`` of ``[..., n,
    targets, P]``, per central interval at coverage level ``cover`` (``[P]`` or ``[...,
    targets, P]``), the rank clipped to ``1..n``: ``[..., targets, P]``. A missing score (NaN:
    its truth is missing) is not one of the ``n``; with none at all the offset is 0."""
    n = np.sum(~np.isnan(scores), axis=-3)  # [..., targets, P]
    ordered = np.sort(scores, axis=-3)  # NaN last
    rank = np.clip(np.ceil((n + 1) * np.asarray(cover)), 1, np.maximum(n, 1)).astype(int) - 1
    rank = np.broadcast_to(rank, ordered.shape[:-3] + ordered.shape[-2:])
    out = np.take_along_axis(ordered, rank[..., None, :, :], axis=-3)[..., 0, :, :]
    return np.where(n > 0, out, 0.0)


def _index(tau: np.ndarray, level: float) -> int:
    return int(np.flatnonzero(tau == level)[0])
