"""Missing values are missing: a fill never reads a value after the training part, and a value
that was missing (or made up by the fill) is never scored as if it had come. On a real series
with 10% of its values blanked at random in every part, `compare` runs, says how many forecast
values it masked, and every score equals the same score computed by hand on the observed
values."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from jaxseq.app import compare, io

WINDOW, HORIZON, VALID, TEST = 20, 5, 60, 40


@pytest.fixture(scope="module")
def gappy(tmp_path_factory):
    sm = pytest.importorskip("statsmodels.api")
    frame = sm.datasets.sunspots.load_pandas().data  # yearly, 1700-2008
    values = frame["SUNACTIVITY"].to_numpy(np.float64)
    rng = np.random.default_rng(11)
    removed = np.sort(rng.choice(np.arange(1, len(values)), len(values) // 10, replace=False))
    gaps = values.copy()
    gaps[removed] = np.nan
    folder = tmp_path_factory.mktemp("gaps")
    path = folder / "sunspots.csv"
    pd.DataFrame({"year": frame["YEAR"].astype(int), "spots": gaps}).to_csv(path, index=False)
    out = folder / "cmp"
    result = compare.compare(
        str(path),
        time_column="year",
        fill="ffill",
        models=["linear_multi"],
        horizon=HORIZON,
        window=WINDOW,
        seeds=2,
        max_steps=60,
        patience=15,
        jobs=1,
        valid_size=VALID,
        test_size=TEST,
        out=out,
    )
    return values, removed, result, out


def test_the_removed_values_lie_in_every_part(gappy):
    values, removed, _, _ = gappy
    n = len(values)
    parts = np.searchsorted([n - VALID - TEST, n - TEST], removed, side="right")
    assert set(parts.tolist()) == {0, 1, 2}


def test_compare_reports_the_masked_targets_and_scores_only_observed_ones(gappy):
    values, removed, result, out = gappy
    saved = np.load(out / "forecasts.npz")
    missing = np.zeros(len(values), bool)
    missing[removed] = True
    rows = {r["model"]: r for r in result["rows"]}
    n = len(values)
    train_end = n - VALID - TEST
    # MASE's scale by hand: naive (season 1) differences of the training part, both ends seen
    train = np.where(missing, np.nan, values)[:train_end]
    diffs = np.abs(np.diff(train))
    scale = diffs[~np.isnan(diffs)].mean()
    for part in ("valid", "test"):
        origins = saved[f"{part}_origins"]
        at = origins[:, None] + np.arange(HORIZON)  # the series index of every forecast value
        hidden = missing[at]
        assert result["settings"][part]["masked_targets"] == int(hidden.sum())
        assert part == "valid" or hidden.sum() > 0
        np.testing.assert_array_equal(np.isnan(saved[f"{part}_truth"][..., 0]), hidden)
        truth = values[at]
        for name in ("linear_multi", "seasonal_naive", "auto_arima", "ensemble"):
            issued = saved[f"{part}/{name}"].mean(axis=0)[..., 0]
            err = np.abs(truth - issued)[~hidden]
            got = rows[name][part]["issued"]
            assert got["mae"] == pytest.approx(err.mean(), rel=1e-6), (part, name)
            assert got["rmse"] == pytest.approx(np.sqrt((err**2).mean()), rel=1e-6)
            assert got["mase"] == pytest.approx(err.mean() / scale, rel=1e-6)
    text = (out / "compare.md").read_text()
    assert f"{result['settings']['test']['masked_targets']} test forecast values" in text
    coverage = rows["ensemble"]["intervals"]["rolling"]["coverage"]
    assert 0 < coverage <= 1 and json.dumps(result, allow_nan=False)  # no NaN leaks out


def test_the_fill_reads_no_value_after_the_training_part():
    """A gap after ``causal_from`` takes the last value before it; interpolation inside the
    training part draws on training values only; changing every value from ``causal_from``
    on changes no filled value before it, nor any filled value's source."""
    rng = np.random.default_rng(0)
    values = rng.normal(size=(60, 2))
    values[[0, 5, 6, 29, 30, 31, 45, 59], 0] = np.nan
    values[[10, 40], 1] = np.nan
    for how in ("interpolate", "ffill", "zero"):
        filled = io.fill_missing(values, how, causal_from=30)
        changed = values.copy()
        changed[30:] += 100.0
        again = io.fill_missing(changed, how, causal_from=30)
        np.testing.assert_array_equal(filled[:30], again[:30])
        if how != "zero":  # a gap at or after 30: the last value before it, never a later one
            assert filled[30, 0] == filled[31, 0] == filled[29, 0]
            assert filled[45, 0] == values[44, 0] and filled[59, 0] == values[58, 0]
    interpolated = io.fill_missing(values, "interpolate", causal_from=30)
    assert interpolated[5, 0] == pytest.approx(values[4, 0] + (values[7, 0] - values[4, 0]) / 3)
    assert interpolated[29, 0] == values[28, 0]  # the training part's last value: no look-ahead


@pytest.mark.slow
@pytest.mark.parametrize("pattern", [0, 1])
def test_values_and_gaps_from_an_origin_on_change_nothing_forecast_from_it(tmp_path, pattern):
    """A random gap pattern, filled: every value from the first test origin on moved, and new
    gaps made there, leave every forecast from that origin as it was, for a network of each
    family, the baselines, the classical models and the ensemble."""
    rng = np.random.default_rng(pattern)
    n = 160
    t = np.arange(n)
    values = 50 + 0.2 * t + 8 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n)
    first = n - 30  # the first test origin (test part of 30 steps)
    values[rng.choice(np.arange(1, n), 16, replace=False)] = np.nan
    values[first - 1] = np.nan  # the last input before the origin: filled from the past only
    moved = values.copy()
    moved[first:] += rng.normal(0, 20, n - first)
    moved[rng.choice(np.arange(first, n), 5, replace=False)] = np.nan

    def forecasts(series_values, name):
        path = tmp_path / f"{name}.csv"
        months = pd.date_range("2000-01-01", periods=n, freq="MS")
        pd.DataFrame({"month": months, "y": series_values}).to_csv(path, index=False)
        compare.compare(
            str(path),
            time_column="month",
            fill="interpolate",
            models=["linear_multi", "gru_seq2seq", "wavenet"],
            horizon=4,
            window=24,
            seeds=1,
            max_steps=30,
            patience=10,
            jobs=1,
            valid_size=30,
            test_size=30,
            out=tmp_path / name,
        )
        saved = np.load(tmp_path / name / "forecasts.npz")
        assert saved["test_origins"][0] == first
        return {k: saved[k][:, 0] for k in saved.files if k.startswith("test/")}

    before, after = forecasts(values, "a"), forecasts(moved, "b")
    assert {"test/auto_arima", "test/ensemble", "test/wavenet"} <= set(before)
    for key, forecast in before.items():
        np.testing.assert_array_equal(after[key], forecast, err_msg=key)
