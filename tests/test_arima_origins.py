"""One-pass AutoARIMA forecasts against statsforecast's own ``forward`` from every origin."""

import warnings

import numpy as np
import pytest

pytest.importorskip("statsforecast")

from statsforecast.models import AutoARIMA  # noqa: E402

from jaxseq import arima_origins, baselines  # noqa: E402


def _arma_noise(rng, n: int, ar: float = 0.5, ma: float = 0.3) -> np.ndarray:
    e = rng.normal(size=n + 1)
    x = np.zeros(n)
    for t in range(n):
        x[t] = (ar * x[t - 1] if t else 0.0) + e[t + 1] + ma * e[t]
    return x


def _fit(y: np.ndarray, season: int, fit_end: int) -> AutoARIMA:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return AutoARIMA(season_length=season, approximation=None).fit(y[:fit_end])


def _per_origin(model: AutoARIMA, y: np.ndarray, origins, horizon: int) -> np.ndarray:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return np.array([model.forward(y=y[:o], h=horizon)["mean"] for o in origins])


def _orders(model: AutoARIMA) -> dict[str, int]:
    p, q, P, Q, m, d, D = model.model_["arma"]
    return {"p": p, "q": q, "P": P, "Q": Q, "m": m, "d": d, "D": D}


def _assert_matches(model: AutoARIMA, y: np.ndarray, origins, horizon: int) -> None:
    got = arima_origins.arima_forecasts(model, y, origins, horizon)
    want = _per_origin(model, y, origins, horizon)
    assert got.shape == (len(origins), horizon)
    scale = np.abs(y).max()
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-7 * scale)


def test_drift_after_one_difference():
    rng = np.random.default_rng(0)
    y = np.cumsum(0.5 + rng.normal(size=200))
    model = _fit(y, 1, 150)
    assert _orders(model)["d"] == 1
    assert "drift" in model.model_["coef"]
    _assert_matches(model, y, np.arange(150, 201), 5)


def test_intercept_without_differencing():
    rng = np.random.default_rng(1)
    y = 20.0 + _arma_noise(rng, 160)
    model = _fit(y, 1, 110)
    orders = _orders(model)
    assert orders["d"] == orders["D"] == 0
    assert "intercept" in model.model_["coef"]
    assert orders["p"] + orders["q"] > 0
    _assert_matches(model, y, np.arange(110, 161), 4)


def test_seasonal_difference():
    rng = np.random.default_rng(2)
    t = np.arange(180)
    y = 10.0 + 5.0 * np.sin(2 * np.pi * t / 12) + np.cumsum(rng.normal(size=180))
    model = _fit(y, 12, 130)
    orders = _orders(model)
    assert orders["m"] == 12 and orders["D"] == 1
    assert orders["P"] + orders["Q"] > 0
    _assert_matches(model, y, np.arange(130, 181), 15)


def test_second_difference():
    rng = np.random.default_rng(3)
    y = np.cumsum(np.cumsum(rng.normal(size=160)))
    model = _fit(y, 1, 110)
    assert _orders(model)["d"] == 2
    assert not {"drift", "intercept"} & set(model.model_["coef"])
    _assert_matches(model, y, np.arange(110, 161), 6)


def test_origins_at_the_end_and_repeated():
    rng = np.random.default_rng(0)
    y = np.cumsum(0.5 + rng.normal(size=120))
    model = _fit(y, 1, 90)
    origins = np.array([120, 95, 120, 90])
    got = arima_origins.arima_forecasts(model, y, origins, 3)
    np.testing.assert_allclose(got, _per_origin(model, y, origins, 3), rtol=1e-7, atol=1e-6)
    np.testing.assert_array_equal(got[0], got[2])


def test_exogenous_regressors_are_refused():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(100, 1))
    y = 2.0 * X[:, 0] + _arma_noise(rng, 100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = AutoARIMA(season_length=1).fit(y[:80], X=X[:80])
    assert any(name.startswith("ex_") for name in model.model_["coef"])
    with pytest.raises(NotImplementedError, match="exogenous"):
        arima_origins.arima_forecasts(model, y, np.array([80]), 2)


def test_origins_out_of_range_are_refused():
    rng = np.random.default_rng(0)
    y = np.cumsum(0.5 + rng.normal(size=120))
    model = _fit(y, 1, 90)
    with pytest.raises(ValueError, match="origins"):
        arima_origins.arima_forecasts(model, y, np.array([121]), 2)


def test_classical_baseline_uses_the_one_pass_and_matches_forward(monkeypatch):
    rng = np.random.default_rng(2)
    t = np.arange(120)
    y = 10.0 + 3.0 * np.sin(2 * np.pi * t / 4) + np.cumsum(rng.normal(size=120))
    origins = np.arange(90, 117, 3)

    def no_forward(*args, **kwargs):
        raise AssertionError("forward was called")

    with monkeypatch.context() as patch:
        patch.setattr(AutoARIMA, "forward", no_forward)
        forecasts, skipped = baselines.classical(
            y[:, None], origins, 4, season=4, fit_end=90, models=("auto_arima",)
        )
    assert not skipped
    want = _per_origin(_fit(y, 4, 90), y, origins, 4)
    np.testing.assert_allclose(forecasts["auto_arima"][:, :, 0], want, rtol=1e-7, atol=1e-6)
