"""statsforecast's AutoARIMA forecasts from many origins in one Kalman-filter pass.

A fitted ``AutoARIMA`` forecasts from origin ``o`` through ``model.forward(y=y[:o], h=h)``:
statsforecast refits the model on ``y[:o]`` with every coefficient fixed, which runs the
Kalman filter over the whole prefix, then extrapolates the last filtered state. Over ``n``
origins that is ``O(n * len(y))`` filter steps: on 4,032 half-hourly values with season 48,
about 0.6 s per origin. The coefficients are the same for every origin and the filter is
causal, so the state after ``y[:o]`` is the same whether the filter stops at ``o`` or runs
on: :func:`arima_forecasts` filters once and reads the state off at each origin.

The model (statsforecast's ``make_arima``, a port of R's ``stats::arima``), ``r = max(p, q +
1)`` ARMA states (seasonal terms multiplied out) and ``d`` differencing states (``d`` here
counts ``d + D * m`` lags), ``rd = r + d``::

    x[t] = y[t] - xreg[t] @ beta                 regression part: intercept or drift, or none
    x[t] = Z @ alpha[t]                          Z = [1, 0 .. 0, delta]              [rd]
    alpha[t + 1] = T @ alpha[t] + R * eps[t]     T: AR companion and differencing   [rd, rd]
                                                 R = [1, theta, 0 .. 0], V = R R'   [rd, rd]

Filter (R's ``ARIMA_Like``), from ``a = 0``, ``P = 0`` and ``Pn = make_arima(...)["Pn"]``
(the stationary ARMA covariance, ``1e6`` on the differencing states)::

    anew = T a;  Pnew = Pn if t == 0 else T P T' + V
    M = Pnew Z;  g = Z' M;  v = x[t] - Z' anew
    a = anew + M v / g;  P = Pnew - M M' / g

Forecast from origin ``o`` (``kalman_forecast`` and ``forecast_arima``), ``a_o`` the state
after ``x[:o]``: ``a <- T a`` then ``yhat[o + k] = Z @ a + xm[o + k]``, with ``xm`` the
intercept, or ``drift * (o + 1 + k)`` for a drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: The variance put on the differencing states at the start (statsforecast's ``kappa``).
KAPPA = 1e6


@dataclass(frozen=True)
class _StateSpace:
    """The state-space form of one fixed ARIMA model; ``phi`` ``[p]``, ``delta`` ``[d]``,
    ``T`` and ``V`` ``[rd, rd]``, ``Z`` ``[rd]``, ``Pn`` ``[rd, rd]`` (first prediction)."""

    phi: np.ndarray
    delta: np.ndarray
    r: int
    T: np.ndarray
    V: np.ndarray
    Z: np.ndarray
    Pn: np.ndarray


def _delta(d: int, D: int, period: int) -> np.ndarray:
    """The differencing polynomial ``(1 - B)^d (1 - B^m)^D`` as statsforecast's ``arima``
    builds it, negated and without its leading 1: ``[d + D * m]``."""
    poly = np.array([1.0])
    for _ in range(d):
        poly = np.convolve(poly, [1.0, -1.0])
    for _ in range(D):
        poly = np.convolve(poly, np.r_[1.0, np.zeros(period - 1), -1.0])
    return -poly[1:]


def _state_space(fit: dict[str, Any]) -> _StateSpace:
    """The filter's matrices for the refit that ``forward_arima`` makes: coefficients fixed at
    the fit's, so ``phi``, ``theta`` and ``delta`` are the fit's, and a fresh initial state."""
    from statsforecast.arima import arima_transpar, make_arima

    arma = np.asarray(fit["arma"], dtype=np.int32)  # p, q, P, Q, m, d, D
    coef = np.asarray(list(fit["coef"].values()), dtype=np.float64)
    phi, theta = arima_transpar(coef, arma, False)
    delta = _delta(int(arma[5]), int(arma[6]), int(arma[4]))
    mod = make_arima(phi, theta, delta, KAPPA)
    return _StateSpace(
        phi=np.asarray(phi, np.float64),
        delta=delta,
        r=len(mod["Z"]) - len(delta),
        T=mod["T"],
        V=mod["V"],
        Z=mod["Z"],
        Pn=mod["Pn"],
    )


def _transition(ss: _StateSpace, X: np.ndarray) -> np.ndarray:
    """``T @ X`` for ``X`` ``[rd, k]`` without the dense product: ``T`` is an AR companion
    block (``phi`` down column 0, ones above the diagonal) over a differencing block (row
    ``r`` is ``[1, 0 .. 0, delta]``, then a shift)."""
    r, p, d = ss.r, len(ss.phi), len(ss.delta)
    out = np.empty_like(X)
    out[: r - 1] = X[1:r]
    out[r - 1] = 0.0
    out[:p] += ss.phi[:, None] * X[0]
    if d:
        out[r] = X[0] + ss.delta @ X[r:]
        out[r + 1 :] = X[r:-1]
    return out


def _filtered_states(ss: _StateSpace, x: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Run the filter over ``x`` ``[n]`` once; return the filtered state ``a`` after
    ``x[:s]`` for each ``s`` in ``stops`` ``[k]`` (ascending, in ``[1, n]``): ``[k, rd]``."""
    r, delta = ss.r, ss.delta
    rd = len(ss.Z)
    a = np.zeros(rd)
    P = np.zeros((rd, rd))
    Vr = ss.V[:r, :r]
    out = np.empty((len(stops), rd))
    want = np.zeros(len(x) + 1, dtype=bool)
    want[stops] = True
    row = {int(s): i for i, s in enumerate(stops)}
    for t in range(int(stops[-1])):
        anew = _transition(ss, a[:, None])[:, 0]
        if t == 0:
            Pnew = ss.Pn.copy()
        else:
            Pnew = _transition(ss, _transition(ss, P).T).T  # (T (T P)')' = T P T'
            Pnew[:r, :r] += Vr
        M = Pnew[:, 0] + Pnew[:, r:] @ delta
        gain = M[0] + delta @ M[r:]
        resid = x[t] - anew[0] - delta @ anew[r:]
        a = anew + M * (resid / gain)
        P = Pnew - np.outer(M, M / gain)
        if want[t + 1]:
            out[row[t + 1]] = a
    return out


def _regression(fit: dict[str, Any], n: int) -> tuple[np.ndarray, float]:
    """The regression part of ``forward_arima``'s refit on a series of ``n`` steps, and the
    drift coefficient: ``(xm [n], drift)``; ``drift`` is 0 without one.

    With a drift, ``arima2`` does not reuse the time index ``1 .. n``: it regresses the fit's
    drift column on ``t / m`` and predicts that line on ``t / m``, ``t = 0 .. n - 1``
    (``np.arange(0, (n + 1) / m, 1 / m)[:n]``, whose ``t``-th value does not depend on ``n``,
    so the prefix of the full series' regressor is each origin's regressor).
    """
    coef = fit["coef"]
    if "intercept" in coef:
        return np.full(n, float(coef["intercept"])), 0.0
    if "drift" not in coef:
        return np.zeros(n), 0.0
    import statsmodels.api as sm  # type: ignore[import-untyped]

    m = int(fit["arma"][4])
    n_fit = len(fit["x"])
    time = np.arange(0, (n_fit + 1) / m, 1 / m)[:n_fit].reshape(-1, 1)
    line = sm.OLS(fit["xreg"][:, 0], sm.add_constant(time)).fit()
    new_time = np.arange(0, (n + 1) / m, 1 / m)[:n].reshape(-1, 1)
    column = np.asarray(line.predict(sm.add_constant(new_time)), np.float64).reshape(-1)
    drift = float(coef["drift"])
    return column * drift, drift


def _check_supported(model: Any) -> dict[str, Any]:
    fit = getattr(model, "model_", None)
    if fit is None:
        raise ValueError("the AutoARIMA model is not fitted: call fit first")
    if getattr(model, "method", None) == "CSS":
        # forward's refit with method="CSS" never filters: it forecasts from a zero state.
        raise NotImplementedError("AutoARIMA with method='CSS' is not reproduced")
    extra = [name for name in fit["coef"] if name not in ("intercept", "drift")]
    extra = [name for name in extra if not name.startswith(("ar", "ma", "sar", "sma"))]
    if extra:
        raise NotImplementedError(
            f"exogenous regressors ({', '.join(extra)}) are not reproduced, only an intercept "
            f"or a drift"
        )
    if fit.get("lambda") is not None:
        raise NotImplementedError("a Box-Cox transformed fit is not reproduced")
    return fit


def arima_forecasts(model: Any, y, origins, horizon: int) -> np.ndarray:
    """The mean forecasts ``model.forward(y=y[:o], h=horizon)["mean"]`` of a fitted
    statsforecast ``AutoARIMA`` from every origin ``o``, from one Kalman-filter pass over ``y``.

    Parameters
    ----------
    model : statsforecast.models.AutoARIMA
        Fitted (``model.model_`` set); its coefficients stay fixed, as in ``forward``.
    y : array_like, shape ``[n]``
        The whole series, complete (no NaN); ``y[:o]`` is the history of origin ``o``.
    origins : array_like of int, shape ``[k]``
        Each in ``(d + D * m, n]``: the index of the first forecast step.
    horizon : int
        Steps ``h`` to forecast from each origin.

    Returns
    -------
    numpy.ndarray, shape ``[k, h]``, float64
        Row ``i`` forecasts ``y[origins[i] : origins[i] + h]``.

    Raises
    ------
    NotImplementedError
        For a fit this does not reproduce exactly (exogenous regressors other than an
        intercept or a drift, ``method="CSS"``, a Box-Cox ``lambda``): call ``forward``.
    ValueError
        For an unfitted model, a non-finite series or origins out of range.

    Notes
    -----
    What ``forward`` does, reproduced here: ``arima2`` refits with every coefficient fixed,
    so ``phi``, ``theta`` and ``delta`` are the fit's; the filter restarts from
    ``make_arima``'s initial state on ``y[:o]`` minus the regression part (the intercept, or
    the drift line described in :func:`_regression`); ``forecast_arima`` then adds the
    intercept, or ``drift * (o + 1 + k)`` on the integer index (not the line), and returns
    ``y[0]`` repeated when ``y[:o]`` is constant. The results match ``forward`` to rounding:
    the arithmetic is NumPy's instead of statsforecast's C++ loop.
    """
    fit = _check_supported(model)
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or not np.isfinite(y).all():
        raise ValueError("y must be a 1-D series of finite values")
    origins = np.asarray(origins)
    if origins.ndim != 1 or origins.size == 0 or not np.issubdtype(origins.dtype, np.integer):
        raise ValueError("origins must be a non-empty 1-D array of ints")
    horizon = int(horizon)
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1, got {horizon}")
    arma = fit["arma"]
    min_length = arma[5] + arma[6] * arma[4] + 1  # Arima refuses shorter series
    if origins.min() < min_length or origins.max() > len(y):
        raise ValueError(f"origins must lie in [{min_length}, {len(y)}]")

    ss = _state_space(fit)
    stops = np.unique(origins)
    xm, drift = _regression(fit, int(stops[-1]))
    states = _filtered_states(ss, y[: stops[-1]] - xm, stops)  # [k_unique, rd]
    A = states.T  # [rd, k_unique]
    steps = np.empty((len(stops), horizon))
    for k in range(horizon):
        A = _transition(ss, A)
        steps[:, k] = ss.Z @ A
    if drift:
        steps += drift * (stops[:, None] + 1.0 + np.arange(horizon)[None, :])
    elif "intercept" in fit["coef"]:
        steps += float(fit["coef"]["intercept"])
    # forecast_arima returns y[0] repeated when the history is constant.
    first_change = np.flatnonzero(y != y[0])
    constant_until = int(first_change[0]) if first_change.size else len(y)
    steps[stops <= constant_until] = y[0]
    return steps[np.searchsorted(stops, origins)]
