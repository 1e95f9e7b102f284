"""Property-based invariants: window offsets, chronological splits, padding, causality.

Shapes come from small fixed sets so each compiled function serves every example: the
recurrent property keeps batch and time fixed and draws only lengths and values; the causal
property draws kernel sizes and dilations from a few values.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jaxseq import cells, data
from jaxseq.conv import GatedWaveNet, WaveNet
from jaxseq.errors import InputError
from jaxseq.layers import Conv1D
from jaxseq.recurrent import scan_cell
from tests.conftest import random_params

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
seeds = st.integers(0, 2**32 - 1)

# ------------------------------------------------------------------------------ windows


def _encoded_series(length: int, features: int) -> np.ndarray:
    """``[length, features]`` whose value names its own place: ``100 * t + j`` (exact in float32)."""
    return (100 * np.arange(length)[:, None] + np.arange(features)[None, :]).astype(np.float64)


def _expected_windows(table, start, window, horizon, task, cols):
    """The layout of data.py's docstring, written out step by step for one window."""
    X = table[start : start + window]
    nt = len(cols)
    if task == "one_step":
        Y = np.array([table[start + window, c] for c in cols])
    elif task == "multi_step":
        Y = np.empty(horizon * nt)
        for k in range(horizon):  # step k + 1 ahead, target j: index k * n_targets + j
            for j, c in enumerate(cols):
                Y[k * nt + j] = table[start + window + k, c]
    else:  # seq2seq: Y[t, k * nt + j] = series[start + t + 1 + k, cols[j]]
        Y = np.empty((window, horizon * nt))
        for t in range(window):
            for k in range(horizon):
                for j, c in enumerate(cols):
                    Y[t, k * nt + j] = table[start + t + 1 + k, c]
    return X, Y


@SETTINGS
@given(
    shape=st.sampled_from(["1-D", "2-D, 1 column", "2-D, 3 columns"]),
    length=st.integers(1, 40),
    window=st.integers(1, 8),
    horizon=st.integers(1, 5),
    stride=st.integers(1, 4),
    task=st.sampled_from(data.TASKS),
    targets=st.one_of(st.none(), st.lists(st.integers(0, 2), min_size=1, max_size=3)),
)
def test_window_targets_are_the_series_at_the_documented_offsets(
    shape, length, window, horizon, stride, task, targets
):
    features = 3 if shape == "2-D, 3 columns" else 1
    table = _encoded_series(length, features)
    series = table[:, 0] if shape == "1-D" else table
    if targets is not None:
        targets = [j % features for j in targets]
    cols = (0,) if targets is None else tuple(targets)
    h = 1 if task == "one_step" else horizon  # one_step always forecasts 1
    if length < window + h:
        with pytest.raises(InputError, match="too short for window"):
            data.make_windows(series, window, horizon, task, targets=targets, stride=stride)
        return
    X, Y = data.make_windows(series, window, horizon, task, targets=targets, stride=stride)
    starts = range(0, length - window - h + 1, stride)
    assert X.dtype == np.float32 and Y.dtype == np.float32
    assert X.shape == (len(starts), window, features)
    layout = {
        "one_step": (len(starts), len(cols)),
        "multi_step": (len(starts), h * len(cols)),
        "seq2seq": (len(starts), window, h * len(cols)),
    }
    assert Y.shape == layout[task]
    for i, start in enumerate(starts):
        X_ref, Y_ref = _expected_windows(table, start, window, h, task, cols)
        np.testing.assert_array_equal(X[i], X_ref)
        np.testing.assert_array_equal(Y[i], Y_ref)


# ------------------------------------------------------------------------------ splits


def _window_starts(split, window) -> np.ndarray:
    """The series index of each window's first step (the series holds its own index * 100)."""
    return (split.X[:, 0, 0] / 100).round().astype(int)


fractions = st.tuples(*[st.floats(0.5, 3.0, allow_nan=False)] * 3)


@SETTINGS
@given(
    length=st.integers(20, 200),
    window=st.integers(1, 6),
    horizon=st.integers(1, 4),
    task=st.sampled_from(data.TASKS),
    stride=st.integers(1, 3),
    sizes=st.tuples(st.integers(1, 40), st.integers(1, 40)),
)
def test_targets_lie_in_their_part_and_no_input_is_past_its_origin(
    length, window, horizon, task, stride, sizes
):
    series = 100.0 * np.arange(length)  # each value names its own index
    valid_size, test_size = sizes
    kwargs = dict(window=window, horizon=horizon, task=task, stride=stride)
    h = 1 if task == "one_step" else horizon
    try:
        ds = data.split_series(series, valid_size=valid_size, test_size=test_size, **kwargs)
    except InputError as error:
        # only when a part is shorter than the horizon, or training has no whole window
        assert min(sizes) < h or length - valid_size - test_size < window + h, error
        return
    train_end, valid_end = length - valid_size - test_size, length - test_size
    bounds = {"train": (0, train_end), "valid": (train_end, valid_end), "test": (valid_end, length)}
    for name, (lo, hi) in bounds.items():
        split, origins = ds.split(name), ds.origins(name)
        starts = _window_starts(split, window)
        np.testing.assert_array_equal(starts, origins - window)
        for i, s in enumerate(starts):  # the documented layout, window by window
            X_ref, Y_ref = _expected_windows(_encoded_series(length, 1), s, window, h, task, (0,))
            np.testing.assert_array_equal(split.X[i], X_ref)
            np.testing.assert_array_equal(split.Y[i], Y_ref)
        forecast = split.Y[:, -1] if task == "seq2seq" else split.Y  # made at the origin
        assert (split.X.max(axis=(1, 2)) / 100 < origins).all()  # no input at/after the origin
        assert (forecast.min(axis=1) / 100 >= lo).all() and (forecast.max(axis=1) / 100 < hi).all()
        # every origin whose horizon fits in the part, every stride-th (training: every one)
        step = 1 if name == "train" else stride
        want = np.arange(max(lo, window), hi - h + 1, step)
        np.testing.assert_array_equal(origins, want)


@SETTINGS
@given(
    length=st.integers(60, 200),
    window=st.integers(1, 6),
    task=st.sampled_from(data.TASKS),
    fractions=fractions,
    seed=seeds,
)
def test_scaler_is_fitted_on_the_training_part_only(length, window, task, fractions, seed):
    rng = np.random.default_rng(seed)
    values = (rng.normal(size=(length, 2)) * [1.0, 30.0] + [5.0, -200.0]).astype(np.float32)
    kwargs = dict(window=window, horizon=2, task=task, fractions=fractions)
    try:
        where = data.split_series(100.0 * np.arange(length), **kwargs)  # same cuts, as indices
    except InputError:
        return
    cut1 = where.protocol.train_end  # the first validation origin
    ds = data.split_series(values, scale=True, **kwargs)
    train_part = values[:cut1].astype(np.float64)
    np.testing.assert_allclose(ds.scaler.mean, train_part.mean(0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ds.scaler.scale, train_part.std(0), rtol=1e-5)
    # the validation and test values never reach the scaler ...
    changed = values.copy()
    changed[cut1:] = rng.normal(size=changed[cut1:].shape) * 1e3 - 7e3
    other = data.split_series(changed, scale=True, **kwargs)
    np.testing.assert_array_equal(other.scaler.mean, ds.scaler.mean)
    np.testing.assert_array_equal(other.scaler.scale, ds.scaler.scale)
    # ... but it is applied to every split, at the windows' own places
    scaled = ds.scaler.transform(values)
    for name in ("train", "valid", "test"):
        for i, s in enumerate(_window_starts(where.split(name), window)):
            np.testing.assert_allclose(ds.split(name).X[i], scaled[s : s + window], rtol=1e-6)


# ------------------------------------------------------------------------------ padding

B, T, F, H = 4, 12, 3, 5
CELLS = {
    "simple_rnn": cells.simple_rnn(),
    "lstm": cells.lstm(),
    "peephole_lstm": cells.lstm(peephole=True),
    "gru": cells.gru(),
    "gru_reset_before": cells.gru(reset_after=False),
    "layer_norm_rnn": cells.layer_norm_rnn(),
}


@functools.cache
def _padded_fn(name: str, reverse: bool):
    cell = CELLS[name]
    return jax.jit(
        lambda params, xs, lengths: scan_cell(
            cell, params, xs, hidden_size=H, lengths=lengths, reverse=reverse
        )
    )


@functools.cache
def _step_fn(name: str):
    return jax.jit(CELLS[name].step)  # one step of one sequence: [1, F] -> [1, H]


def _alone(name, params, x, reverse):
    """One unpadded sequence ``[n, F]`` run step by step: (final carry, outputs [n, H]) with the
    outputs aligned with the input steps (``ys[t]`` after reading ``x[t:]`` when reversed)."""
    cell, step = CELLS[name], _step_fn(name)
    carry = cell.initial_state((1,), H, jnp.float32)
    n = len(x)
    ys = np.zeros((n, H), np.float32)
    for t in reversed(range(n)) if reverse else range(n):
        carry, y = step(params, carry, jnp.asarray(x[t : t + 1]))
        ys[t] = np.asarray(y)[0]
    return carry, ys


GARBAGE = {
    "normal": lambda rng, shape: rng.normal(size=shape) * 10,
    "huge": lambda rng, shape: rng.choice([-1e30, 1e30, 3e38], size=shape),
    "nan": lambda rng, shape: np.full(shape, np.nan),
    "inf": lambda rng, shape: rng.choice([-np.inf, np.inf], size=shape),
}


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("name", CELLS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lengths=st.lists(st.integers(0, T), min_size=B, max_size=B),
    garbage=st.sampled_from(sorted(GARBAGE)),
    seed=seeds,
)
def test_padded_equals_each_sequence_run_alone(name, reverse, lengths, garbage, seed):
    rng = np.random.default_rng(seed)
    params = random_params(CELLS[name].init(jax.random.PRNGKey(0), F, H), rng)
    xs = rng.normal(size=(B, T, F)).astype(np.float32)
    pad = np.arange(T)[None, :] >= np.asarray(lengths)[:, None]
    xs[pad] = GARBAGE[garbage](rng, (int(pad.sum()), F))  # padding is garbage, never zeros
    state, ys = _padded_fn(name, reverse)(params, jnp.asarray(xs), jnp.asarray(lengths))
    ys = np.asarray(ys)
    for b, n in enumerate(lengths):
        alone_state, alone = _alone(name, params, xs[b, :n], reverse)
        np.testing.assert_allclose(ys[b, :n], alone, rtol=2e-5, atol=2e-5)
        np.testing.assert_array_equal(ys[b, n:], 0.0)  # past its length: zeros, whatever came in
        jax.tree_util.tree_map(
            lambda padded, one, b=b: np.testing.assert_allclose(
                np.asarray(padded)[b], np.asarray(one)[0], rtol=2e-5, atol=2e-5
            ),
            state,
            alone_state,
        )


# ------------------------------------------------------------------------------ causality


STACKS = {"wavenet": WaveNet, "gated_wavenet": GatedWaveNet}


@functools.cache
def _compiled(kind: str, *args):
    """``(jit(init), jit(apply), input shape)`` of a Conv1D ``(kernel_size, dilation)`` or a
    stack by name, compiled once for every example."""
    if kind == "conv1d":
        kernel_size, dilation = args
        module, shape = Conv1D(3, kernel_size, padding="causal", dilation_rate=dilation), (2, 16, 2)
    else:
        module, shape = STACKS[kind](), (2, 40, 1)
    x = jnp.zeros(shape, jnp.float32)
    return jax.jit(lambda key: module.init(key, x)), jax.jit(module.apply), shape


def _changed_from(rng, x, t):
    """``x`` with every step from ``t`` on replaced by other values."""
    changed = np.array(x)
    changed[:, t:] = rng.normal(size=changed[:, t:].shape) * 3 + 1
    return changed


@SETTINGS
@given(
    kernel_size=st.sampled_from([1, 2, 3, 4]),
    dilation=st.sampled_from([1, 2, 4]),
    data=st.data(),
    seed=seeds,
)
def test_causal_conv1d_never_sees_the_future(kernel_size, dilation, data, seed):
    init, apply, shape = _compiled("conv1d", kernel_size, dilation)
    rng = np.random.default_rng(seed)
    variables = init(jax.random.PRNGKey(seed % 2**31))
    x = rng.normal(size=shape).astype(np.float32)
    t = data.draw(st.integers(0, x.shape[1] - 1), label="t")
    y = np.asarray(apply(variables, x))
    y_changed = np.asarray(apply(variables, _changed_from(rng, x, t).astype(np.float32)))
    assert y.shape == (2, 16, 3)  # causal padding keeps the length
    np.testing.assert_array_equal(y_changed[:, :t], y[:, :t])
    assert not np.array_equal(y_changed[:, t], y[:, t])  # the test can see a change at t


@pytest.mark.parametrize("stack", sorted(STACKS))
@SETTINGS
@given(data=st.data(), seed=seeds)
def test_wavenets_never_see_the_future(stack, data, seed):
    init, apply, shape = _compiled(stack)
    rng = np.random.default_rng(seed)
    variables = random_params(init(jax.random.PRNGKey(0)), rng, scale=0.3)
    x = rng.normal(size=shape).astype(np.float32)
    t = data.draw(st.integers(0, x.shape[1] - 1), label="t")
    y = np.asarray(apply(variables, x))
    y_changed = np.asarray(apply(variables, _changed_from(rng, x, t).astype(np.float32)))
    assert y.shape == (2, 40, 10)
    np.testing.assert_array_equal(y_changed[:, :t], y[:, :t])
