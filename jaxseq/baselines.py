"""Baseline forecasts from any origin: naive, seasonal naive, drift, least squares, and the
classical models of statsforecast (an optional extra).

Every baseline takes a series ``[time, targets]``, forecast ``origins`` ``[n]`` (an origin
``o`` is the index of the first forecast step) and a ``horizon``, and returns
``[n, horizon, targets]`` float64 forecasts of ``series[o : o + horizon]``, reading only the
history ``series[:o]``: the same origins and the same information a trained model gets.
For step ``k = 0 .. horizon - 1`` after origin ``o`` (``m`` the season, ``w`` the window)::

    naive            yhat[o + k] = y[o - 1]
    seasonal naive   yhat[o + k] = y[o + k - m * ceil((k + 1) / m)]    (one season back)
    drift            yhat[o + k] = y[o - 1] + (k + 1) * (y[o - 1] - y[0]) / (o - 1)
    least squares    yhat[o : o + h] = [y[o - w : o], 1] @ W,  W fitted once before fit_end
    seasonal naive   yhat_tau[o + k] = yhat[o + k] + Q_tau{y[t + k] - yhat_t[t + k] :
      quantiles                        m <= t, t + k < fit_end}   (in-sample errors, step k)

Seasonal naive reaches back into the history (``m`` may exceed a model's window): for
horizons past the season it repeats the last observed season. Its quantile version
(:func:`seasonal_naive_quantiles`) adds, for each step and target, the empirical ``tau``
quantile ``Q_tau`` of the errors seasonal naive made that many steps ahead before
``fit_end``, and returns ``[n, horizon, targets, L]`` for ``L`` levels.

AutoETS, AutoARIMA and AutoTheta are statsforecast's (``pip install 'jaxseq[classical]'``):
each is fitted **once** per target on ``series[:fit_end]`` and applied from every origin
without refitting, through the model's ``forward(y=series[:o], h=horizon)`` (what
``StatsForecast.cross_validation(refit=False)`` does, without the data-frame round trip). They
are not re-implemented here. Two notes on how statsforecast treats long seasons:

- AutoARIMA is run with ``approximation=None``: R's ``auto.arima`` rule, which searches orders
  by conditional sums of squares when the series has more than 150 steps or the season is
  longer than 12, then refits the chosen order by maximum likelihood. statsforecast's own
  default (exact likelihood for every candidate) took 325 s on 1,800 weekly CO2 values with
  season 52; the rule takes about 10 s.
- statsforecast's ETS, like R's ``ets``, has no seasonal states for a season above 24: AutoETS
  with such a season chooses among non-seasonal models (level, trend, damping).

Leakage is ruled out by construction and refused at the door: a fitted baseline
(least squares, seasonal naive quantiles, classical) refuses an origin before ``fit_end``, since its fit would have seen
values at or after that origin.
"""

from __future__ import annotations

import numbers
import time
import warnings

import numpy as np

from jaxseq import arima_origins, data, deadline, evaluate
from jaxseq.errors import InputError, check_positive_int

#: The simple baselines :func:`all_baselines` always runs.
BASELINES = ("naive", "seasonal_naive", "drift", "linear_least_squares")
#: The classical models, run when statsforecast is installed.
CLASSICAL = ("auto_ets", "auto_arima", "auto_theta")

INSTALL_HINT = "pip install 'jaxseq[classical]'"

#: Seconds each classical model may take in ``compare`` (fit and forecasts from every origin)
#: before it is skipped with a note. The slowest fit of the benchmark, AutoARIMA on 4,032
#: half-hourly steps with season 48, took 578 s; every other took under 20 s
#: (``experiments/results/benchmark/*/compare.json``, ``settings.stages``).
CLASSICAL_BUDGET = 120.0


# --------------------------------------------------------------------------- checks


def _prepare(series, origins, horizon, *, min_history: int = 1, who: str = "this baseline"):
    """Check the common arguments; return ``series`` ``[time, targets]`` float64, ``origins``
    int64 and ``horizon``. Each origin needs ``min_history`` steps before it."""
    data.as_series(series)  # numbers, 1-D or 2-D, finite: its messages, not a second copy
    series = np.asarray(series, np.float64)
    if series.ndim == 1:
        series = series[:, None]
    horizon = check_positive_int("horizon", horizon)
    raw = np.asarray(origins)
    if raw.ndim != 1 or raw.size == 0:
        raise InputError(
            f"origins must be a non-empty 1-D list of step indices, got shape {raw.shape}"
        )
    if not np.issubdtype(raw.dtype, np.integer):
        raise InputError(f"origins must be integer step indices, got dtype {raw.dtype}")
    origins = raw.astype(np.int64)
    lo, hi = int(origins.min()), int(origins.max())
    if hi > len(series):
        raise InputError(
            f"origin {hi} lies past the end of the series ({len(series)} steps): an origin is "
            f"the index of the first forecast step, at most {len(series)}"
        )
    if lo < min_history:
        raise InputError(
            f"{who} needs at least {min_history} step(s) of history before each origin; "
            f"origin {lo} has {max(lo, 0)}: use later origins"
        )
    return series, origins, horizon


def _check_fit_end(fit_end, series: np.ndarray, origins: np.ndarray, *, need: int) -> int:
    fit_end = check_positive_int("fit_end", fit_end)
    if fit_end > len(series):
        raise InputError(f"fit_end {fit_end} lies past the end of the series ({len(series)} steps)")
    if fit_end < need:
        raise InputError(
            f"fit_end {fit_end} leaves too little data to fit on: it needs at least {need} steps"
        )
    first = int(origins.min())
    if first < fit_end:
        raise InputError(
            f"origin {first} lies before fit_end {fit_end}: a baseline fitted on "
            f"series[:{fit_end}] would have seen values at or after that origin; use origins "
            f">= fit_end (or an earlier fit_end)"
        )
    return fit_end


# --------------------------------------------------------------------------- simple baselines


def naive(series, origins, horizon: int) -> np.ndarray:
    """The last value before each origin, repeated: ``yhat[o + k] = y[o - 1]``.

    Args:
        series: ``[time, targets]`` (or 1-D ``[time]``).
        origins: ``[n]`` ints in ``[1, time]``.
        horizon: steps to forecast.

    Returns:
        ``[n, horizon, targets]`` float64.
    """
    series, origins, horizon = _prepare(series, origins, horizon, who="naive")
    return np.repeat(series[origins - 1][:, None], horizon, axis=1)


def seasonal_naive(series, origins, horizon: int, *, season: int) -> np.ndarray:
    """The value one season before each step: ``yhat[o + k] = y[o + k - m * ceil((k + 1) / m)]``.

    Step ``k`` reads ``y[o - m + (k mod m)]``: the last observed season, repeated for horizons
    longer than ``m``. It reads the history directly, so ``m`` is not limited by any window.

    Args:
        series: ``[time, targets]``; origins: ``[n]`` ints, each at least ``season``.
        season: ``m``, steps per season.

    Returns:
        ``[n, horizon, targets]`` float64.
    """
    season = check_positive_int("season", season)
    series, origins, horizon = _prepare(
        series, origins, horizon, min_history=season, who=f"seasonal naive with season {season}"
    )
    k = np.arange(horizon)
    back = season * (k // season + 1)  # m * ceil((k + 1) / m)
    return series[origins[:, None] + k[None, :] - back[None, :]]


def drift(series, origins, horizon: int) -> np.ndarray:
    """The line through the first value and the last one before each origin, extended:
    ``yhat[o + k] = y[o - 1] + (k + 1) * (y[o - 1] - y[0]) / (o - 1)``.

    Args:
        series: ``[time, targets]``; origins: ``[n]`` ints, each at least 2.

    Returns:
        ``[n, horizon, targets]`` float64.
    """
    series, origins, horizon = _prepare(series, origins, horizon, min_history=2, who="drift")
    last = series[origins - 1]  # [n, targets]
    slope = (last - series[0]) / (origins - 1)[:, None]
    steps = np.arange(1, horizon + 1, dtype=np.float64)[None, :, None]
    return last[:, None] + steps * slope[:, None]


def linear_least_squares(
    series, origins, horizon: int, *, window: int, fit_end: int, ridge: float = 0.0
) -> np.ndarray:
    """The closed-form least-squares map from the last ``window`` values of every target (and
    a constant) to the next ``horizon`` values of every target.

    Fitted once (:func:`jaxseq.evaluate.linear_least_squares` on
    :func:`jaxseq.data.make_windows` of ``series[:fit_end]``: every window whose targets end
    before ``fit_end``), then applied to ``series[o - window : o]`` at each origin.

    Args:
        series: ``[time, targets]``; origins: ``[n]`` ints, each ``>= fit_end``.
        window: input steps ``w``.
        fit_end: the fit sees ``series[:fit_end]`` only.
        ridge: ``lambda`` added to the Gram matrix's diagonal (0: plain least squares, which
            needs at least ``w * targets + 1`` windows).

    Returns:
        ``[n, horizon, targets]`` float64.
    """
    window = check_positive_int("window", window)
    series, origins, horizon = _prepare(series, origins, horizon, who="least squares")
    fit_end = _check_fit_end(fit_end, series, origins, need=window + horizon)
    targets = series.shape[1]
    n_windows = fit_end - window - horizon + 1
    n_params = window * targets + 1
    if ridge == 0 and n_windows < n_params:
        raise InputError(
            f"least squares with window {window} over {targets} target(s) has {n_params} "
            f"coefficients per output but only {n_windows} training windows before fit_end "
            f"{fit_end}: use a smaller window, a later fit_end or ridge > 0"
        )
    cols = tuple(range(targets))
    X, Y = data.make_windows(series[:fit_end], window, horizon, "multi_step", targets=cols)
    try:
        forecast = evaluate.linear_least_squares(data.Split(X, Y), ridge=float(ridge))
    except np.linalg.LinAlgError:
        raise InputError(
            "least squares is singular on this training part (constant or collinear inputs): "
            "use ridge > 0 or a smaller window"
        ) from None
    inputs = series[origins[:, None] + np.arange(-window, 0)[None, :]]  # [n, window, targets]
    # Y is step-major ([k * targets + j]), so this reshape gives [n, horizon, targets].
    return np.asarray(forecast(inputs), np.float64).reshape(len(origins), horizon, targets)


# --------------------------------------------------------------------------- classical


def available() -> bool:
    """Whether statsforecast is importable (the ``classical`` extra)."""
    try:
        import statsforecast  # noqa: F401
    except ImportError:
        return False
    return True


def _make(name: str, season: int):
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

    if name == "auto_ets":
        return AutoETS(season_length=season)
    if name == "auto_arima":
        return AutoARIMA(season_length=season, approximation=None)
    return AutoTheta(season_length=season)


def fit_forward(name: str, season: int, y: np.ndarray, origins, horizon, fit_end) -> np.ndarray:
    """One model on one target: fit on ``y[:fit_end]``, ``forward`` from each origin.

    AutoARIMA's forecasts come from one Kalman-filter pass over ``y``
    (:func:`jaxseq.arima_origins.arima_forecasts`, equal to ``forward`` from each origin up to
    rounding) instead of one pass over the history per origin; a fit it does not reproduce
    falls back to ``forward``.
    """
    model = _make(name, season)
    model.fit(y[:fit_end])
    out = None
    if name == "auto_arima":
        try:
            out = arima_origins.arima_forecasts(model, y, origins, horizon)
        except NotImplementedError:
            pass
    if out is None:
        rows = [model.forward(y=y[:o], h=horizon)["mean"] for o in origins]
        out = np.asarray(rows, np.float64)
    if out.shape != (len(origins), horizon):
        raise ValueError(f"forecasts came back with shape {out.shape}")
    if not np.isfinite(out).all():
        raise ValueError("it produced non-finite forecasts")
    return out


def classical(
    series,
    origins,
    horizon: int,
    *,
    season: int,
    fit_end: int,
    models=CLASSICAL,
    timings: dict[str, float] | None = None,
    budget: float | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """statsforecast's AutoETS, AutoARIMA and AutoTheta, each fitted once per target on
    ``series[:fit_end]`` and applied from every origin without refitting.

    Args:
        series: ``[time, targets]``; origins: ``[n]`` ints, each ``>= fit_end``.
        season: ``season_length`` of every model.
        fit_end: the models are fitted on ``series[:fit_end]``.
        models: names among :data:`CLASSICAL`.
        timings: a dict that receives each model's seconds (fits and forecasts).
        budget: seconds each model may take (its fits and forecasts on every target), or
            ``None`` for no limit; a model still running then is stopped and skipped
            (:func:`jaxseq.deadline.time_limit`; enforced in a process's main thread).

    Returns:
        ``(forecasts, skipped)``: ``forecasts[name]`` is ``[n, horizon, targets]`` float64 for
        every model that worked on every target; ``skipped[name]`` is a one-line reason for
        each model that raised (a season or length it refuses, a failed optimisation), gave
        non-finite forecasts or ran out of its ``budget``. A failure skips that model only,
        never the comparison.

    Raises:
        InputError: statsforecast is not installed, an unknown model name, or bad arguments.

    statsforecast's warnings (convergence notes of each ARIMA candidate, hundreds on a long
    seasonal series) are silenced inside this function only.
    """
    if not available():
        raise InputError(f"the classical baselines need statsforecast: {INSTALL_HINT}")
    models = (models,) if isinstance(models, str) else tuple(models)
    unknown = [m for m in models if m not in CLASSICAL]
    if unknown:
        raise InputError(
            f"unknown classical model(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(CLASSICAL)}"
        )
    season = check_positive_int("season", season)
    series, origins, horizon = _prepare(series, origins, horizon, who="the classical baselines")
    fit_end = _check_fit_end(fit_end, series, origins, need=2)
    budget = check_budget(budget)
    forecasts: dict[str, np.ndarray] = {}
    skipped: dict[str, str] = {}
    for name in dict.fromkeys(models):
        start = time.perf_counter()
        try:
            with (
                deadline.time_limit(budget),
                warnings.catch_warnings(),
                np.errstate(all="ignore"),
            ):
                warnings.filterwarnings("ignore", module=r"statsforecast(\.|$)")
                columns = [
                    fit_forward(name, season, series[:, j], origins, horizon, fit_end)
                    for j in range(series.shape[1])
                ]
            forecasts[name] = np.stack(columns, axis=-1)
        except deadline.OverBudget:
            skipped[name] = (
                f"stopped at its {budget:g} s budget ({len(series):,} steps, season {season}); "
                "a larger classical budget, or 0 for none, runs it to the end"
            )
        except Exception as error:  # the model's own refusal: report it, keep the others
            first_line = (str(error).strip().splitlines() or [""])[0][:200]
            skipped[name] = f"{type(error).__name__}: {first_line}".rstrip(": ")
        if timings is not None:
            timings[name] = time.perf_counter() - start
    return forecasts, skipped


def check_budget(budget) -> float | None:
    """A classical model's time budget in seconds: a positive number, or ``None`` / ``0`` for
    no limit; anything else is an :class:`InputError`."""
    if budget is None:
        return None
    seconds = float(budget) if isinstance(budget, numbers.Real) else float("nan")
    if isinstance(budget, bool) or not seconds >= 0 or seconds == float("inf"):
        raise InputError(
            f"classical_budget must be a number of seconds >= 0 (0: no limit), got {budget!r}"
        )
    return seconds if seconds > 0 else None


# --------------------------------------------------------------------------- all at once


def all_baselines(
    series,
    origins,
    horizon: int,
    *,
    season: int,
    window: int,
    fit_end: int,
    classical_models=CLASSICAL,
    timings: dict[str, float] | None = None,
    classical_budget: float | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Every simple baseline (:data:`BASELINES`), and the classical ones (:data:`CLASSICAL`,
    or the names in ``classical_models``; ``None`` for none) when statsforecast is installed.

    Arguments shared by all baselines (series, origins, horizon, season, window, fit_end) are
    checked first and raise :class:`InputError`. After that a baseline that cannot run here
    (seasonal naive with origins closer to the start than a season, least squares with too
    few windows, a classical model that fails, statsforecast missing) is reported in
    ``skipped`` and the others still run.

    Returns:
        ``(forecasts, skipped)``: ``forecasts[name]`` ``[n, horizon, targets]`` float64,
        ``skipped[name]`` a one-line reason; ``timings``, when given, receives each one's
        seconds. ``classical_budget`` is :func:`classical`'s ``budget``.
    """
    season = check_positive_int("season", season)
    window = check_positive_int("window", window)
    series, origins, horizon = _prepare(series, origins, horizon, who="the baselines")
    _check_fit_end(fit_end, series, origins, need=1)
    forecasts: dict[str, np.ndarray] = {}
    skipped: dict[str, str] = {}
    for name in BASELINES:
        start = time.perf_counter()
        try:
            forecasts[name] = forecast(
                name, series, origins, horizon, season=season, window=window, fit_end=fit_end
            )
        except InputError as error:
            skipped[name] = str(error)
        if timings is not None:
            timings[name] = time.perf_counter() - start
    if classical_models is not None:
        names = (classical_models,) if isinstance(classical_models, str) else classical_models
        if available():
            extra, failed = classical(
                series,
                origins,
                horizon,
                season=season,
                fit_end=fit_end,
                models=names,
                timings=timings,
                budget=classical_budget,
            )
            forecasts.update(extra)
            skipped.update(failed)
        else:
            skipped.update({n: f"statsforecast is not installed: {INSTALL_HINT}" for n in names})
    return forecasts, skipped


def forecast(
    name: str, series, origins, horizon: int, *, season: int, window: int, fit_end: int
) -> np.ndarray:
    """One baseline by name (:data:`BASELINES` or :data:`CLASSICAL`) from every origin:
    ``[n, horizon, targets]`` float64. The fitted ones (least squares, classical) are fitted
    on ``series[:fit_end]``; to forecast from the end of a series with everything known, give
    ``fit_end = origin = len(series)``.

    Raises:
        InputError: an unknown name, bad arguments, or a baseline that cannot run here (a
            classical model's own failure is reported with its first line).
    """
    if name == "naive":
        return naive(series, origins, horizon)
    if name == "seasonal_naive":
        return seasonal_naive(series, origins, horizon, season=season)
    if name == "drift":
        return drift(series, origins, horizon)
    if name == "linear_least_squares":
        return linear_least_squares(series, origins, horizon, window=window, fit_end=fit_end)
    if name in CLASSICAL:
        out, skipped = classical(
            series, origins, horizon, season=season, fit_end=fit_end, models=(name,)
        )
        if name in skipped:
            raise InputError(f"{name} could not forecast this series ({skipped[name]})")
        return out[name]
    raise InputError(f"unknown baseline {name!r}; known: {', '.join(BASELINES + CLASSICAL)}")


# --------------------------------------------------------------------------- quantiles


def _check_levels(levels) -> np.ndarray:
    tau = np.asarray(levels)
    if tau.ndim != 1 or tau.size == 0 or not np.issubdtype(tau.dtype, np.number):
        raise InputError(
            f"levels must be a non-empty 1-D list of numbers, got {levels!r}: give quantile "
            "levels such as [0.1, 0.5, 0.9]"
        )
    tau = tau.astype(np.float64)
    if not (np.all((tau > 0) & (tau < 1)) and np.all(np.diff(tau) > 0)):
        raise InputError(
            f"levels must be strictly increasing and strictly between 0 and 1, got "
            f"{tau.tolist()}: sort them, give each once, such as [0.1, 0.5, 0.9]"
        )
    return tau


def seasonal_naive_quantiles(
    series, origins, horizon: int, *, season: int, levels, fit_end: int
) -> np.ndarray:
    """:func:`seasonal_naive` with empirical quantiles of its own in-sample errors around it.

    For step ``k`` and target ``j`` the errors are those seasonal naive made ``k + 1`` steps
    ahead from every in-sample origin ``t`` (``t >= m``, so it has a season of history, and
    ``t + k < fit_end``, so the value it forecast lies before ``fit_end``)::

        e_{t,k,j} = y[t + k, j] - y[t - m + (k mod m), j]
        yhat_tau[o + k, j] = y[o - m + (k mod m), j] + Q_tau({e_{t,k,j}})

    ``Q_tau`` is ``np.quantile`` (its default, linear interpolation) over the
    ``fit_end - m - k`` errors; they come from ``series[:fit_end]`` only, so no forecast sees a
    value at or after ``fit_end``, and the point part reads ``series[:o]`` only. Along the
    levels the forecasts are non-decreasing (``np.quantile`` is monotone in ``tau``).

    Args:
        series: ``[time, targets]`` (or 1-D ``[time]``); origins: ``[n]`` ints, each
            ``>= fit_end``.
        horizon: steps to forecast, ``h``.
        season: ``m``, steps per season.
        levels: ``[L]`` strictly increasing levels in ``(0, 1)``.
        fit_end: the errors are measured on ``series[:fit_end]``; it needs at least ``m + h``
            steps (one error for the longest step).

    Returns:
        ``[n, horizon, targets, L]`` float64.
    """
    season = check_positive_int("season", season)
    tau = _check_levels(levels)
    point = seasonal_naive(series, origins, horizon, season=season)  # checks the rest
    series, origins, horizon = _prepare(series, origins, horizon, min_history=season)
    fit_end = _check_fit_end(fit_end, series, origins, need=season + horizon)
    k = np.arange(horizon)
    back = season * (k // season + 1)  # as in seasonal_naive: step k reads y[t + k - back]
    spread = np.stack(
        [
            np.quantile(
                series[season + i : fit_end] - series[season + i - back[i] : fit_end - back[i]],
                tau,
                axis=0,
            )
            for i in k
        ]
    )  # [horizon, L, targets]
    return point[..., None] + np.transpose(spread, (0, 2, 1))[None]
