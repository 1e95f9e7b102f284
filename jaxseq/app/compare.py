"""Compare every candidate forecast of one series, keep the best, whatever its family.

``jaxseq.app.compare(data, horizon=..., window=...)`` (and ``jaxseq compare``) trains every zoo
model that can forecast the horizon, and any user model or cell given beside them, each with K
seeds at once (``vmap``), models in worker processes where the machine has the cores; each
replica trains for a budget of optimizer steps, stops on its own once its validation error
stops improving, and keeps its best epoch (:mod:`jaxseq.stopping`). The baselines (naive,
seasonal naive, drift, least squares) and statsforecast's classical models are candidates
too, and so is an ensemble: the weighted mean of the top candidates, its size and weights
chosen on the validation part (:mod:`jaxseq.ensemble`).

Every candidate is scored at the same validation and test origins (rolling origin, inputs
reaching back, :class:`jaxseq.data.Protocol`) in the data's units: MAE, RMSE, MASE and sMAPE
with their spread over seeds, and those of the forecast issued (the seeds' average). All are
ranked together by the validation MASE of the forecast issued (a probabilistic comparison: by
validation scaled pinball). The pick is the ensemble of the top-ranked candidates (without one,
the first row; in a probabilistic comparison, the first network): on the benchmark's held-out
validation windows, combining the best three to five beat picking the best one
(:data:`jaxseq.ensemble.KS`), and where none of them is a classical model the best classical
model joins them (``anchors``, :func:`jaxseq.ensemble.choose`). The test part is only read to
report.

Written to ``out``: ``compare.json`` (settings and rows), ``compare.md`` (the table),
``forecasts.npz`` (every candidate's forecasts and quantiles at every origin, with the truth,
for studies without retraining), ``compare.png`` (every model's error with its seed range; the
pick's test forecasts against the truth) and ``best/``, the pick's run folder, ready for
``jaxseq forecast`` and ``jaxseq evaluate`` (:mod:`jaxseq.app.candidates`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import flax.linen as nn
import jax
import numpy as np

from jaxseq import baselines, cells, data, ensemble, hybrid, metrics, stopping
from jaxseq import distributions as dist
from jaxseq import models as zoo
from jaxseq import normalize as norm
from jaxseq.app import backtest, candidates, compare_table, workflow
from jaxseq.app import covariates as covariates_
from jaxseq.app.io import Series, load_series, refill, write_csv
from jaxseq.app.refit import refit_data, refit_network
from jaxseq.app.runs import RunConfig, write_json
from jaxseq.app.settings import check_settings
from jaxseq.errors import InputError, check_positive_int
from jaxseq.train import check_clip_norm

METRICS = ("mae", "rmse", "mase", "smape")


@dataclasses.dataclass(frozen=True)
class UserModel:
    """A user's entry in a comparison: ``name`` and ``build(dims) -> flax module`` whose output
    is ``[batch, horizon * targets]`` (a ``multi_step`` model), or a finished
    :class:`jaxseq.zoo.Model`."""

    name: str
    build: Callable[[zoo.Dims], nn.Module] | None = None
    model: zoo.Model | None = None


def applicable(horizon: int) -> list[str]:
    """Zoo models that forecast ``horizon`` steps at once (one-step models only for 1)."""
    return [n for n in zoo.names() if horizon == 1 or zoo.get(n).task != "one_step"]


def compare(
    source,
    *,
    horizon: int,
    window: int,
    column: str | None = None,
    models: Sequence | str = "all",
    seeds: int = 3,
    epochs: int | None = None,
    max_steps: int | None = None,
    patience: int | None = None,
    schedule: str | None = None,
    loss: str | None = None,
    clip_norm: float | None = None,
    season: int | None = None,
    valid_size: int | float = 0.2,
    test_size: int | float = 0.1,
    stride: int = 1,
    normalize: str = "auto",
    batch_size: int = 32,
    time_column: str | None = None,
    fill: str | None = None,
    classical: bool = True,
    classical_budget: float | None = baselines.CLASSICAL_BUDGET,
    head=None,
    covariates: Sequence[str] | None = None,
    future_covariates: Sequence[str] | None = None,
    calendar: bool | str | Sequence[str] | None = None,
    combine: bool = True,
    refit: bool = True,
    base: str | None = None,
    jobs: int | None = None,
    out: str | Path | None = None,
    progress=None,
) -> dict:
    """Train and score every model; returns what ``compare.json`` holds.

    Args:
        source: a CSV/Parquet/.npy path, a pandas Series or DataFrame, or an array.
        horizon, window: steps forecast and steps read.
        column: the column to forecast (default the first).
        models: ``"all"`` (every applicable zoo model), or a list of zoo names,
            :class:`jaxseq.cells.Cell` objects (each built as two recurrent layers of 20 units
            and a dense head), :class:`UserModel` entries or :class:`jaxseq.zoo.Model`
            objects built for this window and horizon.
        seeds: replicas per model, trained at once.
        epochs, max_steps, patience, schedule: the training budget
            (:func:`jaxseq.app.workflow.budget_options`): by default
            :data:`jaxseq.stopping.MAX_STEPS` optimizer steps with a patience of
            :data:`jaxseq.stopping.PATIENCE`; ``epochs`` alone: that many epochs, each replica
            keeping its best.
        loss: the networks' training loss and the validation metric that keeps each
            replica's best epoch, ``"mse"`` (default) or ``"mae"``
            (:data:`jaxseq.models.POINT_LOSSES`; point forecasts only).
        clip_norm: clip each network's gradient to this global norm (default off).
        season: for MASE and the seasonal baselines (default from the time column's
            frequency, else 1).
        normalize: ``"auto"`` (the default: ``"window"`` for a series whose validation part
            leaves the training part's range, else ``"series"``; chosen over both on the
            validation parts of the benchmark and the tuning series,
            ``experiments/results/choice_normalize_auto/choice.md``;
            :func:`jaxseq.normalize.resolve_mode`), ``"series"`` (the training part's mean
            and standard deviation), ``"window"`` (each input window in its own frame) or
            ``"none"``.
        classical: also score statsforecast's AutoETS, AutoARIMA and AutoTheta when installed.
        classical_budget: seconds each classical model may take (its fit and its forecasts
            from every origin) before it is stopped and skipped with a note
            (:data:`jaxseq.baselines.CLASSICAL_BUDGET` by default; ``None`` or 0: no limit).
        combine: also rank an ensemble of the top candidates (:mod:`jaxseq.ensemble`; in a
            probabilistic comparison, of the networks with quantiles).
        refit: retrain the ensemble's networks on the training and validation parts together
            for each replica's kept epochs before they forecast the test part and go to
            ``best/`` (:mod:`jaxseq.app.refit`; chosen on validation windows,
            ``docs/forecasting.md``); the table's other networks and the validation scores
            are those of the runs that were ranked.
        base: train the networks as hybrids over this base model's forecasts
            (:mod:`jaxseq.hybrid`; ``"none"``: plain networks). The default,
            :data:`jaxseq.hybrid.DEFAULT` for point forecasts, falls back to plain networks
            (with a note) where the base cannot forecast the series; a one-step model is
            always plain.
        head: a probabilistic head for every model (quantile levels such as
            ``(0.1, 0.5, 0.9)``, ``"normal"`` or ``"student_t"``;
            :func:`jaxseq.distributions.get`). Models then train on the head's loss, keep the
            epoch of their lowest validation loss, and are ranked by validation scaled pinball
            loss; every row also reports the pinball loss, the CRPS approximation, each central
            interval's coverage and width, raw and conformally calibrated on the calibration
            windows, beside the seasonal naive quantile baseline.
        covariates, future_covariates, calendar: past-observed and known-future covariate
            columns and calendar features (``True`` for the frequency's defaults, or names),
            inputs of every model beside ``column`` (:mod:`jaxseq.app.covariates`).
        jobs: worker processes (default 2 on a multi-core CPU, 1 on an accelerator).
        out: folder for the results (nothing is written without it).
        progress: a :class:`jaxseq.app.progress.Reporter` (or anything with ``epoch`` and ``done``).
    """

    began = time.perf_counter()
    check_settings(
        horizon=horizon,
        window=window,
        seeds=seeds,
        normalize=normalize,
        stride=stride,
        batch_size=batch_size,
        season=season,
        fill=fill,
        base=base,
        head=head,
        epochs=epochs,
        max_steps=max_steps,
        patience=patience,
        schedule=schedule,
        classical_budget=classical_budget,
        loss=loss,
        clip_norm=clip_norm,
    )
    budget = baselines.check_budget(classical_budget)  # seconds, or None for no limit
    entries = _entries(models, int(horizon))
    series, common, protocol = _series_and_settings(
        source,
        column=column,
        time_column=time_column,
        fill=fill,
        covariates=covariates,
        future_covariates=future_covariates,
        calendar=calendar,
        settings={
            "horizon": horizon,
            "window": window,
            "seeds": seeds,
            "batch_size": batch_size,
            "normalize": normalize,
            "base": base,
            "budget": workflow.budget_options(epochs, max_steps, patience, schedule),
            "valid_size": valid_size,
            "test_size": test_size,
            "stride": stride,
            "season": season,
            "head": head,
            "loss": loss,
            "clip_norm": clip_norm,
        },
    )
    out = Path(out) if out is not None else None
    if out is not None and out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder for the comparison")
    result, records, configs, baseline = _run_stages(
        common,
        series,
        protocol,
        entries,
        base=base,
        classical=classical,
        classical_budget=budget,
        combine=combine,
        refit=refit,
        jobs=jobs,
        progress=progress,
        load_seconds=time.perf_counter() - began,
    )
    if out is not None:
        write_outputs(result, records, configs, series, protocol, out, common, baseline[0])
    return result


def _run_stages(
    common: RunConfig,
    series: Series,
    protocol: data.Protocol,
    entries: list,
    *,
    base: str | None,
    classical: bool,
    classical_budget: float | None,
    combine: bool,
    refit: bool,
    jobs: int | None,
    progress,
    load_seconds: float,
) -> tuple[dict, dict, dict[str, RunConfig], tuple]:
    """Every stage after loading, each timed into ``settings.stages``: the hybrid base, the
    candidates' training (:func:`_train_candidates`), the ensemble, its refit and the scores
    (:func:`_choose_and_score`). Returns ``(result, records, configs, baseline)``: what
    ``compare.json`` holds and what :func:`write_outputs` writes from."""
    season = workflow.season_for(common, series)
    start = time.perf_counter()
    stages: dict[str, Any] = {"load": load_seconds}
    common, base_forecasts, notes = _hybrid_base(common, series, protocol, base)
    stages["hybrid_base"] = _stage(progress, "hybrid base", start)
    configs = {e: _network_config(common, e) for e in entries if isinstance(e, str)}
    records, baseline, stages["training"] = _train_candidates(
        common,
        series,
        protocol,
        entries,
        configs,
        base_forecasts,
        classical=classical,
        classical_budget=classical_budget,
        jobs=jobs,
        progress=progress,
    )
    scored, once = _choose_and_score(
        common,
        series,
        protocol,
        records,
        baseline,
        configs,
        combine=combine,
        refit=refit,
        jobs=jobs,
        progress=progress,
        stages=stages,
    )
    result = compare_table.result(
        common, series, protocol, season, records, scored, time.perf_counter() - start
    )
    result["settings"]["stages"] = stages
    if once:
        scores = backtest.score_at(common, series, protocol, "test", once, season)
        compare_table.add_trained_once(result, scores)
    result["settings"]["notes"] = notes
    result["settings"]["classical_budget"] = classical_budget
    return result, records, configs, baseline


def _choose_and_score(
    common: RunConfig,
    series: Series,
    protocol: data.Protocol,
    records: dict,
    baseline: tuple,
    configs: dict[str, RunConfig],
    *,
    combine: bool,
    refit: bool,
    jobs: int | None,
    progress,
    stages: dict[str, Any],
) -> tuple[dict, dict[str, np.ndarray]]:
    """The stages after training, each timed into ``stages``: the ensemble chosen on
    validation (added to ``records``), its networks refitted through validation, every
    candidate scored. Returns ``(scored, once)``: :func:`_scores`' result and the ensemble's
    test forecasts as trained once (empty without a refit)."""
    season = workflow.season_for(common, series)
    ensembled = time.perf_counter()
    if combine:
        records.update(_ensemble(common, series, protocol, season, records, baseline[0]))
    stages["ensemble"] = _stage(progress, "ensemble", ensembled)
    once: dict[str, np.ndarray] = {}
    if refit and "ensemble" in records:
        refitted = time.perf_counter()
        once = _refit_members(common, series, protocol, records, configs, baseline[0], jobs)
        stages["refit"] = _stage(progress, "refit", refitted)
    scoring = time.perf_counter()
    scored = _scores(common, series, protocol, season, records, baseline)
    stages["scoring"] = _stage(progress, "scoring", scoring)
    return scored, once


def _scores(common: RunConfig, series, protocol, season: int, records, baseline) -> dict:
    """Every candidate's scores on every part (:func:`jaxseq.app.backtest.score_splits`):
    the networks' and the ensemble's forecasts in ``records``, the baselines' in
    ``baseline``; quantile scores too in a probabilistic comparison."""
    forecasts, quantiles = (
        {
            split: {name: r[what][split] for name, r in records.items() if r[what]}
            for split in backtest.SPLITS
        }
        for what in ("forecasts", "quantiles")
    )
    return backtest.score_splits(
        common,
        series,
        protocol,
        forecasts,
        season=season,
        quantiles=quantiles if common.head is not None else None,
        levels=_levels(common),
        baseline=baseline,
    )


def _train_candidates(
    common: RunConfig,
    series: Series,
    protocol: data.Protocol,
    entries: list,
    configs: dict[str, RunConfig],
    base_forecasts,
    *,
    classical: bool,
    classical_budget: float | None,
    jobs: int | None,
    progress,
) -> tuple[dict, tuple, dict]:
    """Train every network (the zoo's ``configs`` in ``jobs`` worker processes, the
    baselines and classical models as one more job beside them, then the user's models) and
    forecast from every origin: ``(records, baseline, seconds)``, ``records`` one per network
    (:func:`train_and_forecast`), ``baseline`` the baselines' ``(forecasts, skipped)`` and
    ``seconds`` the stage's wall time, each baseline's and each network's compile and train
    time."""
    from jaxseq.parallel import default_jobs, run_jobs

    # the baselines are one more job, first: the classical models' fit runs beside the
    # networks' training instead of after it
    shared = {"series": series, "protocol": protocol}
    baseline_job = {
        **shared,
        "config": common,
        "season": workflow.season_for(common, series),
        "classical": classical,
        "classical_budget": classical_budget,
    }
    jobs_list = [(BASELINES, {"job": "baselines", **baseline_job})]
    jobs_list += [
        (name, {"job": "network", **shared, "config": configs[name], "base": base_forecasts})
        for name in configs
    ]
    on_progress = progress.epoch if progress is not None else None

    def on_done(name, record):
        if progress is not None and name != BASELINES:
            progress.done(name, record)

    if progress is not None and hasattr(progress, "expect"):
        per_epoch = stopping.steps_per_epoch(len(protocol.origins("train")), common.batch_size)
        progress.expect(
            workflow.budget_for(common, len(protocol.origins("train"))).epochs(per_epoch)
        )
    workers = default_jobs() if jobs is None else check_positive_int("jobs", jobs)
    trained = time.perf_counter()
    records = run_jobs(
        _compare_job, jobs_list, workers=workers, on_progress=on_progress, on_done=on_done
    )
    forecasts_by_split, skipped, baseline_seconds = records.pop(BASELINES)
    baseline = (forecasts_by_split, skipped)
    if progress is not None and hasattr(progress, "stage"):
        for name, seconds in baseline_seconds.items():
            progress.stage(name, seconds)
    for entry in entries:
        if isinstance(entry, str):
            continue
        config = dataclasses.replace(common, model=entry.name)
        if entry.model is not None and not entry.model.base:  # the user's model, as built
            config = dataclasses.replace(config, base="none")
        records[entry.name] = train_and_forecast(
            config,
            series,
            protocol,
            progress=on_progress,
            model=_user_model(entry, common),
            base=base_forecasts,
        )
        records[entry.name]["kind"] = "user"
        on_done(entry.name, records[entry.name])
    seconds = {  # the networks beside the baselines, in `jobs` workers at once
        "wall": time.perf_counter() - trained,
        "baselines": baseline_seconds,
        "networks": {
            name: {"compile": r["history"].get("compile_seconds"), "train": r["train_seconds"]}
            for name, r in records.items()
        },
    }
    return records, baseline, seconds


def _series_and_settings(
    source,
    *,
    column: str | None,
    time_column: str | None,
    fill: str | None,
    covariates,
    future_covariates,
    calendar,
    settings: dict,
) -> tuple[Series, RunConfig, data.Protocol]:
    """The series as the networks read it (the target first, then the covariates; missing
    values filled from the training part only), the comparison's shared configuration (its
    season and normalisation resolved: ``"auto"`` reads the training part and the windows the
    networks stop early on, nothing later) and the protocol of its origins."""
    with_covariates = bool(covariates or future_covariates or calendar)
    if with_covariates:  # the header: every column, missing values kept (trailing future rows)
        series = load_series(source, time_column=time_column, allow_missing=True)
    else:
        series = load_series(
            source, [column] if column else None, time_column=time_column, fill=fill
        )
    if column is None and series.values.shape[1] > 1 and not with_covariates:
        series = dataclasses.replace(
            series, values=series.values[:, :1], columns=series.columns[:1]
        )
    base = settings["base"]
    common = RunConfig(
        model="",
        data=_data_path(source),
        columns=list(series.columns),
        targets=[series.columns[0]],
        window=int(settings["window"]),
        horizon=int(settings["horizon"]),
        task="multi_step",
        seeds=check_positive_int("seeds", settings["seeds"]),
        batch_size=check_positive_int("batch_size", settings["batch_size"]),
        time_column=time_column,
        fill=fill,
        normalize=settings["normalize"],
        base=hybrid.check(base) if base is not None else "none",
        stop_on="first_half",
        **settings["budget"],
        valid_size=settings["valid_size"],
        test_size=settings["test_size"],
        stride=check_positive_int("stride", settings["stride"]),
        season=settings["season"],
        head=dist.spec_of(dist.get(settings["head"])),
        loss=zoo.check_loss(settings.get("loss")),
        clip_norm=check_clip_norm(settings.get("clip_norm")),
    )
    if with_covariates:
        columns, targets, past, future, features = covariates_.resolve(
            series, None, [column] if column else None, covariates, future_covariates, calendar
        )
        common = dataclasses.replace(
            common,
            columns=columns,
            targets=targets,
            covariates=past,
            future_covariates=future,
            calendar=features,
        )
        series = workflow.load_for(common, source)
    protocol = workflow.protocol_for(common, len(series.values))
    series = refill(series, fill, protocol.train_end)  # no fill reads validation or test values
    season = workflow.season_for(common, series, settings["season"])
    observed = backtest.observed(series, common.target_indices)
    normalize = norm.resolve_mode(  # read where the networks stop early, nowhere later
        settings["normalize"],
        observed[: protocol.train_end],
        observed[protocol.train_end : protocol.stopping_end()],
    )
    common = dataclasses.replace(common, season=season, normalize=normalize)
    metrics.mase_scale(backtest.observed(series, [0])[: protocol.train_end], season)
    return series, common, protocol


def _stage(progress, label: str, since: float) -> float:
    """Seconds since ``since``, shown as a finished stage on the progress display."""
    seconds = time.perf_counter() - since
    if progress is not None and hasattr(progress, "stage"):
        progress.stage(label, seconds)
    return seconds


def _ensemble(common: RunConfig, series, protocol, season, records, baseline) -> dict:
    """``{"ensemble": record}``: the combination of top candidates chosen on the validation
    part (:func:`jaxseq.ensemble.choose`) and its forecasts; ``{}`` with fewer than two
    candidates. Candidates: the zoo's networks and the baselines (a user's model is not, so
    the ensemble's run folder can always be rebuilt); in a probabilistic comparison the
    networks with quantiles, whose quantiles are combined too."""
    values = backtest.observed(series, common.target_indices)
    scale = metrics.mase_scale(values[: protocol.train_end], season)
    valid_truth = workflow.truth_at(
        values, protocol.origins("valid"), common.horizon, range(values.shape[1])
    )
    pool = _pool(common, records, baseline, "valid")
    if len(pool) < 2:
        return {}
    choice = ensemble.choose(pool, valid_truth, scale, anchors=baselines.CLASSICAL)
    weights = choice.as_dict()
    combined = {
        split: _combined(common, records, baseline, weights, split) for split in backtest.SPLITS
    }
    record = {
        "kind": "ensemble",
        "combination": choice,
        "forecasts": {split: point for split, (point, _) in combined.items()},
        "quantiles": {split: q for split, (_, q) in combined.items() if q is not None},
        "train_seconds": sum(records[m]["train_seconds"] for m in weights if m in records),
        "history": {},
    }
    return {"ensemble": record}


def _pool(common: RunConfig, records, baseline, split: str) -> dict[str, np.ndarray]:
    """The ensemble's candidates' forecasts at the ``split`` origins ``{name: [seeds, windows,
    horizon, targets]}``: the zoo's networks and, for point forecasts, the baselines (a user's
    model is not one, so the ensemble's run folder can always be rebuilt)."""
    pool = {n: r["forecasts"][split] for n, r in records.items() if r["kind"] == "zoo"}
    if common.head is None:
        pool.update({b: f[None] for b, f in baseline[split].items()})
    return pool


def _combined(common: RunConfig, records, baseline, weights: dict, split: str):
    """The ensemble's forecasts at the ``split`` origins from its members' (``weights``), and
    in a probabilistic comparison its combined quantiles (else ``None``)."""
    point = ensemble.combine(_pool(common, records, baseline, split), weights)
    if common.head is None:
        return point, None
    quantiles = {m: records[m]["quantiles"][split] for m in weights}
    return point, ensemble.combine(quantiles, weights)


def _refit_members(
    common: RunConfig, series, protocol, records, configs, baseline, jobs: int | None
) -> dict:
    """Refit the ensemble's networks (:func:`jaxseq.app.refit.refit_network`, in ``jobs``
    worker processes as they trained) in ``records`` and ``configs``, and combine the
    ensemble's test forecasts again; returns the test forecasts as they were before (the
    ensemble's and each refitted member's), to report."""
    from jaxseq.parallel import default_jobs, run_jobs

    shared = refit_data(common, series, protocol)
    weights = records["ensemble"]["combination"].as_dict()
    networks = [n for n in weights if records.get(n, {}).get("kind") == "zoo"]
    once = {"ensemble": records["ensemble"]["forecasts"]["test"]}
    once.update({n: records[n]["forecasts"]["test"] for n in networks})
    refitted = run_jobs(
        _refit_job,
        [
            (n, {"config": configs[n], "series": series, "shared": shared, "record": records[n]})
            for n in networks
        ],
        workers=default_jobs() if jobs is None else check_positive_int("jobs", jobs),
    )
    for name, record in refitted.items():
        records[name] = record
        if "epochs" in record["refit"]:
            configs[name] = dataclasses.replace(configs[name], refit=True)
    point, quantiles = _combined(common, records, baseline, weights, "test")
    records["ensemble"]["forecasts"]["test"] = point
    if quantiles is not None:
        records["ensemble"]["quantiles"]["test"] = quantiles
    return once


def _refit_job(progress=None, **kwargs) -> dict:
    """One network's refit, a worker's job (:func:`jaxseq.app.refit.refit_network`)."""
    return refit_network(**kwargs)


def _hybrid_base(common: RunConfig, series: Series, protocol, requested: str | None):
    """The comparison's hybrid base and its forecasts from every origin (``None`` for plain
    networks), and notes: the default base gives way to plain networks where it cannot
    forecast (a probabilistic head, statsforecast missing, the base model's own failure); a
    base the user asked for is refused there instead."""
    if requested is None and common.head is None:
        common = dataclasses.replace(common, base=hybrid.DEFAULT)
    if common.base == "none":
        return common, None, []
    scaler = workflow.fit_scaler(common, series.values, protocol.train_end)
    try:
        return common, workflow.base_for(common, series, scaler, protocol.train_end), []
    except InputError as error:
        if requested is not None:
            raise
        note = f"networks trained plain, not as hybrids over {common.base}: {error}"
        return dataclasses.replace(common, base="none"), None, [note]


def _network_config(common: RunConfig, name: str) -> RunConfig:
    """A zoo network's configuration in the comparison (a one-step model is never a hybrid)."""
    task = zoo.get(name).task
    base = "none" if task == "one_step" else common.base
    return dataclasses.replace(common, model=name, task=task, base=base)


#: the job name of the baselines among a comparison's jobs
BASELINES = "(baselines)"


def _compare_job(job: str, progress=None, **kwargs):
    """One job of a comparison (a worker's): a ``"network"``'s training and forecasts
    (:func:`train_and_forecast`), or the ``"baselines"``' forecasts
    (:func:`jaxseq.app.backtest.baseline_forecasts`)."""
    if job == "baselines":
        timings: dict[str, float] = {}
        split, skipped = backtest.baseline_forecasts(**kwargs, timings=timings)
        return split, skipped, timings
    return train_and_forecast(progress=progress, **kwargs)


def train_and_forecast(
    config: RunConfig,
    series: Series,
    protocol: data.Protocol,
    progress: Callable | None = None,
    model: zoo.Model | None = None,
    base: np.ndarray | None = None,
    compact: bool = False,
) -> dict:
    """Train one model's seeds (keeping each one's best validation epoch) and forecast every
    validation and test origin in the data's units. Plain data out, for a worker process.
    The windows are the run's (:func:`jaxseq.app.workflow.dataset_for`: covariates included;
    ``base``: a hybrid's base forecasts, computed once for every model; ``compact``: the
    program shrinks as replicas stop, :meth:`jaxseq.train.Trainer.fit`)."""
    base = base if config.base != "none" else None
    ds = workflow.dataset_for(config, series, protocol=protocol, base=base)
    scaler = ds.scaler
    assert scaler is not None, "dataset_for always fits a scaler when given none"
    t = time.perf_counter()
    model, state, history = workflow.fit_state(
        config, ds, progress=progress, keep_best=True, model=model, compact=compact
    )
    jax.block_until_ready(state)
    seconds = time.perf_counter() - t
    forecasts = {
        name: workflow.predict_units(model, state.variables, scaler, config, ds.split(name).X)
        for name in backtest.SPLITS
    }
    quantiles = {
        name: workflow.predict_quantile_units(
            model, state.variables, scaler, config, ds.split(name).X
        )
        for name in backtest.SPLITS
        if model.head is not None
    }
    return {
        "kind": "zoo",
        "forecasts": forecasts,
        "quantiles": quantiles,
        "state": jax.device_get(state),
        "history": history,
        "train_seconds": seconds,
        "scaler": scaler,
    }


def _entries(spec, horizon: int) -> list:
    if isinstance(spec, str):
        if spec == "all":
            return applicable(horizon)
        spec = [s.strip() for s in spec.split(",") if s.strip()]
    out, seen = [], set()
    for entry in spec:
        chosen: Sequence[str | UserModel]
        if isinstance(entry, str):
            if entry == "all":
                chosen = applicable(horizon)
            else:
                zoo.check_name(entry)
                if horizon > 1 and zoo.get(entry).task == "one_step":
                    raise InputError(
                        f"model {entry!r} forecasts one step; horizon {horizon} needs a "
                        f"multi-step or seq2seq model (see `jaxseq models`)"
                    )
                chosen = [entry]
        elif isinstance(entry, cells.Cell):
            chosen = [UserModel(f"user_{getattr(entry, 'name', 'cell')}", _cell_builder(entry))]
        elif isinstance(entry, zoo.Model):
            chosen = [UserModel(entry.name, model=entry)]
        elif isinstance(entry, UserModel):
            chosen = [entry]
        else:
            raise InputError(
                "models must be zoo names, jaxseq.cells.Cell objects, jaxseq.zoo.Model "
                f"objects or compare.UserModel entries; got {type(entry).__name__}"
            )
        for c in chosen:
            name = c if isinstance(c, str) else c.name
            if name in seen:
                raise InputError(f"model {name!r} is listed twice")
            seen.add(name)
            out.append(c)
    if not out:
        raise InputError("--models names no model")
    return out


def _cell_builder(cell: cells.Cell):
    from jaxseq.layers import Dense, Sequential
    from jaxseq.recurrent import RNN

    def build(d: zoo.Dims):
        return Sequential([RNN(cell, 20, return_sequences=True), RNN(cell, 20), Dense(d.outputs)])

    return build


def _user_model(entry: UserModel, config: RunConfig) -> zoo.Model:
    future = len(config.future_indices) + config.base_columns
    dims = zoo.Dims(config.window, config.features, config.horizon, 1, future)
    head = dist.get(config.head)
    if entry.model is not None:
        model = entry.model
        if model.dims != dims or model.task != "multi_step" or model.base != config.base_columns:
            raise InputError(
                f"model {model.name!r} is built for {model.dims} ({model.task}, base "
                f"{model.base}); this comparison needs {dims} with multi_step targets and base "
                f"{config.base_columns}"
            )
        if model.head != head:
            raise InputError(
                f"model {model.name!r} has head {dist.spec_of(model.head)!r}; this comparison "
                f"trains every model with head {config.head!r}: build it with that head"
            )
        return model
    if entry.build is None:
        raise InputError(f"user model {entry.name!r} has neither a build function nor a model")
    return zoo.Model(
        name=entry.name,
        module=entry.build(dims._replace(n_targets=head.size if head else 1)),
        head=head,
        task="multi_step",
        mode="seq2vec",
        dims=dims,
        normalization=workflow.normalization(config),
        target_columns=(0,),
        description="a user's model",
        base=config.base_columns,
        loss=config.loss,
    )


def _levels(config: RunConfig) -> tuple[float, ...]:
    """The quantile levels every model of the comparison reports."""
    return dist.levels_of(dist.get(config.head))


def _data_path(source) -> str:
    if isinstance(source, str | Path):
        return str(Path(source).absolute())
    return "<in memory>"


def _write_series(path: Path, series, time_column: str | None) -> tuple[Path, str | None]:
    """An in-memory series as a CSV: its time labels first (under ``time_column``, or ``"ds"``
    for a DataFrame's index) when it has a time axis, then its columns. Returns the path and
    the name of the time column written (``None`` without one)."""
    header, rows = list(series.columns), series.values.tolist()
    if series.time is None:
        write_csv(path, header, rows)
        return path, None
    name = time_column or next(n for n in ("ds", "time", "date_") if n not in header)
    labels = series.time_labels()
    write_csv(path, [name, *header], [[t, *r] for t, r in zip(labels, rows, strict=True)])
    return path, name


def _relative_to(data: Path, out: Path) -> str:
    """Where ``compare.json`` says its data lies, without the machine's folders: relative to
    the results folder ``out`` when the file is in it or beside it (``../data/co2.csv``),
    else the file's own name."""
    folder = out.absolute()
    for up, root in enumerate((folder, folder.parent)):
        if data.absolute().is_relative_to(root):
            return str(Path(*[".."] * up, data.absolute().relative_to(root)))
    return data.name


#: Every model's forecasts at every validation and test origin (:func:`write_forecasts`).
FORECASTS = "forecasts.npz"


def write_forecasts(
    path: Path, records, series, protocol, config: RunConfig, baseline: dict | None = None
) -> None:
    """Every candidate's forecasts in the data's units, for backtest studies without
    retraining (another calibration, another metric, another combination):
    ``{split}_origins`` ``[windows]``, ``{split}_truth`` ``[windows, horizon, targets]``,
    ``{split}/{name}`` ``[seeds, windows, horizon, targets]`` (a baseline has one seed) and,
    with a probabilistic head, ``{split}/{name}/quantiles`` ``[seeds, windows, horizon,
    targets, L]``. float32 forecasts, compressed."""
    values = backtest.observed(series, config.target_indices)
    arrays: dict[str, Any] = {}
    for split in backtest.SPLITS:
        origins = protocol.origins(split)
        arrays[f"{split}_origins"] = origins
        arrays[f"{split}_truth"] = workflow.truth_at(
            values, origins, config.horizon, range(values.shape[1])
        )
        for name, record in records.items():
            arrays[f"{split}/{name}"] = np.asarray(record["forecasts"][split], np.float32)
            if record.get("quantiles"):
                quantiles = np.asarray(record["quantiles"][split], np.float32)
                arrays[f"{split}/{name}/quantiles"] = quantiles
        for name, forecast in (baseline or {}).get(split, {}).items():
            arrays[f"{split}/{name}"] = np.asarray(forecast[None], np.float32)
    np.savez_compressed(path, **arrays)


def write_outputs(
    result, records, configs, series, protocol, out: Path, common: RunConfig, baseline: dict
) -> None:
    """``compare.json``, ``compare.md``, ``forecasts.npz``, ``compare.png`` and the pick's
    run folder ``best/`` (:mod:`jaxseq.app.candidates`; a user's model has none: a note says
    so in ``compare.json``)."""
    from jaxseq.app import plots

    began = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    best = result["settings"]["best"]
    kind = result["settings"]["best_kind"]
    if common.data == "<in memory>":  # saved, with its time axis, for `jaxseq forecast`
        path, time_column = _write_series(out / "series.csv", series, common.time_column)
        common = dataclasses.replace(common, data=str(path.absolute()), time_column=time_column)
        configs = {
            n: dataclasses.replace(c, data=common.data, time_column=time_column)
            for n, c in configs.items()
        }
    if kind == "user":
        result["settings"]["best_folder"] = None  # a user's model is rebuilt by the user
    else:
        _save_best(out / "best", best, kind, result, records, configs, series, protocol, common)
        if common.head is None:  # the pick's interval from its point errors, for `forecast`
            write_json(
                out / "best" / workflow.CALIBRATION,
                _point_calibration(best, records, baseline, series, protocol, common),
            )
        result["settings"]["best_folder"] = "best"
    result["settings"]["data"] = _relative_to(Path(common.data), out)
    write_forecasts(out / FORECASTS, records, series, protocol, common, baseline)
    origins = protocol.origins("test")
    truth = series.values[:, 0].astype(np.float64)
    pick = records[best]["forecasts"]["test"] if best in records else baseline["test"][best][None]
    plots.compare_figure(
        result,
        truth,
        origins,
        pick,
        out / "compare.png",
        title=f"{result['settings']['column']}: {best}",
    )
    result["settings"].setdefault("stages", {})["writing"] = time.perf_counter() - began
    write_json(out / "compare.json", result)
    (out / "compare.md").write_text(compare_table.markdown(result))


def _point_calibration(best, records, baseline, series, protocol, common) -> dict:
    """The conformal offsets of ``best``'s 80% interval at the series' end
    (:func:`jaxseq.app.workflow.calibration_record`) from its point errors on the calibration
    and test windows, as :func:`jaxseq.app.backtest.point_intervals` scores them."""
    parts = ("calibrate", "test")
    point = {
        p: records[best]["forecasts"][p] if best in records else baseline[p][best][None]
        for p in parts
    }
    q = np.concatenate([backtest.as_quantiles(point[p]) for p in parts], -4)
    origins = np.concatenate([protocol.origins(p) for p in parts])
    n = len(protocol.origins("calibrate"))
    return workflow.calibration_record(q, series, common, origins, n, backtest.POINT_LEVELS)


def _save_best(path: Path, best, kind, result, records, configs, series, protocol, common) -> None:
    if kind == "zoo":
        candidates.save_network(path, configs[best], records[best], series)
    elif kind in ("baseline", "classical"):
        config = dataclasses.replace(common, model=best, kind=kind)
        candidates.save_baseline(path, config, _scaler(series, common, protocol))
    else:
        record = records["ensemble"]
        calibration = None
        if common.head is not None:
            parts = ("calibrate", "test")
            calibration = workflow.calibration_record(
                np.concatenate([record["quantiles"][p] for p in parts], axis=-4),
                series,
                common,
                np.concatenate([protocol.origins(p) for p in parts]),
                len(protocol.origins("calibrate")),
                _levels(common),
            )
        candidates.save_ensemble(
            path,
            common,
            record["combination"],
            configs,
            records,
            series,
            _scaler(series, common, protocol),
            calibration,
        )


def _scaler(series, common: RunConfig, protocol) -> data.Scaler:
    """The series scaling a run folder records (a baseline uses none; the folder's format
    keeps one): the training part's, as the networks were scaled."""
    return workflow.fit_scaler(common, series.values, protocol.train_end)
