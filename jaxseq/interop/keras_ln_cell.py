"""The book's ``LNSimpleRNNCell``: the Keras layer class itself, how to recognise one inside a
``keras.layers.RNN``, and its weights to and from :func:`jaxseq.cells.layer_norm_rnn`.

The chapter's layer-normalised cell holds a ``SimpleRNNCell(units, activation=None)`` and a
``LayerNormalization()`` and applies its activation after the norm. Its jaxseq parameters are
the ``SimpleRNNCell``'s plus ``layer_norm: {scale: gamma, bias: beta}``.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from jaxseq.errors import InputError
from jaxseq.interop.common import (
    Params,
    activation_name,
    as_numpy,
    cell_of,
    keras_module,
    layer_name,
    read,
    require,
    write,
)

_RNN_WEIGHTS = ("kernel", "recurrent_kernel", "bias")


def keras_layer_norm_cell(keras=None, **cell_options):
    """The book's ``LNSimpleRNNCell`` (chapter 15) as a Keras layer class, for ``keras`` (the
    module: Keras 3 by default, or ``tf_keras``, the book's Keras 2). Run it with
    ``keras.layers.RNN(cls(units), ...)``; ``cell_options`` go to its inner ``SimpleRNNCell``
    (initialisers, for example). Its weights convert with :func:`from_keras_layer_norm_rnn`.
    """
    keras = keras or keras_module()

    class LNSimpleRNNCell(keras.layers.Layer):
        def __init__(self, units, activation="tanh", **kwargs):
            super().__init__(**kwargs)
            self.state_size = units
            self.output_size = units
            self.simple_rnn_cell = keras.layers.SimpleRNNCell(
                units, activation=None, **cell_options
            )
            self.layer_norm = keras.layers.LayerNormalization()
            self.activation = keras.activations.get(activation)

        def build(self, input_shape):
            self.simple_rnn_cell.build(input_shape)
            self.layer_norm.build((None, self.state_size))
            self.built = True

        def call(self, inputs, states, training=False):
            outputs, _ = self.simple_rnn_cell(inputs, states)
            norm_outputs = self.activation(self.layer_norm(outputs))
            return norm_outputs, [norm_outputs]

    return LNSimpleRNNCell


def layer_norm_parts(layer):
    """``(cell, SimpleRNNCell, LayerNormalization)`` of a book-style ``LNSimpleRNNCell`` (or of
    the ``keras.layers.RNN`` running one); an :class:`InputError` for any other cell."""
    keras = keras_module()
    cell = cell_of(layer)
    sublayers = getattr(cell, "_layers", None)
    if sublayers is None:
        sublayers = [v for v in vars(cell).values() if isinstance(v, keras.layers.Layer)]
    rnn_cells = [s for s in sublayers if isinstance(s, keras.layers.SimpleRNNCell)]
    norms = [s for s in sublayers if isinstance(s, keras.layers.LayerNormalization)]
    if len(rnn_cells) != 1 or len(norms) != 1:
        raise InputError(
            f"{layer_name(layer)}: a layer-normalised RNN cell must hold exactly one "
            f"SimpleRNNCell and one LayerNormalization (the book's LNSimpleRNNCell); found "
            f"{len(rnn_cells)} and {len(norms)} in {layer_name(cell)}"
        )
    rnn_cell, norm = rnn_cells[0], norms[0]
    if activation_name(rnn_cell.activation) != "linear":
        raise InputError(
            f"{layer_name(layer)}: the SimpleRNNCell inside must have activation=None (the "
            f"activation comes after the layer norm), got "
            f"{activation_name(rnn_cell.activation)!r}"
        )
    axis = norm.axis if isinstance(norm.axis, list | tuple) else [norm.axis]
    if list(axis) not in ([-1], [1]) or getattr(norm, "rms_scaling", False):
        raise InputError(
            f"{layer_name(layer)}: the LayerNormalization must normalise the last axis with mean "
            "and variance (no rms_scaling)"
        )
    return cell, rnn_cell, norm


def from_keras_layer_norm_rnn(layer) -> Params:
    """The book's ``LNSimpleRNNCell`` (run by ``keras.layers.RNN``) to
    :func:`jaxseq.cells.layer_norm_rnn` parameters.

    The cell is any Keras layer holding one ``SimpleRNNCell(units, activation=None)`` and one
    ``LayerNormalization()``, applying its activation after the norm. Returns ``{kernel [in, H],
    recurrent_kernel [H, H], bias [H], layer_norm: {scale [H], bias [H]}}``. Build the jaxseq
    cell with :func:`jaxseq.interop.keras_cell` (it carries the norm's epsilon and the
    activation).
    """
    _, rnn_cell, norm = layer_norm_parts(layer)
    hidden = rnn_cell.units
    params: dict[str, Any] = {
        "kernel": read(rnn_cell, "kernel"),
        "recurrent_kernel": read(rnn_cell, "recurrent_kernel"),
        "bias": read(rnn_cell, "bias", (hidden,)),
    }
    scale = read(norm, "gamma") if norm.scale else jnp.ones((hidden,), jnp.float32)
    params["layer_norm"] = {"scale": scale, "bias": read(norm, "beta", (hidden,))}
    return params


def to_keras_layer_norm_rnn(layer, params: Params) -> None:
    """Write :func:`jaxseq.cells.layer_norm_rnn` parameters into a built ``RNN(LNSimpleRNNCell)``."""
    _, rnn_cell, norm = layer_norm_parts(layer)
    require(params, (*_RNN_WEIGHTS, "layer_norm"), "layer_norm_rnn")
    require(params["layer_norm"], ("scale", "bias"), "layer_norm_rnn's layer_norm")
    for name in _RNN_WEIGHTS:
        write(rnn_cell, name, params[name])
    if norm.scale:
        write(norm, "gamma", params["layer_norm"]["scale"], "layer_norm.scale")
    elif not np.all(as_numpy(params["layer_norm"]["scale"]) == 1):
        raise InputError(f"{layer_name(layer)}: its LayerNormalization has scale=False")
    write(norm, "beta", params["layer_norm"]["bias"], "layer_norm.bias")
