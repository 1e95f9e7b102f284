"""Seasonal naive quantiles against a brute-force loop, and never a value it may not read."""

import numpy as np
import pytest

from jaxseq import baselines
from jaxseq.errors import InputError

LEVELS = [0.05, 0.25, 0.5, 0.75, 0.95]


def brute_force(y, origins, horizon, season, levels, fit_end):
    """One origin, step and target at a time, with the step's history read directly."""
    n, targets = len(origins), y.shape[1]
    out = np.zeros((n, horizon, targets, len(levels)))
    for j in range(targets):
        for k in range(horizon):
            errors = []
            for t in range(fit_end):
                if t - season >= 0 and t + k < fit_end:
                    yhat = y[t - season + (k % season), j]  # the last season before t
                    errors.append(y[t + k, j] - yhat)
            spread = np.quantile(np.array(errors), levels)
            for i, o in enumerate(origins):
                out[i, k, j] = y[o - season + (k % season), j] + spread
    return out


def series(seed=0, steps=90, targets=2):
    rng = np.random.default_rng(seed)
    t = np.arange(steps)[:, None]
    return 5 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 1, (steps, targets)) * [1, 3][:targets]


def test_by_hand():
    y = np.array([1.0, 4.0, 2.0, 5.0, 3.0, 6.0, 4.0, 7.0])
    # season 2, fit_end 6: every in-sample error 1 or 2 steps ahead is 1 (y rises by 1 a season)
    f = baselines.seasonal_naive_quantiles(y, np.array([6]), 2, season=2, levels=[0.5], fit_end=6)
    assert f.shape == (1, 2, 1, 1)
    np.testing.assert_array_equal(f[0, :, 0, 0], [3 + 1, 6 + 1])


@pytest.mark.parametrize(("season", "horizon"), [(1, 3), (7, 5), (7, 16), (12, 4)])
def test_matches_a_brute_force_loop(season, horizon):
    y = series()
    origins = np.array([60, 61, 70, 74])
    f = baselines.seasonal_naive_quantiles(
        y, origins, horizon, season=season, levels=LEVELS, fit_end=60
    )
    assert f.shape == (4, horizon, 2, len(LEVELS)) and f.dtype == np.float64
    np.testing.assert_allclose(f, brute_force(y, origins, horizon, season, LEVELS, 60), rtol=1e-12)
    assert (np.diff(f, axis=-1) >= 0).all()


def test_never_reads_at_or_after_its_origin_nor_fits_after_fit_end():
    y = series(1)
    fit_end, origins = 50, [50, 57, 66]
    kw = {"season": 7, "levels": LEVELS, "fit_end": fit_end}
    full = baselines.seasonal_naive_quantiles(y, np.array(origins), 6, **kw)
    for i, o in enumerate(origins):
        changed = y.copy()
        changed[o:] = 1e6  # everything from the origin on
        f = baselines.seasonal_naive_quantiles(changed, np.array([o]), 6, **kw)
        np.testing.assert_array_equal(f[0], full[i])
    # values in [fit_end, origin) reach the forecast through its point (the history it reads)
    # only: the spread around the point is fitted on series[:fit_end] alone.
    changed = y.copy()
    changed[fit_end:] += np.random.default_rng(2).normal(0, 50, changed[fit_end:].shape)
    f = baselines.seasonal_naive_quantiles(changed, np.array(origins), 6, **kw)
    point = baselines.seasonal_naive(changed, np.array(origins), 6, season=7)
    full_point = baselines.seasonal_naive(y, np.array(origins), 6, season=7)
    np.testing.assert_allclose(f - point[..., None], full - full_point[..., None], atol=1e-9)
    changed = y.copy()
    changed[fit_end - 1] += 100.0  # and values before fit_end do move the spread
    f = baselines.seasonal_naive_quantiles(changed, np.array([66]), 6, **kw)
    assert not np.allclose(f[0], full[2])


def test_one_dimensional_series_and_a_single_level():
    y = series(targets=1)[:, 0]
    f = baselines.seasonal_naive_quantiles(y, np.array([80]), 3, season=7, levels=[0.9], fit_end=80)
    np.testing.assert_allclose(f, brute_force(y[:, None], [80], 3, 7, [0.9], 80))


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"origins": np.array([59, 70])}, r"origin 59 lies before fit_end 60"),
        (
            {"fit_end": 10, "horizon": 4},
            r"fit_end 10 leaves too little data to fit on: it needs at least 11 steps",
        ),
        ({"fit_end": 200}, r"fit_end 200 lies past the end of the series"),
        (
            {"levels": [0.5, 0.1]},
            r"levels must be strictly increasing and strictly between 0 and 1",
        ),
        (
            {"levels": [0.0, 0.5]},
            r"levels must be strictly increasing and strictly between 0 and 1",
        ),
        ({"levels": []}, r"levels must be a non-empty 1-D list of numbers"),
        ({"levels": ["a"]}, r"levels must be a non-empty 1-D list of numbers"),
        ({"season": 0}, r"season must be an integer >= 1, got 0"),
        (
            {"origins": np.array([3]), "fit_end": 3},
            r"seasonal naive with season 7 needs at least 7 step",
        ),
    ],
)
def test_bad_input_raises(kw, message):
    args = {
        "series": series(),
        "origins": np.array([60, 70]),
        "horizon": 3,
        "season": 7,
        "levels": LEVELS,
        "fit_end": 60,
    }
    args.update(kw)
    with pytest.raises(InputError, match=message):
        baselines.seasonal_naive_quantiles(
            args.pop("series"), args.pop("origins"), args.pop("horizon"), **args
        )
