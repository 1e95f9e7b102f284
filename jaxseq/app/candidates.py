"""Every kind of forecast ``compare`` ranks, as a run folder that ``forecast`` and ``evaluate``
use: a trained network, a baseline, a classical model, or an ensemble of them.

A run folder's ``config.json`` says its kind (:attr:`jaxseq.app.runs.RunConfig.kind`):

- ``network``: a zoo model with its checkpoints (:mod:`jaxseq.app.workflow`);
- ``baseline`` (naive, seasonal naive, drift, least squares) and ``classical`` (statsforecast's
  AutoETS, AutoARIMA, AutoTheta): the name, window, horizon and season are all there is; no
  checkpoint;
- ``ensemble``: the weighted mean of its ``members`` (:mod:`jaxseq.ensemble`); the run
  folders of its networks are ``members/NAME`` inside its own.

From a run folder, :func:`forecasts_at` gives the forecasts at any origins with the fitted
baselines fitted on ``series[:fit_end]`` (``evaluate`` uses the training part, so it
reproduces ``compare``'s figures), and :func:`forecast` the steps after the end of the series:
the fitted baselines and classical models are then refitted on all the data up to that origin,
networks forecast as trained.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np

from jaxseq import baselines, data, ensemble
from jaxseq import distributions as dist
from jaxseq.app import backtest, forecasting, workflow
from jaxseq.app.backtest import predict_quantile_units, predict_units, score_splits, season_for
from jaxseq.app.io import Series
from jaxseq.app.runs import Run, RunConfig, write_json
from jaxseq.errors import InputError, check_positive_int


def kind_of(name: str) -> str:
    """The kind of a candidate ``compare`` ranks, by its name (a user's model is a network)."""
    if name in baselines.BASELINES:
        return "baseline"
    if name in baselines.CLASSICAL:
        return "classical"
    return "ensemble" if name == "ensemble" else "network"


def member_run(run: Run, member: dict) -> Run | RunConfig:
    """An ensemble member: a network's run folder (``members/NAME``), else the configuration
    that names the baseline."""
    if member["kind"] == "network":
        return network_member(run, member)
    return dataclasses.replace(run.config, model=member["name"], kind=member["kind"], members=[])


def network_member(run: Run, member: dict) -> Run:
    """The run folder of an ensemble's network member."""
    return Run(run.path / "members" / member["name"])


# --------------------------------------------------------------------------- forecasts


def forecasts_at(
    run: Run | RunConfig, series: Series, origins, *, fit_end: int, quantiles: bool = False
) -> np.ndarray:
    """Forecasts from ``origins`` in the data's units, ``[seeds, windows, horizon, targets]``
    (a baseline has one seed); with ``quantiles`` the quantiles ``[..., L]`` (networks with
    a probabilistic head and their ensembles). Fitted baselines are fitted on
    ``series[:fit_end]``; a hybrid network's base model on the data it was trained on
    (:func:`jaxseq.app.workflow.trained_until`)."""
    config = run.config if isinstance(run, Run) else run
    origins = np.asarray(origins, np.int64)
    if config.kind == "network":
        assert isinstance(run, Run), "a network forecasts from its run folder"
        model, state = workflow.load_run_state(run)
        if quantiles and model.head is None:
            raise InputError(f"{config.model} gives point forecasts only: it has no quantiles")
        X = workflow.windows_at(config, series, run.scaler, origins, workflow.trained_until(config))
        predict = predict_quantile_units if quantiles else predict_units
        return predict(model, state.variables, run.scaler, config, X)
    if config.kind == "ensemble":
        assert isinstance(run, Run), "an ensemble forecasts from its run folder"
        parts = {
            m["name"]: forecasts_at(
                member_run(run, m), series, origins, fit_end=fit_end, quantiles=quantiles
            )
            for m in config.members
        }
        return ensemble.combine(parts, {m["name"]: m["weight"] for m in config.members})
    if quantiles:
        raise InputError(f"{config.model} gives point forecasts only: it has no quantiles")
    values = np.asarray(series.values, np.float64)[:, config.target_indices]
    return baselines.forecast(
        config.model,
        values,
        origins,
        config.horizon,
        season=season_for(config, series),
        window=config.window,
        fit_end=fit_end,
    )[None]


def forecast(
    run: Run, data_path: str | None, steps: int, *, refit: bool = True, retrain: bool = False
) -> tuple[forecasting.Forecast, Series]:
    """The ``steps`` values after the end of the series in ``data_path`` (default: the file
    the run was made from), from a run folder of any kind (module docstring). ``refit``
    (default): the fitted baselines and classical models are fitted on all of that series;
    else on the training part of the file the run was made from, as ``compare`` fitted them
    (its forecasts from any origin are then ``compare``'s to the digit). ``retrain``: the
    networks (the run's, or the ensemble's members) are first retrained on all of that series
    for the epochs each replica kept (:func:`jaxseq.app.refit.retrain_to_end`)."""
    config = run.config
    if config.kind == "network":
        return forecasting.forecast_run(run, data_path, steps, retrain=retrain)
    steps = check_positive_int("steps", steps)
    if steps > config.horizon:
        raise InputError(
            f"--steps {steps} exceeds the horizon {config.horizon} the forecast was chosen for; "
            f"compare again with --horizon {steps} or ask for fewer steps"
        )
    series = workflow.load_for(config, data_path)
    end = len(series.values)
    fit_end = end if refit else workflow.training_end(config)
    if config.kind == "ensemble":
        per_seed, quantiles = _ensemble_from_end(run, data_path, steps, series, fit_end, retrain)
        forecast = forecasting.Forecast(per_seed, list(config.targets))
        if quantiles is not None:
            levels = _levels(config)
            offsets, calibrated = forecasting.stored_offsets(run, steps, levels)
            forecast = forecasting.Forecast(
                per_seed, list(config.targets), quantiles, levels, calibrated, offsets
            )
        return forecasting.with_interval(forecast, run, steps), series
    per_seed = forecasts_at(run, series, [end], fit_end=fit_end)[:, 0, :steps]
    forecast = forecasting.Forecast(per_seed, list(config.targets))
    return forecasting.with_interval(forecast, run, steps), series


def _ensemble_from_end(
    run: Run, data_path, steps: int, series: Series, fit_end: int, retrain: bool = False
):
    """Each member's forecast from the end of the series, combined seed by seed (``retrain``:
    the networks retrained on all of it first)."""
    members = run.config.members
    point: dict[str, np.ndarray] = {}
    quantiles: dict[str, np.ndarray] = {}
    end = len(series.values)
    for m in members:
        if m["kind"] == "network":
            one, _ = forecasting.forecast_run(
                network_member(run, m), data_path, steps, retrain=retrain
            )
            point[m["name"]] = one.per_seed
            if one.quantiles is not None:
                quantiles[m["name"]] = one.quantiles
        else:
            config = member_run(run, m)
            point[m["name"]] = forecasts_at(config, series, [end], fit_end=fit_end)[:, 0, :steps]
    weights = {m["name"]: m["weight"] for m in members}
    combined_q = None
    if len(quantiles) == len(members):  # every member has quantiles
        combined_q = ensemble.combine(quantiles, weights)
    return ensemble.combine(point, weights), combined_q


def _levels(config: RunConfig) -> tuple[float, ...]:
    """The quantile levels a run forecasts (its head's)."""
    return dist.levels_of(dist.get(config.head))


# --------------------------------------------------------------------------- evaluation


def evaluate(
    run: Run,
    data_path: str | None = None,
    *,
    season: int | None = None,
    stride: int | None = None,
    refit_every: int | None = None,
    classical: bool = True,
    classical_budget: float | None = baselines.CLASSICAL_BUDGET,
    progress=None,
) -> dict:
    """Validation and test errors of a run folder of any kind at every origin (a
    rolling-origin backtest), in the data's units, beside the baselines (naive, seasonal
    naive, drift, least squares and, with statsforecast installed, AutoETS/AutoARIMA/
    AutoTheta) on the same origins. Fitted baselines, members too, are fitted on the training
    part, as ``compare`` fitted them; a classical baseline is skipped with a note after
    ``classical_budget`` seconds (:func:`jaxseq.baselines.classical`).

    ``stride`` spaces the origins (default the run's, 1). ``refit_every=K`` retrains a
    network (same settings and seeds, a fresh start) every K test origins on all the data
    before them, and refits every baseline on the same schedule and data
    (:meth:`jaxseq.data.Protocol.refit_blocks`); without it the trained run forecasts from
    every origin as it is.

    Returns ``{"settings": {...}, "valid": {"windows", "origins", "rows", "skipped"}, "test":
    ...}``; each row holds MAE, RMSE, MASE and sMAPE as mean/min/max/std over seeds, those of
    the forecast issued, and their means per horizon step.
    """
    config = run.config
    classical_budget = baselines.check_budget(classical_budget)
    if stride is not None:
        config = dataclasses.replace(config, stride=check_positive_int("stride", stride))
    if refit_every is not None and config.kind != "network":
        raise InputError(f"--refit-every retrains a network; this run folder holds a {config.kind}")
    series = workflow.load_for(config, data_path)
    protocol = workflow.protocol_for(config, len(series.values))
    season = season_for(config, series, season)
    splits = backtest.SPLITS

    def at(split, **kw):
        return forecasts_at(run, series, protocol.origins(split), fit_end=protocol.train_end, **kw)

    if refit_every is not None and config.head is not None:
        raise InputError(
            "--refit-every retrains point forecasts only; evaluate a probabilistic run without it"
        )
    forecasts = {split: {config.model: at(split)} for split in ("valid", "calibrate")}
    if refit_every is None:
        forecasts["test"] = {config.model: at("test")}
    else:  # retrained before each block of test origins, not the run's own forecasts
        every = check_positive_int("refit_every", refit_every)
        forecasts["test"] = {
            config.model: workflow.refit_forecasts(config, series, protocol, every, progress)
        }
    quantiles = None
    if config.head is not None:
        quantiles = {split: {config.model: at(split, quantiles=True)} for split in splits}
    result = score_splits(
        config,
        series,
        protocol,
        forecasts,
        season=season,
        classical=classical,
        quantiles=quantiles,
        levels=_levels(config),
        refit_every=refit_every,
        classical_budget=classical_budget,
    )
    settings = {
        "model": config.model,
        "kind": config.kind,
        "members": config.members,
        "targets": list(config.targets),
        "window": config.window,
        "horizon": config.horizon,
        "season": season,
        "seeds": config.seeds,
        "stride": config.stride,
        "refit_every": refit_every,
        "normalize": config.normalize,
        "head": config.head,
        # networks retrained through the validation part (compare's refit): their validation
        # scores are in-sample, their test scores are compare's
        "trained_through_validation": refitted_networks(run),
    }
    return {"settings": settings, **result}


def refitted_networks(run: Run) -> list[str]:
    """The networks of a run folder retrained on its validation part too
    (:attr:`jaxseq.app.runs.RunConfig.refit`): the run itself, or an ensemble's members."""
    config = run.config
    if config.kind == "network":
        return [config.model] if config.refit else []
    return [
        m["name"]
        for m in config.members
        if m["kind"] == "network" and network_member(run, m).config.refit
    ]


# --------------------------------------------------------------------------- saving


def save_network(path: Path, config: RunConfig, record: dict, series: Series) -> Run:
    """A trained network's run folder (``record``: what :func:`jaxseq.app.compare.
    train_and_forecast` returns), calibrated when it has a probabilistic head."""
    _clear(path)
    run = Run.create(path, config, record["scaler"])
    epochs = len(record["history"].get("epoch_seconds", [])) or config.epochs or 1
    run.save(epochs, record["state"], record["history"])
    if config.head is not None:  # `jaxseq forecast` then writes calibrated intervals
        workflow.calibrate_run(run, workflow.build_model(config), record["state"], series)
    return run


def save_baseline(path: Path, config: RunConfig, scaler: data.Scaler) -> Run:
    """A baseline's or classical model's run folder: its configuration alone."""
    _clear(path)
    return Run.create(path, config, scaler)


def save_ensemble(
    path: Path,
    config: RunConfig,
    combination: ensemble.Combination,
    configs: dict[str, RunConfig],
    records: dict[str, dict],
    series: Series,
    scaler: data.Scaler,
    calibration: dict | None = None,
) -> Run:
    """An ensemble's run folder: its members and weights in ``config.json`` and each member
    network's run folder under ``members/``; ``calibration``: the combined forecast's
    conformal offsets (:func:`jaxseq.app.workflow.calibration_record`)."""
    _clear(path)
    members: list[dict] = [
        {"name": name, "kind": kind_of(name), "weight": float(weight)}
        for name, weight in zip(combination.members, combination.weights, strict=True)
    ]
    config = dataclasses.replace(config, model="ensemble", kind="ensemble", members=members)
    run = Run.create(path, config, scaler)
    for name in combination.members:
        if kind_of(name) == "network":
            save_network(path / "members" / name, configs[name], records[name], series)
    if calibration is not None:
        write_json(path / workflow.CALIBRATION, calibration)
    return run


def _clear(path: Path) -> None:
    """Remove an earlier run folder written at ``path`` (a re-run of the same comparison)."""
    if (path / "config.json").exists():
        shutil.rmtree(path)
