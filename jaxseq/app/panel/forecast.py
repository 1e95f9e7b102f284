"""Forecasts after the end of every series of a trained panel, and their rows for a CSV.

:func:`forecast_panel` forecasts the next steps of every series of a
:class:`jaxseq.app.panel.types.PanelResult` in one batched pass, each series scaled with its
own training scaler and returned to its own units; :func:`forecast_records` lays the forecasts out
one row per series, step and target (what ``jaxseq panel`` writes to ``forecast.csv``).
"""

from __future__ import annotations

import numpy as np

from jaxseq import data
from jaxseq.app import backtest, forecasting
from jaxseq.app.panel.table import Panel
from jaxseq.app.panel.types import PanelResult
from jaxseq.errors import InputError, check_positive_int
from jaxseq.train import TrainState


def forecast_panel(
    result: PanelResult, steps: int | None = None, panel: Panel | None = None
) -> dict[str, forecasting.Forecast]:
    """Forecast the ``steps`` (default the horizon) values after the end of every trained
    series, all series in one batched pass: ``{id: Forecast}``, each ``per_seed``
    ``[seeds, steps, targets]`` in that series' units.

    ``panel`` (default: the series trained on) may hold newer data of the same ids; each
    series' last ``window`` steps are scaled with its training scaler; a result of one model per
    series (:func:`jaxseq.app.panel.training.fit_local`) forecasts each series with its own
    model. ``steps`` may not
    exceed the horizon (a one-step model forecasts one step). A probabilistic model's
    forecasts also hold its quantiles (``Forecast.quantiles``, as trained) and the offsets
    that calibrate their seed average (``Forecast.offsets``: the panel's pooled offsets,
    :func:`jaxseq.app.panel.scores.panel_offsets`, times each series' scale)."""
    config, pdata = result.config, result.data
    steps = config.horizon if steps is None else check_positive_int("steps", steps)
    if steps > config.horizon:
        raise InputError(
            f"steps {steps} exceeds the model's horizon {config.horizon}; train with horizon "
            f"{steps} or ask for fewer steps"
        )
    values = pdata.values if panel is None else tuple(panel.get(k).values for k in pdata.ids)
    windows = []
    for key, v, scaler in zip(pdata.ids, values, pdata.scalers, strict=True):
        if len(v) < config.window:
            raise InputError(
                f"series {key!r} has {len(v)} steps, the model needs a window of {config.window}"
            )
        windows.append(scaler.transform(v[-config.window :]))
    X = np.stack(windows)
    scaled = _predict(result, backtest.predict_units, X)[:, :, :steps]  # [seeds, series, steps, T]
    cols = config.target_indices
    q = None
    offsets = None
    if result.model.head is not None:  # [seeds, series, steps, targets, L]
        q = _predict(result, backtest.predict_quantile_units, X)[:, :, :steps]
        if "quantiles" in result.scores:
            offsets = np.asarray(result.scores["quantiles"]["offsets"], np.float64)[:steps]
    windows_calibrated = len(pdata.dataset.valid) if offsets is not None else 0
    out = {}
    for i, (key, scaler) in enumerate(zip(pdata.ids, pdata.scalers, strict=True)):
        m, s = scaler.mean[cols], scaler.scale[cols]
        out[key] = forecasting.Forecast(
            backtest.to_units(scaled[:, i], m, s),
            list(config.targets),
            None if q is None else backtest.to_units(q[:, i], m[:, None], s[:, None]),
            result.model.levels if q is not None else (),
            windows_calibrated,
            None if offsets is None else offsets * s[:, None],
        )
    return out


def _predict(result: PanelResult, predict, X: np.ndarray) -> np.ndarray:
    """``predict`` (:func:`jaxseq.app.backtest.predict_units` or ``predict_quantile_units``)
    of each series' scaled window ``X[i]`` by its model: the global model's, all series in one
    pass, or (one model per series, :func:`jaxseq.app.panel.training.fit_local`) series ``i``'s
    own; ``[seeds, series, ...]`` in scaled units."""
    identity = data.Scaler.identity(len(result.config.columns))
    if isinstance(result.state, TrainState):
        return predict(result.model, result.state.variables, identity, result.config, X)
    return np.concatenate(
        [
            predict(result.model, state.variables, identity, result.config, X[i : i + 1])
            for i, state in enumerate(result.state)
        ],
        axis=1,
    )


def forecast_picked(
    results: dict[str, PanelResult], choice: dict[str, str], steps: int | None = None
) -> dict[str, forecasting.Forecast]:
    """Each series' forecast by the result chosen for it (``choice``, ``{id: label}`` from
    :func:`jaxseq.app.panel.training.pick_per_series`): ``{id: Forecast}``."""
    by_label = {label: forecast_panel(results[label], steps) for label in set(choice.values())}
    return {key: by_label[label][key] for key, label in choice.items()}


def forecast_records(
    forecasts: dict[str, forecasting.Forecast], choice: dict[str, str] | None = None
) -> list[dict]:
    """One row per series, step and target: id, (with ``choice``, ``{id: label}``, the model
    that forecast the series,) step, target, mean, low, high (over seeds), and for a
    probabilistic model the seed-averaged quantiles ``q0.1``, ``q0.5``, ..."""
    rows = []
    for key, f in forecasts.items():
        mean, low, high, quantiles = f.mean, f.low, f.high, f.quantile_mean
        for k in range(mean.shape[0]):
            for j, target in enumerate(f.targets):
                rows.append(
                    {
                        "id": key,
                        **({} if choice is None else {"model": choice[key]}),
                        "step": k + 1,
                        "target": target,
                        "mean": float(mean[k, j]),
                        "low": float(low[k, j]),
                        "high": float(high[k, j]),
                        **(
                            {}
                            if quantiles is None
                            else {
                                f"q{level:g}": float(quantiles[k, j, n])
                                for n, level in enumerate(f.levels)
                            }
                        ),
                    }
                )
    return rows
