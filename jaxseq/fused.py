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
``x W`` happens depends on the kernel argument ``W`` (the cells always give it, so each scan
places the projection where it is cheapest for training, :data:`IN_LOOP_MAX_FEATURES`, or for
inference, :data:`FORWARD`):

- ``W=None``: ``xs`` is ``x W`` for all steps, ``[time, batch, G * H]``, one matmul before the
  loop; its cotangent is the gates' gradient ``dz``, and autodiff of that matmul gives ``dW``
  and ``dx``;
- ``W`` given: ``xs`` is the raw ``[time, batch, in]`` and each step computes ``x_t W``. For
  narrow inputs (the chapter's series have 1 feature) the projected array is ``G * H / in``
  times larger than the input and costs more to write and read than the small per-step product
  (which XLA folds into the gate arithmetic when ``in`` is 1). The backward pass still computes
  ``dW = sum_t x_t^T dz_t`` and ``dx = dz W^T`` as single matmuls after the loop.

Inference takes its own path. A ``custom_vjp`` function runs its *primal* when nothing
differentiates it (``apply`` for evaluation, forecasting, backtests, and under ``vmap`` over
replicas), so the primal functions below are written for speed alone: no stash, and the
formulation chosen per shape by :data:`FORWARD` (measured in ``benchmarks/forward_speed.py``).
They compute the same equations; outputs agree with the training loops to float rounding. On
this CPU elementwise work inside a loop is fast only on whole rows: an array sliced at a lane
offset that is not a multiple of the vector width (a GRU's z, r, g blocks of 20 units) runs
without vectors, so the GRU's inference loop does one recurrent matmul per gate instead of
slicing one fused product, and wide inputs go in one ``[x_t, h] [W; U]`` matmul per step
rather than a ``[time, batch, G * H]`` projection written before the loop.

Shapes and the rest:

- ``h0`` (and ``c0``): ``[batch, H]``;
- ``mask``: ``[batch, H]`` or ``None``: recurrent dropout, multiplied into the state where it
  enters the recurrent matmul;
- returns ``(final carry, ys [time, batch, H])``, as ``lax.scan`` does.

Each cell's equations are written once, here: :func:`simple_rnn_step`, :func:`lstm_gates`
(:func:`lstm_step`) and :func:`gru_update` (:func:`gru_step`). The plain cells of
:mod:`jaxseq.cells`, the training loops and the inference loops all run them; the inference
loops differ only in how they form the pre-activations, and the hand-written backward passes
are the only other statement of the arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp

Array = jax.Array


def sigmoid(x: Array) -> Array:
    """The logistic function written through ``tanh``: one transcendental pass, not exp + divide."""
    return 0.5 * jnp.tanh(0.5 * x) + 0.5


def _mul(h: Array, mask: Array | None) -> Array:
    return h if mask is None else h * mask


def _dmask(h_prev: Array, dhm: Array | None, mask: Array | None):
    return None if mask is None or dhm is None else jnp.sum(h_prev * dhm, axis=0)


def _rscan(f, init, xs):
    return jax.lax.scan(f, init, xs, reverse=True)


def _shift_in(first: Array, stack: Array) -> Array:
    """``[first, stack[0], ..., stack[T-2]]``: the previous-step values for every step."""
    return jnp.concatenate([first[None], stack[:-1]], axis=0)


#: Training: inputs with at most this many features are projected inside the loop (see the
#: module docstring); wider ones for all steps at once before it.
IN_LOOP_MAX_FEATURES = 16

#: How the inference loops (the primal functions, run when nothing differentiates them) are
#: written; each choice won where it applies in ``benchmarks/forward_speed.py`` (numbers in
#: ``docs/performance.md``). ``"narrow|wide"`` picks by the input width against
#: :data:`IN_LOOP_MAX_FEATURES`. Input placements: ``loop`` (``x_t W`` inside the loop),
#: ``concat`` (one matmul ``[x_t, h] [W; U]`` per step), ``before`` (``x W`` for all steps
#: first).
#:
#: - ``lstm_gates``: ``fused`` (one tanh over all four gates, as in training), ``split`` (each
#:   gate activated where it is used), ``auto`` (split for a multiple-of-16 hidden size, whose
#:   gate blocks start on whole vectors, fed by a real matmul: more than one feature).
#: - ``gru``: ``split`` (one recurrent matmul per gate, no lane-offset slices) or ``fused`` (the
#:   training loop's formulation). ``gru_input``: a placement, or ``auto``: in the loop for
#:   narrow inputs; for wide ones before the loop while that array is at most
#:   :data:`PREPROJECT_MAX_BYTES`, else ``gru_wide``.
#: - ``unroll``: the ``lax.scan`` unroll factor.
FORWARD: dict[str, Any] = {
    "lstm_input": "loop|concat",
    "lstm_gates": "auto",
    "gru": "split",
    "gru_input": "auto",
    "gru_wide": "loop",
    "rnn_input": "loop|concat",
    "unroll": 1,
}


def matmul_last(x: Array, kernel: Array) -> Array:
    """``x @ kernel`` over the last axis, on a 2-D view (one contracting dimension)."""
    flat = x.reshape(-1, x.shape[-1]) @ kernel
    return flat.reshape(*x.shape[:-1], flat.shape[-1])


def _train_inputs(W: Array | None, xs: Array):
    """``(W, xs)`` for a training loop: wide inputs are projected for all steps before it."""
    if W is None or xs.shape[-1] <= IN_LOOP_MAX_FEATURES:
        return W, xs
    return None, matmul_last(xs, W)


def _choose(mode: str, features: int) -> str:
    narrow, _, wide = mode.partition("|")
    return wide if wide and features > IN_LOOP_MAX_FEATURES else narrow


def _split_gates(H: int, features: int | None) -> bool:
    """Whether the LSTM inference loop activates each gate apart (``features``: the width of
    an input projected inside the loop; ``None`` for pre-projected inputs)."""
    mode = FORWARD["lstm_gates"]
    if mode == "auto":
        return features is not None and features > 1 and H % 16 == 0
    return mode == "split"


#: Inference: a wide input's GRU projection is written for all steps before the loop while
#: it takes at most this many bytes (it then stays in cache; larger, it is computed per step).
PREPROJECT_MAX_BYTES = 2**21


def _gru_input_mode(shape, H: int, dtype) -> str:
    mode = FORWARD["gru_input"]
    if mode != "auto":
        return mode
    if shape[-1] <= IN_LOOP_MAX_FEATURES:
        return "loop"
    size = shape[0] * shape[1] * 3 * H * jnp.dtype(dtype).itemsize
    return "before" if size <= PREPROJECT_MAX_BYTES else FORWARD["gru_wide"]


def _forward_input(W, U, b, xs, mode):
    """``(sequence, z)`` of an inference loop, ``z(x_t, h_in)`` the gates' pre-activation."""
    mode = _choose(mode, xs.shape[-1])
    if W is None:
        return xs, lambda x, h: (x + b) + h @ U
    if mode == "loop":
        return xs, lambda x, h: (x @ W + b) + h @ U
    if mode == "concat":
        WU = jnp.concatenate([W, U], axis=0)
        return xs, lambda x, h: jnp.concatenate([x, h], axis=-1) @ WU + b
    return matmul_last(xs, W), lambda x, h: (x + b) + h @ U


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
    dW = sum_outer(xs, dz)
    dxs = (dz.reshape(-1, dz.shape[-1]) @ W.T).reshape(xs.shape)
    return dW, db, dxs


def sum_outer(a: Array, b: Array) -> Array:
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
    per step). Returns ``(h_T, ys)``, as ``lax.scan`` does."""
    return _simple_rnn_infer(activation, U, W, b, h0, xs, mask)


def simple_rnn_step(x, h, U, mask, activation: Callable = jnp.tanh):
    """One SimpleRNN step on the input ``x`` (``x_t W + b``, ``[batch, H]``): returns the
    pre-activation ``a = x + (h * mask) U`` and ``h_t = activation(a)``. The one statement of
    the cell's equation: :func:`jaxseq.cells.simple_rnn` and the training loop run it."""
    a = x + _mul(h, mask) @ U
    return a, activation(a)


def _simple_rnn_infer(activation, U, W, b, h0, xs, mask):
    xs, pre = _forward_input(W, U, b, xs, FORWARD["rnn_input"])

    def step(h, x):
        h = activation(pre(x, _mul(h, mask)))
        return h, h

    h, ys = jax.lax.scan(step, h0, xs)
    return h, ys


def _simple_rnn_fwd(activation, U, W, b, h0, xs, mask):
    raw = xs
    W_loop, xs = _train_inputs(W, xs)
    gate_input = _gate_input(W_loop, b)

    def step(h, x):
        a, h = simple_rnn_step(gate_input(x), h, U, mask, activation)
        return h, (a, h)

    h, (pre, ys) = jax.lax.scan(step, h0, xs)
    return (h, ys), (U, W, raw if W is not None else None, h0, mask, pre, ys)


def _simple_rnn_bwd(activation, res, cotangents):
    U, W, xs, h0, mask, pre, ys = res
    dhT, dys = cotangents
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
    dU = sum_outer(_mul(h_prev, mask), da)
    dW, db, dxs = _input_grads(W, xs, da)
    return dU, dW, db, dh0, dxs, _dmask(h_prev, dhm, mask)


simple_rnn_scan.defvjp(_simple_rnn_fwd, _simple_rnn_bwd)


# --------------------------------------------------------------------------- LSTM


def gate_scale(H: int, dtype) -> Array:
    """Per-column scale of the fused i, f, g, o pre-activations: 1/2 for sigmoid gates, 1 for g."""
    half = jnp.full((H,), 0.5, dtype)
    return jnp.concatenate([half, half, jnp.ones((H,), dtype), half])


def lstm_gates(z, c, peep=None, *, split=False, activation=None, recurrent_activation=None):
    r"""The LSTM's equations from its gates' pre-activations: the one statement of them, which
    :func:`jaxseq.cells.lstm`, the training loop and the inference loops all run.

    .. math::
        c_t = f \odot c_{t-1} + i \odot g, \qquad h_t = o \odot \tanh(c_t)

    with ``i, f, o = sigmoid`` and ``g = tanh`` of the blocks of ``z`` (plus the peephole terms
    ``p_i c_{t-1}``, ``p_f c_{t-1}``, ``p_o c_t``).

    Args:
        z: ``[batch, 4H]``, ``x_t W + b + h_{t-1} U``, gates i, f, g, o.
        c: ``[batch, H]``, the previous long-term state.
        peep: ``[3, H]`` (p_i, p_f, p_o) or ``None``.
        split: activate each gate block apart rather than all four in one ``tanh``.
        activation, recurrent_activation: other functions than tanh and the logistic (they
            imply ``split``).

    Returns:
        ``(t, c_t, tanh(c_t), h_t)``; ``t`` is the one ``tanh`` over the scaled gates
        (:func:`gate_scale`), which the training loop stashes for its backward pass, or
        ``None`` when the gates were activated apart.
    """
    H = c.shape[-1]
    if split or activation is not None or recurrent_activation is not None:
        act = jnp.tanh if activation is None else activation
        gate = sigmoid if recurrent_activation is None else recurrent_activation
        zi, zf, zg, zo = (z[..., k * H : (k + 1) * H] for k in range(4))
        if peep is not None:
            zi, zf = zi + peep[0] * c, zf + peep[1] * c
        c = gate(zf) * c + gate(zi) * act(zg)
        if peep is not None:
            zo = zo + peep[2] * c
        tc = act(c)
        return None, c, tc, gate(zo) * tc
    scale = gate_scale(H, z.dtype)
    if peep is not None:
        z = z + jnp.concatenate([peep[0] * c, peep[1] * c, jnp.zeros_like(z[..., 2 * H :])], -1)
    t = jnp.tanh(z * scale)
    a = t * scale + (1 - scale)  # i, f, o in (0, 1); g = t
    c = a[..., H : 2 * H] * c + a[..., :H] * a[..., 2 * H : 3 * H]
    if peep is not None:  # the output gate peeks at the new c
        o_t = jnp.tanh(0.5 * (z[..., 3 * H :] + peep[2] * c))
        t = jnp.concatenate([t[..., : 3 * H], o_t], -1)
        o = 0.5 * o_t + 0.5
    else:
        o = a[..., 3 * H :]
    tc = jnp.tanh(c)
    return t, c, tc, o * tc


def lstm_step(x, h, c, U, mask, peep, **activations):
    """One LSTM step on the gate input ``x`` (``x_t W + b``, ``[batch, 4H]``): the recurrent
    matmul, then :func:`lstm_gates` (``activations`` passed on)."""
    return lstm_gates(x + _mul(h, mask) @ U, c, peep, **activations)


@partial(jax.custom_vjp, nondiff_argnums=(0,))
def lstm_scan(use_peep: bool, U, peep, W, b, h0, c0, xs, mask):
    """LSTM recurrence, gates fused i, f, g, o; ``peep`` is ``[3, H]`` (p_i, p_f, p_o), used
    when ``use_peep``. Returns ``((h_T, c_T), ys)``, as ``lax.scan`` does."""
    return _lstm_infer(use_peep, U, peep, W, b, h0, c0, xs, mask)


def _lstm_infer(use_peep, U, peep, W, b, h0, c0, xs, mask):
    H = h0.shape[-1]
    if use_peep:
        gate_input = _gate_input(W, b)

        def step(carry, x):
            h, c = carry
            _, c, _, h = lstm_step(gate_input(x), h, c, U, mask, peep)
            return (h, c), h

        (h, c), ys = jax.lax.scan(step, (h0, c0), xs)
        return (h, c), ys
    split = _split_gates(H, xs.shape[-1] if W is not None else None)
    xs, pre = _forward_input(W, U, b, xs, FORWARD["lstm_input"])

    def step(carry, x):
        h, c = carry
        _, c, _, h = lstm_gates(pre(x, _mul(h, mask)), c, split=split)
        return (h, c), h

    (h, c), ys = jax.lax.scan(step, (h0, c0), xs, unroll=FORWARD["unroll"])
    return (h, c), ys


def _lstm_fwd(use_peep, U, peep, W, b, h0, c0, xs, mask):
    raw = xs
    W_loop, xs = _train_inputs(W, xs)
    gate_input = _gate_input(W_loop, b)

    def step(carry, x):
        h, c = carry
        t, c, _, h = lstm_step(gate_input(x), h, c, U, mask, peep if use_peep else None)
        # The stash keeps the gates' tanh and c; tanh(c) is recomputed in the backward pass
        # (one transcendental on [batch, H] is cheaper than writing and zero-filling it).
        return (h, c), (jnp.concatenate([t, c], axis=-1), h)

    (h, c), (stash, ys) = jax.lax.scan(step, (h0, c0), xs)
    residuals = (U, peep, W, raw if W is not None else None, h0, c0, mask, stash, ys)
    return ((h, c), ys), residuals


def _lstm_bwd(use_peep, res, cotangents):
    U, peep, W, xs, h0, c0, mask, stash, ys = res
    (dhT, dcT), dys = cotangents
    H = h0.shape[-1]
    # Gates as a middle axis, [batch, 4, H]: the four gate blocks of dz are then built by
    # stacking whole rows rather than by a per-element concatenation.
    scale = gate_scale(H, stash.dtype).reshape(4, H)
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
    dU = sum_outer(_mul(h_prev, mask), dz)
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


def gru_update(z, r, xg, hg, h, activation: Callable = jnp.tanh):
    r"""The reset-after GRU's candidate and new state from its gates: the one statement of
    them, which :func:`jaxseq.cells.gru`, the training loop and the inference loops all run.

    .. math::
        g_t = \tanh(x_g + r \odot h_g), \qquad h_t = z \odot h_{t-1} + (1 - z) \odot g_t

    ``z``, ``r``: the activated gates; ``xg = x_t W_g + b_g``; ``hg = h_{t-1} U_g + b'_g``; all
    ``[batch, H]``. Returns ``(g_t, h_t)``; ``h_t`` is written ``g + z (h - g)``.
    """
    g = activation(xg + r * hg)
    return g, g + z * (h - g)


def gru_step(x, h, U, b_rec, mask, activation: Callable = jnp.tanh, recurrent_activation=sigmoid):
    """One reset-after GRU step on the gate input ``x`` (``x_t W + b``, ``[batch, 3H]``): the
    recurrent matmul, the z and r gates in one pass, then :func:`gru_update`. Returns ``zr``
    (the activated z, r), ``g``, ``hg``, the new ``h``."""
    H = h.shape[-1]
    hr = _mul(h, mask) @ U + b_rec
    zr = recurrent_activation(x[..., : 2 * H] + hr[..., : 2 * H])
    hg = hr[..., 2 * H :]
    g, h = gru_update(zr[..., :H], zr[..., H:], x[..., 2 * H :], hg, h, activation)
    return zr, g, hg, h


@jax.custom_vjp
def gru_scan(U, b_rec, W, b, h0, xs, mask):
    """GRU recurrence in the reset-after form (Keras/PyTorch default), gates fused z, r, g.
    Returns ``(h_T, ys)``, as ``lax.scan`` does."""
    return _gru_infer(U, b_rec, W, b, h0, xs, mask)


def _gru_infer(U, b_rec, W, b, h0, xs, mask):
    if FORWARD["gru"] == "fused":
        gate_input = _gate_input(W, b)

        def step(h, x):
            h = gru_step(gate_input(x), h, U, b_rec, mask)[-1]
            return h, h

        h, ys = jax.lax.scan(step, h0, xs)
        return h, ys
    H = h0.shape[-1]
    part = lambda a, k: a[..., k * H : (k + 1) * H]
    Us = [part(U, k) for k in range(3)]
    bs = [part(b, k) for k in range(3)]
    b_recs = [part(b_rec, k) for k in range(3)]
    mode = "before" if W is None else _gru_input_mode(xs.shape, H, xs.dtype)
    if W is None:
        seq = tuple(part(xs, k) for k in range(3))
    elif mode == "before":
        seq = tuple(matmul_last(xs, part(W, k)) for k in range(3))
    else:
        seq = xs
        Ws = [part(W, k) for k in range(3)]
        WUs = [jnp.concatenate([Ws[k], Us[k]], axis=0) for k in range(2)]

    def pre_activations(x, hm):
        """``(x_z + h_z, x_r + h_r, x_g, h_g)``, biases included."""
        if mode == "before":
            xz, xr, xg = (x[k] + bs[k] for k in range(3))
        elif mode == "loop":
            xz, xr, xg = (x @ Ws[k] + bs[k] for k in range(3))
        else:  # concat: the z and r gates in one matmul each over [x_t, h]
            xh = jnp.concatenate([x, hm], axis=-1)
            az, ar = (xh @ WUs[k] + (bs[k] + b_recs[k]) for k in range(2))
            return az, ar, x @ Ws[2] + bs[2], hm @ Us[2] + b_recs[2]
        az, ar = (xk + (hm @ Us[k] + b_recs[k]) for k, xk in enumerate((xz, xr)))
        return az, ar, xg, hm @ Us[2] + b_recs[2]

    def step(h, x):
        az, ar, xg, hg = pre_activations(x, _mul(h, mask))
        _, h = gru_update(sigmoid(az), sigmoid(ar), xg, hg, h)
        return h, h

    h, ys = jax.lax.scan(step, h0, seq, unroll=FORWARD["unroll"])
    return h, ys


def _gru_fwd(U, b_rec, W, b, h0, xs, mask):
    raw = xs
    W_loop, xs = _train_inputs(W, xs)
    gate_input = _gate_input(W_loop, b)

    def step(h, x):
        zr, g, hg, h = gru_step(gate_input(x), h, U, b_rec, mask)
        return h, jnp.concatenate([zr, g, hg, h], axis=-1)

    h, stash = jax.lax.scan(step, h0, xs)
    H = h0.shape[-1]
    return (h, stash[..., 4 * H :]), (U, W, raw if W is not None else None, h0, mask, stash)


def _gru_bwd(res, cotangents):
    U, W, xs, h0, mask, stash = res
    dhT, dys = cotangents
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
    dU = sum_outer(_mul(h_prev_all, mask), dhr)
    db_rec = jnp.sum(dhr, axis=(0, 1))
    dW, db, dxs = _input_grads(W, xs, dx)
    return dU, db_rec, dW, db, dh0, dxs, _dmask(h_prev_all, dhm, mask)


gru_scan.defvjp(_gru_fwd, _gru_bwd)
