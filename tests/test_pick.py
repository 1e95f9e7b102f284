"""The pick over every candidate: its run folder round-trips into `jaxseq forecast` and
`jaxseq evaluate` whatever its kind, and nothing in the test part moves a pick, a stopping step
or an ensemble weight."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from jaxseq import baselines, data
from jaxseq.app import candidates, compare
from jaxseq.app.cli import main
from jaxseq.app.runs import Run

N = 150
T = np.arange(N)
SIGNAL = 20 + 0.1 * T + 4 * np.sin(2 * np.pi * T / 12) + np.random.default_rng(3).normal(0, 0.5, N)
SETTINGS = dict(
    horizon=4,
    window=24,
    seeds=2,
    max_steps=60,
    patience=15,
    jobs=1,
    valid_size=30,
    test_size=20,
    time_column="month",
)


def _write(path, values):
    frame = pd.DataFrame({"month": pd.date_range("2000-01-01", periods=len(values), freq="MS")})
    frame["y"] = values
    frame.to_csv(path, index=False)
    return path


def _forecast_cli(run_dir, data_path, out, steps=4, *extra):
    argv = ["forecast", str(run_dir), "--data", str(data_path), "--steps", str(steps)]
    assert main([*argv, "--out", str(out), *extra]) == 0
    return pd.read_csv(out)


@pytest.fixture(scope="module")
def ensemble_pick(tmp_path_factory):
    """A comparison whose pick is the ensemble of the best-ranked candidates."""
    out = tmp_path_factory.mktemp("pick")
    path = _write(out / "series.csv", SIGNAL)
    result = compare.compare(
        str(path),
        models=["linear_multi", "lstm_seq2vec"],
        classical=False,
        out=out / "r",
        **SETTINGS,
    )
    return out, path, result


def test_the_pick_is_the_ensemble_of_the_best_candidates(ensemble_pick):
    _, _, result = ensemble_pick
    rows = {r["model"]: r for r in result["rows"]}
    assert (
        result["settings"]["best"] == "ensemble" and result["settings"]["best_kind"] == "ensemble"
    )
    members = rows["ensemble"]["members"]
    assert abs(sum(members.values()) - 1) < 1e-12
    singles = sorted(
        (r["valid"]["issued"]["mase"], r["model"])
        for r in result["rows"]
        if r["kind"] != "ensemble"
    )
    # three to five members: the best-ranked candidates, in order
    assert 3 <= len(members) <= 5
    assert list(members) == [name for _, name in singles[: len(members)]]


def test_an_ensemble_pick_round_trips_into_forecast(ensemble_pick, tmp_path):
    """From the data up to the last test origin, `forecast best` gives the ensemble forecast
    `compare` made there: with --no-refit to the digit whatever the members; refitted, the
    fitted baselines among them are fitted on all of that data."""
    out, _, result = ensemble_pick
    saved = np.load(out / "r" / "forecasts.npz")
    origin = int(saved["test_origins"][-1])
    cut = _write(tmp_path / "cut.csv", SIGNAL[:origin])
    same = _forecast_cli(out / "r" / "best", cut, tmp_path / "f.csv", 4, "--no-refit")
    expected = saved["test/ensemble"][:, -1, :, 0]  # [seeds, horizon]
    np.testing.assert_allclose(same["y_mean"], expected.mean(0), rtol=1e-5)
    for k in range(expected.shape[0]):
        np.testing.assert_allclose(same[f"y_seed{k}"], expected[k], rtol=1e-5)
    refit = _forecast_cli(out / "r" / "best", cut, tmp_path / "g.csv")
    run = Run(out / "r" / "best")
    shift = 0.0
    values = SIGNAL[:origin, None].astype(np.float32).astype(np.float64)
    for m in run.config.members:
        if m["name"] in baselines.BASELINES:
            kw = dict(season=12, window=24)
            old = baselines.forecast(m["name"], values, [origin], 4, fit_end=100, **kw)
            new = baselines.forecast(m["name"], values, [origin], 4, fit_end=origin, **kw)
            shift = shift + m["weight"] * (new - old)[0, :, 0]
    np.testing.assert_allclose(refit["y_mean"], expected.mean(0) + shift, rtol=1e-5)


def test_the_pick_forecasts_the_interval_of_its_point_errors(ensemble_pick, tmp_path):
    """``best/`` of a point comparison stores its pick's conformal offsets: those of its
    point errors on the calibration and test windows, carried to the series' end (adaptive,
    as for a quantile head); ``forecast`` writes the interval around its point forecast."""
    from jaxseq import calibration

    out, path, _ = ensemble_pick
    saved = np.load(out / "r" / "forecasts.npz")
    parts = ("calibrate", "test")
    point = np.concatenate([saved[f"{p}/ensemble"].astype(np.float64).mean(0) for p in parts])
    n = len(saved["calibrate_origins"])
    shift = calibration.offsets_at(
        np.repeat(point[..., None], 3, -1),
        np.concatenate([saved[f"{p}_truth"] for p in parts]),
        np.concatenate([saved[f"{p}_origins"] for p in parts]),
        (0.1, 0.5, 0.9),
        origin=N,
        start=n,
        window=n,
        gamma=calibration.ADAPT_STEP,
    )
    frame = _forecast_cli(out / "r" / "best", path, tmp_path / "f.csv", 4, "--no-refit")
    np.testing.assert_allclose(frame["y_q0.5"], frame["y_mean"], rtol=1e-6)
    np.testing.assert_allclose(frame["y_q0.9"] - frame["y_q0.5"], shift[:, 0, 0], rtol=1e-3)
    np.testing.assert_allclose(frame["y_q0.5"] - frame["y_q0.1"], shift[:, 0, 0], rtol=1e-3)


def test_an_ensemble_run_folder_evaluates_to_the_comparison(ensemble_pick, tmp_path):
    """`evaluate best` gives the ensemble's test scores `compare` reported (its networks as
    refitted); it names the refitted networks, whose validation scores are in-sample."""
    out, _, result = ensemble_pick
    assert (
        main(
            [
                "evaluate",
                str(out / "r" / "best"),
                "--no-classical",
                "--out",
                str(tmp_path / "e.json"),
            ]
        )
        == 0
    )
    evaluated = json.loads((tmp_path / "e.json").read_text())
    row = next(r for r in result["rows"] if r["model"] == "ensemble")
    np.testing.assert_allclose(
        evaluated["test"]["rows"]["ensemble"]["issued"]["mae"],
        row["test"]["issued"]["mae"],
        rtol=1e-6,
    )
    refitted = result["settings"]["refit"]
    assert refitted and sorted(evaluated["settings"]["trained_through_validation"]) == refitted


def test_a_baseline_pick_round_trips_into_forecast(tmp_path):
    """An untrained network and no ensemble: a baseline is picked; its run folder holds no
    checkpoint and forecasts what `compare` reported at its last origin."""
    path = _write(tmp_path / "s.csv", SIGNAL)
    settings = {**SETTINGS, "max_steps": 1, "patience": None}
    result = compare.compare(
        str(path),
        models=["linear_multi"],
        classical=False,
        combine=False,
        out=tmp_path / "r",
        **settings,
    )
    best, kind = result["settings"]["best"], result["settings"]["best_kind"]
    assert kind == "baseline" and best in baselines.BASELINES
    assert not (tmp_path / "r" / "best" / "checkpoints").exists()
    saved = np.load(tmp_path / "r" / "forecasts.npz")
    origin = int(saved["test_origins"][-1])
    cut = _write(tmp_path / "cut.csv", SIGNAL[:origin])
    got = _forecast_cli(tmp_path / "r" / "best", cut, tmp_path / "f.csv", 4, "--no-refit")
    np.testing.assert_allclose(
        got["y_mean"], saved[f"test/{best}"][0, -1, :, 0], rtol=1e-5
    )  # 6 digits


def test_a_classical_run_folder_refits_on_all_the_data(tmp_path):
    """A classical pick forecasts through statsforecast, fitted on everything before the
    origin: the same as statsforecast's own fit and predict on that series."""
    from statsforecast.models import AutoTheta

    path = _write(tmp_path / "s.csv", SIGNAL)
    config = compare.RunConfig(
        model="auto_theta",
        data=str(path),
        columns=["y"],
        targets=["y"],
        window=24,
        horizon=4,
        task="multi_step",
        seeds=1,
        epochs=None,
        max_steps=10,
        time_column="month",
        season=12,
        kind="classical",
    )
    run = candidates.save_baseline(tmp_path / "best", config, data.Scaler.identity(1))
    forecast, _ = candidates.forecast(Run(run.path), None, 4)
    y = SIGNAL.astype(np.float32).astype(np.float64)
    expected = AutoTheta(season_length=12).fit(y).predict(4)["mean"]
    np.testing.assert_allclose(forecast.per_seed[0, :, 0], expected, rtol=1e-6)
    with pytest.raises(Exception, match="exceeds the horizon 4"):
        candidates.forecast(Run(run.path), None, 5)


def test_test_targets_move_no_pick_no_stopping_step_no_weight(ensemble_pick, tmp_path):
    """Every value after the validation part perturbed: the validation scores, each replica's
    kept and last step, the ensemble's members and weights and the pick are unchanged."""
    out, _, result = ensemble_pick
    perturbed = SIGNAL.copy()
    perturbed[N - 20 :] += np.random.default_rng(9).normal(0, 5, 20)
    path = _write(tmp_path / "p.csv", perturbed)
    again = compare.compare(
        str(path), models=["linear_multi", "lstm_seq2vec"], classical=False, **SETTINGS
    )
    first = {r["model"]: r for r in result["rows"]}
    second = {r["model"]: r for r in again["rows"]}
    assert again["settings"]["best"] == result["settings"]["best"]
    assert [r["model"] for r in again["rows"]] == [r["model"] for r in result["rows"]]
    for name, row in first.items():
        assert second[name]["valid"] == row["valid"]
        if "training" in row:
            assert second[name]["training"] == row["training"]
    assert second["ensemble"]["members"] == first["ensemble"]["members"]
    assert second["linear_multi"]["test"] != first["linear_multi"]["test"]  # the test did move


def test_the_training_budget_reaches_the_rows_and_the_command_line(ensemble_pick, tmp_path, capsys):
    _, path, result = ensemble_pick
    s = result["settings"]
    assert (s["max_steps"], s["patience"], s["epochs"], s["schedule"]) == (60, 15, None, "constant")
    row = next(r for r in result["rows"] if r["model"] == "linear_multi")
    t = row["training"]
    assert len(t["best_step"]) == 2 and all(
        0 < b <= e for b, e in zip(t["best_step"], t["stop_step"], strict=True)
    )
    assert max(t["stop_step"]) <= 60 + t["steps_per_epoch"]
    argv = ["compare", "--data", str(path), "--time-column", "month", "--horizon", "4"]
    argv += ["--window", "24", "--models", "linear_multi", "--seeds", "2", "--no-classical"]
    argv += ["--epochs", "3", "--quiet", "--no-ensemble", "--out", str(tmp_path / "c")]
    assert main(argv) == 0
    again = json.loads((tmp_path / "c" / "compare.json").read_text())
    assert again["settings"]["epochs"] == 3 and again["settings"]["max_steps"] is None
    assert "ensemble" not in {r["model"] for r in again["rows"]}
    linear = next(r for r in again["rows"] if r["model"] == "linear_multi")
    assert linear["training"]["epochs_run"] == 3


def test_the_windows_that_rank_chose_no_epoch(ensemble_pick, tmp_path):
    """compare's networks stop early on the first half of the validation origins; the next
    quarter ranks and combines, the last calibrates intervals. Values only the ranking and
    calibration windows read, changed: every replica's kept and last step stay, the ranking
    scores move; values only the calibration windows read, changed: nothing ranked moves (no
    score, pick or weight), the intervals do."""
    out, _, result = ensemble_pick
    valid = result["settings"]["valid"]
    assert valid["stop_windows"] + valid["windows"] + valid["calibrate_windows"] == 30 - 4 + 1
    saved = np.load(out / "r" / "forecasts.npz")
    first_ranked = int(saved["valid_origins"][0])
    assert valid["stop_windows"] == first_ranked - (N - 20 - 30)
    first_calibrated = int(saved["calibrate_origins"][0])
    assert first_calibrated == int(saved["valid_origins"][-1]) + 1
    unread = first_ranked - 1 + 4  # the last stopping window's targets end before this step
    changed = SIGNAL.copy()
    changed[unread : N - 20] += 3.0
    path = _write(tmp_path / "c.csv", changed)
    models = ["linear_multi", "lstm_seq2vec"]
    again = compare.compare(str(path), models=models, classical=False, **SETTINGS)
    first = {r["model"]: r for r in result["rows"]}
    for r in again["rows"]:
        if "training" in r:
            assert r["training"] == first[r["model"]]["training"]
    assert again["rows"][0]["valid"] != first[again["rows"][0]["model"]]["valid"]

    changed = SIGNAL.copy()
    changed[int(saved["valid_origins"][-1]) + 4 : N - 20] += 3.0  # read by calibration alone
    path = _write(tmp_path / "d.csv", changed)
    again = compare.compare(str(path), models=models, classical=False, **SETTINGS)
    assert again["settings"]["best"] == result["settings"]["best"]
    second = {r["model"]: r for r in again["rows"]}
    assert [r["model"] for r in again["rows"]] == [r["model"] for r in result["rows"]]
    for name, row in first.items():
        assert second[name]["valid"] == row["valid"]  # (test inputs reach back: they move)
        assert second[name].get("training") == row.get("training")
    assert second["ensemble"]["members"] == first["ensemble"]["members"]
    assert second["ensemble"]["intervals"] != first["ensemble"]["intervals"]


@pytest.mark.parametrize("time_in", ["index", "column"])
def test_compare_on_a_dataframe_keeps_its_time_for_a_calendar_forecast(tmp_path, time_in):
    """A DataFrame's dates (its index or a time column) survive into ``best/``: the series
    ``compare`` saves beside it keeps them, so ``jaxseq forecast`` can rebuild the calendar
    features, with the saved series or with the user's own file of the same rows."""
    months = pd.date_range("2000-01-01", periods=N, freq="MS")
    frame = pd.DataFrame({"y": SIGNAL}, index=months)
    kw: dict = {}
    if time_in == "column":
        frame, kw = frame.rename_axis("month").reset_index(), {"time_column": "month"}
    settings = {k: v for k, v in SETTINGS.items() if k != "time_column"}
    out = tmp_path / "r"
    compare.compare(
        frame, models=["linear_multi"], classical=False, calendar=True, out=out, **settings, **kw
    )
    config = json.loads((out / "best" / "config.json").read_text())
    assert config["calendar"] == ["month"] and config["time_column"] == kw.get("time_column", "ds")
    saved = pd.read_csv(out / "series.csv")
    assert list(pd.to_datetime(saved[config["time_column"]])) == list(months)
    np.testing.assert_array_equal(saved["y"].to_numpy(np.float32), SIGNAL.astype(np.float32))
    argv = ["forecast", str(out / "best"), "--steps", "4", "--out", str(tmp_path / "a.csv")]
    assert main([*argv, "--no-refit"]) == 0  # the saved series, found through best/
    own = tmp_path / "own.csv"
    if time_in == "index":
        frame = frame.rename_axis(config["time_column"]).reset_index()
    frame.to_csv(own, index=False)
    users = _forecast_cli(out / "best", own, tmp_path / "b.csv", 4, "--no-refit")
    mine = _forecast_cli(out / "best", out / "series.csv", tmp_path / "c.csv", 4, "--no-refit")
    pd.testing.assert_frame_equal(users, mine)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a.csv"), mine)
