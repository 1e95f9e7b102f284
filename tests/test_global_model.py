"""One global model on a panel (:mod:`jaxseq.app.panel.training`): copies of one series against each
other and against the single-series path, per-series metrics against NumPy, series of
different lengths and start dates, windows that never cross series, errors, the CLI and a tiny
P1. Small data and the linear model (one compiled epoch per data shape)."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest

from jaxseq import data
from jaxseq.app import cli, workflow
from jaxseq.app.panel import forecast as panel_forecast
from jaxseq.app.panel import scores as panel_scores
from jaxseq.app.panel import table as panel_table
from jaxseq.app.panel import training as panel_training
from jaxseq.bench import harness as bench
from jaxseq.errors import InputError

SETTINGS = dict(model="linear_multi", window=6, horizon=2, valid_size=4, test_size=4)


def _series(length: int, seed: int) -> np.ndarray:
    t = np.arange(length)
    rng = np.random.default_rng(seed)
    return (np.sin(t / 3 + seed) + 0.1 * rng.normal(size=length) + seed).astype(np.float32)


@pytest.fixture(scope="module")
def copies():
    """Three copies of one series, trained together, 2 seeds, 3 epochs."""
    one = _series(40, 1)
    result = panel_training.fit_panel(
        panel_table.from_arrays([one, one, one], ids=["a", "b", "c"]), seeds=2, epochs=3, **SETTINGS
    )
    return one, result


def test_copies_of_one_series_get_the_same_forecasts_and_metrics(copies):
    _, result = copies
    for split in ("valid", "test"):
        a = result.series_forecasts("a", split)
        for key in ("b", "c"):
            # the same parameters applied to the same scaled windows (same scaler): equal up
            # to the batch position's float rounding
            np.testing.assert_allclose(result.series_forecasts(key, split), a, rtol=1e-6)
            got = result.scores["per_series"][key][split]["model"]
            want = result.scores["per_series"]["a"][split]["model"]
            for m in ("mae", "rmse", "mase", "smape"):
                assert got[m]["mean"] == pytest.approx(want[m]["mean"], rel=1e-6)


def test_copies_equal_the_single_series_trained_on_its_windows_repeated(copies):
    """N copies train on N times the windows, so they do not equal one series trained alone;
    they do equal one series trained on its own windows repeated N times in the panel's
    order (series-major): the same arrays, the same shuffles, the same parameters."""
    one, result = copies
    config = result.config
    single = workflow.dataset_for(config, panel_table.from_arrays([one]).series[0])
    tiled = {
        s: data.Split(
            np.concatenate([single.split(s).X] * 3), np.concatenate([single.split(s).Y] * 3)
        )
        for s in ("train", "valid", "test")
    }
    np.testing.assert_array_equal(tiled["train"].X, result.data.dataset.train.X)
    model, state, _ = workflow.fit_state(config, dataclasses.replace(single, **tiled))
    want = workflow.predict_units(model, state.variables, single.scaler, config, single.test.X)
    np.testing.assert_allclose(result.series_forecasts("a", "test"), want, rtol=1e-5, atol=1e-6)


def test_a_panel_of_one_series_is_the_single_series_path(copies):
    one, result = copies
    config = result.config
    alone = panel_training.fit_panel(panel_table.from_arrays([one]), seeds=2, epochs=3, **SETTINGS)
    single = workflow.dataset_for(config, panel_table.from_arrays([one]).series[0])
    model, state, _ = workflow.fit_state(config, single)
    want = workflow.predict_units(model, state.variables, single.scaler, config, single.test.X)
    np.testing.assert_allclose(alone.forecasts["test"], want, rtol=1e-6, atol=1e-7)


def test_sharded_panel_training_matches_one_device(copies):
    """Data parallel over the devices there are (one on this CPU; the mesh, the sharding
    constraints and the gathering still run): the same forecasts up to float rounding."""
    one, result = copies
    sharded = panel_training.fit_panel(
        panel_table.from_arrays([one, one, one], ids=["a", "b", "c"]),
        seeds=2,
        epochs=3,
        sharded="data",
        **SETTINGS,
    )
    np.testing.assert_allclose(
        sharded.forecasts["test"], result.forecasts["test"], rtol=1e-4, atol=1e-5
    )


def _reference(values, protocol, pred, horizon, season):
    """Hand-computed per-seed MAE, RMSE, MASE, sMAPE of one series' test forecasts."""
    y = np.asarray(values, np.float64).reshape(len(values), -1)[:, 0]
    origins = protocol.origins("test")
    truth = np.stack([y[o : o + horizon] for o in origins])  # [windows, horizon]
    train = y[: protocol.train_end]
    s = np.mean(np.abs(train[season:] - train[:-season]))
    out = []
    for p in pred[..., 0]:  # [windows, horizon] per seed
        e = truth - p
        out.append(
            {
                "mae": np.mean(np.abs(e)),
                "rmse": np.sqrt(np.mean(e**2)),
                "mase": np.mean(np.abs(e)) / s,
                "smape": np.mean(200 * np.abs(e) / (np.abs(truth) + np.abs(p))),
                "naive_mae": np.mean(
                    np.abs(truth - np.stack([y[o - 1] for o in origins])[:, None])
                ),
            }
        )
    return out


def test_per_series_and_aggregate_metrics_match_numpy():
    arrays = [_series(40, 1), _series(31, 2), _series(52, 3)]
    result = panel_training.fit_panel(
        panel_table.from_arrays(arrays), seeds=2, epochs=2, **SETTINGS
    )
    assert result.season == 1  # no frequency: seasonal naive is the naive forecast
    mases, errors = [], []
    for i, key in enumerate(result.data.ids):
        pred = result.series_forecasts(key, "test")
        ref = _reference(arrays[i], result.data.protocols[i], pred, 2, 1)
        row = result.scores["per_series"][key]["test"]
        for m in ("mae", "rmse", "mase", "smape"):
            assert row["model"][m]["mean"] == pytest.approx(np.mean([r[m] for r in ref]), rel=1e-9)
            assert row["model"][m]["max"] == pytest.approx(max(r[m] for r in ref), rel=1e-9)
        assert row["seasonal_naive"]["mae"]["mean"] == pytest.approx(ref[0]["naive_mae"], rel=1e-9)
        mases.append([r["mase"] for r in ref])
        origins = result.data.protocols[i].origins("test")
        truth = np.stack([arrays[i][o : o + 2] for o in origins])
        errors.append(np.abs(truth[None] - pred[..., 0]).reshape(2, -1))
    agg = result.scores["aggregate"]["test"]["model"]
    assert agg["mase"]["mean"] == pytest.approx(np.mean(mases), rel=1e-9)
    assert agg["mase"]["max"] == pytest.approx(np.max(np.mean(mases, axis=0)), rel=1e-9)
    pooled = np.concatenate(errors, axis=1).mean(axis=1)  # every window of every series
    assert agg["pooled_mae"]["mean"] == pytest.approx(pooled.mean(), rel=1e-6)
    json.dumps(result.to_json())


def _long(lengths: dict[str, int], starts: dict[str, str]) -> pd.DataFrame:
    parts = []
    for k, (key, n) in enumerate(lengths.items()):
        dates = pd.date_range(starts[key], periods=n, freq="MS")
        parts.append(
            pd.DataFrame({"store": key, "date": dates.strftime("%Y-%m-%d"), "y": _series(n, k)})
        )
    return pd.concat(parts, ignore_index=True)


def test_series_of_different_lengths_and_start_dates():
    lengths = {"north": 60, "south": 41, "east": 50}
    starts = {"north": "2001-01-01", "south": "2003-06-01", "east": "2002-02-01"}
    loaded = panel_table.load_panel(_long(lengths, starts), id_column="store", time_column="date")
    result = panel_training.fit_panel(loaded, seeds=1, epochs=2, **SETTINGS)
    assert result.season == 12  # monthly dates
    for i, key in enumerate(result.data.ids):
        n = lengths[key]
        protocol = result.data.protocols[i]
        assert (protocol.length, protocol.train_end, protocol.valid_end) == (n, n - 8, n - 4)
        rows = result.data.rows("train", i)
        assert rows.stop - rows.start == (n - 8) - 2 - 6 + 1  # origins 6 .. train_end - horizon
        assert result.series_forecasts(key, "test").shape == (1, 3, 2, 1)
    assert len(result.data.dataset.train) == sum(n - 8 - 7 for n in lengths.values())
    forecasts = panel_forecast.forecast_panel(result, 2)
    assert set(forecasts) == set(lengths)
    assert forecasts["south"].per_seed.shape == (1, 2, 1)
    with pytest.raises(InputError, match="exceeds the model's horizon 2"):
        panel_forecast.forecast_panel(result, 3)


def test_no_window_crosses_from_one_series_into_another():
    offsets = [1000.0, 2000.0, 3000.0, 4000.0]
    arrays = [
        o + np.arange(n, dtype=np.float32) / 100
        for o, n in zip(offsets, (20, 33, 25, 40), strict=True)
    ]
    loaded = panel_table.from_arrays(arrays)
    config = panel_training.panel_config(loaded, normalize="none", **SETTINGS)
    pdata = panel_training.panel_data(loaded, config)  # normalize "none": values as given
    for split in ("train", "valid", "test"):
        ds = pdata.dataset.split(split)
        index, origins = pdata.series_index(split), pdata.origins(split)
        assert len(index) == len(ds) == len(origins)
        both = np.concatenate([ds.X[..., 0], ds.Y], axis=1)  # every value a window touches
        owner = np.floor(both / 1000) - 1
        assert np.all(owner == index[:, None])  # each window from one series only
        for w in range(len(ds)):  # and from the right place of it
            v = arrays[index[w]]
            np.testing.assert_array_equal(ds.X[w, :, 0], v[origins[w] - 6 : origins[w]])
            np.testing.assert_array_equal(ds.Y[w], v[origins[w] : origins[w] + 2])


def test_a_series_too_short_is_refused_by_id_or_skipped():
    arrays = [_series(40, 1), _series(12, 2), _series(30, 3)]
    loaded = panel_table.from_arrays(arrays, ids=["long", "tiny", "mid"])
    config = panel_training.panel_config(loaded, **SETTINGS)
    with pytest.raises(InputError, match=r"^series 'tiny' has 12 steps, too short .*skip_short"):
        panel_training.panel_data(loaded, config)
    kept = panel_training.panel_data(loaded, config, skip_short=True)
    assert kept.ids == ("long", "mid") and kept.skipped == {"tiny": 12}
    with pytest.raises(InputError, match="every series of the panel is too short"):
        panel_training.panel_data(panel_table.from_arrays([arrays[1]]), config, skip_short=True)
    with pytest.raises(InputError, match="target column 'sales' is not among the input columns"):
        panel_training.panel_config(loaded, targets=["sales"], **SETTINGS)


def _run_cli(args, capsys):
    code = cli.main(args)
    return code, capsys.readouterr()


def test_cli_panel_trains_and_writes_results(tmp_path, capsys):
    path = tmp_path / "stores.csv"
    _long({"a": 40, "b": 30}, {"a": "2001-01-01", "b": "2002-01-01"}).to_csv(path, index=False)
    out = tmp_path / "out"
    common = ["panel", "--data", str(path), "--model", "linear_multi", "--window", "6"]
    common += ["--horizon", "2", "--valid-size", "4", "--test-size", "4", "--epochs", "1"]
    code, _ = _run_cli(
        [
            *common,
            "--id-column",
            "store",
            "--time-column",
            "date",
            "--seeds",
            "2",
            "--out",
            str(out),
            "--quiet",
        ],
        capsys,
    )
    assert code == 0
    saved = json.loads((out / "panel.json").read_text())
    assert set(saved["per_series"]) == {"a", "b"}
    assert saved["settings"]["season"] == 12
    rows = pd.read_csv(out / "forecast.csv")
    assert len(rows) == 2 * 2 and set(rows["id"]) == {"a", "b"}
    wide = tmp_path / "wide.csv"  # without --id-column every value column is a series
    pd.DataFrame({"x": _series(30, 1), "y": _series(30, 2)}).to_csv(wide, index=False)
    common_wide = [*common[:2], str(wide), *common[3:]]
    code, _ = _run_cli([*common_wide, "--out", str(tmp_path / "w"), "--quiet"], capsys)
    assert code == 0
    assert set(json.loads((tmp_path / "w" / "panel.json").read_text())["per_series"]) == {"x", "y"}
    for extra, message in (
        (["--id-column", "shop"], "no id column 'shop'"),
        (["--id-column", "store", "--column", "units"], "no column 'units'"),
        (["--id-column", "store", "--window", "30"], "series 'b' has 30 steps, too short"),
    ):
        code, captured = _run_cli(
            [*common, "--time-column", "date", *extra, "--out", str(out)], capsys
        )
        lines = captured.err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and message in lines[0], captured.err


def test_p1_bench_workload_reports_windows_per_second():
    sizes = {
        "P1": dict(
            name="linear_multi", n_series=20, length=30, window=6, horizon=2, replicas=(1, 2)
        )
    }
    result = bench.run_bench(
        ["P1"], peers=[], rounds=1, budget=0.1, out=None, log=lambda s: None, sizes=sizes
    )
    rows = result["workloads"][0]["panel"]
    assert [r["replicas"] for r in rows] == [1, 2]
    assert all(r["windows_per_second"] > 0 for r in rows)
    assert "**P1**" in bench.markdown(result)


TWO_DEVICES = """
import json, sys
import jax, numpy as np
from jaxseq.app.panel import training as panel_training
from jaxseq.app.panel import table as panel_table
t = np.arange(40)
series = [np.sin(t / 3 + k) + k for k in range(3)]
settings = dict(model="linear_multi", window=6, horizon=2, valid_size=4, test_size=4,
                seeds=2, epochs=3, batch_size=8)
one = panel_training.fit_panel(panel_table.from_arrays(series), **settings)
two = panel_training.fit_panel(panel_table.from_arrays(series), sharded="data", **settings)
print("RESULT " + json.dumps({"devices": jax.device_count(),
                              "one": one.forecasts["test"].tolist(),
                              "two": two.forecasts["test"].tolist()}))
"""


@pytest.mark.slow
def test_panel_data_parallel_over_two_devices_matches_one():
    """Each minibatch split over two forced host devices gives the one-device forecasts."""
    import subprocess
    import sys

    from jaxseq import distributed

    proc = subprocess.run(
        [sys.executable, "-c", TWO_DEVICES],
        env=distributed.forced_cpu_env(2),
        capture_output=True,
        text=True,
        timeout=300,
    )
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, proc.stderr[-3000:]
    out = json.loads(line[len("RESULT ") :])
    assert out["devices"] == 2
    np.testing.assert_allclose(out["two"], out["one"], rtol=1e-4, atol=1e-5)


def test_a_probabilistic_panel_scores_each_series_against_a_numpy_pinball():
    series = [_series(40, 1), _series(46, 2)]
    result = panel_training.fit_panel(
        panel_table.from_arrays(series, ids=["a", "b"]),
        seeds=2,
        epochs=2,
        head=(0.1, 0.9),
        **SETTINGS,
    )
    q = result.scores["quantiles"]
    assert q["levels"] == [0.1, 0.5, 0.9]
    quantiles = panel_scores.predict_panel_quantiles(
        result.model, result.state.variables, result.config, result.data, "test"
    )
    assert quantiles.shape[-1] == 3 and np.all(np.diff(quantiles, axis=-1) >= 0)
    # series "b" by hand: seed-averaged quantiles, pinball over levels, scaled by its MASE scale
    rows = result.data.rows("test", 1)
    qb = quantiles[:, rows].mean(0)
    truth = np.stack([series[1][o : o + 2] for o in result.data.protocols[1].origins("test")])[
        ..., None
    ].astype(np.float64)
    tau = np.array([0.1, 0.5, 0.9])
    err = truth[..., None] - qb
    pin = np.maximum(tau * err, (tau - 1) * err).mean()
    train = series[1][: result.data.protocols[1].train_end].astype(np.float64)
    scale = np.mean(np.abs(np.diff(train)))
    got = q["per_series"]["b"]["test"]["scaled_pinball"]
    assert got == pytest.approx(pin / scale, rel=1e-5)
    inside = (truth >= qb[..., 0]) & (truth <= qb[..., 2])
    assert q["per_series"]["b"]["test"]["intervals"][0]["coverage"] == pytest.approx(inside.mean())
    assert "quantiles at levels 0.1, 0.5, 0.9" in panel_scores.markdown({"g": result}, title="t")
    assert result.to_json()["quantiles"]["levels"] == [0.1, 0.5, 0.9]
    rows = panel_forecast.forecast_records(panel_forecast.forecast_panel(result))
    assert len(rows) == 4 and all(r["q0.1"] <= r["q0.5"] <= r["q0.9"] for r in rows)


def test_a_probabilistic_panel_is_calibrated_on_every_series_windows_scale_free():
    """Pooled conformal calibration by hand: every series' validation scores divided by the
    series' scale, their ceil((n + 1) 0.8)-th smallest, moved back by each series' scale."""
    series = [_series(40, 1), 10 * _series(46, 2) + 5]
    result = panel_training.fit_panel(
        panel_table.from_arrays(series, ids=["a", "b"]),
        seeds=2,
        epochs=2,
        head=(0.1, 0.9),
        **SETTINGS,
    )
    pdata, config = result.data, result.config
    q = {
        split: panel_scores.predict_panel_quantiles(
            result.model, result.state.variables, config, pdata, split
        ).mean(0)[..., 0, :]  # the seeds' average, one target: [windows, horizon, 3]
        for split in ("valid", "test")
    }
    truth, scale, where = {}, {}, {}
    for split in ("valid", "test"):
        parts = [
            np.stack([v[o : o + 2] for o in pdata.protocols[i].origins(split)]).astype(float)
            for i, v in enumerate(series)
        ]
        truth[split] = np.concatenate(parts)
        scale[split] = np.concatenate(
            [np.full(len(p), pdata.scalers[i].scale[0]) for i, p in enumerate(parts)]
        )[:, None]
        where[split] = np.concatenate([np.full(len(p), i) for i, p in enumerate(parts)])
    lo, hi = q["valid"][..., 0], q["valid"][..., 2]
    score = np.maximum(lo - truth["valid"], truth["valid"] - hi) / scale["valid"]
    n = len(score)
    want = np.sort(score, axis=0)[min(math.ceil((n + 1) * 0.8), n) - 1]  # per step
    got = result.scores["quantiles"]
    np.testing.assert_allclose(np.asarray(got["offsets"])[:, 0, 0], want, rtol=1e-9)
    low = q["test"][..., 0] - want * scale["test"]
    high = q["test"][..., 2] + want * scale["test"]
    inside = (truth["test"] >= low) & (truth["test"] <= high)
    agg = got["aggregate"]["test_calibrated"]["intervals"][0]
    assert agg["coverage"] == pytest.approx(inside.mean())
    b = where["test"] == 1
    per_b = got["per_series"]["b"]["test_calibrated"]["intervals"][0]
    assert per_b["coverage"] == pytest.approx(inside[b].mean())
    assert per_b["width"] == pytest.approx((high - low)[b].mean())
    # the forecast's intervals are moved by the same offsets, in each series' units
    forecast = panel_forecast.forecast_panel(result)["b"]
    mean = forecast.quantiles.mean(0)[:, 0]
    np.testing.assert_allclose(
        forecast.quantile_mean[:, 0, 2], mean[:, 2] + want * pdata.scalers[1].scale[0]
    )
    assert "test_calibrated" in panel_scores.markdown({"g": result}, title="t")
