"""Baselines against hand-written forecasts, and never a value at or after the origin."""

import numpy as np
import pytest

from jaxseq import baselines

Y = np.array([1.0, 4.0, 2.0, 5.0, 3.0, 6.0, 4.0, 7.0])[:, None]


def test_simple_baselines_by_hand():
    o = np.array([6])
    np.testing.assert_array_equal(baselines.naive(Y, o, 3)[0, :, 0], [6, 6, 6])
    # season 2 from origin 6: steps 6, 7, 8 take values at 4, 5, 4
    np.testing.assert_array_equal(baselines.seasonal_naive(Y, o, 3, season=2)[0, :, 0], [3, 6, 3])
    # drift: last 6, slope (6 - 1) / 5 = 1
    np.testing.assert_array_equal(baselines.drift(Y, o, 2)[0, :, 0], [7, 8])


def test_least_squares_recovers_a_linear_process():
    y = np.zeros(80)
    y[:2] = [1.0, 0.3]
    for t in range(2, 80):  # a damped oscillation: y[t] = 1.6 y[t-1] - 0.8 y[t-2] + 0.5
        y[t] = 1.6 * y[t - 1] - 0.8 * y[t - 2] + 0.5
    y = y[:, None]
    f = baselines.linear_least_squares(y, np.array([20, 25]), 3, window=2, fit_end=18)
    np.testing.assert_allclose(f[:, :, 0], y[[20, 21, 22, 25, 26, 27], 0].reshape(2, 3), rtol=1e-5)


@pytest.mark.parametrize(
    "name", ["naive", "seasonal_naive", "drift", "linear_least_squares", "classical"]
)
def test_no_baseline_reads_at_or_after_its_origin(name):
    if name == "classical":
        pytest.importorskip("statsforecast")
    rng = np.random.default_rng(0)
    y = (10 + np.sin(np.arange(120) / 2.0) + rng.normal(0, 0.1, 120))[:, None]
    origins = np.array([90, 100, 110])
    kw = {
        "seasonal_naive": {"season": 12},
        "linear_least_squares": {"window": 8, "fit_end": 80},
        "classical": {"season": 4, "fit_end": 80, "models": baselines.CLASSICAL},
    }.get(name, {})
    fn = getattr(baselines, name)
    before = fn(y, origins, 5, **kw)
    for o in origins:
        changed = y.copy()
        changed[o:] = 1e6
        after = fn(changed, origins, 5, **kw)
        i = int(np.flatnonzero(origins == o)[0])
        if name == "classical":
            before_i, after_i = before[0], after[0]
            assert not before[1] and set(before_i) == set(baselines.CLASSICAL)  # ARIMA too
            for m in before_i:
                np.testing.assert_allclose(after_i[m][: i + 1], before_i[m][: i + 1], rtol=1e-6)
        else:
            np.testing.assert_array_equal(after[: i + 1], before[: i + 1])
