"""Rolling conformal calibration (jaxseq.calibration.rolling) against a loop written from its
definition, its agreement with the static offsets where they coincide, no look-ahead, and
coverage under a drift that static offsets miss."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxseq import calibration
from jaxseq.errors import InputError

LEVELS = (0.1, 0.25, 0.5, 0.75, 0.9)  # intervals 50% (0.25-0.75) and 80% (0.1-0.9)


def reference_rolling(q, y, origins, levels, start, window, gamma=None):
    """The definition, one window, step, seed, target and interval at a time: scores of the
    windows i < j with o_i + k < o_j, the latest ``window`` of them, their ceil((n + 1) c)-th
    smallest; with ``gamma``, c moved by gamma * (misses - (1 - c) per window) over the scored
    windows already observed, the rank clipped to 1..n."""
    pairs = [(0.5, 1, 3), (0.8, 0, 4)]  # (coverage, low level index, high level index)
    out = np.array(q[..., start:, :, :, :], np.float64)
    seeds, targets = q.shape[0], q.shape[-2]
    for s_ in range(seeds):
        for t in range(targets):
            for coverage, lo, hi in pairs:
                missed = {}
                for j in range(start, len(origins)):
                    for k in range(q.shape[-3]):
                        eligible = [i for i in range(j) if origins[i] + k < origins[j]]
                        c = coverage
                        if gamma is not None:
                            seen = [i for i in eligible if i >= start]
                            c += gamma * sum(missed[i, k] - (1 - coverage) for i in seen)
                        if window is not None:
                            eligible = eligible[-window:]
                        shift = 0.0
                        if eligible:
                            scores = sorted(
                                max(
                                    q[s_, i, k, t, lo] - y[i, k, t], y[i, k, t] - q[s_, i, k, t, hi]
                                )
                                for i in eligible
                            )
                            n = len(scores)
                            rank = min(max(math.ceil((n + 1) * c), 1), n)
                            shift = scores[rank - 1]
                        out[s_, j - start, k, t, lo] -= shift
                        out[s_, j - start, k, t, hi] += shift
                        low, high = out[s_, j - start, k, t, lo], out[s_, j - start, k, t, hi]
                        missed[j, k] = not (low <= y[j, k, t] <= high)
    return np.sort(out, axis=-1)


def windows_of(series, origins, horizon):
    return series[np.asarray(origins)[:, None] + np.arange(horizon)][:, :, None]


@settings(max_examples=30, deadline=None)
@given(
    st.integers(0, 10_000),
    st.integers(1, 4),
    st.sampled_from([None, 1, 3, 6]),
    st.sampled_from([1, 2]),
    st.sampled_from([None, 0.05, 0.3]),
)
def test_rolling_equals_its_definition(seed, horizon, window, stride, gamma):
    rng = np.random.default_rng(seed)
    n, start = 14, 6
    origins = 30 + stride * np.arange(n)
    series = rng.normal(size=origins[-1] + horizon + 1)
    y = windows_of(series, origins, horizon)
    centre = y + rng.normal(0, 0.5, y.shape)
    spread = np.sort(rng.uniform(0.1, 2.0, (2, n, horizon, 1, 2)), axis=-1)  # 2 seeds
    c = np.broadcast_to(centre[..., None], spread.shape[:-1] + (1,))
    q = np.concatenate([c - spread[..., ::-1], c, c + spread], axis=-1)
    q = np.sort(q, axis=-1)
    got = calibration.rolling(q, y, origins, LEVELS, start=start, window=window, gamma=gamma)
    want = reference_rolling(q, y, origins, LEVELS, start, window, gamma)
    assert got.shape == (2, n - start, horizon, 1, len(LEVELS))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_first_test_window_uses_exactly_the_static_validation_offsets():
    """The protocol's validation targets all lie before the first test origin, so the first
    test window's rolling offsets are the static ones of the validation windows."""
    rng = np.random.default_rng(1)
    horizon, n_valid = 3, 9
    valid_origins = 40 + np.arange(n_valid)
    test_origins = valid_origins[-1] + horizon + np.arange(5)  # first test target after them
    origins = np.concatenate([valid_origins, test_origins])
    series = rng.normal(size=origins[-1] + horizon)
    y = windows_of(series, origins, horizon)
    q = np.sort(y[..., None] + rng.normal(0, 1, y.shape + (len(LEVELS),)), axis=-1)
    rolled = calibration.rolling(q, y, origins, LEVELS, start=n_valid)
    static = calibration.apply(
        q[n_valid : n_valid + 1], calibration.offsets(q[:n_valid], y[:n_valid], LEVELS), LEVELS
    )
    np.testing.assert_allclose(rolled[:1], static, atol=1e-12)
    # later windows see test errors too: their offsets differ from the static ones
    later = calibration.apply(
        q[n_valid:], calibration.offsets(q[:n_valid], y[:n_valid], LEVELS), LEVELS
    )
    assert not np.allclose(rolled[-1], later[-1])


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 7))
def test_no_window_is_calibrated_with_a_value_at_or_after_its_origin(seed, which):
    rng = np.random.default_rng(seed)
    horizon, start = 3, 6
    origins = 20 + np.arange(14)
    series = rng.normal(size=origins[-1] + horizon)
    q_noise = rng.normal(0, 1, (len(origins), horizon, 1, len(LEVELS)))
    j = start + which
    before = calibration.rolling(
        np.sort(windows_of(series, origins, horizon)[..., None] + q_noise, -1),
        windows_of(series, origins, horizon),
        origins,
        LEVELS,
        start=start,
    )
    changed = series.copy()
    changed[origins[j] :] = rng.normal(5.0, 3.0, len(series) - origins[j])  # the future moves
    # the forecasts of windows before j stay what they were (they were made before o_j)
    q_changed = np.sort(windows_of(series, origins, horizon)[..., None] + q_noise, -1)
    after = calibration.rolling(
        q_changed, windows_of(changed, origins, horizon), origins, LEVELS, start=start
    )
    np.testing.assert_array_equal(before[j - start], after[j - start])


def test_rolling_follows_a_drop_in_the_error_level_that_static_offsets_miss():
    """Validation errors twice as large as the test part's: static CQR widens the 80% interval
    for the validation level and over-covers the test part; rolling offsets follow the newer
    errors and come back near 80%."""
    rng = np.random.default_rng(0)
    n_valid, n_test = 200, 600
    origins = np.arange(n_valid + n_test)
    sigma = np.where(origins < n_valid, 2.0, 1.0)
    y = (rng.normal(size=len(origins)) * sigma)[:, None, None]
    z = np.array([-1.2816, -0.6745, 0.0, 0.6745, 1.2816])  # N(0, 1) quantiles at LEVELS
    q = np.broadcast_to(z, (len(origins), 1, 1, 5))
    static = calibration.apply(
        q[n_valid:], calibration.offsets(q[:n_valid], y[:n_valid], LEVELS), LEVELS
    )
    rolled = calibration.rolling(q, y, origins, LEVELS, start=n_valid, window=n_valid)

    def coverage(qq):
        return np.mean((qq[..., 0] <= y[n_valid:]) & (y[n_valid:] <= qq[..., 4]))

    assert coverage(static) > 0.95
    assert 0.74 < coverage(rolled) < 0.86
    # adaptive: the long-run miss rate of ACI is within (1 + gamma) / (gamma T) of nominal
    gamma = 0.05
    adapted = calibration.rolling(q, y, origins, LEVELS, start=n_valid, window=n_valid, gamma=gamma)
    assert abs(coverage(adapted) - 0.8) <= (1 + gamma) / (gamma * n_test)


def test_rolling_refuses_bad_origins_and_start():
    q = np.sort(np.random.default_rng(0).normal(size=(6, 1, 1, 5)), -1)
    y = np.zeros((6, 1, 1))
    with pytest.raises(InputError, match="origins must be 6 strictly increasing"):
        calibration.rolling(q, y, [0, 1, 1, 2, 3, 4], LEVELS, start=2)
    with pytest.raises(InputError, match="start must be in"):
        calibration.rolling(q, y, np.arange(6), LEVELS, start=0)
    with pytest.raises(InputError, match="window at least 1"):
        calibration.rolling(q, y, np.arange(6), LEVELS, start=2, window=0)
    with pytest.raises(InputError, match=r"gamma must be in \(0, 1\)"):
        calibration.rolling(q, y, np.arange(6), LEVELS, start=2, gamma=1.5)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([None, 4]), st.sampled_from([None, 0.05, 0.3]))
def test_offsets_at_a_new_origin_are_those_rolling_gives_a_window_there(seed, window, gamma):
    """A window appended at the new origin (its quantiles far apart, so sorting keeps them in
    place) is moved by rolling exactly by the offsets of offsets_at."""
    rng = np.random.default_rng(seed)
    n, start, horizon = 12, 5, 3
    origins = 20 + np.arange(n)
    y = rng.normal(size=(n, horizon, 1))
    q = np.sort(y[None, ..., None] + rng.normal(0, 1, (2, n, horizon, 1, len(LEVELS))), -1)
    new = origins[-1] + 2
    got = calibration.offsets_at(
        q, y, origins, LEVELS, origin=new, start=start, window=window, gamma=gamma
    )
    far = np.broadcast_to(np.array([-100.0, -50.0, 0.0, 50.0, 100.0]), (2, 1, horizon, 1, 5))
    rolled = calibration.rolling(
        np.concatenate([q, far], axis=1),
        np.concatenate([y, np.zeros((1, horizon, 1))]),
        np.append(origins, new),
        LEVELS,
        start=start,
        window=window,
        gamma=gamma,
    )[:, -1]
    assert got.shape == (2, horizon, 1, 2)  # seeds, steps, targets, intervals (50%, 80%)
    np.testing.assert_allclose(got[..., 0], rolled[..., 3] - 50.0, atol=1e-12)
    np.testing.assert_allclose(got[..., 1], rolled[..., 4] - 100.0, atol=1e-12)
    # with no window scored yet, the nominal-level offsets of the latest windows
    plain = calibration.offsets_at(q, y, origins, LEVELS, origin=new, start=n, window=window)
    latest = origins + np.arange(horizon)[:, None] < new  # [horizon, n]: known at new
    for k in range(horizon):
        rows = np.flatnonzero(latest[k])[-(window or n) :]
        want = calibration.offsets(q[:, rows], y[rows], LEVELS)[:, k]
        np.testing.assert_allclose(plain[:, k], want, atol=1e-12)
    with pytest.raises(InputError, match="origin must come after"):
        calibration.offsets_at(q, y, origins, LEVELS, origin=origins[-1], start=start)


@pytest.mark.parametrize("n", [4, 9, 30])
def test_static_offsets_cover_at_the_conformal_rate_under_exchangeable_errors(n):
    """The guarantee :mod:`jaxseq.calibration` relies on, checked by simulation: with the
    calibration and test errors exchangeable (here i.i.d., the forecast's quantiles off in
    both scale and centre), the calibrated interval covers a new value with probability
    exactly ceil((n + 1) c) / (n + 1) >= c for continuous scores (Romano et al. 2019, Thm. 1).
    Over 4,000 independent draws the empirical coverage lies within the binomial band."""
    from statistics import NormalDist

    draws, horizon = 4000, 3  # the draws ride on the targets axis: offsets are per target
    rng = np.random.default_rng(n)
    z = np.array([NormalDist().inv_cdf(t) for t in LEVELS])
    # [windows, horizon, targets, L]: believed N(0.3, 1), truly N(0, 2.5^2)
    q = np.broadcast_to(0.3 + z, (n + 1, horizon, draws, len(LEVELS)))
    y = rng.normal(0.0, 2.5, (n + 1, horizon, draws))
    shift = calibration.offsets(q[:n], y[:n], LEVELS)  # [horizon, draws, P]
    calibrated = calibration.apply(q[n:], shift, LEVELS)[0]  # [horizon, draws, L]
    truth = y[n]
    for coverage, lo, hi in [(0.5, 1, 3), (0.8, 0, 4)]:
        inside = (calibrated[..., lo] <= truth) & (truth <= calibrated[..., hi])
        exact = math.ceil((n + 1) * coverage) / (n + 1)
        band = 4 * math.sqrt(exact * (1 - exact) / draws)  # per step: draws are independent
        for k in range(horizon):
            assert abs(inside[k].mean() - exact) < band, (n, coverage, k)
        raw = (q[n, ..., lo] <= truth) & (truth <= q[n, ..., hi])
        assert raw.mean() < coverage - 0.2  # uncalibrated, the intervals were far too narrow
