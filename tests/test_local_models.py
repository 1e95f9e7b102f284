"""One small model per series, many series at once: replicas that each train on their own data
set (``Trainer.fit(per_replica_data=True)``) end exactly where each trained alone ends."""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
import pytest

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


def test_local_models_of_a_panel_equal_a_loop_over_its_series():
    from jaxseq.app import global_model, panel, workflow

    rng = np.random.default_rng(3)
    lengths = [90, 90, 120, 90, 120]  # two shapes: two groups, chunks of two
    arrays = [np.sin(np.arange(n) / (2 + k)) + rng.normal(0, 0.1, n) for k, n in enumerate(lengths)]
    one = panel.from_arrays(arrays)
    result = global_model.fit_panel(
        one, model="linear_multi", window=12, horizon=3, seeds=2, epochs=3
    )
    local = global_model.fit_local(result, chunk=2)
    config, pdata = result.config, result.data
    trainer = workflow.make_trainer(config, result.model, len(pdata.dataset.train))
    for i in range(len(arrays)):
        splits = {
            s: data.Split(
                pdata.dataset.split(s).X[pdata.rows(s, i)],
                pdata.dataset.split(s).Y[pdata.rows(s, i)],
            )
            for s in ("train", "valid", "test")
        }
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
