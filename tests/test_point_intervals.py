"""Intervals around point forecasts (`jaxseq.app.backtest.point_intervals`): split conformal
prediction of the absolute error per horizon step on the calibration windows, against a NumPy
loop of its definition; and no test value reaches an offset used at the first test origin."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jaxseq import data
from jaxseq.app import backtest

HORIZON = 3


def _setup(seed=0, length=160):
    rng = np.random.default_rng(seed)
    values = np.cumsum(rng.normal(0, 1, length))[:, None]
    protocol = data.make_protocol(
        length, window=12, horizon=HORIZON, valid_size=40, test_size=30
    ).halved()
    forecasts = {}
    for split in backtest.SPLITS:
        truth = backtest.truth_at(values, protocol.origins(split), HORIZON, [0])
        noise = rng.normal(0, 1 + np.arange(HORIZON)[:, None], (2, *truth.shape))
        forecasts[split] = truth[None] + noise  # two seeds, errors growing with the step
    return values, protocol, forecasts


def test_static_intervals_are_the_conformal_rank_of_absolute_errors_by_hand():
    values, protocol, f = _setup()
    out = backtest.point_intervals(
        protocol, values, HORIZON, {"m": f["calibrate"]}, {"m": f["test"]}
    )
    held = backtest.truth_at(values, protocol.origins("calibrate"), HORIZON, [0])
    truth = backtest.truth_at(values, protocol.origins("test"), HORIZON, [0])
    n = len(held)
    assert out["windows"] == n > 3 and out["nominal"] == pytest.approx(0.8)
    rank = min(math.ceil((n + 1) * 0.8), n)  # the k-th smallest error, 1-based
    inside, width = [], []
    for k in range(HORIZON):  # one step at a time, the seeds' average the forecast issued
        errors = sorted(abs(held[w, k, 0] - f["calibrate"][:, w, k, 0].mean()) for w in range(n))
        q = errors[rank - 1]
        for w in range(len(truth)):
            point = f["test"][:, w, k, 0].mean()
            inside.append(abs(truth[w, k, 0] - point) <= q)
            width.append(2 * q)
    static = out["rows"]["m"]["calibrated"]
    assert static["coverage"] == pytest.approx(np.mean(inside))
    assert static["width"] == pytest.approx(np.mean(width))
    assert set(out["rows"]["m"]) == {"calibrated", "rolling", "adaptive"}
    assert out["headline"] in out["rows"]["m"]


@pytest.mark.parametrize("method", ["calibrated", "rolling", "adaptive"])
def test_no_test_value_moves_the_interval_at_the_first_test_origin(method):
    """Every test target perturbed (the values from the first test origin on): the interval
    issued at that origin is the same, for every calibration method."""
    values, protocol, f = _setup(seed=1)
    first = int(protocol.origins("test")[0])
    changed = values.copy()
    changed[first:] += np.random.default_rng(5).normal(0, 50, changed[first:].shape)

    def first_interval(v):
        calibrate = backtest.calibrations(protocol, v, HORIZON, backtest.POINT_LEVELS)[method]
        q = [backtest.as_quantiles(f[s].mean(0)) for s in ("calibrate", "test")]
        return calibrate(*q)[0]

    np.testing.assert_array_equal(first_interval(values), first_interval(changed))
    later = int(np.searchsorted(protocol.origins("test"), first + 2 * HORIZON))
    if method != "calibrated":  # the later windows do learn from the observed test errors
        calibrate = backtest.calibrations(protocol, changed, HORIZON, backtest.POINT_LEVELS)
        q = [backtest.as_quantiles(f[s].mean(0)) for s in ("calibrate", "test")]
        moved = calibrate[method](*q)[later]
        calibrate = backtest.calibrations(protocol, values, HORIZON, backtest.POINT_LEVELS)
        assert not np.array_equal(moved, calibrate[method](*q)[later])
