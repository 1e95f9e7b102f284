"""Running a cell over a sequence: the pure ``lax.scan`` runner and the flax ``RNN`` layer.

``scan_cell`` is a pure function: any :class:`~jaxseq.cells.Cell` over ``[batch, time, features]``,
with per-sequence lengths (right padding), reverse direction, an initial state and dropout
masks. ``RNN`` wraps it as a flax module with the Keras vocabulary the chapter uses
(``return_sequences``, ``return_state``, ``dropout``, ``recurrent_dropout``). Deep RNNs are
compositions of ``RNN`` layers (see :mod:`jaxseq.layers`).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxseq.cells import Cell, LSTMState
from jaxseq.errors import InputError, check_fraction, check_positive_int

Array = jax.Array


def reverse_padded(xs: Array, lengths: Array | None) -> Array:
    """Reverse each sequence of ``xs`` ``[batch, time, ...]`` within its own length.

    Padding (steps at or after ``lengths[b]``) stays where it is, so applying this twice is the
    identity, and the reversed valid part starts at step 0.
    """
    if lengths is None:
        return jnp.flip(xs, axis=1)
    time = jnp.arange(xs.shape[1])
    index = jnp.where(time < lengths[:, None], lengths[:, None] - 1 - time, time)
    index = index.reshape(index.shape + (1,) * (xs.ndim - 2))
    return jnp.take_along_axis(xs, index, axis=1)


def _check_sequence(xs, lengths):
    if not hasattr(xs, "ndim") or xs.ndim != 3:
        shape = getattr(xs, "shape", type(xs).__name__)
        raise InputError(f"inputs must be [batch, time, features], got shape {shape}")
    if lengths is not None and not isinstance(lengths, jax.core.Tracer):
        concrete = np.asarray(lengths)
        if concrete.size and (concrete.min() < 0 or concrete.max() > xs.shape[1]):
            raise InputError(
                f"lengths must lie in [0, {xs.shape[1]}] (the time steps of the inputs), got "
                f"values from {concrete.min()} to {concrete.max()}"
            )
    if lengths is not None:
        if getattr(lengths, "shape", None) != (xs.shape[0],):
            raise InputError(
                f"lengths must be [batch] = ({xs.shape[0]},), got shape {getattr(lengths, 'shape', None)}"
            )
        if not jnp.issubdtype(lengths.dtype, jnp.integer):
            raise InputError(f"lengths must be integers, got dtype {lengths.dtype}")


def scan_cell(
    cell: Cell,
    params: Any,
    xs: Array,
    *,
    hidden_size: int,
    initial_state: Any = None,
    lengths: Array | None = None,
    reverse: bool = False,
    input_mask: Array | None = None,
    state_mask: Array | None = None,
    unroll: int = 1,
    remat_chunk: int | None = None,
) -> tuple[Any, Array]:
    """Run ``cell`` over ``xs`` with ``jax.lax.scan``.

    Args:
        cell: the cell.
        params: its parameters.
        xs: inputs ``[batch, time, features]``.
        hidden_size: the cell's hidden size (for the default initial state).
        initial_state: a carry for the first step; zeros when ``None``.
        lengths: ``[batch]`` valid steps per sequence (right padding). Past its length a
            sequence's carry is frozen and its outputs are zero, so each sequence's outputs and
            final state equal those of running it alone, unpadded.
        reverse: run right to left (within each sequence's length). Outputs stay aligned with
            the input steps: ``ys[:, t]`` is the output after reading ``xs[:, t:]``.
        input_mask: ``[batch, features]`` multiplied into every step's input (dropout).
        state_mask: ``[batch, hidden]`` passed to ``cell.recur`` (recurrent dropout).
        unroll: ``lax.scan`` unroll factor; refused (unless 1) for a built-in cell's fused
            scan, which does not unroll.
        remat_chunk: for long sequences: keep only the state at every ``remat_chunk``-th step
            for the backward pass and recompute the steps in between (``jax.checkpoint`` over
            chunks of time). Memory for backpropagation through time falls from ``O(time)`` to
            ``O(time / remat_chunk + remat_chunk)`` at the cost of one more forward pass.

    Returns:
        ``(final_carry, ys)`` with ``ys`` ``[batch, time, hidden]``.
    """
    _check_sequence(xs, lengths)
    _check_params(params, xs, hidden_size, cell.name)
    if remat_chunk is not None:
        check_positive_int("remat_chunk", remat_chunk)
    batch = xs.shape[0]
    if reverse:
        xs = reverse_padded(xs, lengths)
    if input_mask is not None:
        xs = xs * input_mask[:, None, :]
    # Time-major before the projection: the transpose then moves the narrower input array.
    xs_time_major = jnp.swapaxes(xs, 0, 1)
    chunked = remat_chunk is not None and remat_chunk < xs_time_major.shape[0]
    fused = lengths is None and cell.scan is not None and cell.project is not None
    check_positive_int("unroll", unroll)
    if fused and unroll != 1:
        raise InputError(
            f"unroll={unroll} applies to lax.scan, and the built-in {cell.name!r} cell runs its "
            "own fused scan (measured: unrolling it did not help, docs/performance.md); use "
            "unroll=1, or cell._replace(scan=None) to unroll the autodiff scan"
        )
    if fused:
        recur = cell.recur
        project = lambda xs_tm: xs_tm  # the fused scan projects its raw inputs itself
    elif cell.project is not None:
        recur = cell.recur
        # All steps in one matmul, outside the loop; when rematerialising, per chunk instead,
        # so the [time, batch, gates] projection is never held whole.
        cell_project = cell.project
        project = lambda xs_tm: cell_project(params, xs_tm)
    else:
        recur = None
        project = lambda xs_tm: xs_tm
    if not chunked:
        xs_time_major = project(xs_time_major)
    if state_mask is not None:
        if recur is None:
            raise InputError(
                f"recurrent_dropout needs a cell with project/recur members; cell "
                f"{cell.name!r} only has step"
            )
        step = lambda c, x: recur(params, c, x, state_mask)
    elif recur is not None:
        step = lambda c, x: recur(params, c, x)
    else:
        step = lambda c, x: cell.step(params, c, x)

    default = cell.initial_state((batch,), hidden_size, xs.dtype)
    carry = default if initial_state is None else _check_state(initial_state, default, cell.name)

    def run(carry, xs_tm, steps):
        """The recurrence over a block of time-major steps (``steps``: their time indices)."""
        if fused:
            return cell.scan(params, carry, xs_tm, state_mask)
        if lengths is None:
            return jax.lax.scan(step, carry, xs_tm, unroll=unroll)

        def masked_step(c, inputs):
            x, t = inputs
            new_c, y = step(c, x)
            valid = t < lengths
            keep = lambda new, old: jnp.where(
                valid.reshape((-1,) + (1,) * (new.ndim - 1)), new, old
            )
            new_c = jax.tree_util.tree_map(keep, new_c, c)
            y = jnp.where(valid[:, None], y, jnp.zeros_like(y))
            return new_c, y

        return jax.lax.scan(masked_step, carry, (xs_tm, steps), unroll=unroll)

    steps = jnp.arange(xs_time_major.shape[0])
    if chunked:
        run_block = lambda c, xs_tm, ts: run(c, project(xs_tm), ts)
        assert remat_chunk is not None  # chunked means a chunk length was given
        carry, ys = _run_in_chunks(run_block, carry, xs_time_major, steps, remat_chunk)
    else:
        carry, ys = run(carry, xs_time_major, steps)
    ys = jnp.swapaxes(ys, 0, 1)
    if reverse:
        ys = reverse_padded(ys, lengths)
    return carry, ys


def _run_in_chunks(run, carry, xs_tm, steps, chunk: int):
    """``run`` over time in blocks of ``chunk`` steps, each rematerialised in the backward pass;
    a remainder shorter than ``chunk`` runs as one more (plain) block."""
    time = xs_tm.shape[0]
    n = time // chunk
    head = jax.tree_util.tree_map(
        lambda a: a[: n * chunk].reshape(n, chunk, *a.shape[1:]), (xs_tm, steps)
    )

    @jax.checkpoint
    def block(c, inputs):
        return run(c, *inputs)

    carry, ys = jax.lax.scan(block, carry, head)
    ys = ys.reshape(n * chunk, *ys.shape[2:])
    if n * chunk < time:
        carry, tail = run(carry, xs_tm[n * chunk :], steps[n * chunk :])
        ys = jnp.concatenate([ys, tail], axis=0)
    return carry, ys


def dropout_mask(key: Array, rate: float, shape: tuple[int, ...], dtype=jnp.float32) -> Array:
    """An inverted-dropout mask: 0 with probability ``rate``, else ``1 / (1 - rate)``."""
    keep = jax.random.bernoulli(key, 1.0 - rate, shape)
    return keep.astype(dtype) / (1.0 - rate)


class RNN(nn.Module):
    """A recurrent layer: any cell run over ``[batch, time, features]`` by :func:`scan_cell`.

    Attributes:
        cell: a :class:`~jaxseq.cells.Cell` (built-in or your own).
        units: hidden size.
        return_sequences: return ``[batch, time, units]`` (else the last step ``[batch, units]``;
            with ``lengths`` the last *valid* step).
        return_state: also return the final carry: ``(outputs, state)``.
        reverse: run right to left, outputs aligned with the input steps.
        dropout: input dropout rate; one mask per sequence, off unless ``train``.
        recurrent_dropout: dropout rate on the state entering the recurrent matmuls; one mask per
            sequence, off unless ``train``.
        unroll: ``lax.scan`` unroll factor; refused (unless 1) for a built-in cell's fused
            scan, which does not unroll.
        remat_chunk: rematerialise the backward pass in chunks of this many steps (long
            sequences; see :func:`scan_cell`).

    Call: ``layer(x, lengths=None, initial_state=None, *, train=False)``. Dropout needs a
    ``'dropout'`` PRNG stream when ``train`` is true. The parameters live under ``cell``.
    """

    cell: Cell
    units: int
    return_sequences: bool = False
    return_state: bool = False
    reverse: bool = False
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    unroll: int = 1
    remat_chunk: int | None = None

    @nn.compact
    def __call__(self, x, lengths=None, initial_state=None, *, train: bool = False):
        check_positive_int("units", self.units)
        check_fraction("dropout", self.dropout)
        check_fraction("recurrent_dropout", self.recurrent_dropout)
        _check_sequence(x, lengths)
        if self.has_variable("params", "cell"):  # check before flax's own, deeper shape error
            _check_input_size(self.get_variable("params", "cell"), x, self.name or "RNN")
        params = self.param("cell", lambda key: self.cell.init(key, x.shape[-1], self.units))
        input_mask = state_mask = None
        if train and self.dropout > 0:
            input_mask = dropout_mask(
                self.make_rng("dropout"), self.dropout, (x.shape[0], x.shape[-1]), x.dtype
            )
        if train and self.recurrent_dropout > 0:
            state_mask = dropout_mask(
                self.make_rng("dropout"), self.recurrent_dropout, (x.shape[0], self.units), x.dtype
            )
        state, ys = scan_cell(
            self.cell,
            params,
            x,
            hidden_size=self.units,
            initial_state=initial_state,
            lengths=lengths,
            reverse=self.reverse,
            input_mask=input_mask,
            state_mask=state_mask,
            unroll=self.unroll,
            remat_chunk=self.remat_chunk,
        )
        if self.return_sequences:
            out = ys
        elif self.reverse:
            out = ys[:, 0]
        elif lengths is None and _output_is_state(self.cell):
            # The last output is the final state: taking it from the carry leaves the stacked
            # outputs unused, and the compiled forward pass then never writes them.
            out = state.h if isinstance(state, LSTMState) else state
        elif lengths is None:
            out = ys[:, -1]
        else:
            out = jnp.take_along_axis(ys, (jnp.maximum(lengths, 1) - 1)[:, None, None], axis=1)[
                :, 0
            ]
        return (out, state) if self.return_state else out


def _output_is_state(cell: Cell) -> bool:
    """Whether ``cell`` is a built-in fused cell, whose output at each step is its state ``h``."""
    return cell.scan is not None and cell.name in ("simple_rnn", "gru", "lstm", "peephole_lstm")


def _check_params(params, xs, hidden_size: int, cell_name: str) -> None:
    """Built-in (Keras-layout) parameters against the inputs and the hidden size."""
    if not isinstance(params, dict):
        return
    kernel, recurrent = params.get("kernel"), params.get("recurrent_kernel")
    if kernel is not None and getattr(kernel, "ndim", 0) == 2 and kernel.shape[0] != xs.shape[-1]:
        raise InputError(
            f"cell {cell_name}: inputs have {xs.shape[-1]} features but its parameters expect "
            f"{kernel.shape[0]} (input shape {tuple(xs.shape)})"
        )
    if (
        recurrent is not None
        and getattr(recurrent, "ndim", 0) == 2
        and recurrent.shape[0] != hidden_size
    ):
        raise InputError(
            f"cell {cell_name}: hidden_size is {hidden_size} but its parameters have "
            f"{recurrent.shape[0]} units"
        )


def _check_state(state, default, cell_name: str):
    """An initial state must have the structure and shapes of the cell's own initial state."""
    got = jax.tree_util.tree_structure(state)
    want = jax.tree_util.tree_structure(default)
    if got != want:  # type: ignore[operator]  # jaxlib's stub has no __ne__ for PyTreeDef
        raise InputError(
            f"initial_state of cell {cell_name} must be structured like {want}, got {got}"
        )
    for a, b in zip(
        jax.tree_util.tree_leaves(state), jax.tree_util.tree_leaves(default), strict=True
    ):
        if tuple(a.shape) != tuple(b.shape):
            raise InputError(
                f"initial_state of cell {cell_name} must have shape {tuple(b.shape)} "
                f"([batch, hidden]), got {tuple(a.shape)}"
            )
    return state


def _check_input_size(params, x, layer_name):
    kernel = params.get("kernel") if isinstance(params, dict) else None
    if kernel is not None and getattr(kernel, "ndim", 0) == 2 and kernel.shape[0] != x.shape[-1]:
        raise InputError(
            f"layer {layer_name}: inputs have {x.shape[-1]} features but its parameters expect "
            f"{kernel.shape[0]} (input shape {tuple(x.shape)})"
        )


class Bidirectional(nn.Module):
    """Run two ``RNN`` layers, forward and reversed, and concatenate their outputs on the last axis."""

    forward: RNN
    backward: RNN

    @nn.compact
    def __call__(self, x, lengths=None, *, train: bool = False):
        a = self.forward(x, lengths, train=train)
        b = self.backward(x, lengths, train=train)
        return jnp.concatenate([a, b], axis=-1)
