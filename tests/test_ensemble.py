"""Forecast combinations: the weighted mean by hand, the choice of members and weights on the
validation part alone (a hypothesis property), and compare's ensemble against the test part."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxseq import ensemble, metrics
from jaxseq.app import compare
from jaxseq.app.io import Series
from jaxseq.app.runs import RunConfig
from jaxseq.errors import InputError


def test_combine_is_the_weighted_mean_seed_by_seed():
    net = np.stack([np.full((2, 3, 1), 1.0), np.full((2, 3, 1), 3.0)])  # 2 seeds
    base = np.full((1, 2, 3, 1), 10.0)  # a baseline: one seed, entering both
    got = ensemble.combine({"net": net, "base": base}, {"net": 0.75, "base": 0.25})
    np.testing.assert_allclose(got[0], 0.75 * 1 + 0.25 * 10)
    np.testing.assert_allclose(got[1], 0.75 * 3 + 0.25 * 10)
    # the forecast issued (the seeds' average) is the weighted mean of the members' issued
    np.testing.assert_allclose(
        ensemble.issued(got), 0.75 * ensemble.issued(net) + 0.25 * ensemble.issued(base)
    )
    with pytest.raises(InputError, match="different numbers of seeds"):
        ensemble.combine({"a": net, "b": np.zeros((3, 2, 3, 1))}, {"a": 0.5, "b": 0.5})


def test_choose_by_hand_on_two_candidates_with_opposite_errors():
    """Two forecasts off by +1 and -1 everywhere: either alone has MASE 1 (scale 1), their
    equal mean is exact, so the choice is both, equally weighted."""
    truth = np.zeros((5, 2, 1))
    valid = {"up": np.ones((1, 5, 2, 1)), "down": -np.ones((1, 5, 2, 1))}
    choice = ensemble.choose(valid, truth, [1.0])  # fewer than three candidates: both
    assert set(choice.members) == {"up", "down"} and choice.weights == (0.5, 0.5)
    assert choice.valid_mase == 0.0 and choice.weighting == "equal"
    alone = ensemble.choose(valid, truth, [1.0], ks=(1,))
    assert alone.members == ("down",) and alone.valid_mase == 1.0  # ties: by name


def test_an_anchor_joins_a_combination_that_has_none():
    """Four networks off by +-1 and +-2, two classical models off by 3 and 4: the top three
    are networks, so the better classical model joins with weight 1/4 and the networks'
    weights are scaled by 3/4 (by hand); with a classical model already among the members,
    or no anchor among the candidates, nothing changes."""
    truth = np.zeros((4, 2, 1))

    def off(v):
        return np.full((1, 4, 2, 1), float(v))

    valid = {"a": off(1), "b": off(-1), "c": off(2), "d": off(-2), "ets": off(3), "arima": off(4)}
    plain = ensemble.choose(valid, truth, [1.0], ks=(3,), weightings=("equal",))
    assert plain.members == ("a", "b", "c") and plain.anchor is None
    got = ensemble.choose(
        valid, truth, [1.0], ks=(3,), weightings=("equal",), anchors=("ets", "arima")
    )
    assert got.members == ("a", "b", "c", "ets") and got.anchor == "ets"
    np.testing.assert_allclose(got.weights, [0.25, 0.25, 0.25, 0.25])
    # the issued forecast 0.25 * (1 - 1 + 2 + 3) = 1.25 everywhere: MASE 1.25 on scale 1
    assert got.valid_mase == pytest.approx(1.25)
    inverse = ensemble.choose(
        valid, truth, [1.0], ks=(3,), weightings=("inverse",), anchors=("ets",)
    )
    np.testing.assert_allclose(inverse.weights, [w * 3 / 4 for w in plain_inverse(valid)] + [0.25])
    with_classical = {**valid, "theta": off(0.5)}  # ranked first: already a member
    kept = ensemble.choose(with_classical, truth, [1.0], ks=(3,), anchors=("theta", "ets"))
    assert "theta" in kept.members and kept.anchor is None and len(kept.members) == 3
    none_there = ensemble.choose(valid, truth, [1.0], ks=(3,), anchors=("auto_theta",))
    assert none_there == ensemble.choose(valid, truth, [1.0], ks=(3,))


def plain_inverse(valid) -> list[float]:
    """The inverse-error weights of the top three of ``valid`` (MASE 1, 1, 2 on scale 1)."""
    inverse = [1.0, 1.0, 0.5]
    return [v / sum(inverse) for v in inverse]


forecasts = st.integers(2, 6).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(st.integers(1, 3), min_size=n, max_size=n),  # seeds per candidate
        st.integers(0, 2**31 - 1),
    )
)


@settings(max_examples=40, deadline=None)
@given(forecasts)
def test_the_choice_reads_the_validation_part_only(case):
    """Random candidates: the members are the best-ranked on validation, the weights sum to
    1, the combination is no worse on validation than the best single candidate, and no
    change to the test forecasts or truth moves anything compare's ensemble chose."""
    n, seed_counts, seed = case
    rng = np.random.default_rng(seed)
    windows, horizon = 6, 3
    truth = rng.normal(size=(windows, horizon, 1))
    valid = {
        f"c{i}": truth + rng.normal(0, 1 + i, size=(s, windows, horizon, 1))
        for i, s in enumerate(seed_counts)
    }
    valid = {k: v if len(v) in (1, max(seed_counts)) else v[:1] for k, v in valid.items()}
    choice = ensemble.choose(valid, truth, [1.0], ks=(1, 2, 3, 4, 5))
    assert abs(sum(choice.weights) - 1) < 1e-12 and all(w > 0 for w in choice.weights)
    default = ensemble.choose(valid, truth, [1.0])  # three to five, or all when fewer
    assert min(3, n) <= len(default.members) <= min(5, n)
    single = {k: metrics.score(ensemble.issued(v), truth, [1.0])["mase"] for k, v in valid.items()}
    ranked = sorted(single, key=lambda k: (single[k], k))
    assert list(choice.members) == ranked[: len(choice.members)]
    assert choice.valid_mase <= single[ranked[0]] + 1e-12
    # the last candidate is the anchor: kept among the members, the best-ranked ones before it
    anchored = ensemble.choose(valid, truth, [1.0], anchors=(f"c{n - 1}",))
    assert f"c{n - 1}" in anchored.members and abs(sum(anchored.weights) - 1) < 1e-12
    top = [m for m in anchored.members if m != anchored.anchor]
    assert top == ranked[: len(top)]


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_compare_ensemble_weights_ignore_the_test_part(seed):
    """compare's ensemble of random networks: changing every test forecast and every value of
    the test part leaves its members and weights as they were."""
    rng = np.random.default_rng(seed)
    length, horizon = 80, 3
    values = np.cumsum(rng.normal(size=length))[:, None]
    config = RunConfig(
        model="",
        data="<in memory>",
        columns=["y"],
        targets=["y"],
        window=8,
        horizon=horizon,
        task="multi_step",
        seeds=2,
        epochs=1,
        valid_size=20,
        test_size=20,
    )
    protocol = compare.workflow.protocol_for(config, length)
    offsets = rng.normal(0, 2, size=3)

    def records(test_shift):
        out = {}
        for i, offset in enumerate(offsets):
            forecasts = {}
            for split in compare.backtest.SPLITS:
                last = values[protocol.origins(split) - 1]  # [windows, 1]: naive plus an offset
                f = np.broadcast_to(
                    last[None, :, None, :] + offset * (1 + np.arange(2))[:, None, None, None],
                    (2, len(last), horizon, 1),
                )
                forecasts[split] = f + (test_shift if split == "test" else 0.0)
            out[f"net{i}"] = {"kind": "zoo", "forecasts": forecasts, "train_seconds": 0.0}
        return out

    def chosen(series_values, test_shift):
        series = Series(series_values, ("y",))
        record = compare._ensemble(config, series, protocol, 1, records(test_shift), _no_base())
        return record["ensemble"]["combination"]

    changed = values.copy()
    changed[protocol.valid_end :] += rng.normal(0, 50, size=(length - protocol.valid_end, 1))
    assert chosen(values, 0.0) == chosen(changed, 7.0)


def _no_base():
    return {split: {} for split in compare.backtest.SPLITS}


def test_compare_md_names_the_anchor_and_retrains_no_network_it_lacks():
    """compare.md's ensemble line, from a comparison whose ensemble holds no network (drift,
    AutoTheta, naive; kept in ``tests/golden``): no retraining sentence; with an anchor, the
    anchor is named."""
    import json
    from pathlib import Path

    from jaxseq.app import compare_table

    result = json.loads(
        (Path(__file__).parent / "golden/compare_classical_ensemble.json").read_text()
    )
    text = compare_table.markdown(result).splitlines()
    line = [x for x in text if x.startswith("Ensemble")]
    assert line == ["Ensemble (inverse weights): drift 0.35, auto_theta 0.33, naive 0.32."]
    row = next(r for r in result["rows"] if r["kind"] == "ensemble")
    row["anchor"] = "auto_theta"
    assert "(inverse weights, auto_theta anchored)" in compare_table.markdown(result)
