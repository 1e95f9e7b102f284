"""A user's own series: configure and train a run (evaluating any run folder:
:func:`jaxseq.app.candidates.evaluate`; forecasting and imputation from a run:
:mod:`jaxseq.app.forecasting`).

The command line (:mod:`jaxseq.app.cli`) is a thin layer over these functions. Data are windowed
chronologically (:func:`jaxseq.data.split_series`), standardised with statistics of the training
part only, and every metric and forecast is given back in the data's own units; the training
budget, early stopping and schedule are :mod:`jaxseq.stopping`'s, a hybrid's base forecasts
:mod:`jaxseq.hybrid`'s.

Forecasts in the data's units are made by :mod:`jaxseq.app.backtest` (``predict_units``,
``truth_at``, ...; importable from here too).
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np

from jaxseq import data, hybrid, models, stopping
from jaxseq import distributions as dist
from jaxseq import normalize as norm
from jaxseq.app import covariates
from jaxseq.app.backtest import (
    from_units,
    observed,
    predict_quantile_units,
    predict_units,
    season_for,
    truth_at,
)
from jaxseq.app.io import Series, load_series, refill
from jaxseq.app.runs import Run, RunConfig, write_json
from jaxseq.app.settings import check_settings
from jaxseq.errors import InputError, check_positive_int
from jaxseq.history import TrainingDiverged
from jaxseq.stopping import TrackedState
from jaxseq.train import Trainer, TrainState, replica_keys


def load_for(
    config: RunConfig, path: str | Path | None = None, *, allow_missing: bool = False
) -> Series:
    """The run's columns (inputs first, as trained) from ``path`` (default: the training file),
    without the trailing rows that only carry future covariates (:func:`jaxseq.app.covariates.load`),
    gaps filled by the run's ``fill`` without reading a validation or test value
    (:func:`jaxseq.app.io.refill`)."""
    series = covariates.load(config, path, allow_missing=allow_missing)[0]
    if config.fill is None or series.filled is None:
        return series
    return refill(series, config.fill, protocol_for(config, len(series.values)).train_end)


def normalization(config: RunConfig) -> norm.Normalization | None:
    """The window normalisation inside the run's model (``"series"`` and ``"none"``: none)."""
    if config.normalize == "auto":
        raise ValueError("normalize='auto' is resolved when the run is configured")
    return norm.get("window" if config.normalize == "window" else None)


def make_trainer(
    config: RunConfig, model: models.Model, train_windows: int, *, keep_best: bool = False
) -> Trainer:
    """The run's trainer for ``train_windows`` training windows: with a patience (or
    ``keep_best``) each replica keeps its best epoch by :func:`selection_metric`; the
    learning-rate schedule spans the run's budget of steps."""
    tracked = keep_best or config.patience is not None or config.schedule == "plateau"
    return Trainer(
        model,
        batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        clip_norm=config.clip_norm,
        monitor=selection_metric(model) if tracked else None,
        schedule=stopping.schedule_for(config.schedule, total_steps(config, train_windows)),
    )


def total_steps(config: RunConfig, train_windows: int) -> int:
    """The run's budget in optimizer steps: ``max_steps``, or ``epochs`` whole epochs."""
    if config.max_steps is not None:
        return config.max_steps
    assert config.epochs is not None, "a run has epochs or max_steps"
    return config.epochs * stopping.steps_per_epoch(train_windows, config.batch_size)


def budget_options(
    epochs: int | None = None,
    max_steps: int | None = None,
    patience: int | None = None,
    schedule: str | None = None,
) -> dict:
    """The training budget's :class:`RunConfig` fields from the options a user gave: nothing
    or ``max_steps``: that many optimizer steps (default :data:`jaxseq.stopping.MAX_STEPS`)
    with a patience (default :data:`jaxseq.stopping.PATIENCE`); ``epochs`` alone: that many
    epochs, with a patience only when one is given (both: the first of the two limits is
    ``max_steps``, ``epochs`` is ignored)."""
    if epochs is not None:
        epochs = check_positive_int("epochs", epochs)
    if max_steps is None and epochs is not None:
        return {
            "epochs": epochs,
            "max_steps": None,
            "patience": None if patience is None else check_positive_int("patience", patience),
            "min_delta": stopping.MIN_DELTA,
            "schedule": stopping.Schedule(schedule or stopping.SCHEDULE).kind,
        }
    return {
        "epochs": None,
        "max_steps": check_positive_int(
            "max_steps", stopping.MAX_STEPS if max_steps is None else max_steps
        ),
        "patience": check_positive_int(
            "patience", stopping.PATIENCE if patience is None else patience
        ),
        "min_delta": stopping.MIN_DELTA,
        "schedule": stopping.Schedule(schedule or stopping.SCHEDULE).kind,
    }


def budget_for(config: RunConfig, train_windows: int) -> stopping.Budget:
    """The run's :class:`jaxseq.stopping.Budget` (``epochs`` whole epochs when it has no
    ``max_steps``)."""
    return stopping.Budget(total_steps(config, train_windows), config.patience, config.min_delta)


def build_model(config: RunConfig) -> models.Model:
    return models.get(
        config.model,
        window=config.window,
        features=config.features,
        horizon=config.horizon,
        targets=len(config.targets),
        target_columns=config.target_indices,
        normalize=normalization(config),
        head=config.head,
        future=len(config.future_indices) + config.base_columns,
        base=config.base != "none",
        loss=config.loss,
    )


def protocol_for(config: RunConfig, length: int) -> data.Protocol:
    """Where the run's parts lie in a ``length``-step series; with ``stop_on="first_half"``
    the validation origins are halved (:meth:`jaxseq.data.Protocol.halved`)."""
    protocol = data.make_protocol(
        length,
        window=config.window,
        horizon=config.horizon,
        valid_size=config.valid_size,
        test_size=config.test_size,
        stride=config.stride,
    )
    return protocol.halved() if config.stop_on == "first_half" else protocol


def fit_scaler(config: RunConfig, values: np.ndarray, train_end: int) -> data.Scaler:
    """The series scaling: training statistics (data before the first validation origin), or
    none at all for ``normalize="none"``."""
    if config.normalize == "none":
        return data.Scaler.identity(values.shape[1])
    return data.Scaler.fit(values[:train_end])


def dataset_for(
    config: RunConfig,
    series: Series,
    scaler: data.Scaler | None = None,
    protocol: data.Protocol | None = None,
    base: np.ndarray | None = None,
) -> data.Dataset:
    """The run's windows of ``series`` by forecast origin (:func:`jaxseq.data.split_series`),
    scaled with ``scaler`` (default: fitted on the data before the first validation origin);
    a hybrid's base forecasts are ``base`` (:func:`base_for`, computed here when not given)."""
    protocol = protocol or protocol_for(config, len(series.values))
    scaler = scaler or fit_scaler(config, series.values, protocol.train_end)
    if base is None:
        base = base_for(config, series, scaler, protocol.train_end)
    ds = data.windows_for(
        covariates.inputs(config, series, scaler),
        protocol,
        config.task,
        config.target_indices,
        config.future_indices,
        base,
    )
    return dataclasses.replace(ds, scaler=scaler)


def training_end(config: RunConfig) -> int:
    """Where the training part of the file a run was made from ends: the ``fit_end`` of its
    fitted baselines and of a hybrid's base model."""
    return protocol_for(config, len(load_for(config).values)).train_end


def trained_until(config: RunConfig) -> int:
    """The step after the last target a network run's weights, scaling and hybrid base were
    fitted on: the training part's end, or the validation part's for a refitted network
    (:attr:`RunConfig.refit`)."""
    protocol = protocol_for(config, len(load_for(config).values))
    return protocol.valid_end if config.refit else protocol.train_end


def base_for(
    config: RunConfig, series: Series, scaler: data.Scaler, fit_end: int
) -> np.ndarray | None:
    """A hybrid's base forecasts from every origin of ``series`` (:func:`jaxseq.hybrid.
    base_forecasts`, the base model fitted on ``series[:fit_end]``), scaled like the targets:
    ``[time + 1, horizon, targets]``; ``None`` when the run is not a hybrid."""
    if config.base == "none":
        return None
    cols = config.target_indices
    values = np.asarray(series.values, np.float64)[:, cols]
    base = hybrid.base_forecasts(
        config.base, values, config.horizon, season=season_for(config, series), fit_end=fit_end
    )
    return from_units(base, scaler.mean[cols], scaler.scale[cols])


def windows_at(
    config: RunConfig, series: Series, scaler: data.Scaler, origins, fit_end: int
) -> np.ndarray:
    """The run's input windows ``X`` at ``origins`` of ``series`` (covariates, lead
    features and a hybrid's base forecasts, its base model fitted on ``series[:fit_end]``)."""
    X, _ = data.windows_at(
        covariates.inputs(config, series, scaler),
        np.asarray(origins, np.int64),
        config.window,
        config.horizon,
        config.task,
        config.target_indices,
        config.future_indices,
        base_for(config, series, scaler, fit_end),
    )
    return X


def make_config(
    model: str,
    data_path: str,
    columns: list[str] | None,
    targets: list[str] | None,
    *,
    window: int,
    horizon: int,
    seeds: int,
    epochs: int | None = None,
    batch_size: int = 32,
    learning_rate: float | None = None,
    clip_norm: float | None = None,
    time_column: str | None = None,
    fill: str | None = None,
    normalize: str = "window",
    valid_size: int | float = 0.2,
    test_size: int | float = 0.1,
    stride: int = 1,
    season: int | None = None,
    past_covariates: list[str] | None = None,
    future_covariates: list[str] | None = None,
    calendar: bool | str | list[str] | None = None,
    head=None,
    max_steps: int | None = None,
    patience: int | None = None,
    schedule: str | None = None,
    base: str = "none",
    loss: str | None = None,
) -> RunConfig:
    """Check the options against the file and the zoo, and return the run's configuration.

    ``base`` makes the network a hybrid over that base model's forecasts
    (:mod:`jaxseq.hybrid`).

    The training budget (:func:`budget_options`): ``epochs`` alone trains that many epochs;
    otherwise ``max_steps`` optimizer steps (default :data:`jaxseq.stopping.MAX_STEPS`), each
    replica stopping after ``patience`` steps without a validation improvement and keeping its
    best epoch; ``schedule`` is the learning-rate schedule (:mod:`jaxseq.stopping`); ``loss``
    the training loss and validation metric of a point network (``"mse"`` or ``"mae"``).

    ``head`` makes the model probabilistic (quantile levels, ``"normal"`` or ``"student_t"``;
    :func:`jaxseq.distributions.get`); it then stops early on the first half of the validation
    origins and its intervals are calibrated on the last ones (:meth:`jaxseq.data.Protocol.halved`).

    ``past_covariates``, ``future_covariates`` and ``calendar`` add covariates to the inputs
    (:mod:`jaxseq.app.covariates`): the inputs are then the targets, ``columns``, the past and the
    future covariates, and the calendar columns.

    Everything that can be refused is refused here, before a run folder exists: the model, the
    columns, the normalisation, and whether the series holds the window, the horizon and the
    validation and test parts (:func:`jaxseq.data.make_protocol`).
    """
    models.get(model)  # an unknown name is refused before the file is read, with the zoo listed
    extra = {}
    if past_covariates or future_covariates or calendar:
        header = load_series(data_path, time_column=time_column, allow_missing=True)
        columns, targets, past, future, features = covariates.resolve(
            header, columns, targets, past_covariates, future_covariates, calendar
        )
        extra = {"covariates": past, "future_covariates": future, "calendar": features}
    else:
        columns = list(load_series(data_path, columns, time_column=time_column, fill=fill).columns)
    config = checked_config(
        model=model,
        data=str(Path(data_path).absolute()),
        columns=columns,
        targets=targets,
        window=window,
        horizon=horizon,
        seeds=seeds,
        batch_size=batch_size,
        learning_rate=learning_rate,
        clip_norm=clip_norm,
        time_column=time_column,
        fill=fill,
        normalize=normalize,
        valid_size=valid_size,
        test_size=test_size,
        stride=stride,
        season=season,
        head=head,
        base=hybrid.check(base),
        # a probabilistic run's intervals are calibrated on validation windows that chose no
        # epoch: it stops early on the first half (Protocol.halved)
        stop_on="first_half" if head is not None else "validation",
        **budget_options(epochs, max_steps, patience, schedule),
        loss=loss,
        **extra,
    )
    series = load_for(config)
    protocol = protocol_for(config, len(series.values))  # the series must hold every part
    if config.normalize == "auto":  # resolved on the training and validation parts
        values = series.values[:, config.target_indices]
        resolved = norm.resolve_mode(
            "auto",
            values[: protocol.train_end],
            values[protocol.train_end : protocol.stopping_end()],
        )
        config = dataclasses.replace(config, normalize=resolved)
    build_model(config)  # a model that cannot be a hybrid (or has no room for it) is refused
    return config


def checked_config(
    *,
    model: str,
    columns: list[str],
    targets,
    normalize: str,
    window,
    horizon,
    seeds,
    batch_size,
    stride,
    season,
    head,
    epochs=None,
    max_steps=None,
    patience=None,
    schedule="constant",
    loss=None,
    **fields,
) -> RunConfig:
    """A :class:`RunConfig` with its options checked: the model (its task from the zoo), the
    targets among the ``columns`` (default the first; one name or a list), the normalisation,
    the counts (positive integers; a one-step model's horizon is 1; ``max_steps`` and
    ``patience`` or ``None``), the schedule, the loss and the head, in JSON form; ``fields`` are the
    other fields as they are. The single-series and the panel configurations are both made
    here."""
    check_settings(
        horizon=horizon,
        window=window,
        seeds=seeds,
        normalize=normalize,
        stride=stride,
        batch_size=batch_size,
        season=season,
        head=head,
        epochs=epochs,
        max_steps=max_steps,
        patience=patience,
        schedule=schedule,
        base=fields.get("base"),
        fill=fields.get("fill"),
        loss=loss,
        clip_norm=fields.get("clip_norm"),
    )
    task = models.get(model).task  # an unknown name is refused here, with the zoo listed
    if epochs is None and max_steps is None:
        raise InputError("give a training length: epochs, or max_steps")
    targets = [targets] if isinstance(targets, str) else list(targets or [columns[0]])
    for t in targets:
        if t not in columns:
            raise InputError(
                f"target column {t!r} is not among the input columns {columns}: pick one of "
                "them, or add it to the columns"
            )
    return RunConfig(
        model=model,
        columns=columns,
        targets=targets,
        normalize=normalize,
        task=task,
        window=check_positive_int("window", window),
        horizon=1 if task == "one_step" else check_positive_int("horizon", horizon),
        seeds=check_positive_int("seeds", seeds),
        epochs=None if epochs is None else check_positive_int("epochs", epochs),
        batch_size=check_positive_int("batch_size", batch_size),
        stride=check_positive_int("stride", stride),
        season=None if season is None else check_positive_int("season", season),
        head=dist.spec_of(dist.get(head)),
        max_steps=None if max_steps is None else check_positive_int("max_steps", max_steps),
        patience=None if patience is None else check_positive_int("patience", patience),
        schedule=stopping.Schedule(schedule).kind,
        loss=models.check_loss(loss),
        **fields,
    )


def train_run(
    config: RunConfig,
    out: str | Path,
    *,
    resume: bool = False,
    progress: Callable | None = None,
    overwrite: bool = False,
) -> Run:
    """Train (or resume) a run, checkpointing after every epoch.

    A resumed run continues from its newest checkpoint to the end of its budget
    (:func:`budget_for`) and ends with the same parameters as an uninterrupted one (epoch keys
    depend only on the seed and the epoch; with a patience the checkpoints carry each replica's
    early-stopping state too, :class:`jaxseq.train.TrackedState`).
    """
    series = load_for(config)
    model = build_model(config)
    if resume:
        run = Run(out)
        config = run.config
        ds = dataset_for(config, series, run.scaler)
    else:
        ds = dataset_for(config, series)
        assert ds.scaler is not None, "dataset_for always fits a scaler when given none"
        if overwrite:
            shutil.rmtree(Path(out) / "checkpoints", ignore_errors=True)
        created = not Path(out).exists()
        run = Run.create(out, config, ds.scaler, overwrite=overwrite)
    trainer = make_trainer(config, model, len(ds.train))
    budget = budget_for(config, len(ds.train))
    keys = replica_keys(config.seeds)
    state, start = None, 0
    history: dict[str, Any] = {"metrics": {}, "epoch_seconds": []}
    if resume:
        target = jax.eval_shape(trainer.init, keys)
        start, state = run.restore(target)
        history = run.history() or history
        done = isinstance(state, TrackedState) and bool(np.all(state.tracker.stopped))
        if start >= budget.epochs(stopping.steps_per_epoch(len(ds.train), config.batch_size)):
            done = True
        if done:
            return run

    def checkpoint(epoch, result_state, metrics):
        for k, v in metrics.items():
            history["metrics"].setdefault(k, []).append(np.asarray(v).tolist())
        run.save(epoch + 1, result_state, history)

    try:
        _, fitted, fit_history = fit_state(
            config,
            ds,
            progress=progress,
            model=model,
            state=state,
            start_epoch=start,
            on_epoch_end=checkpoint,
        )
    except InputError:
        if not resume and created and run.latest_epoch() is None:
            shutil.rmtree(run.path, ignore_errors=True)  # nothing worth keeping was written
        raise
    if trainer.monitor is not None:  # each replica's kept and last epoch
        summary = {k: v for k, v in fit_history.items() if k not in ("metrics",)}
        write_json(run.path / "history.json", {**history, **summary})
    if model.head is not None:
        calibrate_run(run, model, fitted, series)
    return run


CALIBRATION = "calibration.json"


def calibrate_run(run: Run, model: models.Model, state, series: Series) -> dict:
    """Conformal offsets for a probabilistic run's forecasts from the end of the series
    (:func:`calibration_record` of its forecasts at the calibration and test origins),
    written to the run folder as ``calibration.json`` for
    :func:`jaxseq.app.forecasting.forecast_run`."""
    config = run.config
    ds = dataset_for(config, series, run.scaler)
    parts = [name for name in ("calibrate", "test") if len(ds.origins(name))]
    q = np.concatenate(
        [
            predict_quantile_units(model, state.variables, run.scaler, config, ds.split(p).X)
            for p in parts
        ],
        axis=-4,
    )
    origins = np.concatenate([ds.origins(p) for p in parts])
    n = len(ds.origins("calibrate"))
    record = calibration_record(q, series, config, origins, n, model.levels)
    write_json(run.path / CALIBRATION, record)
    return record


def calibration_record(
    quantiles: np.ndarray, series: Series, config: RunConfig, origins, n_valid: int, levels
) -> dict:
    """The adaptive calibration the test scores report, carried to the series' end
    (:func:`jaxseq.calibration.offsets_at`): the forecast issued, the seeds' average of
    ``quantiles`` ``[seeds, windows, horizon, targets, L]`` at ``origins`` (the calibration
    ones, ``n_valid`` of them, then the test ones), calibrated on the latest windows with
    known targets, as many as the calibration part has, with the level adapted by the test
    windows' misses (``calibration.ADAPT_STEP``). Offsets ``[horizon, targets, intervals]``."""
    from jaxseq import calibration

    values = observed(series, config.target_indices)
    truth = truth_at(values, origins, config.horizon, range(values.shape[1]))
    latest = n_valid or len(origins)
    shift = calibration.offsets_at(
        quantiles.mean(axis=0),
        truth,
        origins,
        levels,
        origin=len(values),
        start=latest,
        window=latest,
        gamma=calibration.ADAPT_STEP,
    )
    return {
        "levels": list(levels),
        "windows": latest,
        "last_origin": int(origins[-1]),
        "adapt_step": calibration.ADAPT_STEP,
        "offsets": shift.tolist(),
    }


def load_run_state(run: Run) -> tuple[models.Model, TrainState]:
    """The run's model and newest trained state (replicated over seeds): a checkpoint with
    early-stopping state gives each replica's best variables."""
    model = build_model(run.config)
    tracked = run.checkpoint_fields() == list(TrackedState._fields)
    trainer = Trainer(
        model,
        batch_size=run.config.batch_size,
        monitor=selection_metric(model) if tracked else None,
    )
    target = jax.eval_shape(trainer.init, replica_keys(run.config.seeds))
    _, state = run.restore(target)
    if isinstance(state, TrackedState):
        return model, TrainState(state.tracker.best, state.state.opt_state)
    return model, state


def fit_state(
    config: RunConfig,
    dataset: data.Dataset,
    *,
    progress: Callable | None = None,
    keep_best: bool = False,
    model: models.Model | None = None,
    state: TrainState | TrackedState | None = None,
    start_epoch: int = 0,
    on_epoch_end: Callable | None = None,
    compact: bool = False,
):
    """Train ``config.seeds`` replicas on ``dataset`` for the run's budget
    (:func:`budget_for`). With ``keep_best`` or a patience each replica keeps its parameters
    from the epoch of its lowest validation error (:func:`selection_metric`) and, with a
    patience, stops on its own. ``model`` defaults to the run's zoo model; ``state`` and
    ``start_epoch`` resume, ``on_epoch_end`` checkpoints, ``compact`` shrinks the program as
    replicas stop (:meth:`jaxseq.train.Trainer.fit`).
    Returns ``(model, state, history)``; the history of a tracked run holds each replica's
    ``best_epoch`` and ``stop_epoch`` (1-based) and ``steps_per_epoch``. A replica whose
    loss became non-finite ends it with an :class:`InputError` naming the model."""
    model = model or build_model(config)
    trainer = make_trainer(config, model, len(dataset.train), keep_best=keep_best)

    try:
        result = trainer.fit(
            dataset,
            seeds=replica_keys(config.seeds),
            budget=budget_for(config, len(dataset.train)),
            state=state,
            start_epoch=start_epoch,
            callback=epoch_callback(progress, config.model),
            on_epoch_end=on_epoch_end,
            compact=compact,
        )
    except TrainingDiverged as error:
        raise InputError(f"{config.model}: {error}") from None
    return model, result.state, result.history.to_json()


def epoch_callback(progress: Callable | None, name: str) -> Callable | None:
    """A trainer's ``callback(epoch, metrics)`` that shows ``name``'s epoch on ``progress``
    (``progress(name, epoch, metrics)``, :class:`jaxseq.app.progress.Reporter`'s ``epoch``),
    each metric averaged over the replicas still training (a stopped one's are NaN)."""
    if progress is None:
        return None

    def report(epoch: int, metrics: dict) -> None:
        progress(name, epoch, {k: float(np.nanmean(v)) for k, v in metrics.items()})

    return report


def selection_metric(model: models.Model) -> str:
    """The validation metric that picks a replica's best epoch: the head's loss (pinball or
    negative log-likelihood) for a probabilistic model, else the training loss (MSE or MAE:
    :attr:`jaxseq.models.Model.loss`) of the forecast made at the origin."""
    if model.head is not None:
        return "val_loss"
    return f"val_last_step_{model.loss}" if model.task == "seq2seq" else f"val_{model.loss}"


def refit_forecasts(
    config: RunConfig,
    series: Series,
    protocol: data.Protocol,
    every: int,
    progress: Callable | None = None,
) -> np.ndarray:
    """Test forecasts ``[seeds, windows, horizon, targets]`` with the model retrained (fresh,
    same settings and seeds) every ``every`` origins on the data before them: targets up to
    the block's first origin, its last ``valid`` steps for validation, scaling refitted
    (:meth:`jaxseq.data.Protocol.refit_blocks`, the schedule the baselines follow too)."""
    blocks = []
    for block, sub in protocol.refit_blocks(every):
        sub = sub.halved() if config.stop_on == "first_half" else sub
        scaler = fit_scaler(config, series.values, sub.train_end)
        ds = dataset_for(config, series, scaler, sub)
        model, state, _ = fit_state(config, ds, progress=progress)
        X = windows_at(config, series, scaler, block, sub.train_end)
        blocks.append(predict_units(model, state.variables, scaler, config, X))
    return np.concatenate(blocks, axis=1)
