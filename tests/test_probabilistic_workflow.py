"""Probabilistic forecasts end to end: conformal calibration against hand-computed offsets and
its coverage guarantee, quantiles in the data's units, compare with a head, and the command
line (train --quantiles, evaluate, forecast with interval columns)."""

import csv
import json
import math

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxseq import calibration, metrics, models
from jaxseq.app import backtest, compare, forecasting, workflow
from jaxseq.app.cli import main
from jaxseq.app.runs import Run
from jaxseq.errors import InputError

T = np.arange(260)
SIGNAL = 10.0 + 3.0 * np.sin(T / 5.0) + np.random.default_rng(0).normal(0.0, 0.3, len(T))
LEVELS = (0.1, 0.5, 0.9)


def _write(path, values):
    with open(path, "w") as f:
        f.write("y\n")
        for v in values:
            f.write(f"{v:.6f}\n")
    return path


# --------------------------------------------------------------------------- calibration


def test_offsets_are_the_conformal_rank_of_the_scores_by_hand():
    # one step, one target, 4 held-out windows; 80% interval from levels 0.1 and 0.9
    q = np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0], [0.0, 1.0, 2.0], [0.0, 1.0, 2.0]])
    y = np.array([1.0, 3.0, -0.5, 2.0])  # scores max(lo - y, y - hi): -1, 1, 0.5, 0
    shift = calibration.offsets(q[:, None, None, :], y[:, None, None], LEVELS)
    # rank ceil((4 + 1) * 0.8) = 4: the largest score
    assert shift.shape == (1, 1, 1)
    assert shift[0, 0, 0] == pytest.approx(1.0)
    moved = calibration.apply(q[:, None, None, :], shift, LEVELS)[:, 0, 0]
    np.testing.assert_allclose(moved, [[-1.0, 1.0, 3.0]] * 4)


def test_offsets_shrink_intervals_that_are_too_wide_and_sorting_keeps_order():
    levels = (0.05, 0.25, 0.5, 0.75, 0.95)
    q = np.tile(np.array([-10.0, -0.1, 0.0, 0.1, 10.0]), (9, 1))[:, None, None, :]
    y = np.linspace(-0.5, 0.5, 9)[:, None, None]
    shift = calibration.offsets(q, y, levels)
    assert shift[0, 0, 1] < 0  # the 90% interval [-10, 10] is far too wide: it narrows
    moved = calibration.apply(q, shift, levels)
    assert np.all(np.diff(moved, axis=-1) >= 0)  # never crossing after the shift


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([0.5, 1.0, 3.0]))
def test_calibrated_interval_covers_new_values_at_the_nominal_rate(seed, width):
    """Exchangeable errors: averaged over many draws, CQR's coverage is at least nominal
    (and at most nominal + 1/(n+1)), whatever the raw interval's width."""
    rng = np.random.default_rng(seed)
    n, trials = 19, 400
    q = np.array([-width, 0.0, width])
    hold = rng.normal(size=(trials, n))
    new = rng.normal(size=trials)
    covered = []
    for i in range(trials):
        shift = calibration.offsets(
            np.tile(q, (n, 1))[:, None, None], hold[i][:, None, None], LEVELS
        )
        lo, _, hi = calibration.apply(q[None, None, None], shift, LEVELS)[0, 0, 0]
        covered.append(lo <= new[i] <= hi)
    # exact coverage is ceil(0.8 * 20) / 20 = 0.8; 400 trials: 4 standard errors is 0.08
    assert abs(np.mean(covered) - math.ceil(0.8 * (n + 1)) / (n + 1)) < 0.08


def test_offsets_refuse_mismatched_shapes():
    with pytest.raises(InputError, match="qpred must be"):
        calibration.offsets(np.zeros((4, 1, 1, 2)), np.zeros((4, 1, 1)), LEVELS)


# --------------------------------------------------------------------------- workflow


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    path = _write(tmp_path_factory.mktemp("prob") / "s.csv", SIGNAL)
    return workflow.make_config(
        "rnn_seq2seq",
        str(path),
        None,
        None,
        window=16,
        horizon=3,
        seeds=2,
        epochs=2,
        head=list(LEVELS),
    )


def test_config_keeps_the_head_and_the_model_is_probabilistic(config):
    assert config.head == [0.1, 0.5, 0.9]
    model = workflow.build_model(config)
    assert model.head is not None and model.levels == LEVELS
    assert workflow.selection_metric(model) == "val_loss"


def test_quantiles_in_units_are_the_model_quantiles_unscaled(config):
    model = workflow.build_model(config)
    series = workflow.load_for(config)
    ds = workflow.dataset_for(config, series)
    variables = jax.vmap(model.init)(jax.random.split(jax.random.PRNGKey(1), 2))
    X = ds.split("valid").X[:5]
    got = workflow.predict_quantile_units(model, variables, ds.scaler, config, X)
    assert got.shape == (2, 5, 3, 1, 3)
    one = jax.tree_util.tree_map(lambda v: v[1], variables)
    raw = np.asarray(model.quantiles(one, X))[:, -1]  # seq2seq: the forecast at the origin
    want = raw.reshape(5, 3, 1, 3) * ds.scaler.scale[0] + ds.scaler.mean[0]
    np.testing.assert_allclose(got[1], want, rtol=1e-5)
    assert np.all(np.diff(got, axis=-1) >= 0)
    # the point forecast of a quantile head is its median
    point = workflow.predict_units(model, variables, ds.scaler, config, X)
    np.testing.assert_allclose(point, got[..., 1], rtol=1e-5)


def test_score_splits_reports_quantile_scores_and_the_baseline(config):
    series = workflow.load_for(config)
    protocol = workflow.protocol_for(config, len(series.values))
    values = series.values[:, :1].astype(np.float64)
    q, point = {}, {}
    for split in backtest.SPLITS:
        origins = protocol.origins(split)
        truth = workflow.truth_at(values, origins, 3, [0])
        spread = np.array([-1.0, 0.0, 1.0])
        q[split] = {"m": (truth[None, ..., None] + spread)}  # a perfect median, width 2
        point[split] = {"m": truth[None]}
    out = backtest.score_splits(
        config, series, protocol, point, season=1, classical=False, quantiles=q, levels=LEVELS
    )
    rows = out["test"]["quantiles"]["rows"]
    assert set(rows) == {"m", "seasonal_naive"}
    truth = workflow.truth_at(values, protocol.origins("test"), 3, [0])
    scale = metrics.mase_scale(values[: protocol.train_end], 1)
    # pinball of a median on the truth with quantiles +-1: 0.1 * 1 per outer level, over 3
    assert rows["m"]["pinball"] == pytest.approx((0.1 + 0.0 + 0.1) / 3)
    assert rows["m"]["scaled_pinball"] == pytest.approx(rows["m"]["pinball"] / scale[0])
    assert rows["m"]["intervals"][0]["coverage"] == 1.0
    assert out["test"]["quantiles"]["calibrated"]["m"]["intervals"][0]["width"] < 2.0
    assert truth.shape[0] == out["test"]["windows"]
    # rolling: each test window on the latest calibration-sized set of known errors
    origins = np.concatenate([protocol.origins("calibrate"), protocol.origins("test")])
    n_valid = len(protocol.origins("calibrate"))
    both = np.concatenate([q["calibrate"]["m"], q["test"]["m"]], axis=1)
    all_truth = workflow.truth_at(values, origins, 3, [0])
    rolled = calibration.rolling(both, all_truth, origins, LEVELS, start=n_valid, window=n_valid)
    want = metrics.score_quantiles_seeds(rolled, truth, LEVELS, scale)
    assert out["test"]["quantiles"]["rolling"]["m"] == want
    adapted = calibration.rolling(
        both,
        all_truth,
        origins,
        LEVELS,
        start=n_valid,
        window=n_valid,
        gamma=calibration.ADAPT_STEP,
    )
    want = metrics.score_quantiles_seeds(adapted, truth, LEVELS, scale)
    assert out["test"]["quantiles"]["adaptive"]["m"] == want


def test_calibrated_scores_are_those_of_the_seed_average_calibrated_as_a_whole(rng):
    """Two seeds with opposite biases: each seed's interval is too narrow for its errors, the
    average is centred. Calibrated as a whole, the average is widened by its own (smaller)
    errors; the average of the calibrated seeds would be wider and cover more."""
    n_valid, n_test = 40, 40
    y = rng.normal(size=(n_valid + n_test, 1, 1))
    centre = np.zeros_like(y)[None] + np.array([-1.0, 1.0])[:, None, None, None]
    q = centre[..., None] + np.array([-0.3, 0.0, 0.3])  # [2 seeds, windows, 1, 1, 3]
    valid, test = q[:, :n_valid], q[:, n_valid:]

    def static(v, t):
        return calibration.apply(t, calibration.offsets(v, y[:n_valid], LEVELS), LEVELS)

    scale = np.ones(1)
    got = backtest.calibrated_scores(static, valid, test, y[n_valid:], LEVELS, scale)
    mean = q.mean(0)  # the average: a centred interval of half-width 0.3
    issued = static(mean[:n_valid], mean[n_valid:])
    want = metrics.score_quantiles(issued, y[n_valid:], LEVELS, scale)
    assert got["intervals"] == want["intervals"] and got["pinball"] == want["pinball"]
    per_seed = metrics.score_quantiles_seeds(static(valid, test), y[n_valid:], LEVELS, scale)
    assert got["seeds"] == per_seed["seeds"]
    # the average of separately calibrated seeds is wider than the average calibrated as one
    assert per_seed["intervals"][0]["width"] > got["intervals"][0]["width"] + 0.5


def test_compare_with_a_head_ranks_by_validation_pinball(tmp_path):
    path = _write(tmp_path / "s.csv", SIGNAL)
    result = compare.compare(
        str(path),
        horizon=3,
        window=16,
        models=["rnn_seq2seq"],
        seeds=2,
        epochs=2,
        classical=False,
        head=LEVELS,
        jobs=1,
        out=tmp_path / "cmp",
    )
    s = result["settings"]
    assert s["ranked_by"] == "valid scaled_pinball" and s["levels"] == list(LEVELS)
    with_q = [r for r in result["rows"] if r["quantiles"] is not None]
    assert {r["model"] for r in with_q} == {"rnn_seq2seq", "seasonal_naive"}
    keys = [r["quantiles"]["valid"]["scaled_pinball"] for r in with_q]
    assert keys == sorted(keys) and result["rows"][: len(with_q)] == with_q
    text = (tmp_path / "cmp" / "compare.md").read_text()
    assert "static 80% coverage" in text and "rolling 80% coverage" in text
    for r in with_q:  # raw, static and rolling calibration, each with its 80% interval
        for part in ("test", "test_calibrated", "test_rolling", "test_adaptive"):
            assert [i["nominal"] for i in r["quantiles"][part]["intervals"]] == [0.8]
    assert Run(tmp_path / "cmp" / "best").config.head == [0.1, 0.5, 0.9]
    assert (tmp_path / "cmp" / "best" / "calibration.json").exists()
    forecast, _ = forecasting.forecast_run(Run(tmp_path / "cmp" / "best"), None, 3)
    assert forecast.calibrated == result["settings"]["valid"]["calibrate_windows"] > 0
    # forecasts.npz holds what was scored: its quantiles give the reported test scores again
    saved = np.load(tmp_path / "cmp" / compare.FORECASTS)
    assert saved["test/rnn_seq2seq/quantiles"].shape == (2, s["test"]["windows"], 3, 1, 3)
    assert saved["valid/rnn_seq2seq"].shape == (2, s["valid"]["windows"], 3, 1)
    np.testing.assert_allclose(
        saved["test_truth"][:, 0, 0],
        SIGNAL[saved["test_origins"]],
        rtol=1e-6,  # float32 data
    )
    train_end = s["length"] - s["test"]["steps"] - s["valid"]["steps"]
    scale = metrics.mase_scale(np.round(SIGNAL, 6)[:train_end, None], 1)
    again = metrics.score_quantiles_seeds(
        saved["test/rnn_seq2seq/quantiles"], saved["test_truth"], LEVELS, scale
    )
    row = next(r for r in with_q if r["model"] == "rnn_seq2seq")
    assert again["scaled_pinball"] == pytest.approx(
        row["quantiles"]["test"]["scaled_pinball"], rel=1e-5
    )


def test_compare_refuses_a_user_model_with_another_head(tmp_path):
    path = _write(tmp_path / "s.csv", SIGNAL)
    other = models.get("rnn_multi", window=16, horizon=3, head="normal")
    assert other.task == "multi_step"
    with pytest.raises(InputError, match="has head 'normal'"):
        compare.compare(
            str(path), horizon=3, window=16, models=[other], seeds=1, epochs=1,
            classical=False, head=LEVELS, jobs=1,
        )  # fmt: skip


# --------------------------------------------------------------------------- command line


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cliq")
    path = _write(folder / "s.csv", SIGNAL)
    run = folder / "run"
    argv = ["train", "--model", "rnn_seq2seq", "--data", str(path), "--window", "16"]
    argv += ["--horizon", "3", "--epochs", "2", "--seeds", "2", "--quiet", "--out", str(run)]
    assert main([*argv, "--quantiles", "0.1,0.9"]) == 0
    return folder, run


def test_train_writes_the_head_and_its_calibration(cli_run):
    _, run = cli_run
    assert Run(run).config.head == [0.1, 0.5, 0.9]
    record = json.loads((run / "calibration.json").read_text())
    assert record["levels"] == [0.1, 0.5, 0.9]
    # one set for the forecast issued (the seeds' average): steps, targets, pairs
    assert np.asarray(record["offsets"]).shape == (3, 1, 1)
    # the offsets of the latest windows with known targets, as many as the calibration part
    # has: the last validation windows, which chose no epoch (a probabilistic run stops early
    # on the first half)
    config, scaler = Run(run).config, Run(run).scaler
    assert config.stop_on == "first_half"
    model, state = workflow.load_run_state(Run(run))
    series = workflow.load_for(config)
    ds = workflow.dataset_for(config, series, scaler)
    assert ds.origins("stop").max() < ds.origins("calibrate").min()
    parts = ("calibrate", "test")
    q = np.concatenate(
        [
            workflow.predict_quantile_units(model, state.variables, scaler, config, ds.split(p).X)
            for p in parts
        ],
        axis=1,
    )
    origins = np.concatenate([ds.origins(p) for p in parts])
    truth = workflow.truth_at(series.values[:, :1].astype(np.float64), origins, 3, [0])
    n = len(ds.origins("calibrate"))
    assert record["windows"] == n and record["last_origin"] == origins[-1]
    # the adaptive calibration of the test scores, carried to the end of the series
    want = calibration.offsets_at(
        q.mean(0),
        truth,
        origins,
        LEVELS,
        origin=len(series.values),
        start=n,
        window=n,
        gamma=calibration.ADAPT_STEP,
    )
    np.testing.assert_allclose(record["offsets"], want, rtol=1e-5, atol=1e-6)


def test_forecast_writes_calibrated_quantile_columns(cli_run, capsys):
    folder, run = cli_run
    out = folder / "f.csv"
    assert main(["forecast", str(run), "--steps", "3", "--out", str(out)]) == 0
    assert "calibrated on" in capsys.readouterr().out
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 3
    # the columns hold the run's raw quantiles moved out by the stored offsets
    forecast, _ = forecasting.forecast_run(Run(run), None, 3)
    model, state = workflow.load_run_state(Run(run))
    history = workflow.load_for(Run(run).config).values
    raw = forecasting.forecast_values(
        model, state.variables, Run(run).scaler, Run(run).config, history, 3, quantiles=True
    )
    shift = np.asarray(json.loads((run / "calibration.json").read_text())["offsets"])
    mean = raw.mean(0)  # the seeds' average, moved by the offsets then sorted by hand
    want = np.sort(mean + np.stack([-shift[..., 0], 0 * shift[..., 0], shift[..., 0]], -1), -1)
    for j, level in enumerate(("0.1", "0.5", "0.9")):
        got = [float(r[f"y_q{level}"]) for r in rows]
        np.testing.assert_allclose(got, want[:, 0, j], rtol=1e-4)
    for r in rows:
        assert float(r["y_q0.1"]) <= float(r["y_q0.5"]) <= float(r["y_q0.9"])
    assert forecast.calibrated > 0


def test_evaluate_prints_quantile_tables(cli_run, capsys):
    _, run = cli_run
    assert main(["evaluate", str(run), "--no-classical"]) == 0
    text = capsys.readouterr().out
    assert "scaled pinball" in text and "calibrated on the calibration windows" in text
    assert "latest errors known at each origin" in text and "adapted to the misses" in text


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--quantiles", "1.5"], "outside (0, 1)"),
        (["--quantiles", "0.1,x"], "must list numbers"),
        (["--quantiles", "0.1", "--distribution", "normal"], "not allowed with argument"),
        (["--distribution", "cauchy"], "invalid choice"),
    ],
)
def test_bad_head_options_exit_2_with_one_line(cli_run, capsys, extra, message):
    folder, _ = cli_run
    argv = ["train", "--model", "rnn_seq2seq", "--data", str(folder / "s.csv")]
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--window", "16", "--horizon", "3", *extra])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1]


def test_a_damaged_head_in_a_run_config_is_refused(cli_run, tmp_path):
    import shutil

    _, run = cli_run
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    config = json.loads((copy / "config.json").read_text())
    config["head"] = [0.5, 2.0]
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(InputError, match="is damaged \\(head"):
        Run(copy)


def test_point_runs_without_a_head_still_load(cli_run, tmp_path):
    import shutil

    _, run = cli_run
    copy = tmp_path / "old"
    shutil.copytree(run, copy)
    config = json.loads((copy / "config.json").read_text())
    del config["head"]  # a run folder written before heads existed
    (copy / "config.json").write_text(json.dumps(config))
    assert Run(copy).config.head is None
