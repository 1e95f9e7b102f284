"""Hand-written forward and backward passes for the built-in recurrences (``jax.custom_vjp``).

Why by hand: autodiff of ``lax.scan`` saves every intermediate of the step as its own stacked
buffer (13 per LSTM step, each a separate write per iteration) and accumulates the recurrent
kernel's gradient *inside* the reverse loop. Here the forward loop stashes one buffer per step,
the reverse loop does one elementwise pass and one matmul (``dz @ U^T``) per step, and the
kernel's gradient is one large matmul after the loop (``sum_t h_{t-1}^T dz_t``), where CPUs and
accelerators are fast. The work inside the loop is latency-bound (each kernel launch costs
about a microsecond on this CPU, more than its arithmetic), so the formulation aims at few,
full-width elementwise passes:

- all four LSTM gates go through ONE ``tanh`` over ``[batch, 4H]``, using
  ``sigmoid(z) = 0.5 * tanh(z / 2) + 0.5`` for i, f, o (the same function; XLA's logistic is
  ``exp`` plus a division, two passes);
- derivatives are taken from the stashed ``tanh`` values (``1 - t^2``), never recomputed.

The results equal autodiff of the plain cells to float rounding: ``tests/test_cells.py`` checks
them against the NumPy loop, autodiff of the plain cells and finite differences.

Each function runs one recurrence over time-major inputs ``xs`` and adds the input bias ``b``
inside the loop, where it fuses into the gate arithmetic (added to a projection before the loop
it would be one more pass over a ``[time, batch, G * H]`` array). Where the input projection
``x W`` happens depends on the kernel argument ``W`` (:func:`projects_in_loop` chooses):

- ``W=None``: ``xs`` is ``x W`` for all steps, ``[time, batch, G * H]``, one matmul before the
  loop; its cotangent is the gates' gradient ``dz``, and autodiff of that matmul gives ``dW``
  and ``dx``;
- ``W`` given: ``xs`` is the raw ``[time, batch, in]`` and each step computes ``x_t W``. For
  narrow inputs (the chapter's series have 1 feature) the projected array is ``G * H / in``
  times larger than the input and costs more to write and read than the small per-step product
  (which XLA folds into the gate arithmetic when ``in`` is 1). The backward pass still computes
  ``dW = sum_t x_t^T dz_t`` and ``dx = dz W^T`` as single matmuls after the loop.

Shapes and the rest:

- ``h0`` (and ``c0``): ``[batch, H]``;
- ``mask``: ``[batch, H]`` or ``None``: recurrent dropout, multiplied into the state where it
  enters the recurrent matmul;
- returns ``(ys [time, batch, H], final carry)``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp

Array = jax.Array


def sigmoid(x: Array) -> Array:
    """The logistic function written through ``tanh``: one transcendental pass, not exp + divide."""
    return 0.5 * jnp.tanh(0.5 * x) + 0.5


def _mul(h: Array, mask: Array | None) -> Array:
    return h if mask is None else h * mask


def _dmask(h_prev: Array, dhm: Array | None, mask: Array | None):
    return None if mask is None else jnp.sum(h_prev * dhm, axis=0)


def _rscan(f, init, xs):
    return jax.lax.scan(f, init, xs, reverse=True)


def _shift_in(first: Array, stack: Array) -> Array:
    """``[first, stack[0], ..., stack[T-2]]``: the previous-step values for every step."""
    return jnp.concatenate([first[None], stack[:-1]], axis=0)


#: Inputs with at most this many features are projected inside the loop (see the module docstring).
IN_LOOP_MAX_FEATURES = 16


def projects_in_loop(features: int) -> bool:
    """Whether the fused scans project an input of ``features`` features inside the loop."""
    return features <= IN_LOOP_MAX_FEATURES


def _gate_input(W: Array | None, b: Array) -> Callable[[Array], Array]:
    """The per-step input to the gates: ``x_t W + b`` (projection inside) or ``xp_t + b``."""
    if W is None:
        return lambda x: x + b
    return lambda x: x @ W + b


def _input_grads(W: Array | None, xs: Array, dz: Array):
    """Cotangents of ``(W, b, xs)`` from the gates' gradient ``dz`` ``[time, batch, G]``."""
    db = jnp.sum(dz, axis=(0, 1))
    if W is None:
        return None, db, dz
    dW = _sum_outer(xs, dz)
    dxs = (dz.reshape(-1, dz.shape[-1]) @ W.T).reshape(xs.shape)
    return dW, db, dxs


def _sum_outer(a: Array, b: Array) -> Array:
    """``sum_t a_t^T b_t`` for ``a`` ``[T, B, H]``, ``b`` ``[T, B, G]``: one ``[H, G]`` matmul.

    Written on 2-D views with one contracting dimension: XLA runs a dot that contracts two
    dimensions (the einsum ``tbh,tbg->hg``) about half as fast on CPU.
    """
    a2 = a.reshape(-1, a.shape[-1])
    b2 = b.reshape(-1, b.shape[-1])
    return jax.lax.dot_general(a2, b2, (((0,), (0,)), ((), ())))


# --------------------------------------------------------------------------- SimpleRNN


@partial(jax.custom_vjp, nondiff_argnums=(0,))
def simple_rnn_scan(activation: Callable, U, W, b, h0, xs, mask):
    """``h_t = activation(x_t W + b + (h_{t-1} * mask) U)``; any activation (its VJP is taken
    per step)."""
    gate_input = _gate_input(W, b)

    def step(h, x):
        h = activation(gate_input(x) + _mul(h, mask) @ U)
        return h, h

    h, ys = jax.lax.scan(step, h0, xs)
    return ys, h


def _simple_rnn_fwd(activation, U, W, b, h0, xs, mask):
    gate_input = _gate_input(W, b)

    def step(h, x):
        a = gate_input(x) + _mul(h, mask) @ U
        h = activation(a)
        return h, (a, h)

    h, (pre, ys) = jax.lax.scan(step, h0, xs)
    return (ys, h), (U, W, xs if W is not None else None, h0, mask, pre, ys)


def _simple_rnn_bwd(activation, res, cotangents):
    U, W, xs, h0, mask, pre, ys = res
    dys, dhT = cotangents
    if activation is jnp.tanh:
        deriv = lambda a, y, dh: dh * (1 - y * y)
    else:
        deriv = lambda a, y, dh: jax.vjp(activation, a)[1](dh)[0]

    def step(dh, inputs):
        a, y, dy = inputs
        da = deriv(a, y, dh + dy)
        dhm = da @ U.T
        return _mul(dhm, mask), (da, None if mask is None else dhm)

    dh0, (da, dhm) = _rscan(step, dhT, (pre, ys, dys))
    h_prev = _shift_in(h0, ys)
    dU = _sum_outer(_mul(h_prev, mask), da)
    dW, db, dxs = _input_grads(W, xs, da)
    return dU, dW, db, dh0, dxs, _dmask(h_prev, dhm, mask)


simple_rnn_scan.defvjp(_simple_rnn_fwd, _simple_rnn_bwd)


# --------------------------------------------------------------------------- LSTM


def _gate_scale(H: int, dtype) -> Array:
    """Per-column scale of the fused i, f, g, o pre-activations: 1/2 for sigmoid gates, 1 for g."""
    half = jnp.full((H,), 0.5, dtype)
    return jnp.concatenate([half, half, jnp.ones((H,), dtype), half])


def _lstm_step(x, h, c, U, mask, peep, scale):
    """One LSTM step on the gate input ``x`` (``x_t W + b``). Returns ``t`` (the fused gate
    tanh), the new ``c``, ``tanh(c)``, ``h``."""
    H = h.shape[-1]
    z = x + _mul(h, mask) @ U
    if peep is not None:
        z = z + jnp.concatenate([peep[0] * c, peep[1] * c, jnp.zeros_like(z[:, 2 * H :])], -1)
    t = jnp.tanh(z * scale)
    a = t * scale + (1 - scale)  # i, f, o in (0, 1); g = t
    c = a[:, H : 2 * H] * c + a[:, :H] * a[:, 2 * H : 3 * H]
    if peep is not None:  # the output gate peeks at the new c
        o_t = jnp.tanh(0.5 * (z[:, 3 * H :] + peep[2] * c))
        t = jnp.concatenate([t[:, : 3 * H], o_t], -1)
        o = 0.5 * o_t + 0.5
    else:
        o = a[:, 3 * H :]
    tc = jnp.tanh(c)
    return t, c, tc, o * tc


@partial(jax.custom_vjp, nondiff_argnums=(0,))
def lstm_scan(use_peep: bool, U, peep, W, b, h0, c0, xs, mask):
    """LSTM recurrence, gates fused i, f, g, o; ``peep`` is ``[3, H]`` (p_i, p_f, p_o), used
    when ``use_peep``. Returns ``(ys, (h, c))``."""
    scale = _gate_scale(h0.shape[-1], h0.dtype)
    gate_input = _gate_input(W, b)

    def step(carry, x):
        h, c = carry
        _, c, _, h = _lstm_step(gate_input(x), h, c, U, mask, peep if use_peep else None, scale)
        return (h, c), h

    (h, c), ys = jax.lax.scan(step, (h0, c0), xs)
    return ys, (h, c)


def _lstm_fwd(use_peep, U, peep, W, b, h0, c0, xs, mask):
    H = h0.shape[-1]
    scale = _gate_scale(H, h0.dtype)
    gate_input = _gate_input(W, b)

    def step(carry, x):
        h, c = carry
        t, c, _, h = _lstm_step(gate_input(x), h, c, U, mask, peep if use_peep else None, scale)
        # The stash keeps the gates' tanh and c; tanh(c) is recomputed in the backward pass
        # (one transcendental on [batch, H] is cheaper than writing and zero-filling it).
        return (h, c), (jnp.concatenate([t, c], axis=-1), h)

    (h, c), (stash, ys) = jax.lax.scan(step, (h0, c0), xs)
    residuals = (U, peep, W, xs if W is not None else None, h0, c0, mask, stash, ys)
    return (ys, (h, c)), residuals


def _lstm_bwd(use_peep, res, cotangents):
    U, peep, W, xs, h0, c0, mask, stash, ys = res
    dys, (dhT, dcT) = cotangents
    H = h0.shape[-1]
    # Gates as a middle axis, [batch, 4, H]: the four gate blocks of dz are then built by
    # stacking whole rows rather than by a per-element concatenation.
    scale = _gate_scale(H, stash.dtype).reshape(4, H)
    scale2 = scale * scale
    cs = stash[..., 4 * H :]
    c_prev_all = _shift_in(c0, cs)

    def step(carry, inputs):
        dh, dc = carry
        s, c_prev, dy = inputs
        t, tc = s[:, : 4 * H].reshape(-1, 4, H), jnp.tanh(s[:, 4 * H :])
        a = t * scale + (1 - scale)
        i, f, g, o = a[:, 0], a[:, 1], a[:, 2], a[:, 3]
        dh = dh + dy
        dc = dc + dh * o * (1 - tc * tc)
        if use_peep:
            dc = dc + dh * tc * 0.25 * (1 - t[:, 3] ** 2) * peep[2]
        # d(loss)/d(activated gate) times d(activated gate)/dz = scale^2 (1 - t^2)
        da = jnp.stack([dc * g, dc * c_prev, dc * i, dh * tc], axis=1)
        dz = da * scale2 * (1 - t * t)
        dc_prev = dc * f
        if use_peep:
            dc_prev = dc_prev + dz[:, 0] * peep[0] + dz[:, 1] * peep[1]
        dz = dz.reshape(-1, 4 * H)
        dhm = dz @ U.T
        return (_mul(dhm, mask), dc_prev), (dz, None if mask is None else dhm)

    (dh0, dc0), (dz, dhm) = _rscan(step, (dhT, dcT), (stash, c_prev_all, dys))
    h_prev = _shift_in(h0, ys)
    dU = _sum_outer(_mul(h_prev, mask), dz)
    if use_peep:
        dpeep = jnp.stack(
            [
                jnp.sum(dz[..., :H] * c_prev_all, axis=(0, 1)),
                jnp.sum(dz[..., H : 2 * H] * c_prev_all, axis=(0, 1)),
                jnp.sum(dz[..., 3 * H :] * cs, axis=(0, 1)),
            ]
        )
    else:
        dpeep = jnp.zeros_like(peep)
    dW, db, dxs = _input_grads(W, xs, dz)
    return dU, dpeep, dW, db, dh0, dc0, dxs, _dmask(h_prev, dhm, mask)


lstm_scan.defvjp(_lstm_fwd, _lstm_bwd)


# --------------------------------------------------------------------------- GRU (reset after)


def _gru_step(x, h, U, b_rec, mask):
    """One reset-after GRU step on the gate input ``x`` (``x_t W + b``). Returns ``zr`` (sigmoid
    of z, r), ``g``, ``hg``, the new ``h``."""
    H = h.shape[-1]
    hr = _mul(h, mask) @ U + b_rec
    zr = sigmoid(x[:, : 2 * H] + hr[:, : 2 * H])
    hg = hr[:, 2 * H :]
    g = jnp.tanh(x[:, 2 * H :] + zr[:, H:] * hg)
    z = zr[:, :H]
    return zr, g, hg, g + z * (h - g)


@jax.custom_vjp
def gru_scan(U, b_rec, W, b, h0, xs, mask):
    """GRU recurrence in the reset-after form (Keras/PyTorch default), gates fused z, r, g."""
    gate_input = _gate_input(W, b)

    def step(h, x):
        h = _gru_step(gate_input(x), h, U, b_rec, mask)[-1]
        return h, h

    h, ys = jax.lax.scan(step, h0, xs)
    return ys, h


def _gru_fwd(U, b_rec, W, b, h0, xs, mask):
    gate_input = _gate_input(W, b)

    def step(h, x):
        zr, g, hg, h = _gru_step(gate_input(x), h, U, b_rec, mask)
        return h, jnp.concatenate([zr, g, hg, h], axis=-1)

    h, stash = jax.lax.scan(step, h0, xs)
    H = h0.shape[-1]
    return (stash[..., 4 * H :], h), (U, W, xs if W is not None else None, h0, mask, stash)


def _gru_bwd(res, cotangents):
    U, W, xs, h0, mask, stash = res
    dys, dhT = cotangents
    H = h0.shape[-1]
    h_prev_all = _shift_in(h0, stash[..., 4 * H :])

    def step(dh, inputs):
        s, h_prev, dy = inputs
        z, r, g, hg = (s[:, k * H : (k + 1) * H] for k in range(4))
        dh = dh + dy
        dag = dh * (1 - z) * (1 - g * g)
        daz = dh * (h_prev - g) * z * (1 - z)
        dar = dag * hg * r * (1 - r)
        dx = jnp.concatenate([daz, dar, dag], axis=-1)
        dhr = jnp.concatenate([daz, dar, dag * r], axis=-1)
        dhm = dhr @ U.T
        return dh * z + _mul(dhm, mask), (dx, None if mask is None else dhm)

    dh0, (dx, dhm) = _rscan(step, dhT, (stash, h_prev_all, dys))
    # dhr differs from dx only in its g block (times r): rebuilt after the loop in one pass
    # rather than written out at every step.
    dhr = dx * jnp.concatenate([jnp.ones_like(stash[..., : 2 * H]), stash[..., H : 2 * H]], -1)
    dU = _sum_outer(_mul(h_prev_all, mask), dhr)
    db_rec = jnp.sum(dhr, axis=(0, 1))
    dW, db, dxs = _input_grads(W, xs, dx)
    return dU, db_rec, dW, db, dh0, dxs, _dmask(h_prev_all, dhm, mask)


gru_scan.defvjp(_gru_fwd, _gru_bwd)
