"""Retrain a chosen network on every target before the test part, for the epochs it kept.

``compare`` trains each network on the training part, stops every replica early on the first
validation windows and ranks and combines the candidates on the later ones. A classical model
fitted on the same training part still forecasts from a state filtered up to each origin; a
network forecasts with what its weights saw, so at every test origin it is older than the
classical model by the whole validation part. The networks ``compare`` hands the user (its
ensemble's members) are therefore retrained from their own initial keys on the training and
validation parts together, each replica for the number of epochs it kept (its best epoch), with
the series scaling and a hybrid's base model refitted on the same data. Validation chose every
setting before this (the members, their weights, the epoch counts); the refit reads no target
after the first test origin (:func:`refit_protocol`). Why and how much it helped, measured on
validation windows before it became the default: ``docs/forecasting.md``, "Refitting the
chosen networks".

A refit has no validation windows of its own, so it trains for a fixed number of epochs per
replica: every replica of a model trains ``max(epochs)`` epochs in one compiled program, and
each one's variables are copied to the host after its own last epoch (the epoch count, not the
step count, is kept: the longer training part has more steps per epoch, and each window is seen
as often as in the run that chose the count).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

import jax
import numpy as np

from jaxseq import data, models, stopping
from jaxseq.app import workflow
from jaxseq.app.backtest import predict_quantile_units, predict_units
from jaxseq.app.io import Series
from jaxseq.app.runs import Run, RunConfig
from jaxseq.errors import InputError
from jaxseq.history import TrainingDiverged
from jaxseq.train import Trainer, TrainState, replica, replica_keys


def refit_protocol(protocol: data.Protocol) -> data.Protocol:
    """``protocol`` with its training part grown to the first test origin: training targets in
    ``[0, valid_end)``, no validation origins, the test origins unchanged."""
    return dataclasses.replace(
        protocol, train_end=protocol.valid_end, select_start=None, calibrate_start=None
    )


@dataclasses.dataclass(frozen=True)
class RefitData:
    """What every refitted network of one comparison shares: the grown protocol, the scaling
    fitted on its training part and a hybrid's base forecasts from every origin with the base
    model fitted there (``None``: plain networks)."""

    protocol: data.Protocol
    scaler: data.Scaler
    base: np.ndarray | None


def refit_data(config: RunConfig, series: Series, protocol: data.Protocol) -> RefitData:
    """The :class:`RefitData` of a comparison whose shared configuration is ``config``."""
    grown = refit_protocol(protocol)
    scaler = workflow.fit_scaler(config, series.values, grown.train_end)
    base = workflow.base_for(config, series, scaler, grown.train_end)
    return RefitData(grown, scaler, base)


def kept_epochs(history: dict) -> list[int]:
    """Each replica's kept (best) epoch, 1-based, from a tracked run's history; at least 1 (a
    replica that never improved kept its initial variables: one epoch is the nearest refit)."""
    return [max(1, int(e)) for e in history["best_epoch"]]


def fit_epochs(
    config: RunConfig, model: models.Model, dataset: data.Dataset, epochs: Sequence[int]
) -> TrainState:
    """Replicas trained on ``dataset.train`` alone (no validation split is read), replica ``k``
    for ``epochs[k]`` epochs: every replica runs ``max(epochs)`` epochs in one compiled
    program, and replica ``k``'s variables are those after its own last epoch. The same
    initial keys, learning rate, clipping and step schedule as the run's (a plateau schedule
    follows validation scores and refits at the constant rate)."""
    counts = np.asarray(epochs, np.int64)
    if counts.shape != (config.seeds,) or (counts < 1).any():
        raise ValueError(f"one epoch count of at least 1 per seed, got {counts.tolist()}")
    schedule = "constant" if config.schedule == "plateau" else config.schedule
    trainer = Trainer(
        model,
        batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        clip_norm=config.clip_norm,
        schedule=stopping.schedule_for(schedule, workflow.total_steps(config, len(dataset.train))),
    )
    kept: list = [None] * config.seeds

    def keep(epoch: int, state: TrainState, metrics) -> None:
        for k in np.flatnonzero(counts == epoch + 1):
            kept[int(k)] = jax.device_get(replica(state.variables, int(k)))

    result = trainer.fit(
        dataset,
        seeds=replica_keys(config.seeds),
        epochs=int(counts.max()),
        on_epoch_end=keep,
        validate=False,
    )
    variables = jax.tree_util.tree_map(lambda *leaves: np.stack(leaves), *kept)
    return TrainState(variables, result.state.opt_state)


def retrain_to_end(run: Run, series: Series) -> tuple[models.Model, TrainState, data.Scaler]:
    """A network's run folder retrained on every target of ``series``: from its own initial
    keys, each replica for the epochs it kept (its ``history.json``), with the series scaling
    fitted on the whole series. What ``jaxseq forecast --retrain`` forecasts with (a hybrid's
    base model is then fitted on the whole series too, by the caller). On the series cut at
    the end of a comparison's validation part this is :func:`refit_network`'s refit of that
    run to the bit (``tests/test_refit_chosen.py``).

    Returns ``(model, state, scaler)``. Raises :class:`InputError` for a run without kept
    epochs (trained before early stopping was tracked, or with a fixed epoch count) and for a
    series too short for one training window."""
    config = run.config
    history = run.history() or {}
    if "best_epoch" not in history:
        raise InputError(
            f"{run.path} records no kept epoch per replica (history.json): it cannot be "
            "retrained for the same epochs; forecast without --retrain"
        )
    end = len(series.values)
    grown = data.Protocol(
        length=end,
        window=config.window,
        horizon=config.horizon,
        train_end=end,
        valid_end=end,
        stride=config.stride,
    )
    if not len(grown.origins("train")):
        raise InputError(
            f"{end} steps hold no training window of {config.window} + {config.horizon} steps"
        )
    scaler = workflow.fit_scaler(config, series.values, end)
    base = workflow.base_for(config, series, scaler, end)
    model = workflow.build_model(config)
    dataset = workflow.dataset_for(config, series, scaler, grown, base=base)
    state = fit_epochs(config, model, dataset, kept_epochs(history))
    return model, state, scaler


def refit_network(
    config: RunConfig,
    series: Series,
    shared: RefitData,
    record: dict,
    model: models.Model | None = None,
) -> dict:
    """``record`` (what :func:`jaxseq.app.compare.train_and_forecast` returns) after the refit:
    its test forecasts (and quantiles), state and scaler those of the network retrained on
    every target before the first test origin for its replicas' kept epochs; its validation
    forecasts stay those of the run that was ranked. ``record["refit"]`` says what was done
    (epochs, seconds), or why the trained network was kept (a replica's loss became
    non-finite)."""
    model = model or workflow.build_model(config)
    epochs = kept_epochs(record["history"])
    base = shared.base if config.base != "none" else None
    dataset = workflow.dataset_for(config, series, shared.scaler, shared.protocol, base=base)
    began = time.perf_counter()
    try:
        state = fit_epochs(config, model, dataset, epochs)
    except TrainingDiverged as error:
        return {**record, "refit": {"kept_trained": f"refit diverged: {error}"}}
    X = dataset.split("test").X
    test = predict_units(model, state.variables, shared.scaler, config, X)
    refitted = {
        **record,
        "forecasts": {**record["forecasts"], "test": test},
        "state": jax.device_get(state),
        "scaler": shared.scaler,
        "refit": {"epochs": epochs, "seconds": time.perf_counter() - began},
    }
    if record["quantiles"]:
        quantiles = predict_quantile_units(model, state.variables, shared.scaler, config, X)
        refitted["quantiles"] = {**record["quantiles"], "test": quantiles}
    return refitted
