"""Hybrids: base forecasts from every origin against statsforecast and the seasonal naive
formula, no look-ahead, the base in the windows' lead features, and a network that adds its
output to the base (zero output: exactly the base)."""

from __future__ import annotations

import jax
import numpy as np
import pandas as pd
import pytest

from jaxseq import data, hybrid, models
from jaxseq.app import compare
from jaxseq.app.cli import main
from jaxseq.errors import InputError

N = 120
T = np.arange(N)
Y = 10 + 0.05 * T + 2 * np.sin(2 * np.pi * T / 12) + np.random.default_rng(1).normal(0, 0.2, N)


def test_seasonal_naive_base_by_hand():
    B = hybrid.base_forecasts("seasonal_naive", Y, 5, season=12, fit_end=80)
    assert B.shape == (N + 1, 5, 1)
    for o in (12, 40, 100, N):
        for k in range(5):
            assert B[o, k, 0] == Y[o - 12 + k % 12]
    for o in (1, 11):  # less than a season of history: the last value
        np.testing.assert_array_equal(B[o, :, 0], Y[o - 1])


def test_classical_base_is_statsforecast_forward_of_the_training_fit():
    from statsforecast.models import AutoETS

    B = hybrid.base_forecasts("auto_ets", Y, 4, season=12, fit_end=80)
    model = AutoETS(season_length=12).fit(Y[:80])
    for o in (24, 60, 80, 101, N):
        np.testing.assert_allclose(B[o, :, 0], model.forward(y=Y[:o], h=4)["mean"], rtol=1e-9)


@pytest.mark.parametrize("name", ["seasonal_naive", "auto_theta"])
def test_base_forecasts_never_read_after_their_origin(name):
    """Values after an origin past the fit changed: the base forecasts up to it are not."""
    B = hybrid.base_forecasts(name, Y, 4, season=12, fit_end=80)
    later = Y.copy()
    later[95:] += 50
    again = hybrid.base_forecasts(name, later, 4, season=12, fit_end=80)
    np.testing.assert_array_equal(B[:96], again[:96])
    assert not np.allclose(B[96:], again[96:])


def test_base_forecasts_are_lead_features_of_the_step_before_each_origin():
    values = np.stack([Y, np.cos(T)], axis=1).astype(np.float32)
    B = hybrid.base_forecasts("seasonal_naive", Y, 3, season=12, fit_end=80)
    origins = np.array([30, 77])
    X, Y_ = data.windows_at(values, origins, 10, 3, "multi_step", [0], future=[1], base=B)
    assert X.shape == (2, 10, 2 + 3 * 2)
    for n, o in enumerate(origins):
        for t in range(10):
            i = o - 10 + t
            for k in range(3):
                assert X[n, t, 2 + k * 2] == np.float32(np.cos(i + 1 + k))  # the future column
                assert X[n, t, 2 + k * 2 + 1] == np.float32(B[i + 1, k, 0])  # then the base
    np.testing.assert_array_equal(X[:, -1, 3::2], B[origins, :, 0].astype(np.float32))
    with pytest.raises(InputError, match=r"base must be \[time \+ 1, horizon, b\]"):
        data.windows_at(values, origins, 10, 3, "multi_step", [0], base=B[:-1])


@pytest.mark.parametrize("name", ["linear_multi", "gru_seq2seq", "encoder_decoder"])
@pytest.mark.parametrize("normalize", [None, "window"])
def test_a_hybrid_with_zero_output_forecasts_its_base(name, normalize):
    """The network's output is added to the base: with every weight zero (the module's output
    is 0) the model forecasts the base exactly, in the inputs' units."""
    B = hybrid.base_forecasts("seasonal_naive", Y, 4, season=12, fit_end=80)
    values = Y[:, None].astype(np.float32)
    origins = np.array([40, 60, 90])
    task = models.get(name).task
    X, _ = data.windows_at(values, origins, 24, 4, task, [0], base=B)
    model = models.get(
        name, window=24, features=1 + 4, horizon=4, future=1, base=True, normalize=normalize
    )
    variables = model.init(jax.random.PRNGKey(0))
    zero = jax.tree_util.tree_map(np.zeros_like, variables)
    out = np.asarray(model.apply(zero, X))
    last = out[:, -1] if task == "seq2seq" else out
    np.testing.assert_allclose(last, B[origins, :, 0], rtol=1e-5, atol=1e-4)


def test_a_hybrid_needs_room_for_its_base():
    with pytest.raises(InputError, match="a hybrid"):
        models.get("linear_multi", features=5, horizon=4, future=1, base=True, head="normal")
    with pytest.raises(InputError, match="a hybrid"):
        models.get("linear", features=5, future=0, base=True)
    with pytest.raises(InputError, match="base must be one of none"):
        hybrid.check("prophet")


def test_a_hybrid_run_forecasts_from_the_end_what_it_forecasts_inside_the_series(tmp_path):
    """`jaxseq train --base`: the forecast from data cut at an origin (its last window and
    base forecasts built at the end of the series) equals the run's forecast at that origin
    from the whole series (windows cut by the data set's path), and `compare --base` trains
    hybrids."""
    from jaxseq.app import candidates
    from jaxseq.app.io import load_series
    from jaxseq.app.runs import Run

    frame = pd.DataFrame({"month": pd.date_range("2000-01-01", periods=N, freq="MS"), "y": Y})
    path = tmp_path / "s.csv"
    frame.to_csv(path, index=False)
    argv = ["train", "--model", "linear_multi", "--data", str(path), "--time-column", "month"]
    argv += ["--window", "24", "--horizon", "4", "--seeds", "2", "--max-steps", "40"]
    argv += ["--valid-size", "24", "--test-size", "16", "--base", "auto_theta", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "run")]) == 0
    run = Run(tmp_path / "run")
    assert run.config.base == "auto_theta" and run.config.features == 1 + 4
    origin = 110
    frame.iloc[:origin].to_csv(tmp_path / "cut.csv", index=False)
    out = tmp_path / "f.csv"
    argv = ["forecast", str(tmp_path / "run"), "--data", str(tmp_path / "cut.csv")]
    assert main([*argv, "--steps", "4", "--out", str(out)]) == 0
    series = load_series(str(path), ["y"], time_column="month")
    inside = candidates.forecasts_at(run, series, [origin], fit_end=96)  # [seeds, 1, 4, 1]
    np.testing.assert_allclose(pd.read_csv(out)["y_mean"], inside.mean(0)[0, :, 0], rtol=1e-5)
    result = compare.compare(
        str(path),
        time_column="month",
        horizon=4,
        window=24,
        models=["linear_multi"],
        seeds=2,
        max_steps=40,
        classical=False,
        base="seasonal_naive",
        jobs=1,
        valid_size=24,
        test_size=16,
    )
    assert result["settings"]["base"] == "seasonal_naive"


def test_the_default_base_gives_way_where_it_cannot_forecast(tmp_path, monkeypatch):
    """compare's default base falls back to plain networks with a note when the base model
    fails; a base the user asked for is refused instead."""

    def fails(*args, **kwargs):
        raise InputError("base 'auto_theta' cannot forecast this series (ValueError: no)")

    monkeypatch.setattr(hybrid, "base_forecasts", fails)
    series = pd.Series(Y, index=pd.date_range("2000-01-01", periods=N, freq="MS"))
    settings = dict(horizon=4, window=24, seeds=1, max_steps=5, classical=False, jobs=1)
    settings.update(models=["linear_multi"], valid_size=24, test_size=16)
    result = compare.compare(series, **settings)
    assert result["settings"]["base"] == "none"
    assert (
        "networks trained plain, not as hybrids over auto_theta" in result["settings"]["notes"][0]
    )
    with pytest.raises(InputError, match="cannot forecast this series"):
        compare.compare(series, base="auto_theta", **settings)
    probabilistic = compare.compare(series, head=[0.1, 0.5, 0.9], **settings)
    assert probabilistic["settings"]["base"] == "none" and not probabilistic["settings"]["notes"]
