"""Forecasts from many origins in the data's units, and their scores beside the baselines.

The pieces of a rolling-origin backtest that do not train: :func:`predict_units` and
:func:`predict_quantile_units` turn a run's scaled forecasts into the data's units,
:func:`truth_at` cuts the values that came after each origin, and :func:`score_splits` scores
the validation and test forecasts (MAE, RMSE, MASE, sMAPE; pinball, CRPS and interval coverage
for quantiles, also after conformal calibration) beside every baseline on the same origins.
:func:`jaxseq.app.candidates.evaluate` (a saved run), :mod:`jaxseq.app.compare` (the zoo)
and :mod:`jaxseq.app.panel.training` (a panel) are built on them.
"""

from __future__ import annotations

import numpy as np

from jaxseq import baselines, data, evaluate, metrics, models
from jaxseq.app.io import Series
from jaxseq.app.runs import RunConfig


def predict_units(
    model: models.Model, variables, scaler: data.Scaler, config: RunConfig, X
) -> np.ndarray:
    """Every replica's forecasts for scaled windows ``X``, in the data's units:
    ``[seeds, windows, horizon, targets]`` float64 (seq2seq: the forecast made at the origin)."""
    pred = evaluate.predict_replicas(model, variables, X)
    return _in_units(pred, scaler, config)


def predict_quantile_units(
    model: models.Model, variables, scaler: data.Scaler, config: RunConfig, X, levels=None
) -> np.ndarray:
    """Every replica's forecast quantiles at ``levels`` (default the model's) for scaled windows
    ``X``, in the data's units: ``[seeds, windows, horizon, targets, L]`` float64,
    non-decreasing along ``L`` (the scaling ``y = s y' + m`` has ``s > 0``)."""
    q = evaluate.quantile_replicas(model, variables, X, levels)
    q = np.moveaxis(q, -1, 0)  # levels first: each level is a forecast in apply's layout
    return np.moveaxis(np.stack([_in_units(level, scaler, config) for level in q]), 0, -1)


def to_units(scaled, mean, scale) -> np.ndarray:
    """Scaled values back in the data's units, ``y = z * scale + mean`` in float64: the one way
    back to units of every forecast (one series, a panel, quantiles, intervals). ``mean`` and
    ``scale`` broadcast against ``scaled``: ``[targets]`` for one series' forecasts ``[...,
    targets]``, ``[windows, 1, targets]`` for a panel's windows (each its series' frame), with
    a trailing axis added for quantiles ``[..., targets, L]``. ``scale > 0`` keeps the order of
    quantile levels."""
    return np.asarray(scaled, np.float64) * scale + mean


def from_units(values, mean, scale) -> np.ndarray:
    """The inverse of :func:`to_units`: ``z = (y - mean) / scale`` in float64."""
    return (np.asarray(values, np.float64) - mean) / scale


def _in_units(pred: np.ndarray, scaler: data.Scaler, config: RunConfig) -> np.ndarray:
    """``[seeds, windows, ...]`` scaled forecasts in apply's layout -> ``[seeds, windows,
    horizon, targets]`` in data units (seq2seq: the forecast made at the origin)."""
    if config.task == "seq2seq":
        pred = pred[:, :, -1]
    cols = config.target_indices
    pred = pred.reshape(pred.shape[0], pred.shape[1], config.horizon, len(cols))
    return to_units(pred, scaler.mean[cols], scaler.scale[cols])


def truth_at(values: np.ndarray, origins: np.ndarray, horizon: int, cols) -> np.ndarray:
    """``values[o : o + horizon, cols]`` for each origin: ``[windows, horizon, targets]``."""
    index = np.asarray(origins)[:, None] + np.arange(horizon)[None, :]
    return np.asarray(values, np.float64)[index][:, :, list(cols)]


def observed(series: Series, cols) -> np.ndarray:
    """The columns ``cols`` of ``series`` as ``[time, len(cols)]`` float64, NaN where a value
    was missing from the data (filled by ``--fill`` or never there): the truths every score
    reads, so a made-up value is never scored as if it had come (:mod:`jaxseq.metrics` masks
    them)."""
    values = np.asarray(series.values, np.float64)[:, cols]
    if series.filled is not None:
        values = np.where(np.asarray(series.filled)[:, cols], np.nan, values)
    return values


def season_for(config: RunConfig, series: Series, season: int | None = None) -> int:
    """The season for MASE and the seasonal baselines: given, the run's, the time column's
    frequency (weekly 52, monthly 12, ...), else 1."""
    return season or config.season or getattr(series, "season", None) or 1


#: the parts whose origins are forecast: ranking, calibration (the ranking windows again
#: when the protocol has no calibration part of its own, :meth:`jaxseq.data.Protocol.halved`)
#: and test
SPLITS = ("valid", "calibrate", "test")


def baseline_forecasts(
    config: RunConfig,
    series: Series,
    protocol: data.Protocol,
    *,
    season: int,
    classical: bool = True,
    refit_every: int | None = None,
    timings: dict[str, float] | None = None,
    classical_budget: float | None = baselines.CLASSICAL_BUDGET,
) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, str]]:
    """Every baseline's forecasts at the origins of each part of :data:`SPLITS`, in the data's
    units: ``({split: {name: [windows, horizon, targets]}}, skipped)``. Each fitted baseline
    is fitted once, on the training part (:func:`jaxseq.baselines.all_baselines` over the
    origins of every part at once); with ``refit_every=K`` its test forecasts are refitted
    before every K test origins on the schedule and data a refitted network uses
    (:meth:`jaxseq.data.Protocol.refit_blocks`: the training part ending one validation length
    before the block). ``skipped`` names each baseline that could not run and why;
    ``timings``, when given, receives each baseline's seconds (refits added);
    ``classical_budget`` is the seconds each classical model may take per fit
    (:func:`jaxseq.baselines.classical`; ``None`` or 0: no limit)."""
    values = np.asarray(series.values, np.float64)[:, config.target_indices]
    parts = {name: protocol.origins(name) for name in SPLITS}
    if refit_every is not None:
        del parts["test"]
    models = None if not classical else baselines.CLASSICAL

    def fitted(origins: np.ndarray, fit_end: int):
        seconds: dict[str, float] = {}
        out = baselines.all_baselines(
            values,
            origins,
            config.horizon,
            season=season,
            window=config.window,
            fit_end=fit_end,
            classical_models=models,
            timings=seconds,
            classical_budget=classical_budget,
        )
        if timings is not None:
            for name, t in seconds.items():
                timings[name] = timings.get(name, 0.0) + t
        return out

    forecasts, skipped = fitted(np.concatenate(list(parts.values())), protocol.train_end)
    ends = np.cumsum([len(o) for o in parts.values()])
    split = {
        name: {b: f[end - len(o) : end] for b, f in forecasts.items()}
        for (name, o), end in zip(parts.items(), ends, strict=True)
    }
    if refit_every is not None:
        blocks = [fitted(block, sub.train_end) for block, sub in protocol.refit_blocks(refit_every)]
        for _, failed in blocks:
            skipped.update(failed)
        split["test"] = {
            b: np.concatenate([f[b] for f, _ in blocks]) for b in split["valid"] if b not in skipped
        }
        for name in ("valid", "calibrate"):
            split[name] = {b: f for b, f in split[name].items() if b in split["test"]}
    return split, skipped


def score_at(
    config: RunConfig,
    series: Series,
    protocol: data.Protocol,
    split: str,
    forecasts: dict[str, np.ndarray],
    season: int,
) -> dict[str, dict]:
    """Each forecast's scores at the ``split`` origins (``{name: [seeds, windows, horizon,
    targets]}``; :func:`jaxseq.metrics.score_seeds`, MASE scaled by the training part's
    seasonal naive MAE), in the data's units."""
    values = observed(series, config.target_indices)
    scale = metrics.mase_scale(values[: protocol.train_end], season)
    truth = truth_at(values, protocol.origins(split), config.horizon, range(values.shape[1]))
    return {m: metrics.score_seeds(p, truth, scale) for m, p in forecasts.items()}


def score_splits(
    config: RunConfig,
    series: Series,
    protocol: data.Protocol,
    forecasts: dict[str, dict[str, np.ndarray]],
    *,
    season: int,
    classical: bool = True,
    quantiles: dict[str, dict[str, np.ndarray]] | None = None,
    levels: tuple[float, ...] | None = None,
    baseline: tuple[dict[str, dict[str, np.ndarray]], dict[str, str]] | None = None,
    refit_every: int | None = None,
    classical_budget: float | None = baselines.CLASSICAL_BUDGET,
) -> dict:
    """Scores of model forecasts (``{split: {name: [seeds, windows, horizon, targets]}}``) and
    of every baseline on the same origins, in the data's units, MASE scaled by the training
    part's seasonal naive MAE. ``baseline``: the baselines' forecasts and skip notes as
    :func:`baseline_forecasts` gives them (default: computed here, refitted on the networks'
    schedule with ``refit_every``, each classical model within ``classical_budget`` seconds).

    With ``quantiles`` (``{split: {name: [seeds, windows, horizon, targets, L]}}`` at
    ``levels``) each split also holds ``"quantiles"``: the levels and, per model and for
    seasonal naive (with :func:`jaxseq.baselines.seasonal_naive_quantiles`),
    :func:`jaxseq.metrics.score_quantiles_seeds` (pinball, scaled pinball, CRPS approximation,
    coverage and width of each central interval); and the test split ``"calibrated"``: the same
    scores after conformal calibration on the calibration windows (:func:`calibrations`),
    each forecast (baseline included) calibrated by its own errors there, ``"rolling"``
    and ``"adaptive"``: after rolling and adaptive calibration on the latest errors
    (:func:`calibrated_scores`: the seeds' average is calibrated as a whole).

    With point forecasts at the calibration origins (``forecasts["calibrate"]``), the test
    split also holds ``"intervals"``: every row's 80% interval from its point errors there
    (:func:`point_intervals`).
    """
    cols = config.target_indices
    values = observed(series, cols)
    scale = metrics.mase_scale(values[: protocol.train_end], season)
    base, skipped = baseline or baseline_forecasts(
        config,
        series,
        protocol,
        season=season,
        classical=classical,
        refit_every=refit_every,
        classical_budget=classical_budget,
    )
    out = {}
    for name in ("valid", "test"):
        origins = protocol.origins(name)
        truth = truth_at(values, origins, config.horizon, range(len(cols)))
        every = {**forecasts[name], **{b: p[None] for b, p in base[name].items()}}
        rows = score_at(config, series, protocol, name, every, season)
        out[name] = {
            "windows": int(len(origins)),
            "origins": [int(origins[0]), int(origins[-1])],
            "masked_targets": metrics.masked_targets(truth),
            "rows": rows,
            "skipped": skipped,
        }
    if "calibrate" in forecasts:
        calibrate = {**forecasts["calibrate"], **{b: f[None] for b, f in base["calibrate"].items()}}
        test = {**forecasts["test"], **{b: f[None] for b, f in base["test"].items()}}
        out["test"]["intervals"] = point_intervals(
            protocol, values, config.horizon, calibrate, test
        )
    if quantiles is not None:
        _score_quantile_splits(out, config, values, protocol, quantiles, levels, season, scale)
    return out


def _score_quantile_splits(out, config, values, protocol, quantiles, levels, season, scale):
    """The ``"quantiles"`` blocks of :func:`score_splits`."""
    levels = tuple(float(t) for t in levels)
    forecasts, truths = {}, {}
    for name in SPLITS:
        origins = protocol.origins(name)
        truths[name] = truth_at(values, origins, config.horizon, range(values.shape[1]))
        base = baselines.seasonal_naive_quantiles(
            values,
            origins,
            config.horizon,
            season=season,
            levels=levels,
            fit_end=protocol.train_end,
        )
        # the seasonal naive forecast with its empirical error quantiles: its row's name
        forecasts[name] = {**quantiles[name], "seasonal_naive": base[None]}
        if name == "calibrate":
            continue
        out[name]["quantiles"] = {
            "levels": list(levels),
            "rows": {
                m: metrics.score_quantiles_seeds(q, truths[name], levels, scale)
                for m, q in forecasts[name].items()
            },
        }
    for key, calibrate in calibrations(protocol, values, config.horizon, levels).items():
        out["test"]["quantiles"][key] = {
            m: calibrated_scores(
                calibrate, forecasts["calibrate"][m], q, truths["test"], levels, scale
            )
            for m, q in forecasts["test"].items()
        }


#: the central interval every forecast gets from its point errors (:func:`point_intervals`)
POINT_LEVELS = (0.1, 0.5, 0.9)
#: the calibration a comparison's headline coverage is that of, fixed before any run read
#: a test part: rolling (the online form a deployed forecaster uses)
HEADLINE_CALIBRATION = "rolling"


def as_quantiles(point) -> np.ndarray:
    """A point forecast ``[..., horizon, targets]`` as the quantile forecast whose levels
    (:data:`POINT_LEVELS`) all equal it, ``[..., horizon, targets, 3]`` float64: its CQR score
    is then ``|y - yhat|`` and conformal offsets make an interval around it."""
    point = np.asarray(point, np.float64)
    return np.repeat(point[..., None], len(POINT_LEVELS), axis=-1)


def calibrations(protocol: data.Protocol, values: np.ndarray, horizon: int, levels) -> dict:
    """The three conformal calibrations of test quantiles (:mod:`jaxseq.calibration`), each
    ``calibrate(held_out, test) -> test calibrated``, on the protocol's calibration windows
    (``origins("calibrate")``: windows that chose no epoch, model or ensemble weight):
    ``"calibrated"`` (static offsets), ``"rolling"`` (each test window on the latest ``n``
    windows observed before its origin, ``n`` the calibration windows) and ``"adaptive"``
    (rolling, the level moved by the misses; :data:`jaxseq.calibration.ADAPT_STEP`)."""
    from jaxseq import calibration

    held = protocol.origins("calibrate")
    origins = np.concatenate([held, protocol.origins("test")])
    truth = truth_at(values, origins, horizon, range(values.shape[1]))
    n = len(held)

    def static(valid, test):
        return calibration.apply(test, calibration.offsets(valid, truth[:n], levels), levels)

    def rolling(valid, test, gamma=None):
        both = np.concatenate([valid, test], axis=-4)
        return calibration.rolling(both, truth, origins, levels, start=n, window=n, gamma=gamma)

    return {
        "calibrated": static,
        "rolling": rolling,
        "adaptive": lambda valid, test: rolling(valid, test, calibration.ADAPT_STEP),
    }


def point_intervals(
    protocol: data.Protocol,
    values: np.ndarray,
    horizon: int,
    calibrate: dict[str, np.ndarray],
    test: dict[str, np.ndarray],
) -> dict:
    """80% intervals around every forecast issued, from its own point errors on the
    calibration windows: split conformal prediction of the absolute error per horizon step
    (:func:`as_quantiles`), static, rolling and adaptive as
    :func:`calibrations` defines them.

    Args:
        values: the targets ``[time, targets]`` in data units.
        calibrate, test: ``{name: [seeds, windows, horizon, targets]}`` point forecasts at the
            calibration and test origins; the seeds' average is the forecast calibrated.

    Returns:
        ``{"nominal": 0.8, "windows": n, "headline": method, "rows": {name: {method:
        {"coverage", "width"}}}}``, coverage and mean width on the test part.
    """
    truth = truth_at(values, protocol.origins("test"), horizon, range(values.shape[1]))
    methods = calibrations(protocol, values, horizon, POINT_LEVELS)
    rows: dict[str, dict] = {}
    for name, forecast in test.items():
        issued = [as_quantiles(np.asarray(f).mean(0)) for f in (calibrate[name], forecast)]
        rows[name] = {}
        for method, calibrated in methods.items():
            q = calibrated(*issued)
            inside = (q[..., 0] <= truth) & (truth <= q[..., -1])
            rows[name][method] = {
                "coverage": float(inside[~np.isnan(truth)].mean()),
                "width": float((q[..., -1] - q[..., 0]).mean()),
            }
    return {
        "nominal": POINT_LEVELS[-1] - POINT_LEVELS[0],
        "windows": int(len(protocol.origins("calibrate"))),
        "headline": HEADLINE_CALIBRATION,
        "rows": rows,
    }


def calibrated_scores(calibrate, valid, test, truth, levels, scale) -> dict:
    """:func:`jaxseq.metrics.score_quantiles_seeds` of ``test`` quantiles ``[seeds, windows,
    horizon, targets, L]`` calibrated by ``calibrate(valid, test)`` on the ``valid`` ones.

    The headline scores are those of the forecast issued: the seeds' average, calibrated as a
    whole on the average's own held-out errors. Calibrating each seed and averaging would not
    do: the average's errors are smaller than a seed's, so the average of calibrated seeds
    over-covers. The spread over seeds is that of each seed calibrated on its own errors.
    """
    issued = calibrate(valid.mean(axis=0, keepdims=True), test.mean(axis=0, keepdims=True))
    return metrics.score_quantiles_seeds(
        calibrate(valid, test), truth, levels, scale, ensemble=issued[0]
    )
