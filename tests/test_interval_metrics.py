"""Quantile and interval metrics against values computed by hand (the sums are in comments)."""

import numpy as np
import pytest

from jaxseq import metrics
from jaxseq.errors import InputError

LEVELS = [0.1, 0.5, 0.9]
# 2 windows x 2 steps x 1 target x 3 levels, and the truths.
Q = np.array([[[[0, 1, 2]], [[1, 2, 3]]], [[[2, 3, 5]], [[-1, 1, 2]]]], np.float64)
Y = np.array([[[1], [4]], [[2], [0]]], np.float64)
# Pinball terms (tau e if e >= 0 else (tau - 1) e, e = y - q) per forecast value:
#   w0k0 y=1  e=(1, 0, -1)   0.1 + 0   + 0.1 = 0.2
#   w0k1 y=4  e=(3, 2, 1)    0.3 + 1.0 + 0.9 = 2.2
#   w1k0 y=2  e=(0, -1, -3)  0   + 0.5 + 0.3 = 0.8
#   w1k1 y=0  e=(1, -1, -2)  0.1 + 0.5 + 0.2 = 0.8      total 4.0 over 12 terms
# 80% interval [q_0.1, q_0.9]: [0, 2] holds 1, [1, 3] misses 4, [2, 5] holds 2 (bound
# included), [-1, 2] holds 0: coverage 3/4; widths 2, 2, 3, 3: mean 2.5.


def test_pinball_scaled_and_crps_by_hand():
    assert metrics.pinball(Q, Y, LEVELS) == pytest.approx(4.0 / 12)
    assert metrics.scaled_pinball(Q, Y, LEVELS, [2.0]) == pytest.approx(4.0 / 12 / 2.0)
    s = metrics.score_quantiles(Q, Y, LEVELS, [2.0])
    assert s["pinball"] == pytest.approx(1 / 3)
    assert s["scaled_pinball"] == pytest.approx(1 / 6)
    assert s["crps_approx"] == pytest.approx(2 / 3)
    assert s["intervals"] == [
        {"nominal": 0.8, "low": 0.1, "high": 0.9, "coverage": 0.75, "width": 2.5}
    ]


def test_scaled_pinball_counts_every_target_equally():
    # target 1 is target 0 in units ten times smaller: its terms are ten times larger.
    q = np.concatenate([Q, 10 * Q], axis=2)
    y = np.concatenate([Y, 10 * Y], axis=2)
    assert metrics.pinball(q, y, LEVELS) == pytest.approx((4.0 + 40.0) / 24)
    # target 0: (1/3) / 2; target 1: (10/3) / 20; both 1/6.
    assert metrics.scaled_pinball(q, y, LEVELS, [2.0, 20.0]) == pytest.approx(1 / 6)
    (row,) = metrics.score_quantiles(q, y, LEVELS, [2.0, 20.0])["intervals"]
    assert row["coverage"] == 0.75
    assert row["width"] == pytest.approx((2 + 2 + 3 + 3 + 20 + 20 + 30 + 30) / 8)


def test_median_only_scaled_pinball_is_half_the_mase():
    q = Q[..., 1:2]
    want = metrics.score(q[..., 0], Y, [2.0])["mase"] / 2
    assert metrics.scaled_pinball(q, Y, [0.5], [2.0]) == pytest.approx(want)
    assert metrics.score_quantiles(q, Y, [0.5], [2.0])["intervals"] == []


def test_seeds_score_the_averaged_quantiles_and_summarise_each_seed():
    # Seed B = seed A + 2. Its terms: w0k0 (0.9 + 1.0 + 0.3), w0k1 (0.1 + 0 + 0.1),
    # w1k0 (1.8 + 1.5 + 0.5), w1k1 (0.9 + 1.5 + 0.4): total 9.0, pinball 0.75; its 80%
    # intervals [2, 4], [3, 5], [4, 7], [1, 4] hold only y = 4: coverage 1/4.
    # The seed average A + 1: terms 0.7, 0.7, 2.3, 1.3 (total 5.0, pinball 5/12); intervals
    # [1, 3], [2, 4], [3, 6], [0, 3] hold 1, 4 and 0: coverage 3/4; width 2.5.
    s = metrics.score_quantiles_seeds(np.stack([Q, Q + 2]), Y, LEVELS, [2.0])
    assert s["pinball"] == pytest.approx(5 / 12)
    assert s["crps_approx"] == pytest.approx(10 / 12)
    assert s["intervals"][0]["coverage"] == 0.75 and s["intervals"][0]["width"] == 2.5
    assert s["seeds"]["pinball"] == pytest.approx(
        {"mean": 13 / 24, "std": 5 / 24, "min": 1 / 3, "max": 0.75}
    )
    assert s["seeds"]["scaled_pinball"]["max"] == pytest.approx(0.375)
    assert s["seeds"]["coverage_80"] == {"mean": 0.5, "std": 0.25, "min": 0.25, "max": 0.75}
    assert s["seeds"]["width_80"] == {"mean": 2.5, "std": 0.0, "min": 2.5, "max": 2.5}
    assert set(s["seeds"]) == {
        "pinball",
        "scaled_pinball",
        "crps_approx",
        "coverage_80",
        "width_80",
    }
    one = metrics.score_quantiles_seeds(Q, Y, LEVELS, [2.0])  # 4-D: one seed
    assert one["pinball"] == pytest.approx(1 / 3) and one["seeds"]["pinball"]["std"] == 0.0


def test_coverage_and_width_exact():
    low, high, truth = [0.0, 1.0, 2.0], [1.0, 1.0, 3.0], [1.0, 1.5, 2.0]
    assert metrics.coverage(low, high, truth) == pytest.approx(2 / 3)  # both bounds inclusive
    assert metrics.width(low, high) == pytest.approx(2 / 3)
    assert metrics.coverage([[0.0]], [[0.0]], [[0.0]]) == 1.0


def test_intervals_pair_the_levels():
    assert metrics.intervals(LEVELS) == [(0.8, 0.1, 0.9)]
    assert metrics.intervals([0.025, 0.05, 0.1, 0.5, 0.9, 0.95, 0.975]) == [
        (0.8, 0.1, 0.9),
        (0.9, 0.05, 0.95),
        (0.95, 0.025, 0.975),
    ]
    assert metrics.intervals([0.1, 0.25, 0.5, 0.75, 0.8]) == [(0.5, 0.25, 0.75)]
    assert metrics.intervals([0.5]) == []
    assert metrics.intervals([0.2, 0.3]) == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: metrics.pinball(Q[..., :2], Y, LEVELS),
            r"qpred must be \[windows, horizon, targets, L\] matching truth \(2, 2, 1\) and L = 3",
        ),
        (lambda: metrics.pinball(Q, Y[0], LEVELS), r"truth must be \[windows, horizon, targets\]"),
        (lambda: metrics.pinball(Q, Y, [0.5, 0.1, 0.9]), r"levels must be strictly increasing"),
        (
            lambda: metrics.pinball(Q, Y, [0.1, 0.5, 1.0]),
            r"levels must lie strictly between 0 and 1",
        ),
        (lambda: metrics.pinball(Q, Y, [[0.1, 0.5, 0.9]]), r"levels must be a non-empty 1-D list"),
        (lambda: metrics.pinball(Q, Y, ["a", "b", "c"]), r"levels must be numbers in \(0, 1\)"),
        (
            lambda: metrics.pinball(np.where(Q == 5, np.nan, Q), Y, LEVELS),
            r"qpred holds 1 NaN or infinite value\(s\) \(first at index \(1, 0, 0, 2\)\)",
        ),
        (lambda: metrics.pinball(Q[:0], Y[:0], LEVELS), r"truth is empty"),
        (
            lambda: metrics.scaled_pinball(Q, Y, LEVELS, [1.0, 2.0]),
            r"scale must be \[targets\] = \[1\]",
        ),
        (lambda: metrics.score_quantiles(Q, Y, LEVELS, [0.0]), r"scale must be positive"),
        (
            lambda: metrics.score_quantiles_seeds(Q[None, :0], Y[:0], LEVELS, [1.0]),
            r"truth is empty",
        ),
        (
            lambda: metrics.score_quantiles_seeds(Q[None][:0], Y, LEVELS, [1.0]),
            r"qpred has no seeds",
        ),
        (
            lambda: metrics.score_quantiles_seeds(Q[None, None], Y, LEVELS, [1.0]),
            r"qpred must be \[seeds, windows, horizon, targets, L\]",
        ),
        (
            lambda: metrics.coverage([0.0, 1.0], [1.0], [0.5, 0.5]),
            r"low and high must have the same shape",
        ),
        (
            lambda: metrics.coverage([0.0], [1.0], [0.5, 0.5]),
            r"truth must have the shape of low and high",
        ),
        (lambda: metrics.coverage([0.0], [np.inf], [0.5]), r"high holds 1 NaN or infinite"),
        (lambda: metrics.width([], []), r"low is empty"),
        (lambda: metrics.intervals([0.9, 0.1]), r"levels must be strictly increasing"),
    ],
)
def test_bad_input_raises(call, message):
    with pytest.raises(InputError, match=message):
        call()


def _normal_crps(mu, sigma, y):
    """CRPS of N(mu, sigma^2) at y in closed form (Gneiting and Raftery 2007, eq. 5):
    sigma * (z (2 Phi(z) - 1) + 2 phi(z) - 1 / sqrt(pi)), z = (y - mu) / sigma."""
    from statistics import NormalDist

    z = (y - mu) / sigma
    phi = np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi)
    cdf = np.vectorize(NormalDist().cdf)(z)
    return sigma * (z * (2 * cdf - 1) + 2 * phi - 1 / np.sqrt(np.pi))


def test_crps_of_normal_quantiles_matches_closed_form_and_samples():
    """``crps_approx`` from many evenly spread quantiles of a normal forecast against the
    normal's CRPS in closed form and against the sample estimate E|X - y| - E|X - X'| / 2:
    the metric is the CRPS, not only twice some pinball loss."""
    from statistics import NormalDist

    rng = np.random.default_rng(0)
    mu = rng.normal(0, 3, (4, 3, 1))  # [windows, horizon, targets]
    sigma = rng.uniform(0.5, 2.0, (4, 3, 1))
    y = mu + sigma * rng.normal(0, 1.5, (4, 3, 1))
    levels = (np.arange(1, 400) - 0.5) / 399  # midpoints of 399 equal slices of (0, 1)
    z = np.array([NormalDist().inv_cdf(t) for t in levels])
    q = mu[..., None] + sigma[..., None] * z
    got = metrics.score_quantiles(q, y, list(levels), [1.0])["crps_approx"]
    exact = float(_normal_crps(mu, sigma, y).mean())
    assert got == pytest.approx(exact, rel=2e-3)

    x = mu[..., None] + sigma[..., None] * rng.standard_normal((*mu.shape, 4000))
    xs = np.sort(x, axis=-1)
    n = xs.shape[-1]
    # E|X - X'| from sorted samples: 2 / n^2 * sum_i (2 i - n - 1) x_(i), i = 1..n
    spread = 2 * (xs * (2 * np.arange(1, n + 1) - n - 1)).sum(-1) / n**2
    sampled = float((np.abs(x - y[..., None]).mean(-1) - spread / 2).mean())
    assert got == pytest.approx(sampled, rel=3e-2)
    assert exact == pytest.approx(sampled, rel=3e-2)
