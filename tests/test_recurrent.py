"""The scanned layer: padding, direction, initial state, dropout, stacking, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxseq import cells
from jaxseq.errors import InputError
from jaxseq.layers import Sequential
from jaxseq.recurrent import RNN, reverse_padded, scan_cell
from tests.conftest import random_params

F, H, T = 2, 4, 9
CELLS = {
    "simple_rnn": cells.simple_rnn(),
    "lstm": cells.lstm(peephole=True),
    "gru": cells.gru(),
    "gru_reset_before": cells.gru(reset_after=False),
    "layer_norm_rnn": cells.layer_norm_rnn(),
}


def _params(cell, rng):
    return random_params(cell.init(jax.random.PRNGKey(0), F, H), rng)


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("reverse", [False, True])
def test_padded_batch_equals_each_sequence_run_alone(name, reverse, rng):
    cell = CELLS[name]
    params = _params(cell, rng)
    lengths = np.array([9, 3, 6, 1])
    xs = rng.normal(size=(4, T, F)).astype(np.float32)  # padding holds garbage, not zeros
    state, ys = scan_cell(
        cell, params, jnp.asarray(xs), hidden_size=H, lengths=jnp.asarray(lengths), reverse=reverse
    )
    for b, n in enumerate(lengths):
        alone_state, alone = scan_cell(
            cell, params, jnp.asarray(xs[b : b + 1, :n]), hidden_size=H, reverse=reverse
        )
        np.testing.assert_allclose(ys[b, :n], alone[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(ys[b, n:], 0.0)
        jax.tree_util.tree_map(
            lambda a, s, b=b: np.testing.assert_allclose(a[b], s[0], rtol=1e-5, atol=1e-6),
            state,
            alone_state,
        )


@pytest.mark.parametrize("name", CELLS)
def test_reverse_equals_flipped(name, rng):
    cell = CELLS[name]
    params = _params(cell, rng)
    xs = jnp.asarray(rng.normal(size=(3, T, F)).astype(np.float32))
    state_r, ys_r = scan_cell(cell, params, xs, hidden_size=H, reverse=True)
    state_f, ys_f = scan_cell(cell, params, xs[:, ::-1], hidden_size=H)
    np.testing.assert_allclose(ys_r, ys_f[:, ::-1], rtol=1e-6, atol=1e-6)
    jax.tree_util.tree_map(np.testing.assert_array_equal, state_r, state_f)


def test_reverse_padded_is_an_involution_and_keeps_padding(rng):
    xs = jnp.asarray(rng.normal(size=(3, 5, 2)))
    lengths = jnp.array([5, 2, 0])
    once = reverse_padded(xs, lengths)
    np.testing.assert_array_equal(once[1, :2], xs[1, 1::-1])
    np.testing.assert_array_equal(once[1, 2:], xs[1, 2:])
    np.testing.assert_array_equal(once[2], xs[2])
    np.testing.assert_array_equal(reverse_padded(once, lengths), xs)


def test_layer_last_output_with_lengths_is_last_valid_step(rng):
    layer = RNN(cells.gru(), H)
    xs = jnp.asarray(rng.normal(size=(3, T, F)).astype(np.float32))
    lengths = jnp.array([T, 4, 2])
    variables = layer.init(jax.random.PRNGKey(0), xs)
    last = layer.apply(variables, xs, lengths)
    seq = RNN(cells.gru(), H, return_sequences=True).apply(variables, xs, lengths)
    for b, n in enumerate([T, 4, 2]):
        np.testing.assert_array_equal(last[b], seq[b, n - 1])


def test_initial_state_and_return_state(rng):
    layer = RNN(cells.lstm(), H, return_sequences=True, return_state=True)
    xs = jnp.asarray(rng.normal(size=(2, T, F)).astype(np.float32))
    variables = layer.init(jax.random.PRNGKey(0), xs)
    # Running the second half from the state after the first half equals one run.
    ys, state = layer.apply(variables, xs)
    ys1, state1 = layer.apply(variables, xs[:, :4])
    ys2, state2 = layer.apply(variables, xs[:, 4:], None, state1)
    np.testing.assert_allclose(jnp.concatenate([ys1, ys2], 1), ys, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(state2.c, state.c, rtol=1e-6, atol=1e-6)


def test_input_dropout_mask_is_drawn_once_per_sequence(rng):
    """With one input feature and rate 0.5, each sequence sees either 0 * x or 2 * x at every step."""
    layer = RNN(cells.simple_rnn(), H, return_sequences=True, dropout=0.5)
    xs = jnp.asarray(rng.normal(size=(16, T, 1)).astype(np.float32))
    variables = layer.init(jax.random.PRNGKey(0), xs)
    out = layer.apply(variables, xs, train=True, rngs={"dropout": jax.random.PRNGKey(3)})
    plain = RNN(cells.simple_rnn(), H, return_sequences=True)
    dropped = plain.apply(variables, 0.0 * xs)
    doubled = plain.apply(variables, 2.0 * xs)
    kinds = []
    for b in range(16):
        if np.allclose(out[b], dropped[b], atol=1e-6):
            kinds.append(0)
        else:
            np.testing.assert_allclose(out[b], doubled[b], rtol=1e-5, atol=1e-6)
            kinds.append(1)
    assert 0 < sum(kinds) < 16  # both outcomes occur


@pytest.mark.parametrize("name", CELLS)
def test_recurrent_dropout_is_off_at_evaluation_and_on_in_training(name, rng):
    cell = CELLS[name]
    layer = RNN(cell, H, return_sequences=True, recurrent_dropout=0.5)
    xs = jnp.asarray(rng.normal(size=(4, T, F)).astype(np.float32))
    variables = layer.init(jax.random.PRNGKey(0), xs)
    plain = RNN(cell, H, return_sequences=True).apply(variables, xs)
    np.testing.assert_array_equal(layer.apply(variables, xs), plain)
    key = {"dropout": jax.random.PRNGKey(5)}
    a = layer.apply(variables, xs, train=True, rngs=key)
    b = layer.apply(variables, xs, train=True, rngs=key)
    np.testing.assert_array_equal(a, b)  # same key, same masks
    assert not np.allclose(a, plain)
    # The first step sees a zero state, so recurrent dropout cannot change it.
    np.testing.assert_allclose(a[:, 0], plain[:, 0], rtol=1e-6, atol=1e-7)


def test_recurrent_dropout_matches_masked_state_reference(rng):
    """SimpleRNN with recurrent dropout: h_t = tanh(x W + (m * h_{t-1}) U + b) for one fixed mask m."""
    cell = cells.simple_rnn()
    params = _params(cell, rng)
    xs = rng.normal(size=(2, T, F)).astype(np.float32)
    mask = (rng.random((2, H)) > 0.5).astype(np.float32) * 2.0
    _, ys = scan_cell(cell, params, jnp.asarray(xs), hidden_size=H, state_mask=jnp.asarray(mask))
    h = np.zeros((2, H))
    p = jax.tree_util.tree_map(np.asarray, params)
    for t in range(T):
        h = np.tanh(xs[:, t] @ p["kernel"] + (mask * h) @ p["recurrent_kernel"] + p["bias"])
        np.testing.assert_allclose(ys[:, t], h, rtol=1e-5, atol=1e-6)


def test_deep_rnn_is_a_composition_of_layers(rng):
    xs = jnp.asarray(rng.normal(size=(2, T, F)).astype(np.float32))
    deep = Sequential([RNN(cells.lstm(), H, return_sequences=True), RNN(cells.gru(), 3)])
    variables = deep.init(jax.random.PRNGKey(0), xs)
    first = RNN(cells.lstm(), H, return_sequences=True).apply(
        {"params": variables["params"]["layers_0"]}, xs
    )
    second = RNN(cells.gru(), 3).apply({"params": variables["params"]["layers_1"]}, first)
    np.testing.assert_array_equal(deep.apply(variables, xs), second)


def test_custom_cell_without_recur_refuses_recurrent_dropout():
    from jaxseq.cells import Cell

    cell = Cell(
        init=lambda k, i, h: {"w": jnp.ones((i + h, h))},
        step=lambda p, h, x: (jnp.tanh(jnp.concatenate([x, h], -1) @ p["w"]),) * 2,
        name="mine",
    )
    layer = RNN(cell, 3, recurrent_dropout=0.2)
    xs = jnp.ones((2, 4, 1))
    variables = layer.init(jax.random.PRNGKey(0), xs)
    with pytest.raises(InputError, match="recurrent_dropout needs a cell with project/recur"):
        layer.apply(variables, xs, train=True, rngs={"dropout": jax.random.PRNGKey(0)})


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda v, layer: layer.apply(v, jnp.ones((2, 5))),
            r"inputs must be \[batch, time, features\], got shape \(2, 5\)",
        ),
        (
            lambda v, layer: layer.apply(v, jnp.ones((2, 5, 3))),
            "inputs have 3 features but its parameters expect 2",
        ),
        (
            lambda v, layer: layer.apply(v, jnp.ones((2, 5, 2)), jnp.array([1, 2, 3])),
            r"lengths must be \[batch\] = \(2,\)",
        ),
        (
            lambda v, layer: layer.apply(v, jnp.ones((2, 5, 2)), jnp.array([1.0, 2.0])),
            "lengths must be integers",
        ),
    ],
)
def test_layer_input_errors(call, message):
    layer = RNN(cells.lstm(), H)
    variables = layer.init(jax.random.PRNGKey(0), jnp.ones((2, 5, 2)))
    with pytest.raises(InputError, match=message):
        call(variables, layer)


def test_bad_dropout_rate_is_refused():
    with pytest.raises(InputError, match=r"dropout must be in \[0, 1\), got 1.5"):
        RNN(cells.lstm(), H, dropout=1.5).init(jax.random.PRNGKey(0), jnp.ones((2, 5, 2)))


@pytest.mark.parametrize("name", ["simple_rnn", "lstm", "gru"])
def test_last_output_taken_from_the_final_state_equals_the_last_step(name, rng):
    """Built-in cells' last output is their state; the layer takes it from the carry."""
    cell = {"simple_rnn": cells.simple_rnn(), "lstm": cells.lstm(), "gru": cells.gru()}[name]
    xs = jnp.asarray(rng.normal(size=(3, T, F)).astype(np.float32))
    params = {"params": {"cell": _params(cell, rng)}}
    last = RNN(cell, H).apply(params, xs)
    seq = RNN(cell, H, return_sequences=True).apply(params, xs)
    np.testing.assert_array_equal(last, seq[:, -1])
    grad = jax.grad(lambda p: jnp.sum(jnp.sin(RNN(cell, H).apply(p, xs))))(params)
    want = jax.grad(
        lambda p: jnp.sum(jnp.sin(RNN(cell, H, return_sequences=True).apply(p, xs)[:, -1]))
    )(params)
    jax.tree_util.tree_map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), grad, want
    )


def test_unroll_is_refused_on_the_fused_scan_and_honoured_on_autodiff():
    cell = cells.lstm()
    params = cell.init(jax.random.PRNGKey(0), 2, 4)
    xs = jnp.asarray(np.random.default_rng(0).normal(size=(3, 6, 2)), jnp.float32)
    with pytest.raises(InputError, match="unroll=2 applies to lax.scan"):
        scan_cell(cell, params, xs, hidden_size=4, unroll=2)
    _, once = scan_cell(cell, params, xs, hidden_size=4)
    _, twice = scan_cell(cell._replace(scan=None), params, xs, hidden_size=4, unroll=2)
    np.testing.assert_allclose(twice, once, rtol=1e-5, atol=1e-6)
