"""`compare`'s refit of its chosen networks (`jaxseq.app.refit`): each replica retrained for
exactly the epochs it kept (checked against the tracked run that kept them), on data that ends
at the first test origin (perturbing the test part changes no weight), and the comparison's
other figures as without the refit."""

from __future__ import annotations

import json
import shutil

import jax
import numpy as np
import pandas as pd
import pytest

from jaxseq import baselines, data
from jaxseq.app import candidates, compare, refit, workflow
from jaxseq.app.cli import main
from jaxseq.app.compare import _hybrid_base, _network_config, _series_and_settings
from jaxseq.app.runs import Run
from jaxseq.errors import InputError

N, WINDOW, HORIZON = 150, 12, 4
T = np.arange(N)
SIGNAL = 20 + 0.1 * T + 4 * np.sin(2 * np.pi * T / 12) + np.random.default_rng(5).normal(0, 0.5, N)
SETTINGS = dict(horizon=HORIZON, window=WINDOW, seeds=3, valid_size=30, test_size=20)


def _trained(values, base: str | None = "none"):
    """One network of a comparison trained as `compare` trains it, with what a refit needs."""
    series, common, protocol = _series_and_settings(
        pd.Series(values),
        column=None,
        time_column=None,
        fill=None,
        covariates=None,
        future_covariates=None,
        calendar=None,
        settings={
            **SETTINGS,
            "batch_size": 32,
            "normalize": "series",
            "base": base,
            "budget": workflow.budget_options(None, 3000, 60, None),
            "stride": 1,
            "season": 12,
            "head": None,
        },
    )
    common, base_forecasts, _ = _hybrid_base(common, series, protocol, base)
    config = _network_config(common, "linear_multi")
    record = compare.train_and_forecast(config, series, protocol, base=base_forecasts)
    return config, series, protocol, record, base_forecasts


@pytest.fixture(scope="module")
def trained():
    noisy = 20 + np.random.default_rng(6).normal(0, 1, N)  # nothing to learn: replicas stop apart
    return _trained(noisy)


def test_the_grown_protocol_trains_up_to_the_first_test_origin():
    protocol = data.make_protocol(N, window=WINDOW, horizon=HORIZON, valid_size=30, test_size=20)
    grown = refit.refit_protocol(protocol.halved())
    assert grown.train_end == protocol.valid_end == N - 20
    assert len(grown.origins("valid")) == 0
    np.testing.assert_array_equal(grown.origins("test"), protocol.origins("test"))
    assert grown.origins("train")[-1] + HORIZON == protocol.valid_end  # last target: valid_end - 1


def test_fixed_epochs_per_replica_reproduce_the_kept_variables(trained):
    """On the data the tracked run trained on, `fit_epochs` with each replica's kept epoch
    count gives that replica's kept (best) variables to the bit: replica k stops changing
    after its own epoch count while the others go on."""
    config, series, protocol, record, base = trained
    epochs = refit.kept_epochs(record["history"])
    assert len(set(epochs)) > 1, "the check needs replicas that kept different epochs"
    dataset = workflow.dataset_for(config, series, record["scaler"], protocol, base=base)
    state = refit.fit_epochs(config, workflow.build_model(config), dataset, epochs)
    jax.tree_util.tree_map(
        np.testing.assert_array_equal,
        jax.device_get(state.variables),
        jax.device_get(record["state"].variables),
    )


def test_a_refit_reads_nothing_after_the_first_test_origin():
    """Test-part targets moved: the refitted weights, scaling and hybrid base are unchanged
    (the base's forecasts at every training origin too); only test forecasts, whose inputs
    reach into the test part, may move."""
    base = "auto_theta" if baselines.available() else "none"
    moved = SIGNAL.copy()
    moved[N - 20 :] += 50.0
    refitted = []
    for values in (SIGNAL, moved):
        config, series, protocol, record, _ = _trained(values, base)
        shared = refit.refit_data(config, series, protocol)
        refitted.append((shared, refit.refit_network(config, series, shared, record)))
    (a_shared, a), (b_shared, b) = refitted
    assert a["refit"]["epochs"] == b["refit"]["epochs"]
    jax.tree_util.tree_map(
        np.testing.assert_array_equal, a["state"].variables, b["state"].variables
    )
    np.testing.assert_array_equal(a_shared.scaler.mean, b_shared.scaler.mean)
    if base != "none":
        last = a_shared.protocol.origins("train")[-1]
        np.testing.assert_array_equal(a_shared.base[: last + 1], b_shared.base[: last + 1])
    assert not np.allclose(a["forecasts"]["test"], b["forecasts"]["test"])
    np.testing.assert_array_equal(a["forecasts"]["valid"], b["forecasts"]["valid"])


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """A small comparison with its ensemble's networks refitted, and the same without."""
    tmp_path = tmp_path_factory.mktemp("refit")
    path = tmp_path / "s.csv"
    pd.DataFrame({"y": SIGNAL}).to_csv(path, index=False)
    kw = dict(
        SETTINGS,
        models=["linear_multi", "gru_seq2seq"],
        base="none",
        max_steps=80,
        patience=20,
        season=12,
        classical=False,
        jobs=1,
    )
    with_refit = compare.compare(str(path), out=tmp_path / "r", **kw)
    without = compare.compare(str(path), refit=False, **kw)
    return tmp_path, with_refit, without


def test_the_refit_changes_the_ensembles_test_figures_alone(compared):
    """`compare(refit=False)` scores the ensemble as the refitted comparison's
    `test_trained_once` says; every validation figure, the members and their weights are the
    same both ways; the refitted members' folders say so."""
    tmp_path, with_refit, without = compared
    rows = {r["model"]: r for r in with_refit["rows"]}
    plain = {r["model"]: r for r in without["rows"]}
    assert with_refit["settings"]["refit"], "the check needs a network in the ensemble"
    assert rows["ensemble"]["members"] == plain["ensemble"]["members"]
    for name, row in rows.items():
        assert row["valid"] == plain[name]["valid"]
        once = row.get("test_trained_once", row["test"])
        assert once["issued"]["mae"] == pytest.approx(plain[name]["test"]["issued"]["mae"], 1e-9)
    for name in with_refit["settings"]["refit"]:
        training = rows[name]["training"]
        kept = [max(1, s // training["steps_per_epoch"]) for s in training["best_step"]]
        assert rows[name]["refit"]["epochs"] == kept
        assert Run(tmp_path / "r" / "best" / "members" / name).config.refit
    assert not any(
        Run(p).config.refit
        for p in (tmp_path / "r" / "best" / "members").iterdir()
        if p.name not in with_refit["settings"]["refit"]
    )


def test_retraining_to_the_end_is_the_refit_on_a_series_cut_there(compared, capsys):
    """`forecast --retrain` retrains each network on every value of the series it is given.
    Given the series cut at the comparison's first test origin, that is compare's own refit:
    each member's retrained variables and scaling equal its folder's to the bit, and the
    ensemble's forecast equals the one without retraining; on the whole series the networks
    see the test part too and the forecast moves."""
    tmp_path, with_refit, _ = compared
    cut = tmp_path / "cut.csv"
    pd.DataFrame({"y": SIGNAL[: N - 20]}).to_csv(cut, index=False)
    best = Run(tmp_path / "r" / "best")
    for name in with_refit["settings"]["refit"]:
        member = Run(best.path / "members" / name)
        series = workflow.load_for(member.config, str(cut))
        _, state, scaler = refit.retrain_to_end(member, series)
        jax.tree_util.tree_map(
            np.testing.assert_array_equal,
            jax.device_get(state.variables),
            jax.device_get(workflow.load_run_state(member)[1].variables),
        )
        np.testing.assert_array_equal(scaler.mean, member.scaler.mean)
        np.testing.assert_array_equal(scaler.scale, member.scaler.scale)
    retrained, _ = candidates.forecast(best, str(cut), HORIZON, retrain=True)
    as_stored, _ = candidates.forecast(best, str(cut), HORIZON)
    np.testing.assert_array_equal(retrained.per_seed, as_stored.per_seed)
    whole = tmp_path / "s.csv"
    moved, _ = candidates.forecast(best, str(whole), HORIZON, retrain=True)
    kept, _ = candidates.forecast(best, str(whole), HORIZON)
    assert not np.allclose(moved.per_seed, kept.per_seed)
    out = tmp_path / "f.csv"
    argv = ["forecast", str(best.path), "--data", str(whole), "--steps", str(HORIZON)]
    assert main([*argv, "--retrain", "--out", str(out)]) == 0
    capsys.readouterr()
    np.testing.assert_allclose(pd.read_csv(out)["y_mean"], moved.mean[:, 0], rtol=1e-5)


def test_a_run_without_kept_epochs_is_not_retrained(compared, tmp_path):
    root, with_refit, _ = compared
    name = with_refit["settings"]["refit"][0]
    copy = tmp_path / name
    shutil.copytree(root / "r" / "best" / "members" / name, copy)
    history = json.loads((copy / "history.json").read_text())
    del history["best_epoch"]
    (copy / "history.json").write_text(json.dumps(history))
    member = Run(copy)
    series = workflow.load_for(member.config, str(root / "s.csv"))
    with pytest.raises(InputError, match="no kept epoch"):
        refit.retrain_to_end(member, series)
