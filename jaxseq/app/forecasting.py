"""Forecasting and imputation from a trained run: the steps after a series' end, with every
seed's forecast, their spread and (for a probabilistic run) calibrated quantiles; gaps filled
by the run's model.
"""

from __future__ import annotations

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np

from jaxseq import data, evaluate, models
from jaxseq.app import covariates, workflow
from jaxseq.app.backtest import POINT_LEVELS, as_quantiles
from jaxseq.app.io import Series
from jaxseq.app.refit import retrain_to_end
from jaxseq.app.runs import Run, RunConfig
from jaxseq.app.workflow import (
    CALIBRATION,
    load_for,
    load_run_state,
    predict_quantile_units,
    predict_units,
)
from jaxseq.errors import InputError, check_positive_int

# --------------------------------------------------------------------------- forecasting


@dataclasses.dataclass
class Forecast:
    """``per_seed`` ``[seeds, steps, targets]`` in data units, and its spread over seeds; for a
    probabilistic model also each seed's ``quantiles`` ``[seeds, steps, targets, L]`` at
    ``levels`` as trained, and the forecast issued from them, :attr:`quantile_mean`
    ``[steps, targets, L]``: their seed average (level by level: the average of non-crossing
    quantiles never crosses), moved by the run's conformal ``offsets`` ``[steps, targets,
    intervals]`` where it has them (:func:`jaxseq.calibration.apply`)."""

    per_seed: np.ndarray
    targets: list[str]
    quantiles: np.ndarray | None = None
    levels: tuple[float, ...] = ()
    #: the latest windows the intervals were conformally calibrated on (0: not calibrated)
    calibrated: int = 0
    offsets: np.ndarray | None = None

    @property
    def quantile_mean(self) -> np.ndarray | None:
        if self.quantiles is None:
            return None
        mean = self.quantiles.mean(0)
        if self.offsets is None:
            return mean
        from jaxseq import calibration

        return calibration.apply(mean[None], self.offsets, self.levels)[0]

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
    *,
    future: np.ndarray | None = None,
    quantiles: bool = False,
    base: np.ndarray | None = None,
) -> np.ndarray:
    """Forecast ``steps`` values after ``history`` ``[time, features]`` (data units) with every
    replica: ``[seeds, steps, targets]`` in data units; with ``quantiles`` (a probabilistic
    model) the quantiles at the model's levels, ``[seeds, steps, targets, L]``.

    A run with future covariates or calendar features also needs ``future``, the ``horizon``
    rows after ``history`` (:func:`jaxseq.app.covariates.future_rows`); both are then
    ``[time, columns + calendar columns]`` (:func:`jaxseq.app.covariates.rows`) and the window is
    cut by :func:`jaxseq.data.windows_at` at origin ``len(history)``, lead features included.
    A hybrid also needs ``base``, its base forecasts from every origin of ``history``
    (:func:`jaxseq.app.workflow.base_for`, ``[len(history) + 1, horizon, targets]``).

    Multi-step and seq2seq models forecast their horizon at once (``steps <= horizon``); a
    one-step model of a univariate series is applied repeatedly, each forecast fed back.
    """
    steps = check_positive_int("steps", steps)
    predict = predict_quantile_units if quantiles else predict_units
    if quantiles and config.task == "one_step" and steps > 1:
        raise InputError(
            "a one-step model's forecasts fed back have no quantiles; ask for --steps 1 or "
            "train a multi-step or seq2seq model with --horizon STEPS"
        )
    if len(history) < config.window:
        raise InputError(
            f"the series has {len(history)} steps, the model needs a window of {config.window}"
        )
    x: np.ndarray | jax.Array  # the one window to forecast from, [1, window, features]
    if config.future_indices or config.base_columns:
        if config.future_indices and (future is None or len(future) < config.horizon):
            raise InputError(
                f"this run reads future covariates: future must hold the {config.horizon} rows "
                "after the history (jaxseq.app.covariates.future_rows)"
            )
        if config.base_columns and base is None:
            raise InputError("a hybrid forecasts from its base model's forecasts: give base")
        # the rows after the origin: future covariates, else never read
        after = history[-1:].repeat(config.horizon, axis=0) if future is None else future
        after = after[: config.horizon]
        rows = np.concatenate([history[-config.window :], after])
        local = None
        if base is not None:  # base forecasts at the window's origins, re-indexed from 0
            local = np.zeros((len(rows) + 1, *base.shape[1:]))
            local[: config.window + 1] = base[len(history) - config.window :]
        x, _ = data.windows_at(
            covariates.scale_rows(config, scaler, rows),
            [config.window],
            config.window,
            config.horizon,
            config.task,
            config.target_indices,
            config.future_indices,
            local,
        )
    else:
        x = jnp.asarray(scaler.transform(history[-config.window :]))[None]
    cols = config.target_indices
    if quantiles or config.task != "one_step" or config.future_indices:
        if steps > config.horizon:
            raise InputError(
                f"--steps {steps} exceeds the model's horizon {config.horizon}; train "
                f"with --horizon {steps} or ask for fewer steps"
            )
        return predict(model, variables, scaler, config, x)[:, 0, :steps]
    if len(config.columns) != 1 and steps > 1:  # a one-step model from here on
        raise InputError("a one-step model with several input columns forecasts one step only")
    if steps == 1:
        out = evaluate.predict_replicas(model, variables, x)[:, 0]
        out = out[:, None, :]
    else:
        out = evaluate.forecast_iterative_replicas(model, variables, x, steps, window="slide")
        out = out[:, 0, :, None]
    flat = out.reshape(out.shape[0], -1)
    return np.stack([scaler.inverse_targets(f, cols) for f in flat]).reshape(out.shape)


def forecast_run(
    run: Run, data_path: str | None, steps: int, *, retrain: bool = False
) -> tuple[Forecast, Series]:
    """Forecast the ``steps`` values that follow the end of the series in ``data_path``.

    ``retrain``: first retrain the network on every value of that series, each replica for
    the epochs it kept (:func:`jaxseq.app.refit.retrain_to_end`; the scaling and a hybrid's
    base refitted there too); the interval keeps the run's calibration."""
    config = run.config
    series, trailing = covariates.load(config, data_path)
    if retrain:
        model, state, scaler = retrain_to_end(run, series)
        fit_end = len(series.values)
    else:
        model, state = load_run_state(run)
        scaler, fit_end = run.scaler, workflow.trained_until(config)
    future = None
    if config.future_indices:
        future = covariates.future_rows(config, series, trailing)
    history = covariates.rows(config, series)
    base = workflow.base_for(config, series, scaler, fit_end)
    per_seed = forecast_values(
        model, state.variables, scaler, config, history, steps, future=future, base=base
    )
    quantiles, offsets, calibrated = None, None, 0
    if model.head is not None:
        quantiles = forecast_values(
            model,
            state.variables,
            scaler,
            config,
            history,
            steps,
            future=future,
            quantiles=True,
            base=base,
        )
        offsets, calibrated = stored_offsets(run, steps, model.levels)
    forecast = Forecast(
        per_seed, list(config.targets), quantiles, model.levels, calibrated, offsets
    )
    return with_interval(forecast, run, steps), series


def with_interval(forecast: Forecast, run: Run, steps: int) -> Forecast:
    """A point forecast with the interval its run folder was calibrated for (``compare``
    stores one for its pick: the offsets of its point errors on the calibration and test
    windows, carried to the series' end, at :data:`jaxseq.app.backtest.POINT_LEVELS`); the
    forecast as it is when it has quantiles or the folder has no calibration."""
    if forecast.quantiles is not None or not (run.path / CALIBRATION).exists():
        return forecast
    offsets, calibrated = stored_offsets(run, steps, POINT_LEVELS)
    quantiles = as_quantiles(forecast.per_seed)
    return dataclasses.replace(
        forecast, quantiles=quantiles, levels=POINT_LEVELS, calibrated=calibrated, offsets=offsets
    )


def stored_offsets(run: Run, steps: int, levels) -> tuple[np.ndarray | None, int]:
    """The run's conformal offsets for the first ``steps`` steps ``[steps, targets,
    intervals]`` and the number of latest windows they came from (``(None, 0)``: the run has
    none)."""
    path = run.path / CALIBRATION
    if not path.exists():
        return None, 0
    record = json.loads(path.read_text())
    shift = np.asarray(record["offsets"], np.float64)
    if list(record.get("levels", [])) != list(levels) or shift.ndim != 3:
        raise InputError(
            f"{path} does not match the run's levels or is from an older jaxseq (offsets per "
            "seed): train the run again"
        )
    return shift[:steps], int(record["windows"])


# --------------------------------------------------------------------------- imputation


def impute_run(run: Run, data_path: str | None) -> tuple[np.ndarray, np.ndarray, Series]:
    """Fill the gaps (NaN) of the target column with the run's model.

    Each gap is forecast from the ``window`` values before it (values filled earlier count), in
    chunks of the model's horizon, averaged over seeds. Needs a model whose inputs are its targets
    (a univariate series). Returns ``(values [time], filled [time] bool, series)``.
    """
    config = run.config
    if len(config.columns) != 1 or config.base != "none":
        raise InputError("impute needs a run trained on one column (inputs = target), not a hybrid")
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
