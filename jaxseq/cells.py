"""Recurrent cells as pure functions.

A cell is a :class:`Cell`: a named tuple of pure functions, in the manner of
``optax.GradientTransformation``. Its two required members are

- ``init(key, input_size, hidden_size) -> params``: a plain pytree of arrays;
- ``step(params, carry, x) -> (carry, y)``: one time step, exactly the body ``lax.scan`` wants.
  ``x`` is ``[batch, input_size]``; ``y`` is ``[batch, hidden_size]``.

Built-in cells also split the step in two so the runner can do the input projection for all
time steps as one matmul before the scan (``project``), leaving only the recurrence inside it
(``recur``); ``step(p, c, x) == recur(p, c, project(p, x))``. ``recur`` takes an optional
``state_mask`` ``[batch, hidden]`` for recurrent dropout: it multiplies the previous state where
it enters the recurrent matmuls (Keras' ``recurrent_dropout``), never the carried state itself.

A researcher's cell needs no registration::

    def my_init(key, input_size, hidden_size):
        return {"w": jax.random.normal(key, (input_size + hidden_size, hidden_size)) * 0.1}

    def my_step(params, h, x):
        h = jnp.tanh(jnp.concatenate([x, h], -1) @ params["w"])
        return h, h

    cell = Cell(init=my_init, step=my_step)   # runs in jaxseq.RNN, trains like any other

Parameter names and gate orders follow Keras (``kernel``, ``recurrent_kernel``, ``bias``; LSTM
gates i, f, g, o, which is also PyTorch's order; GRU gates z, r, g), so weights move between
frameworks by slicing, not by guessing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxseq import fused

Array = jax.Array
Params = Any
Carry = Any
Initializer = Callable[..., Array]

glorot_uniform = nn.initializers.glorot_uniform
orthogonal = nn.initializers.orthogonal
zeros = nn.initializers.zeros
ones = nn.initializers.ones


def zeros_state(batch_shape: tuple[int, ...], hidden_size: int, dtype=jnp.float32) -> Array:
    """The default initial state: zeros ``[*batch_shape, hidden_size]``."""
    return jnp.zeros((*batch_shape, hidden_size), dtype)


class Cell(NamedTuple):
    """A recurrent cell: pure functions over a parameter pytree.

    Attributes:
        init: ``(key, input_size, hidden_size) -> params``.
        step: ``(params, carry, x[batch, in]) -> (carry, y[batch, hidden])``.
        initial_state: ``(batch_shape, hidden_size, dtype) -> carry``; zeros by default.
        project: optional ``(params, xs[..., in]) -> xp[..., G]``, the input projection, applied to
            all time steps at once before the scan.
        recur: optional ``(params, carry, xp, state_mask=None) -> (carry, y)``, the step on a
            projected input. Needed for ``recurrent_dropout``.
        name: a short name for tables and error messages.
        scan: optional ``(params, carry, xs[time, batch, in], state_mask) -> (carry, ys[time, batch, H])``,
            the whole recurrence at once, input projection included, with a hand-written
            backward pass (:mod:`jaxseq.fused`); the runner uses it when present (and ``project``
            is given) on the *unprojected* time-major inputs. It must equal scanning ``recur``
            over ``project(xs)``.
    """

    init: Callable[[Array, int, int], Params]
    step: Callable[[Params, Carry, Array], tuple[Carry, Array]]
    initial_state: Callable[..., Carry] = zeros_state
    project: Callable[[Params, Array], Array] | None = None
    recur: Callable[..., tuple[Carry, Array]] | None = None
    name: str = "cell"
    scan: Callable[..., tuple[Carry, Array]] | None = None


def _split_cell(init, project, recur, initial_state=zeros_state, name="cell", scan=None) -> Cell:
    def step(params, carry, x):
        return recur(params, carry, project(params, x))

    return Cell(init, step, initial_state, project, recur, name, scan)


#: The logistic function, either way of writing it: both take the fused (hand-written VJP) path.
_LOGISTIC = (fused.sigmoid, jax.nn.sigmoid)


def _masked(h: Array, state_mask: Array | None) -> Array:
    return h if state_mask is None else h * state_mask


def _dense_projection(params, x):
    return fused.matmul_last(x, params["kernel"]) + params["bias"]


def _symmetric_uniform(key, shape, dtype=jnp.float32):
    """Keras' glorot-uniform on a vector (fan_in = fan_out = size): U(-sqrt(3/n), sqrt(3/n))."""
    limit = jnp.sqrt(3.0 / shape[-1])
    return jax.random.uniform(key, shape, dtype, -limit, limit)


# --------------------------------------------------------------------------- SimpleRNN


def simple_rnn(
    activation: Callable[[Array], Array] = jnp.tanh,
    *,
    kernel_init: Initializer = glorot_uniform(),
    recurrent_init: Initializer = orthogonal(),
    bias_init: Initializer = zeros,
    param_dtype=jnp.float32,
) -> Cell:
    r"""The basic recurrent cell of the seed, Keras' ``SimpleRNNCell``.

    .. math::  h_t = \phi(x_t W_x + h_{t-1} W_h + b), \qquad y_t = h_t

    Parameters: ``kernel`` ``[in, H]``, ``recurrent_kernel`` ``[H, H]``, ``bias`` ``[H]``.
    """

    def init(key, input_size, hidden_size):
        k1, k2, k3 = jax.random.split(key, 3)
        return {
            "kernel": kernel_init(k1, (input_size, hidden_size), param_dtype),
            "recurrent_kernel": recurrent_init(k2, (hidden_size, hidden_size), param_dtype),
            "bias": bias_init(k3, (hidden_size,), param_dtype),
        }

    def recur(params, h, xp, state_mask=None):
        _, h = fused.simple_rnn_step(xp, h, params["recurrent_kernel"], state_mask, activation)
        return h, h

    def scan(params, h, xs, state_mask=None):
        W = params["kernel"]  # raw inputs: the fused scan places the projection itself
        h, ys = fused.simple_rnn_scan(
            activation, params["recurrent_kernel"], W, params["bias"], h, xs, state_mask
        )
        return h, ys

    return _split_cell(init, _dense_projection, recur, name="simple_rnn", scan=scan)


# --------------------------------------------------------------------------- LSTM


class LSTMState(NamedTuple):
    """LSTM state: short-term ``h`` and long-term ``c``, each ``[batch, hidden]``."""

    h: Array
    c: Array


def _lstm_state(batch_shape, hidden_size, dtype=jnp.float32) -> LSTMState:
    return LSTMState(
        zeros_state(batch_shape, hidden_size, dtype), zeros_state(batch_shape, hidden_size, dtype)
    )


def lstm(
    *,
    peephole: bool = False,
    forget_bias: float = 1.0,
    activation: Callable[[Array], Array] = jnp.tanh,
    recurrent_activation: Callable[[Array], Array] = fused.sigmoid,
    kernel_init: Initializer = glorot_uniform(),
    recurrent_init: Initializer = orthogonal(),
    bias_init: Initializer = zeros,
    peephole_init: Initializer = _symmetric_uniform,
    param_dtype=jnp.float32,
) -> Cell:
    r"""The seed's LSTM cell (Hochreiter & Schmidhuber), optionally with peephole connections.

    .. math::
        i_t &= \sigma(x_t W_{xi} + h_{t-1} W_{hi} + b_i\ [+\ p_i \odot c_{t-1}]) \\
        f_t &= \sigma(x_t W_{xf} + h_{t-1} W_{hf} + b_f\ [+\ p_f \odot c_{t-1}]) \\
        g_t &= \tanh(x_t W_{xg} + h_{t-1} W_{hg} + b_g) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
        o_t &= \sigma(x_t W_{xo} + h_{t-1} W_{ho} + b_o\ [+\ p_o \odot c_t]) \\
        y_t &= h_t = o_t \odot \tanh(c_t)

    The bracketed peephole terms (diagonal weights, as in Keras' ``PeepholeLSTMCell``) are
    present when ``peephole=True``. Gates are fused in the order i, f, g, o (Keras and PyTorch):
    ``kernel`` ``[in, 4H]``, ``recurrent_kernel`` ``[H, 4H]``, ``bias`` ``[4H]`` (forget part
    initialised to ``forget_bias``, Keras' ``unit_forget_bias``), and with peepholes
    ``peephole_i``, ``peephole_f``, ``peephole_o`` ``[H]``. The carry is :class:`LSTMState`.
    """

    def init(key, input_size, hidden_size):
        k1, k2, k3, k4 = jax.random.split(key, 4)
        bias = bias_init(k3, (4 * hidden_size,), param_dtype)
        bias = bias.at[hidden_size : 2 * hidden_size].add(forget_bias)
        params = {
            "kernel": kernel_init(k1, (input_size, 4 * hidden_size), param_dtype),
            "recurrent_kernel": recurrent_init(k2, (hidden_size, 4 * hidden_size), param_dtype),
            "bias": bias,
        }
        if peephole:
            for name, k in zip("ifo", jax.random.split(k4, 3), strict=True):
                params[f"peephole_{name}"] = peephole_init(k, (hidden_size,), param_dtype)
        return params

    standard = activation is jnp.tanh and recurrent_activation in _LOGISTIC
    # Other activations than tanh and the logistic: the gates are activated apart.
    activations = (
        {} if standard else dict(activation=activation, recurrent_activation=recurrent_activation)
    )

    def peepholes(params):
        """``[3, H]`` (p_i, p_f, p_o), or ``None`` without peepholes."""
        if not peephole:
            return None
        return jnp.stack([params["peephole_i"], params["peephole_f"], params["peephole_o"]])

    def recur(params, state: LSTMState, xp, state_mask=None):
        U = params["recurrent_kernel"]
        _, c, _, h = fused.lstm_step(
            xp, state.h, state.c, U, state_mask, peepholes(params), **activations
        )
        return LSTMState(h, c), h

    def scan(params, state: LSTMState, xs, state_mask=None):
        peep = peepholes(params)
        if peep is None:
            peep = jnp.zeros((3, state.h.shape[-1]), state.h.dtype)
        W = params["kernel"]  # raw inputs: the fused scan places the projection itself
        U, b = params["recurrent_kernel"], params["bias"]
        (h, c), ys = fused.lstm_scan(peephole, U, peep, W, b, state.h, state.c, xs, state_mask)
        return LSTMState(h, c), ys

    name = "peephole_lstm" if peephole else "lstm"
    return _split_cell(
        init, _dense_projection, recur, _lstm_state, name, scan if standard else None
    )


# --------------------------------------------------------------------------- GRU


def gru(
    *,
    reset_after: bool = True,
    activation: Callable[[Array], Array] = jnp.tanh,
    recurrent_activation: Callable[[Array], Array] = fused.sigmoid,
    kernel_init: Initializer = glorot_uniform(),
    recurrent_init: Initializer = orthogonal(),
    bias_init: Initializer = zeros,
    param_dtype=jnp.float32,
) -> Cell:
    r"""The GRU cell (Cho et al. 2014), in either of its two published forms.

    Gates are fused in Keras' order z, r, g: ``kernel`` ``[in, 3H]``, ``recurrent_kernel``
    ``[H, 3H]``, ``bias`` ``[3H]`` (the input bias).

    ``reset_after=False`` is the seed's (original) form, reset applied *before* the matmul:

    .. math::
        z_t &= \sigma(x_t W_{xz} + h_{t-1} W_{hz} + b_z) \\
        r_t &= \sigma(x_t W_{xr} + h_{t-1} W_{hr} + b_r) \\
        g_t &= \tanh(x_t W_{xg} + (r_t \odot h_{t-1}) W_{hg} + b_g) \\
        h_t &= z_t \odot h_{t-1} + (1 - z_t) \odot g_t

    ``reset_after=True`` (default) is the form Keras and PyTorch use by default (cuDNN's),
    with a second bias ``recurrent_bias`` ``[3H]`` inside the recurrent term:

    .. math::
        g_t = \tanh(x_t W_{xg} + b_g + r_t \odot (h_{t-1} W_{hg} + b'_g))

    and likewise ``+ b'_z``, ``+ b'_r`` inside the z and r gates.
    """

    def init(key, input_size, hidden_size):
        k1, k2, k3, k4 = jax.random.split(key, 4)
        params = {
            "kernel": kernel_init(k1, (input_size, 3 * hidden_size), param_dtype),
            "recurrent_kernel": recurrent_init(k2, (hidden_size, 3 * hidden_size), param_dtype),
            "bias": bias_init(k3, (3 * hidden_size,), param_dtype),
        }
        if reset_after:
            params["recurrent_bias"] = bias_init(k4, (3 * hidden_size,), param_dtype)
        return params

    def recur_reset_after(params, h, xp, state_mask=None):
        U, b_rec = params["recurrent_kernel"], params["recurrent_bias"]
        h = fused.gru_step(xp, h, U, b_rec, state_mask, activation, recurrent_activation)[-1]
        return h, h

    def recur_reset_before(params, h, xp, state_mask=None):
        hidden = h.shape[-1]
        h_in = _masked(h, state_mask)
        kernel = params["recurrent_kernel"]
        xz, xr, xg = jnp.split(xp, 3, axis=-1)
        zr = h_in @ kernel[:, : 2 * hidden]
        z = recurrent_activation(xz + zr[..., :hidden])
        r = recurrent_activation(xr + zr[..., hidden:])
        g = activation(xg + (r * h_in) @ kernel[:, 2 * hidden :])
        h = z * h + (1.0 - z) * g
        return h, h

    def scan(params, h, xs, state_mask=None):
        W = params["kernel"]  # raw inputs: the fused scan places the projection itself
        U, b_rec = params["recurrent_kernel"], params["recurrent_bias"]
        h, ys = fused.gru_scan(U, b_rec, W, params["bias"], h, xs, state_mask)
        return h, ys

    recur = recur_reset_after if reset_after else recur_reset_before
    name = "gru" if reset_after else "gru_reset_before"
    standard = reset_after and activation is jnp.tanh and recurrent_activation in _LOGISTIC
    return _split_cell(init, _dense_projection, recur, name=name, scan=scan if standard else None)


# --------------------------------------------------------------------------- LayerNorm RNN


def layer_norm_rnn(
    activation: Callable[[Array], Array] = jnp.tanh,
    *,
    epsilon: float = 1e-3,
    kernel_init: Initializer = glorot_uniform(),
    recurrent_init: Initializer = orthogonal(),
    bias_init: Initializer = zeros,
    param_dtype=jnp.float32,
) -> Cell:
    r"""The seed's ``LNSimpleRNNCell``: a linear SimpleRNN step, layer-normalised, then activated.

    .. math::  h_t = \phi(\mathrm{LN}(x_t W_x + h_{t-1} W_h + b)), \qquad y_t = h_t

    ``LN`` normalises over the hidden units with learned ``scale`` and ``bias`` (flax
    ``LayerNorm``, Keras' epsilon 1e-3). Parameters: ``kernel``, ``recurrent_kernel``, ``bias``
    and ``layer_norm: {scale, bias}`` ``[H]``.
    """
    norm = nn.LayerNorm(epsilon=epsilon, use_fast_variance=False, param_dtype=param_dtype)

    def init(key, input_size, hidden_size):
        params = simple_rnn(
            kernel_init=kernel_init,
            recurrent_init=recurrent_init,
            bias_init=bias_init,
            param_dtype=param_dtype,
        ).init(key, input_size, hidden_size)
        params["layer_norm"] = norm.init(key, jnp.zeros((1, hidden_size), param_dtype))["params"]
        return params

    def recur(params, h, xp, state_mask=None):
        pre = xp + _masked(h, state_mask) @ params["recurrent_kernel"]
        h = activation(norm.apply({"params": params["layer_norm"]}, pre))
        return h, h

    return _split_cell(init, _dense_projection, recur, name="layer_norm_rnn")


CELLS: dict[str, Callable[..., Cell]] = {
    "simple_rnn": simple_rnn,
    "lstm": lstm,
    "peephole_lstm": lambda **kw: lstm(peephole=True, **kw),
    "gru": gru,
    "gru_reset_before": lambda **kw: gru(reset_after=False, **kw),
    "layer_norm_rnn": layer_norm_rnn,
}


def get(name: str, **kwargs) -> Cell:
    """Build a built-in cell by name (``jaxseq.cells.get("gru", reset_after=False)``)."""
    from jaxseq.errors import InputError

    if name not in CELLS:
        raise InputError(f"unknown cell {name!r}; known cells: {', '.join(CELLS)}")
    return CELLS[name](**kwargs)
