"""Every cell against a plain NumPy loop of its equations; gradients against finite differences."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.test_util import check_grads

from jaxseq import cells, fused
from jaxseq.cells import Cell, LSTMState
from jaxseq.recurrent import RNN, scan_cell
from tests import reference
from tests.conftest import random_params, to_numpy64

B, T, F, H = 3, 7, 2, 5

CASES = {
    "simple_rnn": (cells.simple_rnn(), lambda p, xs: reference.simple_rnn(p, xs)),
    "lstm": (cells.lstm(), lambda p, xs: reference.lstm(p, xs)),
    "peephole_lstm": (
        cells.lstm(peephole=True),
        lambda p, xs: reference.lstm(p, xs, peephole=True),
    ),
    "gru_reset_after": (cells.gru(), lambda p, xs: reference.gru(p, xs, reset_after=True)),
    "gru_reset_before": (
        cells.gru(reset_after=False),
        lambda p, xs: reference.gru(p, xs, reset_after=False),
    ),
    "layer_norm_rnn": (cells.layer_norm_rnn(), lambda p, xs: reference.layer_norm_rnn(p, xs)),
}


def _setup(cell, rng):
    params = random_params(cell.init(jax.random.PRNGKey(0), F, H), rng)
    xs = rng.normal(size=(B, T, F)).astype(np.float32)
    return params, xs


@pytest.mark.parametrize("name", CASES)
def test_cell_matches_numpy_loop(name, rng):
    cell, ref = CASES[name]
    params, xs = _setup(cell, rng)
    state, ys = scan_cell(cell, params, jnp.asarray(xs), hidden_size=H)
    ref_ys, ref_state = ref(to_numpy64(params), xs.astype(np.float64))
    np.testing.assert_allclose(ys, ref_ys, rtol=1e-5, atol=1e-6)
    ref_h = ref_state[0] if isinstance(ref_state, tuple) else ref_state
    h = state.h if isinstance(state, LSTMState) else state
    np.testing.assert_allclose(h, ref_h, rtol=1e-5, atol=1e-6)
    if isinstance(state, LSTMState):
        np.testing.assert_allclose(state.c, ref_state[1], rtol=1e-5, atol=1e-6)


REFERENCE_FROM_STATE = {
    "simple_rnn": lambda p, xs, h, c: reference.simple_rnn(p, xs, h0=h),
    "lstm": lambda p, xs, h, c: reference.lstm(p, xs, h0=h, c0=c),
    "peephole_lstm": lambda p, xs, h, c: reference.lstm(p, xs, peephole=True, h0=h, c0=c),
    "gru_reset_after": lambda p, xs, h, c: reference.gru(p, xs, reset_after=True, h0=h),
    "gru_reset_before": lambda p, xs, h, c: reference.gru(p, xs, reset_after=False, h0=h),
    "layer_norm_rnn": lambda p, xs, h, c: reference.layer_norm_rnn(p, xs, h0=h),
}


@pytest.mark.parametrize("name", CASES)
def test_cell_from_a_random_initial_state_matches_numpy_loop(name, rng):
    """The fused scans and the autodiff fallback both start from a given state: a random,
    non-zero ``h0`` (and ``c0``) changes every output, and both match the reference."""
    cell, _ = CASES[name]
    params, xs = _setup(cell, rng)
    h0 = rng.normal(size=(B, H)).astype(np.float32)
    c0 = rng.normal(size=(B, H)).astype(np.float32)
    state0 = LSTMState(jnp.asarray(h0), jnp.asarray(c0)) if "lstm" in name else jnp.asarray(h0)
    state, ys = scan_cell(cell, params, jnp.asarray(xs), hidden_size=H, initial_state=state0)
    ref_ys, _ = REFERENCE_FROM_STATE[name](
        to_numpy64(params), xs.astype(np.float64), h0.astype(np.float64), c0.astype(np.float64)
    )
    np.testing.assert_allclose(ys, ref_ys, rtol=1e-5, atol=1e-6)
    _, from_zero = scan_cell(cell, params, jnp.asarray(xs), hidden_size=H)
    assert np.all(np.abs(np.asarray(ys[:, 0]) - np.asarray(from_zero[:, 0])) > 1e-6)


@pytest.mark.parametrize("name", CASES)
def test_step_equals_project_then_recur(name, rng):
    cell, _ = CASES[name]
    params, xs = _setup(cell, rng)
    carry = cell.initial_state((B,), H, jnp.float32)
    a = cell.step(params, carry, xs[:, 0])
    b = cell.recur(params, carry, cell.project(params, xs[:, 0]))
    jax.tree_util.tree_map(np.testing.assert_array_equal, a, b)


@pytest.mark.parametrize("name", CASES)
def test_gradients_through_whole_sequence_match_finite_differences(name, rng):
    cell, _ = CASES[name]
    params, xs = _setup(cell, rng)
    with jax.enable_x64(True):
        params64 = jax.tree_util.tree_map(lambda p: jnp.asarray(p, jnp.float64), params)
        xs64 = jnp.asarray(xs, jnp.float64)

        def loss(p, x):
            _, ys = scan_cell(cell, p, x, hidden_size=H)
            return jnp.sum(ys * jnp.sin(jnp.arange(T))[None, :, None])

        check_grads(loss, (params64, xs64), order=1, modes=["rev"], eps=1e-6, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("name", CASES)
def test_scan_equals_python_loop_over_step(name, rng):
    cell, _ = CASES[name]
    params, xs = _setup(cell, rng)
    carry = cell.initial_state((B,), H, jnp.float32)
    outs = []
    for t in range(T):
        carry, y = cell.step(params, carry, xs[:, t])
        outs.append(y)
    state, ys = scan_cell(cell, params, jnp.asarray(xs), hidden_size=H)
    np.testing.assert_allclose(ys, np.stack(outs, 1), rtol=1e-6, atol=1e-6)
    jax.tree_util.tree_map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6), state, carry
    )


FUSED = [name for name, (cell, _) in CASES.items() if cell.scan is not None]


@pytest.mark.parametrize("name", FUSED)
@pytest.mark.parametrize("in_loop", [True, False], ids=["projected-in-loop", "projected-before"])
def test_fused_scan_matches_reference_wherever_it_projects(name, in_loop, rng, monkeypatch):
    """The hand-written scans, input projected per step or for all steps before the loop:
    outputs against the NumPy loop, every gradient (inputs and initial state included)
    against autodiff of the plain per-step cell."""
    monkeypatch.setattr(fused, "IN_LOOP_MAX_FEATURES", F if in_loop else F - 1)
    cell, ref = CASES[name]
    plain = cell._replace(scan=None)
    params, xs = _setup(cell, rng)
    xs = jnp.asarray(xs)
    state0 = jax.tree_util.tree_map(
        lambda a: jnp.asarray(rng.normal(size=a.shape), jnp.float32),
        cell.initial_state((B,), H, jnp.float32),
    )
    _, ys = scan_cell(cell, params, xs, hidden_size=H)
    np.testing.assert_allclose(
        ys, ref(to_numpy64(params), np.asarray(xs, np.float64))[0], 1e-5, 1e-6
    )
    weights = jnp.asarray(rng.normal(size=(T, H)), jnp.float32)

    def loss(which, p, x, s0):
        state, ys = scan_cell(which, p, x, hidden_size=H, initial_state=s0)
        last = jax.tree_util.tree_leaves(state)
        return jnp.sum(ys * weights) + sum(jnp.sum(jnp.sin(a)) for a in last)

    got = jax.grad(partial(loss, cell), argnums=(0, 1, 2))(params, xs, state0)
    want = jax.grad(partial(loss, plain), argnums=(0, 1, 2))(params, xs, state0)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, 2e-5, 2e-6), got, want)


def test_lstm_defaults_reproduce_keras_initialisation():
    params = cells.lstm().init(jax.random.PRNGKey(1), 3, 20)
    U = np.asarray(params["recurrent_kernel"])
    assert U.shape == (20, 80)
    np.testing.assert_allclose(U @ U.T, np.eye(20), atol=1e-5)  # orthogonal
    W = np.asarray(params["kernel"])
    limit = np.sqrt(6 / (3 + 80))  # glorot-uniform over the fused [in, 4H] kernel
    assert np.abs(W).max() <= limit and np.abs(W).max() > 0.5 * limit
    bias = np.asarray(params["bias"])
    np.testing.assert_array_equal(bias[20:40], 1.0)  # forget gate
    np.testing.assert_array_equal(np.delete(bias, np.s_[20:40]), 0.0)


@pytest.mark.parametrize("factory", [cells.simple_rnn, cells.lstm, cells.gru, cells.layer_norm_rnn])
def test_initialisers_are_overridable(factory):
    cell = factory(kernel_init=cells.ones, recurrent_init=cells.zeros, bias_init=cells.ones)
    params = cell.init(jax.random.PRNGKey(0), 2, 4)
    np.testing.assert_array_equal(params["kernel"], 1.0)
    np.testing.assert_array_equal(params["recurrent_kernel"], 0.0)
    expected_bias = 2.0 if factory is cells.lstm else 1.0  # LSTM adds forget_bias on top
    assert float(np.max(params["bias"])) == expected_bias


def test_lstm_forget_bias_is_overridable():
    params = cells.lstm(forget_bias=0.0).init(jax.random.PRNGKey(0), 2, 4)
    np.testing.assert_array_equal(params["bias"], 0.0)


def test_lstm_state_is_named():
    state = cells.lstm().initial_state((2,), 3)
    assert isinstance(state, LSTMState) and state._fields == ("h", "c")
    assert state.h.shape == state.c.shape == (2, 3)


def test_gru_forms_differ_and_have_their_own_parameters():
    after = cells.gru().init(jax.random.PRNGKey(0), 2, 4)
    before = cells.gru(reset_after=False).init(jax.random.PRNGKey(0), 2, 4)
    assert set(after) == {"kernel", "recurrent_kernel", "bias", "recurrent_bias"}
    assert set(before) == {"kernel", "recurrent_kernel", "bias"}


def test_any_activation(rng):
    cell = cells.simple_rnn(activation=jax.nn.relu)
    params, xs = _setup(cell, rng)
    _, ys = scan_cell(cell, params, jnp.asarray(xs), hidden_size=H)
    ref, _ = reference.simple_rnn(
        to_numpy64(params), xs.astype(np.float64), activation=lambda a: np.maximum(a, 0)
    )
    np.testing.assert_allclose(ys, ref, rtol=1e-5, atol=1e-6)


def test_cells_get_by_name_and_unknown_cell():
    assert cells.get("gru", reset_after=False).name == "gru_reset_before"
    with pytest.raises(ValueError, match="unknown cell 'gruu'; known cells: simple_rnn"):
        cells.get("gruu")


def test_a_researchers_cell_plugs_in_and_trains():
    """A new cell in a few lines: no registration, runs in RNN, and training lowers the loss."""

    def init(key, input_size, hidden_size):
        k1, k2 = jax.random.split(key)
        return {
            "w": jax.random.normal(k1, (input_size, hidden_size)) * 0.5,
            "u": jax.random.normal(k2, (hidden_size, hidden_size)) * 0.1,
        }

    def step(params, h, x):  # a minimal gated cell: h' = h + sigmoid(.) * (tanh(.) - h)
        a = x @ params["w"] + h @ params["u"]
        h = h + jax.nn.sigmoid(a) * (jnp.tanh(a) - h)
        return h, h

    cell = Cell(init=init, step=step, name="mine")
    layer = RNN(cell, 8, return_sequences=False)
    xs = jax.random.normal(jax.random.PRNGKey(1), (64, 10, 1))
    target = jnp.mean(xs[:, :, 0], axis=1, keepdims=True) * jnp.ones((1, 8))
    params = layer.init(jax.random.PRNGKey(0), xs)
    opt = optax.adam(0.05)
    state = opt.init(params)

    @jax.jit
    def train_step(params, state):
        loss, grads = jax.value_and_grad(lambda p: jnp.mean((layer.apply(p, xs) - target) ** 2))(
            params
        )
        updates, state = opt.update(grads, state)
        return optax.apply_updates(params, updates), state, loss

    losses = []
    for _ in range(60):
        params, state, loss = train_step(params, state)
        losses.append(float(loss))
    assert losses[-1] < 0.3 * losses[0]


# The inference loops (the fused scans' primal functions, what `apply` runs without gradients)
# in every formulation of `fused.FORWARD`, against the NumPy loop, one replica and vmapped.
INFERENCE = {
    "lstm": [
        dict(lstm_input=i, lstm_gates=g)
        for i in ("loop", "concat", "before")
        for g in ("fused", "split")
    ],
    "peephole_lstm": [dict(lstm_input=i) for i in ("loop", "concat")],
    "gru_reset_after": [
        dict(gru="split", gru_input=i) for i in ("loop", "before", "concat", "auto")
    ]
    + [dict(gru="fused", gru_input="loop")],
    "simple_rnn": [dict(rnn_input=i) for i in ("loop", "concat", "before")],
}
INFERENCE_CASES = [
    (name, switches) for name, variants in INFERENCE.items() for switches in variants
]


@pytest.mark.parametrize("hidden", [5, 16], ids=["H5", "H16"])
@pytest.mark.parametrize(
    "name, switches",
    INFERENCE_CASES,
    ids=[f"{n}-{'-'.join(s.values())}" for n, s in INFERENCE_CASES],
)
def test_inference_loops_match_numpy_loop(name, switches, hidden, rng, monkeypatch):
    for key, value in switches.items():
        monkeypatch.setitem(fused.FORWARD, key, value)
    cell, ref = CASES[name]
    params = [
        random_params(cell.init(jax.random.PRNGKey(k), F, hidden), rng, scale=0.3) for k in range(2)
    ]
    xs = rng.normal(size=(B, T, F)).astype(np.float32)
    run = jax.jit(lambda p: scan_cell(cell, p, jnp.asarray(xs), hidden_size=hidden)[1])
    stacked = jax.tree_util.tree_map(lambda *a: jnp.stack(a), *params)
    together = jax.jit(jax.vmap(run))(stacked)
    for k, p in enumerate(params):
        want = ref(to_numpy64(p), xs.astype(np.float64))[0]
        np.testing.assert_allclose(run(p), want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(together[k], want, rtol=1e-5, atol=1e-6)


def test_inference_and_training_loops_agree_to_rounding(rng):
    """The primal (inference) and the stashing forward loop of the custom VJP give the same
    outputs: differentiating through `apply` does not change what it returns."""
    for name in ("lstm", "gru_reset_after", "simple_rnn"):
        cell, _ = CASES[name]
        params = random_params(cell.init(jax.random.PRNGKey(0), F, 16), rng)
        xs = jnp.asarray(rng.normal(size=(B, T, F)).astype(np.float32))
        run = lambda p, cell=cell, xs=xs: scan_cell(cell, p, xs, hidden_size=16)[1]
        ys, _ = jax.vjp(run, params)
        np.testing.assert_allclose(run(params), ys, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "name, cell, masked",
    [
        ("simple_rnn_relu", cells.simple_rnn(jax.nn.relu), False),
        ("simple_rnn_softplus", cells.simple_rnn(jax.nn.softplus), True),
        ("lstm", cells.lstm(), True),
        ("peephole_lstm", cells.lstm(peephole=True), True),
        ("gru_reset_after", cells.gru(), True),
        ("gru_reset_before", cells.gru(reset_after=False), True),
    ],
)
def test_hand_written_gradients_equal_autodiff(name, cell, masked, rng):
    """The fused backward pass against autodiff of the same cell's ``recur`` (the fallback
    path, ``scan=None``): a non-tanh SimpleRNN, and recurrent dropout masks."""
    params, xs = _setup(cell, rng)
    mask = (rng.uniform(size=(B, H)) > 0.4).astype(np.float32) / 0.6 if masked else None
    weights = jnp.asarray(rng.normal(size=(B, T, H)), jnp.float32)
    h0 = jnp.asarray(rng.normal(size=(B, H)), jnp.float32)
    state0 = LSTMState(h0, h0 * 0.5) if "lstm" in name else h0

    def loss(c, p, x):
        _, ys = scan_cell(c, p, x, hidden_size=H, initial_state=state0, state_mask=mask)
        return jnp.sum(ys * weights)

    autodiff = cell._replace(scan=None)
    got = jax.grad(partial(loss, cell), argnums=(0, 1))(params, jnp.asarray(xs))
    want = jax.grad(partial(loss, autodiff), argnums=(0, 1))(params, jnp.asarray(xs))
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want), strict=True):
        np.testing.assert_allclose(g, w, rtol=2e-4, atol=2e-5)
