"""One small model per series, many series at once: replicas that each train on their own data
set (``Trainer.fit(per_replica_data=True)``) end exactly where each trained alone ends."""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
import pytest

import jaxseq
from jaxseq import data, models, stopping, train

SEQ = data.chapter_data("multi_step", n_series=120)


def _per_series(n: int) -> list[data.Dataset]:
    """``n`` data sets of the same shapes with different windows (and so different series)."""
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        pick = {name: rng.permutation(len(getattr(SEQ, name)))[:40] for name in ("train", "valid")}
        out.append(
            dataclasses.replace(
                SEQ,
                train=data.Split(SEQ.train.X[pick["train"]], SEQ.train.Y[pick["train"]]),
                valid=data.Split(SEQ.valid.X[pick["valid"]], SEQ.valid.Y[pick["valid"]]),
            )
        )
    return out


def _stacked(datasets: list[data.Dataset]) -> data.Dataset:
    def stack(name):
        splits = [getattr(d, name) for d in datasets]
        return data.Split(np.stack([s.X for s in splits]), np.stack([s.Y for s in splits]))

    return dataclasses.replace(datasets[0], train=stack("train"), valid=stack("valid"))


@pytest.mark.parametrize("tracked", [False, True], ids=["fixed-epochs", "early-stopping"])
def test_each_replica_trains_on_its_own_data_as_if_alone(tracked):
    datasets = _per_series(3)
    seeds = [11, 12, 13]
    model = models.get("linear_multi", window=SEQ.window, horizon=SEQ.horizon)
    trainer = train.Trainer(model, batch_size=16, monitor="val_mse" if tracked else None)
    length = {"budget": stopping.Budget(max_steps=60, patience=9)} if tracked else {"epochs": 4}
    together = trainer.fit(_stacked(datasets), seeds=seeds, per_replica_data=True, **length)
    for k, (seed, one) in enumerate(zip(seeds, datasets, strict=True)):
        alone = trainer.fit(one, seeds=[seed], **length)
        got = train.replica(together.state.variables, k)
        want = train.replica(alone.state.variables, 0)
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=1e-6)
        if tracked:
            assert together.history.best_epoch[k] == alone.history.best_epoch[0]


def test_per_replica_data_needs_one_data_set_per_replica():
    datasets = _per_series(2)
    model = models.get("linear_multi", window=SEQ.window, horizon=SEQ.horizon)
    with pytest.raises(Exception, match="stacks 2 data sets for 3 replicas"):
        train.Trainer(model).fit(_stacked(datasets), seeds=3, epochs=1, per_replica_data=True)


@pytest.fixture(scope="module")
def fitted():
    """A 5-series panel (two lengths: two groups, chunks of two), its global model and its
    local models."""
    from jaxseq.app.panel import table as panel_table
    from jaxseq.app.panel import training as panel_training

    rng = np.random.default_rng(3)
    lengths = [90, 90, 120, 90, 120]
    arrays = [np.sin(np.arange(n) / (2 + k)) + rng.normal(0, 0.1, n) for k, n in enumerate(lengths)]
    one = panel_table.from_arrays(arrays)
    result = panel_training.fit_panel(
        one, model="linear_multi", window=12, horizon=3, seeds=2, epochs=3
    )
    return arrays, result, panel_training.fit_local(result, chunk=2)


def _one_series(pdata, i: int) -> dict[str, data.Split]:
    """Series ``i``'s own windows of every split, as a loop over the series would train it."""
    return {
        s: data.Split(
            pdata.dataset.split(s).X[pdata.rows(s, i)], pdata.dataset.split(s).Y[pdata.rows(s, i)]
        )
        for s in ("train", "valid", "test")
    }


def test_local_models_of_a_panel_equal_a_loop_over_its_series(fitted):
    from jaxseq.app import workflow

    arrays, result, local = fitted
    config, pdata = result.config, result.data
    trainer = workflow.make_trainer(config, result.model, len(pdata.dataset.train))
    for i in range(len(arrays)):
        splits = _one_series(pdata, i)
        alone = trainer.fit(
            dataclasses.replace(pdata.dataset, **splits),
            seeds=train.replica_keys(config.seeds),
            epochs=config.epochs,
        )
        want = workflow.predict_units(
            result.model, alone.state.variables, pdata.scalers[i], config, splits["test"].X
        )
        got = local.forecasts["test"][:, pdata.rows("test", i)]
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
        assert len(local.history[i]["metrics"]["loss"][0]) == config.seeds


def test_local_early_stopping_equals_each_series_stopping_alone(fitted):
    """With a patience, every replica stops on its own series' validation loss and keeps its
    best epoch, exactly as that series trained alone with the same budget would."""
    from jaxseq.app import workflow
    from jaxseq.app.panel import training as panel_training

    arrays, result, _ = fitted
    local = panel_training.fit_local(result, chunk=2, max_steps=400, patience=40)
    config = dataclasses.replace(
        result.config, **workflow.budget_options(None, 400, 40, result.config.schedule)
    )
    pdata = result.data
    trainer = workflow.make_trainer(config, result.model, len(pdata.dataset.train))
    stops = set()
    for i in range(len(arrays)):
        splits = _one_series(pdata, i)
        alone = trainer.fit(
            dataclasses.replace(pdata.dataset, **splits),
            seeds=train.replica_keys(config.seeds),
            budget=workflow.budget_for(config, len(splits["train"])),
        )
        want = workflow.predict_units(
            result.model, alone.state.variables, pdata.scalers[i], config, splits["test"].X
        )
        got = local.forecasts["test"][:, pdata.rows("test", i)]
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
        assert local.history[i]["best_epoch"] == alone.history.to_json()["best_epoch"]
        stops.update(local.history[i]["stop_epoch"])
    assert len(stops) > 1, "the check needs series that stopped at different epochs"
    with pytest.raises(jaxseq.InputError, match="needs a patience"):
        panel_training.fit_local(result, max_steps=400)


def _valid_mae(result, i: int) -> float:
    """Series ``i``'s validation MAE of the seeds' average forecast, by hand."""
    from jaxseq.app.panel import scores as panel_scores

    pdata = result.data
    truth, _ = panel_scores.truth_and_baseline(result.config, pdata, "valid", result.season)
    rows = pdata.rows("valid", i)
    return float(np.abs(result.forecasts["valid"][:, rows].mean(0) - truth[rows]).mean())


def test_the_pick_per_series_reads_validation_alone(fitted):
    from jaxseq.app.panel import scores as panel_scores
    from jaxseq.app.panel import training as panel_training

    _, result, local = fitted
    results = {"global": result, "local": local}
    choice, picked = panel_training.pick_per_series(results)
    ids = result.data.ids
    # one series' MASE scale is shared by both results: the lower MAE is the lower MASE
    want = {
        key: min(results, key=lambda label, i=i: _valid_mae(results[label], i))
        for i, key in enumerate(ids)
    }
    assert choice == want
    for i, key in enumerate(ids):
        rows = result.data.rows("test", i)
        np.testing.assert_array_equal(
            picked.forecasts["test"][:, rows], results[choice[key]].forecasts["test"][:, rows]
        )
    # test forecasts made worse (and so test scores) choose nothing
    spoiled = dataclasses.replace(
        local, forecasts={**local.forecasts, "test": local.forecasts["test"] + 1e3}
    )
    spoiled.scores = panel_scores.score_panel(
        local.config, local.data, spoiled.forecasts, local.season
    )
    assert panel_training.pick_per_series({"global": result, "local": spoiled})[0] == choice


def test_local_forecasts_use_each_series_own_model(fitted):
    from jaxseq import data as jdata
    from jaxseq.app import backtest
    from jaxseq.app.panel import forecast as panel_forecast

    arrays, result, local = fitted
    config = result.config
    got = panel_forecast.forecast_panel(local)
    for i, key in enumerate(result.data.ids):
        scaler = result.data.scalers[i]
        window = scaler.transform(arrays[i][-config.window :, None])[None]
        identity = jdata.Scaler.identity(1)
        z = backtest.predict_units(local.model, local.state[i].variables, identity, config, window)
        want = z[:, 0] * scaler.scale[0] + scaler.mean[0]  # [seeds, horizon, 1]
        np.testing.assert_allclose(got[key].per_seed, want, rtol=1e-6)
    # every series given the global model's state forecasts as the global model
    same = dataclasses.replace(local, state=(result.state,) * len(result.data.ids))
    as_local = panel_forecast.forecast_panel(same)
    as_global = panel_forecast.forecast_panel(result)
    for key in result.data.ids:
        np.testing.assert_allclose(
            as_local[key].per_seed, as_global[key].per_seed, rtol=1e-5, atol=1e-6
        )


def test_cli_panel_local_picks_per_series_and_says_which(fitted, tmp_path, capsys):
    import json

    import pandas as pd

    from jaxseq.app import cli

    arrays, _, _ = fitted
    path = tmp_path / "wide.csv"
    pd.DataFrame({f"s{k}": a[:90] for k, a in enumerate(arrays)}).to_csv(path, index=False)
    out = tmp_path / "out"
    args = ["panel", "--data", str(path), "--model", "linear_multi", "--window", "12"]
    args += ["--horizon", "3", "--epochs", "2", "--seeds", "2", "--local", "--out", str(out)]
    assert cli.main([*args, "--quiet"]) == 0
    capsys.readouterr()
    saved = json.loads((out / "panel.json").read_text())
    choice = saved["pick"]["choice"]
    assert set(choice) == {f"s{k}" for k in range(5)}
    for key, label in choice.items():
        mase = {
            "global model": saved["per_series"][key]["valid"]["model"]["issued"]["mase"],
            "one model per series": saved["local"]["per_series"][key]["valid"]["model"]["issued"][
                "mase"
            ],
        }
        assert label == min(mase, key=mase.get)
    rows = pd.read_csv(out / "forecast.csv")
    assert dict(zip(rows["id"], rows["model"], strict=True)) == choice
    assert "pick per series" in (out / "panel.md").read_text()


def test_cli_panel_local_early_stopping_options(fitted, tmp_path, capsys):
    import pandas as pd

    from jaxseq.app import cli

    arrays, _, _ = fitted
    path = tmp_path / "wide.csv"
    pd.DataFrame({f"s{k}": a[:90] for k, a in enumerate(arrays)}).to_csv(path, index=False)
    args = ["panel", "--data", str(path), "--model", "linear_multi", "--window", "12"]
    args += ["--horizon", "3", "--epochs", "2", "--seeds", "2", "--local", "--quiet"]
    assert cli.main([*args, "--local-max-steps", "50", "--out", str(tmp_path / "a")]) == 2
    assert "needs a patience" in capsys.readouterr().err
    budget = ["--local-patience", "10", "--local-max-steps", "50"]
    assert cli.main([*args, *budget, "--out", str(tmp_path / "b")]) == 0
    assert (tmp_path / "b" / "panel.json").exists()
