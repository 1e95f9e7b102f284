"""A point network's training loss (``loss="mae"``): the loss and its gradient against NumPy,
the epoch kept by the lowest validation MAE, and the option through every entry point."""

import dataclasses
import json

import jax
import numpy as np
import pandas as pd
import pytest

import jaxseq
from jaxseq import data, models, stopping, train
from jaxseq.app import compare, compare_table, runs, workflow
from jaxseq.app.cli import main
from jaxseq.app.settings import check_settings

SMALL = data.chapter_data("one_step", n_series=200)


def test_mae_loss_and_its_gradient_match_numpy():
    """``mean |X w + b - y|`` and its gradient ``X^T sign(X w + b - y) / n`` by hand."""
    model = models.get("linear", window=6, loss="mae")
    variables = model.init(jax.random.PRNGKey(0))
    rng = np.random.default_rng(1)
    X = rng.normal(size=(16, 6, 1)).astype(np.float32)
    Y = rng.normal(size=(16, 1)).astype(np.float32)
    kernel = np.asarray(variables["params"]["head"]["kernel"])
    bias = np.asarray(variables["params"]["head"]["bias"])
    error = X.reshape(16, 6) @ kernel + bias - Y
    loss, _ = train.loss_fn(model, variables["params"], {}, X, Y, None)
    np.testing.assert_allclose(float(loss), np.abs(error).mean(), rtol=1e-6)
    grads = jax.grad(lambda p: train.loss_fn(model, p, {}, X, Y, None)[0])(variables["params"])
    np.testing.assert_allclose(
        grads["head"]["kernel"], X.reshape(16, 6).T @ np.sign(error) / error.size, rtol=1e-5
    )
    np.testing.assert_allclose(grads["head"]["bias"], np.sign(error).mean(0), rtol=1e-5)
    mse_loss, _ = train.loss_fn(models.get("linear", window=6), variables["params"], {}, X, Y, None)
    np.testing.assert_allclose(float(mse_loss), np.square(error).mean(), rtol=1e-6)


def test_each_replica_keeps_the_epoch_of_its_lowest_validation_mae():
    model = models.get("linear", loss="mae")
    monitor = workflow.selection_metric(model)
    assert monitor == "val_mae"
    seq2seq = models.get("rnn_seq2seq", horizon=3, loss="mae")
    assert workflow.selection_metric(seq2seq) == "val_last_step_mae"
    trainer = train.Trainer(model, learning_rate=0.05, monitor=monitor)
    result = trainer.fit(SMALL, seeds=[0, 1], budget=stopping.Budget(max_steps=150, patience=10))
    history = result.history
    curve = history.curve("val_mae")
    pred = train.predict(
        model, jax.tree_util.tree_map(lambda a: a[0], result.state.variables), SMALL.valid.X
    )
    for i, best in enumerate(history.best_epoch):
        assert np.nanargmin(curve[:, i]) + 1 == best
    # the curve is the MAE of the forecasts on the validation windows
    kept = np.abs(np.asarray(pred) - np.asarray(SMALL.valid.Y)).mean()
    np.testing.assert_allclose(kept, np.nanmin(curve[:, 0]), rtol=1e-5)


def test_a_loss_beside_a_head_or_an_unknown_loss_is_refused_everywhere(tmp_path, capsys):
    path = tmp_path / "s.csv"
    pd.DataFrame({"y": np.sin(np.arange(80) / 3)}).to_csv(path, index=False)
    with pytest.raises(jaxseq.InputError) as error:
        check_settings(horizon=2, window=4, loss="mae", head="normal")
    message = str(error.value)
    assert "a probabilistic head trains on its own loss" in message
    for call in (
        lambda: models.get("linear_multi", head="normal", loss="mae"),
        lambda: compare.compare(str(path), horizon=2, window=4, head="normal", loss="mae"),
        lambda: jaxseq.Forecaster(horizon=2, window=4, quantiles=[0.1, 0.9], loss="mae"),
    ):
        with pytest.raises(jaxseq.InputError, match="trains on its own loss"):
            call()
    with pytest.raises(jaxseq.InputError, match="unknown loss 'l1'; choose one of mse, mae"):
        models.get("linear", loss="l1")
    argv = ["compare", "--data", str(path), "--horizon", "2", "--window", "4"]
    assert main([*argv, "--distribution", "normal", "--loss", "mae"]) == 2
    assert "trains on its own loss" in capsys.readouterr().err


def test_the_loss_travels_with_a_run_configuration(tmp_path):
    """``make_config`` takes the loss, ``config.json`` keeps it and the model rebuilt from it
    trains on it; a configuration written before the option builds an MSE model."""
    path = tmp_path / "s.csv"
    pd.DataFrame({"y": np.sin(np.arange(80) / 3)}).to_csv(path, index=False)
    config = workflow.make_config(
        "linear_multi",
        str(path),
        None,
        None,
        window=4,
        horizon=2,
        seeds=1,
        max_steps=20,
        loss="mae",
    )
    raw = json.loads(json.dumps(dataclasses.asdict(config)))
    assert runs._parse_config(raw, path) == config
    assert workflow.build_model(config).loss == "mae"
    raw.pop("loss")
    assert workflow.build_model(runs._parse_config(raw, path)).loss == "mse"


def test_compare_records_the_loss(tmp_path):
    values = np.sin(np.arange(90) / 2.0) + 0.01 * np.arange(90)
    result = compare.compare(
        values,
        horizon=3,
        window=8,
        models=["linear_multi"],
        seeds=2,
        max_steps=60,
        patience=20,
        classical=False,
        combine=False,
        loss="mae",
        clip_norm=1,
        jobs=1,
    )
    assert result["settings"]["loss"] == "mae"
    assert result["settings"]["clip_norm"] == 1.0
    text = compare_table.markdown(result)
    assert "trained on the MAE, gradients clipped to a norm of 1" in text
