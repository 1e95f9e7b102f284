"""Conformal calibration of forecast quantiles on held-out windows.

A network trained with the pinball loss learns its quantiles on the training windows, where it
fits best; on new windows its intervals are often too narrow. Conformalized quantile
regression (CQR; Romano, Patterson and Candes, 2019) widens or narrows each central interval by
what held-out windows show. For the interval of levels ``(lo, hi = 1 - lo)``, nominal coverage
``c = hi - lo``, and ``n`` held-out forecasts of step ``k`` and target ``j``::

    E_i   = max(q_lo,i - y_i, y_i - q_hi,i)                (> 0: outside, < 0: inside)
    Q_kj  = the ceil((n + 1) c) / n empirical quantile of {E_i}  (the largest E_i if above 1)
    q_lo' = q_lo - Q_kj,    q_hi' = q_hi + Q_kj

Under exchangeable errors the calibrated interval covers a new value with probability at least
``c``. The median is left as it is; levels that pair with no other (no ``1 - lo`` among them)
are left too. Widening pairs by different amounts can make neighbouring levels cross, so the
calibrated quantiles are sorted along the levels (a monotone rearrangement, which never raises
the pinball loss; Chernozhukov, Fernandez-Val and Galichon, 2010).

The held-out windows must not be the ones the reported scores are computed on: the workflow
calibrates on the validation windows and reports the test windows. statsforecast's
``ConformalIntervals`` and darts' conformal models do the same job by cross-validation of
point forecasts; CQR keeps the network's own, input-dependent interval widths.
"""

from __future__ import annotations

import math

import numpy as np

from jaxseq import metrics
from jaxseq.errors import InputError


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
    q = np.asarray(qpred, np.float64)
    y = np.asarray(truth, np.float64)
    tau = np.asarray(levels, np.float64)
    pairs = metrics.intervals(tau)
    if q.ndim < 4 or q.shape[-1] != len(tau) or q.shape[-4:-1] != y.shape:
        raise InputError(
            f"qpred must be [..., windows, horizon, targets, {len(tau)}] for truth {y.shape}, "
            f"got {q.shape}: give one quantile per level for every held-out forecast"
        )
    if not np.all(np.isfinite(q)) or not np.all(np.isfinite(y)):
        raise InputError("qpred and truth must be finite to calibrate: drop the NaN windows")
    n = y.shape[0]
    out = []
    for nominal, lo, hi in pairs:
        low, high = q[..., _index(tau, lo)], q[..., _index(tau, hi)]
        scores = np.maximum(low - y, y - high)  # [..., windows, horizon, targets]
        rank = min(math.ceil((n + 1) * nominal), n)  # the k-th smallest score, 1-based
        out.append(np.sort(scores, axis=-3)[..., rank - 1, :, :])
    if not out:
        return np.zeros(q.shape[:-4] + q.shape[-3:-1] + (0,))
    return np.stack(out, axis=-1)


def apply(qpred, shift, levels) -> np.ndarray:
    """Quantiles ``[..., windows, horizon, targets, L]`` with each interval moved out by its
    offset ``shift`` ``[..., horizon, targets, P]`` (:func:`offsets`), then sorted along ``L``."""
    q = np.array(qpred, np.float64)
    tau = np.asarray(levels, np.float64)
    shift = np.asarray(shift, np.float64)[..., None, :, :, :]  # a windows axis
    for p, (_, lo, hi) in enumerate(metrics.intervals(tau)):
        q[..., _index(tau, lo)] -= shift[..., p]
        q[..., _index(tau, hi)] += shift[..., p]
    return np.sort(q, axis=-1)


def _index(tau: np.ndarray, level: float) -> int:
    return int(np.flatnonzero(tau == level)[0])
