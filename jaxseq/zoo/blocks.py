"""The zoo's two models that are not a plain stack of layers: encoder-decoder and vector-to-sequence.

Both read the window, hand a summary to a recurrent decoder that runs ``horizon`` steps, and
read each decoder step out with a per-step ``head``; their parameter trees are in their
docstrings. Plain stacks use :class:`jaxseq.layers.Sequential`.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from jaxseq import cells
from jaxseq.layers import Dense, Flatten, RepeatVector, TimeDistributed
from jaxseq.recurrent import RNN


class EncoderDecoder(nn.Module):
    """Sequence-to-vector encoder, then vector-to-sequence decoder.

    The encoder reads the window and hands over its final state and last output; the decoder
    receives that output at each of ``horizon`` steps (``RepeatVector``), with that step's
    known-future covariates when there are any (``future`` per step, read from the last input
    step's lead features), starts from the encoder's state, and a per-step head gives
    ``n_targets`` values per step. ``[batch, window, features] -> [batch, horizon * n_targets]``.

    Parameters: ``encoder`` and ``decoder`` (:class:`~jaxseq.recurrent.RNN`, each ``{cell:
    ...}``) and ``head`` (the per-step ``Dense``: ``{kernel [units, n_targets], bias}``).
    """

    cell: cells.Cell
    units: int
    horizon: int
    n_targets: int
    future: int = 0

    @nn.compact
    def __call__(self, x, *, train: bool = False):
        context, state = RNN(self.cell, self.units, return_state=True, name="encoder")(
            x, train=train
        )
        steps = RepeatVector(self.horizon, name="repeat")(context)
        if self.future:
            leads = x[:, -1, x.shape[-1] - self.future * self.horizon :]
            leads = leads.reshape(x.shape[0], self.horizon, self.future)
            steps = jnp.concatenate([steps, leads], axis=-1)
        y = RNN(self.cell, self.units, return_sequences=True, name="decoder")(
            steps, initial_state=state, train=train
        )
        # parent=None: TimeDistributed adopts the Dense and holds its kernel and bias itself
        y = TimeDistributed(Dense(self.n_targets, parent=None), name="head")(y)
        return y.reshape(x.shape[0], self.horizon * self.n_targets)


class VectorToSequence(nn.Module):
    """A vector in, a sequence out: the window flattened to one vector, embedded, fed at every
    decoder step, and read out per step. ``[batch, window, features] -> [batch, horizon * n_targets]``.

    Parameters: ``embed`` (``Dense``: ``{kernel [window * features, units], bias}``), ``decoder``
    (:class:`~jaxseq.recurrent.RNN`, ``{cell: ...}``) and ``head`` (the per-step ``Dense``).
    """

    cell: cells.Cell
    units: int
    horizon: int
    n_targets: int

    @nn.compact
    def __call__(self, x, *, train: bool = False):
        v = nn.relu(Dense(self.units, name="embed")(Flatten(name="flatten")(x)))
        y = RNN(self.cell, self.units, return_sequences=True, name="decoder")(
            RepeatVector(self.horizon, name="repeat")(v), train=train
        )
        # parent=None: TimeDistributed adopts the Dense and holds its kernel and bias itself
        y = TimeDistributed(Dense(self.n_targets, parent=None), name="head")(y)
        return y.reshape(x.shape[0], self.horizon * self.n_targets)
