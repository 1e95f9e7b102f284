"""`jaxseq compare` and the real-series protocol end to end, on a small seasonal series."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from jaxseq import baselines, cells, metrics
from jaxseq.app import compare
from jaxseq.app.cli import main
from jaxseq.app.runs import Run

T = np.arange(260)
SIGNAL = (
    50 + 0.05 * T + 3 * np.sin(2 * np.pi * T / 12) + np.random.default_rng(0).normal(0, 0.3, 260)
)
SETTINGS = dict(horizon=4, window=24, seeds=2, epochs=2, jobs=1, valid_size=40, test_size=30)


def _dated(values, newest_first=False):
    frame = pd.DataFrame(
        {"month": pd.date_range("1990-01-01", periods=len(values), freq="MS"), "y": values}
    )
    return frame.iloc[::-1] if newest_first else frame


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    path = out / "series.csv"
    _dated(SIGNAL).to_csv(path, index=False)
    result = compare.compare(
        str(path),
        time_column="month",
        models=["linear_multi", "lstm_seq2vec", cells.gru()],
        out=out / "result",
        **SETTINGS,
    )
    return out, result


def test_compare_writes_every_row_ranked_by_validation_mase(compared):
    out, result = compared
    on_disk = json.loads((out / "result" / "compare.json").read_text())
    assert on_disk == json.loads(json.dumps(result))
    assert on_disk["settings"]["data"] == "../series.csv"  # no machine folders
    kinds = {r["model"]: r["kind"] for r in result["rows"]}
    assert kinds["linear_multi"] == kinds["lstm_seq2vec"] == "zoo"
    assert [k for k in kinds.values()].count("user") == 1
    for name in ("naive", "seasonal_naive", "drift", "linear_least_squares"):
        assert kinds[name] == "baseline"
    for name in ("auto_ets", "auto_arima", "auto_theta"):
        assert kinds[name] == "classical"
    assert kinds["ensemble"] == "ensemble"
    # every candidate ranked together by the validation MASE of the forecast it issues
    valid = [r["valid"]["issued"]["mase"] for r in result["rows"]]
    assert valid == sorted(valid)
    # the pick is the ensemble of the best-ranked candidates
    assert (result["settings"]["best"], result["settings"]["best_kind"]) == ("ensemble", "ensemble")
    assert result["settings"]["season"] == 12  # monthly, from the time column
    assert result["settings"]["classical_budget"] == baselines.CLASSICAL_BUDGET
    assert result["settings"]["test"]["windows"] == 30 - 4 + 1
    for r in result["rows"]:
        for split in ("valid", "test"):
            for m in ("mae", "rmse", "mase", "smape"):
                s = r[split][m]
                assert s["min"] <= s["mean"] <= s["max"]
                if r["kind"] == "baseline":
                    assert s["min"] == s["max"] == s["mean"]
    assert (out / "result" / "compare.md").read_text().count("\n|") >= len(result["rows"]) + 1
    assert (out / "result" / "compare.png").stat().st_size > 10_000


def test_compare_json_names_its_data_without_the_machines_folders(tmp_path):
    out = tmp_path / "runs" / "cmp"
    assert compare._relative_to(out / "data.csv", out) == "data.csv"
    assert compare._relative_to(tmp_path / "runs" / "data" / "a.csv", out) == "../data/a.csv"
    assert compare._relative_to(tmp_path / "elsewhere" / "b.csv", out) == "b.csv"


def test_baseline_rows_match_hand_computed_errors(compared):
    _, result = compared
    rows = {r["model"]: r for r in result["rows"]}
    origins = np.arange(260 - 30, 260 - 4 + 1)
    truth = np.stack([SIGNAL[o : o + 4] for o in origins]).astype(np.float32).astype(np.float64)
    naive = np.repeat(SIGNAL.astype(np.float32).astype(np.float64)[origins - 1, None], 4, 1)
    train = SIGNAL.astype(np.float32).astype(np.float64)[: 260 - 70]
    scale = np.mean(np.abs(train[12:] - train[:-12]))
    got = rows["naive"]["test"]
    np.testing.assert_allclose(got["mae"]["mean"], np.mean(np.abs(naive - truth)), rtol=1e-9)
    np.testing.assert_allclose(
        got["mase"]["mean"], np.mean(np.abs(naive - truth)) / scale, rtol=1e-9
    )
    np.testing.assert_allclose(
        got["rmse"]["mean"], np.sqrt(np.mean((naive - truth) ** 2)), rtol=1e-9
    )
    smape = np.mean(200 * np.abs(naive - truth) / (np.abs(naive) + np.abs(truth)))
    np.testing.assert_allclose(got["smape"]["mean"], smape, rtol=1e-9)


def test_the_best_run_folder_forecasts(compared, capsys):
    out, result = compared
    best = result["settings"]["best"]
    run = Run(out / "result" / "best")
    # compare's default, auto, resolved on the data: the run folder holds the mode it took
    assert run.config.model == best
    assert run.config.normalize == result["settings"]["normalize"] in ("window", "series")
    assert (
        main(
            ["forecast", str(out / "result" / "best"), "--steps", "4", "--out", str(out / "f.csv")]
        )
        == 0
    )
    frame = pd.read_csv(out / "f.csv")
    assert len(frame) == 4 and np.isfinite(frame["y_mean"]).all()
    # the saved run's test score equals the comparison's: evaluate reads the same origins
    assert (
        main(
            [
                "evaluate",
                str(out / "result" / "best"),
                "--no-classical",
                "--out",
                str(out / "e.json"),
            ]
        )
        == 0
    )
    evaluated = json.loads((out / "e.json").read_text())
    row = next(r for r in result["rows"] if r["model"] == best)
    np.testing.assert_allclose(
        evaluated["test"]["rows"][best]["issued"]["mase"], row["test"]["issued"]["mase"], rtol=1e-4
    )


def test_a_newest_first_file_gives_the_same_comparison(tmp_path, compared):
    _, result = compared
    path = tmp_path / "reversed.csv"
    _dated(SIGNAL, newest_first=True).to_csv(path, index=False)
    again = compare.compare(
        str(path),
        time_column="month",
        models=["linear_multi"],
        classical=False,
        combine=False,  # the first comparison's ensemble has other candidates
        **SETTINGS,
    )
    first = {r["model"]: r for r in result["rows"]}
    for r in again["rows"]:
        np.testing.assert_allclose(
            r["test"]["mase"]["mean"], first[r["model"]]["test"]["mase"]["mean"], rtol=1e-5
        )


def test_compare_takes_a_pandas_series_and_a_metrics_check():
    series = pd.Series(SIGNAL[:120], index=pd.date_range("2000-01-03", periods=120, freq="W-MON"))
    result = compare.compare(
        series,
        horizon=2,
        window=8,
        models=["linear_multi"],
        seeds=2,
        epochs=1,
        jobs=1,
        valid_size=20,
        test_size=20,
        season=4,
        classical=False,
    )
    assert result["settings"]["season"] == 4
    assert {r["model"] for r in result["rows"]} >= {"linear_multi", "seasonal_naive"}
    with pytest.raises(Exception, match="season 200"):
        metrics.mase_scale(np.zeros((50, 1)), 200)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--season", "400"], "season 400"),
        (["--test-size", "2"], "shorter than the horizon 4"),
        (["--window", "250"], "need at least"),
        (["--models", "linear"], "forecasts one step"),
    ],
)
def test_compare_refuses_what_cannot_work_in_one_line(tmp_path, extra, message, capsys):
    path = tmp_path / "s.csv"
    _dated(SIGNAL).to_csv(path, index=False)
    argv = ["compare", "--data", str(path), "--time-column", "month", "--horizon", "4"]
    argv += ["--window", "24", "--quiet", "--out", str(tmp_path / "out"), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err, err
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_values_that_overflow_float32_are_refused_and_nothing_is_written(tmp_path, capsys):
    path = tmp_path / "huge.csv"
    pd.DataFrame({"y": np.r_[np.ones(40), 1e30, np.ones(40)]}).to_csv(path, index=False)
    argv = ["train", "--model", "linear_multi", "--data", str(path), "--window", "5"]
    assert main([*argv, "--horizon", "2", "--out", str(tmp_path / "run"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "column 'y', data row 41" in err and "1e+30" in err, err
    assert not (tmp_path / "run").exists()
