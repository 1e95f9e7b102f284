"""Weights in and out of Keras 3 and PyTorch.

jaxseq's parameter layouts are Keras' already, so most conversions are renames; the rest are
transposes and gate reorders, all done here with plain functions over arrays.

**Keras 3** (any backend; the tests use ``KERAS_BACKEND=jax``). ``from_keras_*`` read a built
layer's weights into jaxseq parameters; ``to_keras_*`` write jaxseq parameters into a built layer
(shapes are checked, values are copied exactly):

=========================================  ================================================
Keras layer                                jaxseq parameters
=========================================  ================================================
``SimpleRNN(H)``                           :func:`jaxseq.cells.simple_rnn`: ``kernel [in, H]``,
                                           ``recurrent_kernel [H, H]``, ``bias [H]``
``LSTM(H)``                                :func:`jaxseq.cells.lstm`: ``[in, 4H]``, ``[H, 4H]``,
                                           ``[4H]``; gates i, f, g, o (unchanged)
``GRU(H, reset_after=True)``               ``gru(reset_after=True)``: ``[in, 3H]``, ``[H, 3H]``,
                                           ``bias [3H] = keras_bias[0]``,
                                           ``recurrent_bias [3H] = keras_bias[1]``
``GRU(H, reset_after=False)``              ``gru(reset_after=False)``: ``bias [3H]`` (unchanged)
``RNN(LNSimpleRNNCell(H))``                :func:`jaxseq.cells.layer_norm_rnn`: the SimpleRNNCell's
                                           weights plus ``layer_norm: {scale: gamma, bias: beta}``
``Dense(n)``                               flax ``nn.Dense``: ``kernel [in, n]``, ``bias [n]``
``TimeDistributed(Dense(n))``              :class:`jaxseq.layers.TimeDistributed`: the same
``Conv1D(f, k)``                           :class:`jaxseq.layers.Conv1D` (flax ``nn.Conv``):
                                           ``kernel [k, in, f]``, ``bias [f]``
``BatchNormalization()``                   :class:`jaxseq.layers.BatchNorm`: ``params {scale,
                                           bias}``, ``batch_stats {mean, var}``
=========================================  ================================================

:func:`from_keras_sequential` converts a whole Keras ``Sequential`` of the chapter to its zoo
model (:mod:`jaxseq.models`) with the weights, so ``model.apply(variables, x) == keras_model(x)``.

**PyTorch**. ``from_torch_*`` read a module's parameters; ``to_torch_*`` return a ``state_dict``
(``dict[str, torch.Tensor]``) for ``module.load_state_dict``:

- ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU``, one or several layers: one jaxseq parameter dict per
  layer. PyTorch's ``weight_ih_l{k}`` ``[G*H, in]`` and ``weight_hh_l{k}`` ``[G*H, H]`` are
  transposed. RNN and LSTM have two biases; jaxseq has one, so **import sums them**
  (``bias = bias_ih + bias_hh``) and **export puts the sum in** ``bias_ih_l{k}`` **and zeros in**
  ``bias_hh_l{k}`` (the same function, not the same numbers). LSTM gates are i, f, g, o in both.
  GRU is PyTorch's reset-after form, so it maps to ``gru(reset_after=True)``: PyTorch's gates
  r, z, n are reordered to jaxseq's z, r, g, with ``bias = bias_ih`` and
  ``recurrent_bias = bias_hh`` (both kept exactly). ``batch_first`` changes only the layout of
  PyTorch's inputs, never the weights: jaxseq is always ``[batch, time, features]``, so feed a
  ``batch_first=False`` module ``x.transpose(0, 1)`` of what jaxseq gets. Bidirectional modules
  and LSTM projections (``proj_size``) are not supported.
- ``nn.Linear``: ``weight [out, in]`` is the transposed ``kernel``.
- ``nn.Conv1d``: ``weight [out, in, k]`` is ``kernel [k, in, out]`` transposed. Only weights move:
  PyTorch pads symmetrically (``padding=p``), so causal padding is ``F.pad(x, (d*(k-1), 0))``
  before a ``padding=0`` convolution, and PyTorch's inputs are ``[batch, channels, time]``.

Nothing here imports Keras or PyTorch at module level; nothing is pickled.

=============================================  ================================================
module                                         what it holds
=============================================  ================================================
:mod:`jaxseq.interop.keras_layers`             Keras layers <-> jaxseq parameters, one layer
                                               at a time; :func:`keras_cell`
:mod:`jaxseq.interop.keras_ln_cell`            the book's ``LNSimpleRNNCell`` (the Keras
                                               class) and its weights
:mod:`jaxseq.interop.keras_sequential`         a Keras Sequential of the chapter -> its zoo
                                               model (:func:`from_keras_sequential`)
:mod:`jaxseq.interop.torch`                    PyTorch modules <-> jaxseq parameters
:mod:`jaxseq.interop.common`                   the helpers they share
=============================================  ================================================
"""

from __future__ import annotations

from jaxseq.interop.keras_layers import (
    from_keras_batch_norm,
    from_keras_conv1d,
    from_keras_dense,
    from_keras_gru,
    from_keras_layer,
    from_keras_lstm,
    from_keras_simple_rnn,
    keras_cell,
    to_keras_batch_norm,
    to_keras_conv1d,
    to_keras_dense,
    to_keras_gru,
    to_keras_layer,
    to_keras_lstm,
    to_keras_simple_rnn,
)
from jaxseq.interop.keras_ln_cell import (
    from_keras_layer_norm_rnn,
    keras_layer_norm_cell,
    to_keras_layer_norm_rnn,
)
from jaxseq.interop.keras_sequential import (
    from_keras_sequential,
)
from jaxseq.interop.torch import (
    from_torch_conv1d,
    from_torch_linear,
    from_torch_rnn,
    to_torch_conv1d,
    to_torch_linear,
    to_torch_rnn,
    torch_cell,
    torch_rnn_stack,
)

__all__ = [
    "from_keras_batch_norm",
    "from_keras_conv1d",
    "from_keras_dense",
    "from_keras_gru",
    "from_keras_layer",
    "from_keras_layer_norm_rnn",
    "from_keras_lstm",
    "from_keras_sequential",
    "from_keras_simple_rnn",
    "from_torch_conv1d",
    "from_torch_linear",
    "from_torch_rnn",
    "keras_cell",
    "keras_layer_norm_cell",
    "to_keras_batch_norm",
    "to_keras_conv1d",
    "to_keras_dense",
    "to_keras_gru",
    "to_keras_layer",
    "to_keras_layer_norm_rnn",
    "to_keras_lstm",
    "to_keras_simple_rnn",
    "to_torch_conv1d",
    "to_torch_linear",
    "to_torch_rnn",
    "torch_cell",
    "torch_rnn_stack",
]
