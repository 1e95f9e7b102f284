"""Covariates: lead features of known-future columns, calendar columns, errors, the CLI."""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jaxseq import data
from jaxseq.app import calendar, covariates, workflow
from jaxseq.app.cli import main
from jaxseq.app.io import load_series
from jaxseq.app.runs import Run
from jaxseq.errors import InputError

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WINDOW, HORIZON, LENGTH, TRAILING = 8, 3, 80, 3


def lead_reference(data_, origin, window, horizon, future):
    """A plain loop of the layout: step t's row, then data[i + 1 + k, future[j]] step-major."""
    rows = []
    for t in range(window):
        i = origin - window + t
        row = list(data_[i])
        for k in range(horizon):
            for j in future:
                row.append(data_[i + 1 + k, j])
        rows.append(row)
    return np.asarray(rows, np.float32)


@st.composite
def cases(draw):
    window = draw(st.integers(1, 6))
    horizon = draw(st.integers(1, 4))
    length = draw(st.integers(window + horizon, window + horizon + 10))
    origin = draw(st.integers(window, length - horizon))
    seed = draw(st.integers(0, 2**16))
    values = np.random.default_rng(seed).normal(size=(length, 3)).astype(np.float32)
    return values, window, horizon, origin


@SETTINGS
@given(cases(), st.data())
def test_past_covariate_never_read_at_or_after_origin(case, draws):
    values, window, horizon, origin = case
    X, _ = data.windows_at(values, [origin], window, horizon, "multi_step", [0], [2])
    at = draws.draw(st.integers(origin, len(values) - 1))
    changed = values.copy()
    changed[at, 1] += 100.0  # column 1: a past covariate
    changed[at, 0] += 100.0  # the target is never an input at or after the origin either
    X2, _ = data.windows_at(changed, [origin], window, horizon, "multi_step", [0], [2])
    np.testing.assert_array_equal(X, X2)


@SETTINGS
@given(cases(), st.data())
def test_future_covariate_read_inside_the_horizon_only(case, draws):
    values, window, horizon, origin = case
    X, _ = data.windows_at(values, [origin], window, horizon, "seq2seq", [0], [2])
    assert X.shape == (1, window, 3 + horizon)
    if origin + horizon < len(values):
        after = draws.draw(st.integers(origin + horizon, len(values) - 1))
        changed = values.copy()
        changed[after, 2] += 100.0
        X2, _ = data.windows_at(changed, [origin], window, horizon, "seq2seq", [0], [2])
        np.testing.assert_array_equal(X, X2)
    k = draws.draw(st.integers(0, horizon - 1))
    changed = values.copy()
    changed[origin + k, 2] += 100.0
    X3, _ = data.windows_at(changed, [origin], window, horizon, "seq2seq", [0], [2])
    assert X3[0, -1, 3 + k] != X[0, -1, 3 + k]
    np.testing.assert_array_equal(X[0, -1, 3:], values[origin : origin + horizon, 2])


def test_lead_features_match_a_loop():
    rng = np.random.default_rng(1)
    values = rng.normal(size=(30, 4))
    origins = [5, 11, 27]
    X, Y = data.windows_at(values, origins, 5, 3, "multi_step", [0], [3, 1])
    assert X.shape == (3, 5, 4 + 3 * 2)
    for n, o in enumerate(origins):
        np.testing.assert_allclose(X[n], lead_reference(values, o, 5, 3, [3, 1]), rtol=1e-6)
        np.testing.assert_allclose(Y[n], values[o : o + 3, 0].astype(np.float32))


def test_no_future_is_the_old_layout():
    values = np.arange(40.0).reshape(20, 2)
    X, _ = data.windows_at(values, [4, 9], 4, 2, "one_step", [0])
    np.testing.assert_array_equal(X[1], values[5:9])


def test_protocol_origins_have_their_leads():
    values = np.random.default_rng(2).normal(size=(60, 2))
    protocol = data.make_protocol(60, window=6, horizon=4, valid_size=10, test_size=10)
    ds = data.windows_for(values, protocol, "multi_step", [0], [1])
    last = ds.origins("test")[-1]
    assert last + 4 == 60  # the last origin's horizon ends the series, and so do its leads
    np.testing.assert_allclose(ds.test.X[-1, -1, 2:], values[56:60, 1].astype(np.float32))


def test_bad_future_index_is_refused():
    with pytest.raises(InputError, match="future must be column indices"):
        data.windows_at(np.zeros((10, 2)), [4], 3, 2, "multi_step", [0], [5])


# --------------------------------------------------------------------------- files


def sales_frame(length=LENGTH, trailing=TRAILING, seed=0):
    rng = np.random.default_rng(seed)
    n = length + trailing
    promo = (rng.random(n) < 0.3).astype(float)
    sales = 5 + np.sin(np.arange(n) / 3) + 2 * promo + 0.1 * rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "date": pd.date_range("2021-01-04", periods=n, freq="D").strftime("%Y-%m-%d"),
            "sales": sales,
            "temp": rng.normal(size=n),
            "promo": promo,
        }
    )
    frame.loc[length:, ["sales", "temp"]] = np.nan
    return frame


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("cov") / "sales.csv"
    sales_frame().to_csv(path, index=False)
    return path


def config_for(path, **options):
    options = {"past_covariates": ["temp"], "future_covariates": ["promo"], **options}
    return workflow.make_config(
        "encoder_decoder",
        str(path),
        None,
        ["sales"],
        window=WINDOW,
        horizon=HORIZON,
        seeds=2,
        epochs=1,
        time_column="date",
        valid_size=10,
        test_size=10,
        **options,
    )


def test_config_orders_inputs_and_drops_trailing_rows(csv):
    config = config_for(csv, calendar=True)
    assert config.columns == ["sales", "temp", "promo"]
    assert config.calendar == ["day_of_week", "day_of_year"]
    assert config.future_indices == [2, 3, 4, 5, 6]
    assert config.features == 3 + 4 + HORIZON * 5
    series = workflow.load_for(config)
    assert len(series.values) == LENGTH and np.isfinite(series.values).all()
    ds = workflow.dataset_for(config, series)
    assert ds.train.X.shape[-1] == config.features
    assert ds.origins("test")[-1] == LENGTH - HORIZON
    assert workflow.build_model(config).dims.future == 5


def test_calendar_columns_match_calendar_features(csv):
    config = config_for(csv, calendar=["month", "day_of_week"])
    series = workflow.load_for(config)
    scaler = workflow.fit_scaler(config, series.values, 50)
    rows = covariates.inputs(config, series, scaler)
    names, expected = calendar.calendar_features(series.time, ["month", "day_of_week"])
    assert names == ("month_sin", "month_cos", "day_of_week_sin", "day_of_week_cos")
    np.testing.assert_array_equal(rows[:, 3:], expected)  # identity: not rescaled
    np.testing.assert_allclose(rows[:, :3], scaler.transform(series.values))
    _, trailing = covariates.load(config)
    future = covariates.future_rows(config, series, trailing)
    times = calendar.future_times(series.time, series.freq, HORIZON)
    np.testing.assert_array_equal(
        future[:, 3:], calendar.calendar_features(times, ["month", "day_of_week"])[1]
    )
    assert np.isnan(future[:, :2]).all()  # target and past covariate: unknown, never read
    np.testing.assert_array_equal(future[:, 2], trailing[:HORIZON, 2])


@pytest.mark.parametrize(
    ("options", "match"),
    [
        (
            {"past_covariates": ["nope"]},
            r"--covariates names 'nope'.*columns are: sales, temp, promo",
        ),
        ({"future_covariates": ["sales"]}, r"'sales', which is the forecast target.*drop it"),
        ({"past_covariates": ["promo"]}, r"both a past .* and a future .*name it in one"),
        ({"calendar": ["moon"]}, r"'moon', which is no calendar feature"),
    ],
)
def test_covariate_errors(csv, options, match):
    with pytest.raises(InputError, match=match):
        config_for(csv, **options)


def test_calendar_needs_a_time_column(tmp_path):
    path = tmp_path / "plain.csv"
    sales_frame().drop(columns="date").to_csv(path, index=False)
    with pytest.raises(InputError, match=r"--calendar needs a time column of dates.*--time-column"):
        workflow.make_config(
            "encoder_decoder", str(path), None, ["sales"], window=8, horizon=3, seeds=1,
            epochs=1, calendar=True,
        )  # fmt: skip


def test_series_too_short(tmp_path):
    path = tmp_path / "short.csv"
    sales_frame(length=20).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"series has 20 steps, too short.*smaller --window"):
        config_for(path)


def test_missing_value_before_the_forecast_rows(tmp_path):
    frame = sales_frame()
    frame.loc[10, "promo"] = np.nan
    path = tmp_path / "gap.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match=r"missing value.*'promo'.*--fill"):
        config_for(path)
    assert len(workflow.load_for(config_for(path, fill="ffill")).values) == LENGTH


def test_old_run_config_loads_with_defaults(tmp_path, csv):
    run = Run.create(tmp_path / "run", config_for(csv), data.Scaler.identity(3))
    raw = json.loads((run.path / "config.json").read_text())
    for key in ("covariates", "future_covariates", "calendar"):
        raw.pop(key)
    raw["columns"] = ["sales"]
    (run.path / "config.json").write_text(json.dumps(raw))
    (run.path / "scaler.json").write_text(json.dumps({"mean": [0.0], "scale": [1.0]}))
    config = Run(run.path).config
    assert (config.covariates, config.future_covariates, config.calendar) == ([], [], [])
    assert config.future_indices == [] and config.features == 1


# --------------------------------------------------------------------------- command line


@pytest.fixture(scope="module")
def trained(csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    argv = ["train", "--model", "encoder_decoder", "--data", str(csv), "--time-column", "date"]
    argv += ["--target", "sales", "--covariates", "temp", "--future-covariates", "promo"]
    argv += ["--calendar", "--window", str(WINDOW), "--horizon", str(HORIZON)]
    argv += ["--epochs", "1", "--seeds", "2", "--valid-size", "10", "--test-size", "10"]
    assert main(argv + ["--out", str(out), "--quiet"]) == 0
    return out


def test_cli_round_trip_with_future_rows(trained, csv, tmp_path):
    out = tmp_path / "f.csv"
    assert main(["forecast", str(trained), "--steps", str(HORIZON), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert len(table) == HORIZON and np.isfinite(table["sales_mean"]).all()
    # the forecast reads the promotions: changing them changes it
    frame = sales_frame()
    frame.loc[LENGTH:, "promo"] = 1 - frame.loc[LENGTH:, "promo"]
    other = tmp_path / "other.csv"
    frame.to_csv(other, index=False)
    out2 = tmp_path / "f2.csv"
    argv = ["forecast", str(trained), "--data", str(other), "--steps", "2", "--out", str(out2)]
    assert main(argv) == 0
    assert not np.allclose(pd.read_csv(out2)["sales_mean"], table["sales_mean"][:2])
    assert main(["evaluate", str(trained), "--no-classical"]) == 0


def test_cli_missing_future_rows(trained, tmp_path, capsys):
    path = tmp_path / "no_future.csv"
    frame = sales_frame()
    frame.loc[LENGTH + 1 :, "promo"] = np.nan
    frame.to_csv(path, index=False)
    code = main(["forecast", str(trained), "--data", str(path), "--steps", "1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "'promo' has 1 of the 3 values" in err and "end the file with 3 rows" in err


def test_cli_unknown_covariate_exit_2(csv, capsys, tmp_path):
    argv = ["train", "--model", "encoder_decoder", "--data", str(csv), "--time-column", "date"]
    code = main(argv + ["--covariates", "price", "--out", str(tmp_path / "r"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "'price', which is not a column" in err and len(err.splitlines()) == 1


def test_loader_keeps_refusing_gaps_without_covariates(csv):
    with pytest.raises(InputError, match="missing value"):
        load_series(csv, ["sales"], time_column="date")


@pytest.mark.parametrize("head", [None, (0.1, 0.5, 0.9)])
def test_compare_with_covariates(csv, head):
    from jaxseq.app import compare

    result = compare.compare(
        str(csv),
        horizon=HORIZON,
        window=WINDOW,
        column="sales",
        models=["encoder_decoder"],
        seeds=2,
        epochs=1,
        valid_size=10,
        test_size=10,
        time_column="date",
        covariates=["temp"],
        future_covariates=["promo"],
        calendar=True,
        classical=False,
        head=head,
        jobs=1,
    )
    assert result["settings"]["length"] == LENGTH  # the trailing rows are not training data
    row = next(r for r in result["rows"] if r["model"] == "encoder_decoder")
    assert np.isfinite(row["test"]["mase"]["mean"])
