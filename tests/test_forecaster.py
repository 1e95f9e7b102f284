"""The front door: ``jaxseq.Forecaster`` on a long table, checked against ``compare`` itself
(one pipeline), against the data (times, truths, the baselines' equations by hand) and through
``save``/``load``; the data contract's conversions (:mod:`jaxseq.app.long_table`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import jaxseq
from jaxseq.app import candidates, compare, long_table
from jaxseq.app.runs import Run

MONTHS = pd.date_range("2001-01-01", periods=96, freq="MS")
SETTINGS = {"horizon": 4, "window": 12, "seeds": 2, "max_steps": 40, "jobs": 1}


def panel_frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    t = np.arange(len(MONTHS))
    frames = [
        pd.DataFrame(
            {
                "unique_id": key,
                "ds": MONTHS,
                "y": 50 + amp * np.sin(2 * np.pi * t / 12) + 0.2 * t + rng.normal(0, 0.5, len(t)),
            }
        )
        for key, amp in (("north", 3.0), ("south", 6.0), ("west", 1.5))
    ]
    return pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=0)  # any order


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("forecaster")
    forecaster = jaxseq.Forecaster(["linear_multi"], classical=False, folder=folder, **SETTINGS)
    return forecaster.fit(panel_frame())


def test_one_pipeline_predict_is_compare_and_its_pick(fitted, tmp_path):
    df = panel_frame()
    one = df[df.unique_id == "south"].drop(columns="unique_id")
    result = compare.compare(
        one,
        column="y",
        time_column="ds",
        models=["linear_multi"],
        classical=False,
        out=tmp_path / "south",
        **SETTINGS,
    )
    board = fitted.leaderboard()
    south = board[board.unique_id == "south"]
    assert south.model.tolist() == [r["model"] for r in result["rows"]]
    np.testing.assert_array_equal(
        south.test_mase.to_numpy(), [r["test"]["issued"]["mase"] for r in result["rows"]]
    )
    expected, _ = candidates.forecast(Run(tmp_path / "south" / "best"), None, 4)
    got = fitted.predict()
    got = got[got.unique_id == "south"]
    np.testing.assert_array_equal(got.forecast.to_numpy(), expected.mean[:, 0])
    assert (got.model == result["settings"]["best"]).all()
    retrained, _ = candidates.forecast(Run(tmp_path / "south" / "best"), None, 4, retrain=True)
    got = fitted.predict(retrain=True)
    got = got[got.unique_id == "south"]
    np.testing.assert_array_equal(got.forecast.to_numpy(), retrained.mean[:, 0])


def test_predict_names_the_next_months_and_an_interval_around_the_forecast(fitted):
    out = fitted.predict()
    assert list(out.columns[:4]) == ["unique_id", "ds", "model", "forecast"]
    assert sorted(out.unique_id.unique()) == ["north", "south", "west"]
    for _, rows in out.groupby("unique_id"):
        assert rows.ds.tolist() == list(pd.date_range("2009-01-01", periods=4, freq="MS"))
    assert (out["forecast-q-0.1"] <= out["forecast-q-0.5"]).all()
    assert (out["forecast-q-0.5"] <= out["forecast-q-0.9"]).all()
    assert len(fitted.predict(h=2)) == 6
    with pytest.raises(jaxseq.InputError, match="exceeds the horizon"):
        fitted.predict(h=5)


def test_cross_validation_against_the_data_and_the_baselines_by_hand(fitted):
    df = panel_frame().set_index(["unique_id", "ds"]).y
    cv = fitted.cross_validation()
    assert {"unique_id", "ds", "cutoff", "y", "naive", "seasonal_naive", "linear_multi"} <= set(
        cv.columns
    )
    for key, rows in cv.groupby("unique_id"):
        truth = df.loc[key]
        np.testing.assert_allclose(rows.y.to_numpy(), truth.loc[rows.ds].to_numpy(), rtol=1e-6)
        steps = (
            (rows.ds.dt.year - rows.cutoff.dt.year) * 12 + rows.ds.dt.month - rows.cutoff.dt.month
        )
        assert steps.tolist() == [1, 2, 3, 4] * (len(rows) // 4)
        # naive: the value at the cutoff; seasonal naive: the value a season (12) earlier
        np.testing.assert_allclose(rows.naive, truth.loc[rows.cutoff].to_numpy(), rtol=1e-6)
        a_year_before = rows.ds - pd.DateOffset(months=12)
        np.testing.assert_allclose(
            rows.seasonal_naive, truth.loc[a_year_before].to_numpy(), rtol=1e-6
        )
    test = fitted.results("north")["settings"]["test"]["windows"]
    assert (cv.unique_id == "north").sum() == test * 4
    assert fitted.cross_validation(part="valid").cutoff.max() < cv.cutoff.min()
    with pytest.raises(jaxseq.InputError, match="part must be one of"):
        fitted.cross_validation(part="train")


def test_leaderboard_ranks_every_candidate_and_marks_one_pick_per_series(fitted):
    board = fitted.leaderboard()
    for key, rows in board.groupby("unique_id"):
        assert rows.picked.sum() == 1
        assert rows["rank"].tolist() == list(range(1, len(rows) + 1))
        assert rows[rows.picked].model.item() == fitted.results(key)["settings"]["best"]
        net = rows[rows.model == "linear_multi"].iloc[0]
        assert net.seeds_test_mase_min <= net.seeds_test_mase_mean <= net.seeds_test_mase_max
    assert board.test_coverage_80.between(0, 1).all()


def test_save_and_load_give_the_same_answers(fitted, tmp_path):
    path = fitted.save(tmp_path / "saved")
    again = jaxseq.load(path)
    pd.testing.assert_frame_equal(again.predict(), fitted.predict())
    pd.testing.assert_frame_equal(again.leaderboard(), fitted.leaderboard())
    pd.testing.assert_frame_equal(again.cross_validation(), fitted.cross_validation())
    with pytest.raises(jaxseq.InputError, match="not an empty folder"):
        fitted.save(path)
    with pytest.raises(jaxseq.InputError, match="not a saved Forecaster"):
        jaxseq.load(tmp_path)


def test_bad_input_is_refused_at_the_door(tmp_path):
    with pytest.raises(jaxseq.InputError, match="not fitted"):
        jaxseq.Forecaster(horizon=2, window=4).predict()
    with pytest.raises(jaxseq.InputError, match="takes no option 'epoch'"):
        jaxseq.Forecaster(horizon=2, window=4, epoch=3)
    long = panel_frame().rename(columns={"y": "sales"})
    with pytest.raises(jaxseq.InputError, match="no target column 'y'"):
        jaxseq.Forecaster(horizon=2, window=4).fit(long)
    twice = pd.concat([panel_frame(), panel_frame().iloc[:1]])
    with pytest.raises(jaxseq.InputError, match=r"series '\w+': .*(duplicate|repeat)"):
        jaxseq.Forecaster(horizon=2, window=4, folder=tmp_path, **{"jobs": 1}).fit(twice)


def test_every_shape_of_data_becomes_the_same_long_table():
    values = np.arange(20.0).reshape(10, 2)
    wide = pd.DataFrame(values, columns=["a", "b"], index=MONTHS[:10])
    long = long_table.to_long(wide)
    assert list(long.columns) == ["unique_id", "ds", "y"]
    assert long.unique_id.tolist() == ["a"] * 10 + ["b"] * 10
    assert long.ds.tolist() == list(MONTHS[:10]) * 2
    np.testing.assert_array_equal(long.y, values.T.ravel())
    from_array = long_table.to_long(values)
    assert from_array.unique_id.tolist() == ["0"] * 10 + ["1"] * 10
    assert from_array.ds.tolist() == list(range(10)) * 2
    series = long_table.to_long(pd.Series(values[:, 0], index=MONTHS[:10]))
    assert series.unique_id.unique().tolist() == [long_table.SINGLE]
    np.testing.assert_array_equal(series.y, values[:, 0])
    indexed = long.set_index(["unique_id", "ds"])
    pd.testing.assert_frame_equal(long_table.to_long(indexed), long)
    with pytest.raises(jaxseq.InputError, match="id column 'unique_id' is empty"):
        long_table.to_long(long.assign(unique_id=[None] + ["a"] * 19))


def test_a_csv_file_is_read_as_the_long_table(tmp_path):
    frame = panel_frame().sort_values(["unique_id", "ds"])
    frame["unique_id"] = frame.unique_id.replace({"north": "007"})
    frame.to_csv(tmp_path / "p.csv", index=False)
    long = long_table.to_long(tmp_path / "p.csv")
    assert sorted(long.unique_id.unique()) == ["007", "south", "west"]  # ids stay text


def test_compare_with_an_id_column_is_the_forecaster_on_the_command_line(fitted, tmp_path):
    from jaxseq.app.cli import main

    panel_frame().to_csv(tmp_path / "stores.csv", index=False)
    argv = ["compare", "--data", str(tmp_path / "stores.csv"), "--id-column", "unique_id"]
    argv += ["--time-column", "ds", "--horizon", "4", "--window", "12", "--seeds", "2"]
    argv += ["--max-steps", "40", "--models", "linear_multi", "--no-classical", "--jobs", "1"]
    assert main([*argv, "--out", str(tmp_path / "out"), "--quiet"]) == 0
    board = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    expected = fitted.leaderboard()
    assert board.model.tolist() == expected.model.tolist()
    np.testing.assert_allclose(board.test_mase, expected.test_mase, rtol=1e-12)
    forecast = pd.read_csv(tmp_path / "out" / "forecast.csv", parse_dates=["ds"])
    np.testing.assert_allclose(forecast.forecast, fitted.predict().forecast, rtol=1e-6)
    again = jaxseq.load(tmp_path / "out").predict()
    np.testing.assert_allclose(again.forecast, forecast.forecast, rtol=1e-6)


def test_a_long_table_without_times_counts_each_series_steps():
    long = pd.DataFrame({"unique_id": ["a", "b", "a", "b", "a"], "y": [1.0, 2, 3, 4, 5]})
    out = long_table.to_long(long)
    assert out[out.unique_id == "a"].ds.tolist() == [0, 1, 2]
    assert out[out.unique_id == "b"].ds.tolist() == [0, 1]


def test_predict_reads_the_known_future_covariates_it_is_given(tmp_path):
    rng = np.random.default_rng(0)
    n = 100
    price = rng.normal(0, 1, n + 4)
    frame = pd.DataFrame(
        {
            "ds": pd.date_range("2000-01-01", periods=n, freq="MS"),
            "y": 10 + 3 * price[:n] + rng.normal(0, 0.1, n),
            "price": price[:n],
        }
    )
    forecaster = jaxseq.Forecaster(
        ["linear_multi"],
        horizon=4,
        window=12,
        seeds=2,
        max_steps=300,
        classical=False,
        combine=False,
        jobs=1,
        future_covariates=["price"],
        folder=tmp_path,
    ).fit(frame)
    assert forecaster.leaderboard().query("picked").model.item() == "linear_multi"
    future = pd.DataFrame(
        {"ds": pd.date_range("2008-05-01", periods=4, freq="MS"), "price": price[n:]}
    )
    low = forecaster.predict(future_df=future).forecast.to_numpy()
    high = forecaster.predict(future_df=future.assign(price=future.price + 1)).forecast
    moved = high.to_numpy() - low  # y = 10 + 3 price: a dearer month forecasts more
    assert (moved > 0).all() and moved.mean() > 1.0
    with pytest.raises(jaxseq.InputError, match="series not fitted: elsewhere"):
        forecaster.predict(future_df=future.assign(unique_id="elsewhere"))


GLOBAL = {"horizon": 4, "window": 12, "seeds": 2, "epochs": 3}


@pytest.fixture(scope="module")
def global_fitted():
    return jaxseq.Forecaster(["linear_multi"], strategy="global+local", **GLOBAL).fit(panel_frame())


def test_the_global_strategy_is_jaxseq_panel_and_picks_on_validation(global_fitted):
    from jaxseq.app.panel import forecast as panel_forecast
    from jaxseq.app.panel import table as panel_table
    from jaxseq.app.panel import training as panel_training

    df = panel_frame()
    loaded = panel_table.load_panel(df, id_column="unique_id", time_column="ds", columns=["y"])
    alone = panel_training.fit_panel(
        loaded, model="linear_multi", window=12, horizon=4, seeds=2, epochs=3, targets=["y"]
    )
    board = global_fitted.leaderboard()
    picks = board[board.picked]
    assert sorted(picks.unique_id) == ["north", "south", "west"]
    for key, rows in board.groupby("unique_id"):
        assert rows.valid_mase.min() == rows[rows.picked].valid_mase.iloc[0]
        assert rows["rank"].tolist() == [1, 2]
        row = rows[rows.model == "linear_multi"].iloc[0]  # the same global model, by hand
        want = alone.scores["per_series"][key]["test"]["model"]["issued"]["mase"]
        assert row.test_mase == pytest.approx(want, rel=1e-6)
    forecast = global_fitted.predict()
    by_hand = panel_forecast.forecast_panel(alone)
    for key, rows in forecast.groupby("unique_id"):
        assert rows.ds.tolist() == list(pd.date_range("2009-01-01", periods=4, freq="MS"))
        if rows.model.iloc[0] == "linear_multi":
            np.testing.assert_allclose(rows.forecast, by_hand[key].mean[:, 0], rtol=1e-5)


def test_the_global_strategy_forecasts_with_its_models_as_trained(global_fitted):
    with pytest.raises(jaxseq.InputError, match="retrain=True retrains the per-series picks"):
        global_fitted.predict(retrain=True)


def test_the_global_strategy_cross_validation_holds_the_truth(global_fitted):
    cv = global_fitted.cross_validation(part="test")
    df = panel_frame().set_index(["unique_id", "ds"]).y
    truth = df.loc[list(zip(cv.unique_id, cv.ds, strict=True))].to_numpy()
    np.testing.assert_allclose(cv.y.to_numpy(), truth, rtol=1e-6)
    assert (cv.ds > cv.cutoff).all() and {"linear_multi", "linear_multi (local)"} <= set(cv)
    with pytest.raises(jaxseq.InputError, match="part='calibrate'"):
        global_fitted.cross_validation(part="calibrate")


def test_the_global_strategy_saves_and_loads(global_fitted, tmp_path):
    global_fitted.save(tmp_path / "saved")
    again = jaxseq.load(tmp_path / "saved")
    pd.testing.assert_frame_equal(again.predict(), global_fitted.predict())
    pd.testing.assert_frame_equal(again.leaderboard(), global_fitted.leaderboard())


def test_a_panel_strategy_refuses_what_it_does_not_take():
    with pytest.raises(jaxseq.InputError, match="strategy must be one of compare, global"):
        jaxseq.Forecaster(["linear_multi"], strategy="pooled", **GLOBAL)
    with pytest.raises(jaxseq.InputError, match="strategy 'global' takes no max_steps"):
        jaxseq.Forecaster(["linear_multi"], strategy="global", max_steps=9, **GLOBAL)
    with pytest.raises(jaxseq.InputError, match="no zoo model 'lstm'"):
        jaxseq.Forecaster(["lstm"], strategy="global", **GLOBAL)


def test_compare_strategy_global_is_the_global_forecaster(global_fitted, tmp_path):
    from jaxseq.app.cli import main

    panel_frame().to_csv(tmp_path / "stores.csv", index=False)
    argv = ["compare", "--data", str(tmp_path / "stores.csv"), "--id-column", "unique_id"]
    argv += ["--horizon", "4", "--window", "12", "--seeds", "2", "--epochs", "3"]
    argv += ["--models", "linear_multi", "--strategy", "global+local", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 0
    board = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    expected = global_fitted.leaderboard()
    assert board.model.tolist() == expected.model.tolist()
    np.testing.assert_allclose(board.valid_mase, expected.valid_mase, rtol=1e-6)
    forecast = pd.read_csv(tmp_path / "out" / "forecast.csv")
    np.testing.assert_allclose(forecast.forecast, global_fitted.predict().forecast, rtol=1e-5)
    assert main([*argv, "--max-steps", "9", "--out", str(tmp_path / "no")]) == 2
