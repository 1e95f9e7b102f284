"""Forecasting a user's own series: train a run, evaluate it, forecast, impute.

The command line (:mod:`jaxseq.cli`) is a thin layer over these functions. Data are windowed
chronologically (:func:`jaxseq.data.split_series`), standardised with statistics of the training
part only, and every metric and forecast is given back in the data's own units.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxseq import data, evaluate, models
from jaxseq.errors import InputError, check_positive_int
from jaxseq.io import Series, load_series
from jaxseq.runs import Run, RunConfig
from jaxseq.train import Trainer, TrainingDiverged, replica_keys


def load_for(
    config: RunConfig, path: str | Path | None = None, *, allow_missing: bool = False
) -> Series:
    """The run's columns (inputs first, as trained) from ``path`` (default: the training file)."""
    return load_series(
        path or config.data,
        config.columns,
        time_column=config.time_column,
        fill=config.fill,
        allow_missing=allow_missing,
    )


def build_model(config: RunConfig) -> models.Model:
    return models.get(
        config.model,
        window=config.window,
        features=len(config.columns),
        horizon=config.horizon,
        targets=len(config.targets),
    )


def dataset_for(
    config: RunConfig, series: Series, scaler: data.Scaler | None = None
) -> data.Dataset:
    """Chronological windows of ``series``, scaled with ``scaler`` (or one fitted on train)."""
    return data.split_series(
        series.values if scaler is None else scaler.transform(series.values),
        window=config.window,
        horizon=config.horizon,
        task=config.task,
        targets=config.target_indices,
        fractions=config.fractions,
        scale=scaler is None,
    )


def make_config(
    model: str,
    data_path: str,
    columns: list[str] | None,
    targets: list[str] | None,
    *,
    window: int,
    horizon: int,
    seeds: int,
    epochs: int,
    batch_size: int = 32,
    learning_rate: float | None = None,
    clip_norm: float | None = None,
    time_column: str | None = None,
    fill: str | None = None,
) -> RunConfig:
    """Check the options against the file and the zoo, and return the run's configuration."""
    entry_task = models.get(model).task  # an unknown name is refused here, with the zoo listed
    series = load_series(data_path, columns, time_column=time_column, fill=fill)
    columns = list(series.columns)
    targets = list(targets or [columns[0]])
    for t in targets:
        if t not in columns:
            raise InputError(f"target column {t!r} is not among the input columns {columns}")
    horizon = 1 if entry_task == "one_step" else check_positive_int("horizon", horizon)
    return RunConfig(
        model=model,
        data=str(Path(data_path).absolute()),
        columns=columns,
        targets=targets,
        window=check_positive_int("window", window),
        horizon=horizon,
        task=entry_task,
        seeds=check_positive_int("seeds", seeds),
        epochs=check_positive_int("epochs", epochs),
        batch_size=check_positive_int("batch_size", batch_size),
        learning_rate=learning_rate,
        clip_norm=clip_norm,
        time_column=time_column,
        fill=fill,
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

    A resumed run continues from its newest checkpoint to ``config.epochs`` and ends with the
    same parameters as an uninterrupted one (epoch keys depend only on the seed and the epoch).
    """
    series = load_for(config)
    model = build_model(config)
    if resume:
        run = Run(out)
        config = run.config
        ds = dataset_for(config, series, run.scaler)
    else:
        ds = dataset_for(config, series)
        if overwrite:
            shutil.rmtree(Path(out) / "checkpoints", ignore_errors=True)
        run = Run.create(out, config, ds.scaler, overwrite=overwrite)
    trainer = Trainer(
        model,
        batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        clip_norm=config.clip_norm,
    )
    keys = replica_keys(config.seeds)
    state, start, history = None, 0, {"metrics": {}, "epoch_seconds": []}
    if resume:
        target = jax.eval_shape(trainer.init, keys)
        start, state = run.restore(target)
        history = run.history() or history
        if start >= config.epochs:
            return run

    def checkpoint(epoch, result_state, metrics):
        for k, v in metrics.items():
            history["metrics"].setdefault(k, []).append(np.asarray(v).tolist())
        run.save(epoch + 1, result_state, history)

    def report(epoch, metrics):
        if progress is not None:
            progress(config.model, epoch, {k: float(np.mean(v)) for k, v in metrics.items()})

    try:
        trainer.fit(
            ds,
            seeds=keys,
            epochs=config.epochs - start,
            state=state,
            start_epoch=start,
            callback=report,
            on_epoch_end=checkpoint,
        )
    except TrainingDiverged as error:
        raise InputError(str(error)) from None
    return run


def load_run_state(run: Run):
    """The run's model and newest trained state (replicated over seeds)."""
    model = build_model(run.config)
    trainer = Trainer(model, batch_size=run.config.batch_size)
    target = jax.eval_shape(trainer.init, replica_keys(run.config.seeds))
    _, state = run.restore(target)
    return model, state


# --------------------------------------------------------------------------- evaluation


def evaluate_run(run: Run, data_path: str | None = None, *, season: int | None = None) -> dict:
    """Validation and test errors in the data's units (per seed: mean, min, max), beside the
    naive forecast (last value repeated) and, with ``season``, the seasonal naive forecast."""
    config = run.config
    model, state = load_run_state(run)
    ds = dataset_for(config, load_for(config, data_path), run.scaler)
    cols = config.target_indices
    out = {}
    for name in ("valid", "test"):
        split = ds.split(name)
        pred = evaluate.predict_replicas(model, state.variables, split.X)
        target = model.targets(split.Y)
        if config.task == "seq2seq":
            pred, target = pred[:, :, -1], target[:, -1]
        truth = run.scaler.inverse_targets(target, cols)
        preds = np.stack([run.scaler.inverse_targets(p, cols) for p in pred])
        X = run.scaler.inverse(split.X)
        naive = np.tile(X[:, -1, cols], config.horizon)
        rows = {
            config.model: _errors(preds, truth),
            "naive": _errors(naive[None], truth),
        }
        if season:
            rows[f"seasonal_naive({season})"] = _errors(
                _seasonal(X, cols, config.horizon, season)[None], truth
            )
        out[name] = {"windows": int(len(split)), "metrics": rows}
    return out


def _errors(preds: np.ndarray, truth: np.ndarray) -> dict:
    diff = preds.astype(np.float64) - truth[None]
    mse = np.mean(diff**2, axis=tuple(range(1, diff.ndim)))
    mae = np.mean(np.abs(diff), axis=tuple(range(1, diff.ndim)))
    return {
        "mse": evaluate.summarize(mse),
        "rmse": evaluate.summarize(np.sqrt(mse)),
        "mae": evaluate.summarize(mae),
    }


def _seasonal(X: np.ndarray, cols, horizon: int, season: int) -> np.ndarray:
    """The value one season before each forecast step (repeating the last season as needed)."""
    window = X.shape[1]
    if season > window:
        raise InputError(f"season {season} is longer than the window {window}")
    steps = [X[:, window - season + (k % season), cols] for k in range(horizon)]
    return np.concatenate(steps, axis=-1)


# --------------------------------------------------------------------------- forecasting


@dataclasses.dataclass
class Forecast:
    """``per_seed`` ``[seeds, steps, targets]`` in data units, and its spread over seeds."""

    per_seed: np.ndarray
    targets: list[str]

    @property
    def mean(self) -> np.ndarray:
        return self.per_seed.mean(0)

    @property
    def std(self) -> np.ndarray:
        return self.per_seed.std(0)

    @property
    def low(self) -> np.ndarray:
        return self.per_seed.min(0)

    @property
    def high(self) -> np.ndarray:
        return self.per_seed.max(0)


def forecast_values(
    model: models.Model,
    variables,
    scaler: data.Scaler,
    config: RunConfig,
    history: np.ndarray,
    steps: int,
) -> np.ndarray:
    """Forecast ``steps`` values after ``history`` ``[time, features]`` (data units) with every
    replica: ``[seeds, steps, targets]`` in data units.

    Multi-step and seq2seq models forecast their horizon at once (``steps <= horizon``); a
    one-step model of a univariate series is applied repeatedly, each forecast fed back.
    """
    steps = check_positive_int("steps", steps)
    if len(history) < config.window:
        raise InputError(
            f"the series has {len(history)} steps, the model needs a window of {config.window}"
        )
    x = jnp.asarray(scaler.transform(history[-config.window :]))[None]
    cols = config.target_indices
    n_targets = len(cols)
    if config.task == "one_step":
        if len(config.columns) != 1 and steps > 1:
            raise InputError("a one-step model with several input columns forecasts one step only")
        if steps == 1:
            out = evaluate.predict_replicas(model, variables, x)[:, 0]
            out = out[:, None, :]
        else:
            out = evaluate.forecast_iterative_replicas(model, variables, x, steps, window="slide")
            out = out[:, 0, :, None]
    else:
        if steps > config.horizon:
            raise InputError(
                f"--steps {steps} exceeds the model's horizon {config.horizon}; train "
                f"with --horizon {steps} or ask for fewer steps"
            )
        pred = evaluate.predict_replicas(model, variables, x)[:, 0]
        if config.task == "seq2seq":
            pred = pred[:, -1]
        out = pred.reshape(pred.shape[0], config.horizon, n_targets)[:, :steps]
    flat = out.reshape(out.shape[0], -1)
    return np.stack([scaler.inverse_targets(f, cols) for f in flat]).reshape(out.shape)


def forecast_run(run: Run, data_path: str | None, steps: int) -> tuple[Forecast, Series]:
    """Forecast the ``steps`` values that follow the end of the series in ``data_path``."""
    model, state = load_run_state(run)
    series = load_for(run.config, data_path)
    per_seed = forecast_values(model, state.variables, run.scaler, run.config, series.values, steps)
    return Forecast(per_seed, list(run.config.targets)), series


# --------------------------------------------------------------------------- imputation


def impute_run(run: Run, data_path: str | None) -> tuple[np.ndarray, np.ndarray, Series]:
    """Fill the gaps (NaN) of the target column with the run's model.

    Each gap is forecast from the ``window`` values before it (values filled earlier count), in
    chunks of the model's horizon, averaged over seeds. Needs a model whose inputs are its targets
    (a univariate series). Returns ``(values [time], filled [time] bool, series)``.
    """
    config = run.config
    if len(config.columns) != 1:
        raise InputError("impute needs a run trained on one column (inputs = target)")
    model, state = load_run_state(run)
    series = load_for(config, data_path, allow_missing=True)
    values = series.values[:, 0].astype(np.float64).copy()
    missing = np.isnan(values)
    if not missing.any():
        return values, missing, series
    chunk = config.horizon if config.task != "one_step" else 1
    t = 0
    while t < len(values):
        if not np.isnan(values[t]):
            t += 1
            continue
        if t < config.window or np.isnan(values[t - config.window : t]).any():
            raise InputError(
                f"cannot fill the gap at data row {t + 1}: it needs {config.window} known values "
                "before it (the model's window)"
            )
        steps = min(chunk, int(np.argmax(~np.isnan(values[t:]))) or len(values) - t)
        per_seed = forecast_values(
            model, state.variables, run.scaler, config, values[:t, None], steps
        )
        values[t : t + steps] = per_seed.mean(0)[:, 0]
        t += steps
    return values, missing, series
