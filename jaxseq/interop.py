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
``Conv1D(f, k)``                           flax ``nn.Conv``: ``kernel [k, in, f]``, ``bias [f]``
                                           (nest under ``"Conv_0"`` for :class:`jaxseq.layers.Conv1D`)
``BatchNormalization()``                   ``params {scale, bias}``, ``batch_stats {mean, var}``
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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxseq import cells, fused, models
from jaxseq.conv import WaveNet
from jaxseq.errors import InputError
from jaxseq.layers import (
    BatchNorm,
    Conv1D,
    Flatten,
    Sequential,
    TimeDistributed,
)
from jaxseq.recurrent import RNN

Array = jax.Array
Params = dict[str, Any]

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


# --------------------------------------------------------------------------- helpers


def _array(value) -> Array:
    """A Keras variable or a NumPy array as a jax array (same dtype, copied)."""
    if hasattr(value, "assign") and hasattr(value, "value"):  # a keras.Variable, any backend
        value = _keras().ops.convert_to_numpy(value.value)
    return jnp.asarray(np.array(value))


def _numpy(value) -> np.ndarray:
    return np.array(value)


def _keras():
    try:
        import keras
    except ImportError as err:  # pragma: no cover - keras is a dev dependency
        raise InputError("Keras interoperability needs keras >= 3 installed") from err
    return keras


def _torch():
    try:
        import torch
    except ImportError as err:
        raise InputError("PyTorch interoperability needs torch installed") from err
    return torch


def _name(layer) -> str:
    return f"{type(layer).__name__} {getattr(layer, 'name', '')!r}".strip()


def _activation_name(fn) -> str:
    """The Keras name of an activation function (``tanh``, ``sigmoid``, ``relu``, ``linear``)."""
    if fn is None:
        return "linear"
    return getattr(fn, "__name__", repr(fn))


def _identity(x: Array) -> Array:
    return x


#: One object per name: cells hand activations to ``custom_vjp`` as static arguments.
_ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "tanh": jnp.tanh,
    "sigmoid": fused.sigmoid,
    "relu": jax.nn.relu,
    "linear": _identity,
}


def _activation(fn, what: str, layer) -> Callable[[Array], Array]:
    name = _activation_name(fn)
    if name not in _ACTIVATIONS:
        raise InputError(
            f"{_name(layer)}: {what} {name!r} is not supported; use one of {', '.join(_ACTIVATIONS)}"
        )
    return _ACTIVATIONS[name]


def _weights(layer) -> dict[str, Any]:
    """A Keras layer's own variables by short name (``kernel``, ``bias``, ``gamma``, ...)."""
    if not getattr(layer, "built", True) or not layer.weights:
        raise InputError(
            f"{_name(layer)} has no weights yet: build it first (call it on an input or give its "
            "model a keras.Input)"
        )
    return {v.name.split("/")[-1]: v for v in layer.weights}


def _read(layer, name: str, default_shape: tuple[int, ...] | None = None) -> Array:
    weights = _weights(layer)
    if name in weights:
        return _array(weights[name])
    if default_shape is not None:  # a bias the layer does not use (use_bias=False)
        return jnp.zeros(default_shape, jnp.float32)
    raise InputError(f"{_name(layer)} has no weight {name!r} (it has {', '.join(weights)})")


def _write(layer, name: str, value, what: str = "") -> None:
    """Copy ``value`` into the layer's variable ``name``; a missing bias must be zero."""
    weights = _weights(layer)
    value = _numpy(value)
    if name not in weights:
        if name.endswith("bias") and not np.any(value):
            return  # use_bias=False and nothing to lose
        raise InputError(
            f"{_name(layer)} has no weight {name!r} to receive {what or name} (it has "
            f"{', '.join(weights)}); a non-zero {name} cannot be exported to it"
        )
    variable = weights[name]
    if tuple(variable.shape) != value.shape:
        raise InputError(
            f"{_name(layer)}: {what or name} has shape {value.shape} but the layer's {name!r} is "
            f"{tuple(variable.shape)}"
        )
    variable.assign(value.astype(variable.dtype))


def _require(params: Mapping, names: Sequence[str], what: str) -> None:
    if not isinstance(params, Mapping):
        raise InputError(f"{what} parameters must be a dict, got {type(params).__name__}")
    missing = [n for n in names if n not in params]
    if missing:
        raise InputError(
            f"{what} parameters lack {', '.join(missing)} (they have {', '.join(params)})"
        )


def _cell_of(layer):
    """The cell of a Keras recurrent layer (the layer itself if it is a cell)."""
    return getattr(layer, "cell", layer)


def _check_type(layer, kinds: tuple[str, ...], what: str):
    keras = _keras()
    cell = _cell_of(layer)
    if not isinstance(cell, tuple(getattr(keras.layers, k) for k in kinds)):
        raise InputError(f"{what} needs a Keras {' or '.join(kinds)}, got {_name(layer)}")
    return cell


def _unwrap_conv(params: Mapping) -> Mapping:
    """Accept both flax ``nn.Conv`` params and :class:`jaxseq.layers.Conv1D`'s ``{'Conv_0': ...}``."""
    if isinstance(params, Mapping) and "Conv_0" in params and "kernel" not in params:
        return params["Conv_0"]
    return params


# --------------------------------------------------------------------------- Keras: recurrent


def from_keras_simple_rnn(layer) -> Params:
    """A Keras ``SimpleRNN`` (or ``SimpleRNNCell``) to :func:`jaxseq.cells.simple_rnn` parameters.

    Returns ``{kernel [in, H], recurrent_kernel [H, H], bias [H]}`` (zeros if ``use_bias=False``).
    """
    cell = _check_type(layer, ("SimpleRNNCell",), "from_keras_simple_rnn")
    return {
        "kernel": _read(cell, "kernel"),
        "recurrent_kernel": _read(cell, "recurrent_kernel"),
        "bias": _read(cell, "bias", (cell.units,)),
    }


def to_keras_simple_rnn(layer, params: Params) -> None:
    """Write :func:`jaxseq.cells.simple_rnn` parameters into a built Keras ``SimpleRNN``."""
    cell = _check_type(layer, ("SimpleRNNCell",), "to_keras_simple_rnn")
    _require(params, ("kernel", "recurrent_kernel", "bias"), "simple_rnn")
    for name in ("kernel", "recurrent_kernel", "bias"):
        _write(cell, name, params[name])


def from_keras_lstm(layer) -> Params:
    """A Keras ``LSTM`` (or ``LSTMCell``) to :func:`jaxseq.cells.lstm` parameters.

    Returns ``{kernel [in, 4H], recurrent_kernel [H, 4H], bias [4H]}``, gates i, f, g, o in both.
    """
    cell = _check_type(layer, ("LSTMCell",), "from_keras_lstm")
    return {
        "kernel": _read(cell, "kernel"),
        "recurrent_kernel": _read(cell, "recurrent_kernel"),
        "bias": _read(cell, "bias", (4 * cell.units,)),
    }


def to_keras_lstm(layer, params: Params) -> None:
    """Write :func:`jaxseq.cells.lstm` parameters (no peepholes) into a built Keras ``LSTM``."""
    cell = _check_type(layer, ("LSTMCell",), "to_keras_lstm")
    _require(params, ("kernel", "recurrent_kernel", "bias"), "lstm")
    if any(k.startswith("peephole") for k in params):
        raise InputError("Keras 3 has no peephole LSTM: these lstm parameters have peepholes")
    for name in ("kernel", "recurrent_kernel", "bias"):
        _write(cell, name, params[name])


def from_keras_gru(layer) -> Params:
    """A Keras ``GRU`` (or ``GRUCell``) to :func:`jaxseq.cells.gru` parameters.

    ``reset_after=True`` (Keras' default): Keras' bias ``(2, 3H)`` splits into ``bias [3H]`` (input
    bias, row 0) and ``recurrent_bias [3H]`` (row 1), for ``gru(reset_after=True)``.
    ``reset_after=False``: ``bias [3H]`` as is, for ``gru(reset_after=False)``.
    Both: ``kernel [in, 3H]``, ``recurrent_kernel [H, 3H]``, gates z, r, g in both libraries.
    """
    cell = _check_type(layer, ("GRUCell",), "from_keras_gru")
    hidden = cell.units
    params = {"kernel": _read(cell, "kernel"), "recurrent_kernel": _read(cell, "recurrent_kernel")}
    if cell.reset_after:
        bias = _read(cell, "bias", (2, 3 * hidden))
        params["bias"], params["recurrent_bias"] = bias[0], bias[1]
    else:
        params["bias"] = _read(cell, "bias", (3 * hidden,))
    return params


def to_keras_gru(layer, params: Params) -> None:
    """Write :func:`jaxseq.cells.gru` parameters into a built Keras ``GRU`` of the same form.

    A ``reset_after=True`` Keras GRU needs ``recurrent_bias`` (it becomes row 1 of Keras' bias);
    a ``reset_after=False`` one must not get it.
    """
    cell = _check_type(layer, ("GRUCell",), "to_keras_gru")
    _require(params, ("kernel", "recurrent_kernel", "bias"), "gru")
    has_recurrent_bias = "recurrent_bias" in params
    if cell.reset_after != has_recurrent_bias:
        ours = "reset_after=True" if has_recurrent_bias else "reset_after=False"
        raise InputError(
            f"{_name(layer)} has reset_after={cell.reset_after} but the parameters are of a "
            f"gru({ours}) cell; build the Keras GRU with {ours}"
        )
    _write(cell, "kernel", params["kernel"])
    _write(cell, "recurrent_kernel", params["recurrent_kernel"])
    if cell.reset_after:
        bias = np.stack([_numpy(params["bias"]), _numpy(params["recurrent_bias"])])
        _write(cell, "bias", bias, "[bias, recurrent_bias]")
    else:
        _write(cell, "bias", params["bias"])


def _layer_norm_parts(layer):
    """The ``SimpleRNNCell`` and ``LayerNormalization`` inside a book-style ``LNSimpleRNNCell``."""
    keras = _keras()
    cell = _cell_of(layer)
    sublayers = getattr(cell, "_layers", None)
    if sublayers is None:
        sublayers = [v for v in vars(cell).values() if isinstance(v, keras.layers.Layer)]
    rnn_cells = [s for s in sublayers if isinstance(s, keras.layers.SimpleRNNCell)]
    norms = [s for s in sublayers if isinstance(s, keras.layers.LayerNormalization)]
    if len(rnn_cells) != 1 or len(norms) != 1:
        raise InputError(
            f"{_name(layer)}: a layer-normalised RNN cell must hold exactly one SimpleRNNCell and "
            f"one LayerNormalization (the book's LNSimpleRNNCell); found {len(rnn_cells)} and "
            f"{len(norms)} in {_name(cell)}"
        )
    rnn_cell, norm = rnn_cells[0], norms[0]
    if _activation_name(rnn_cell.activation) != "linear":
        raise InputError(
            f"{_name(layer)}: the SimpleRNNCell inside must have activation=None (the activation "
            f"comes after the layer norm), got {_activation_name(rnn_cell.activation)!r}"
        )
    axis = norm.axis if isinstance(norm.axis, list | tuple) else [norm.axis]
    if list(axis) not in ([-1], [1]) or getattr(norm, "rms_scaling", False):
        raise InputError(
            f"{_name(layer)}: the LayerNormalization must normalise the last axis with mean and "
            "variance (no rms_scaling)"
        )
    return cell, rnn_cell, norm


def keras_layer_norm_cell(keras=None, **cell_options):
    """The book's ``LNSimpleRNNCell`` (chapter 15) as a Keras layer class, for ``keras`` (the
    module: Keras 3 by default, or ``tf_keras``, the book's Keras 2). Run it with
    ``keras.layers.RNN(cls(units), ...)``; ``cell_options`` go to its inner ``SimpleRNNCell``
    (initialisers, for example). Its weights convert with :func:`from_keras_layer_norm_rnn`.
    """
    keras = keras or _keras()

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


def from_keras_layer_norm_rnn(layer) -> Params:
    """The book's ``LNSimpleRNNCell`` (run by ``keras.layers.RNN``) to
    :func:`jaxseq.cells.layer_norm_rnn` parameters.

    The cell is any Keras layer holding one ``SimpleRNNCell(units, activation=None)`` and one
    ``LayerNormalization()``, applying its activation after the norm. Returns ``{kernel [in, H],
    recurrent_kernel [H, H], bias [H], layer_norm: {scale [H], bias [H]}}``. Build the jaxseq
    cell with :func:`keras_cell` (it carries the norm's epsilon and the activation).
    """
    _, rnn_cell, norm = _layer_norm_parts(layer)
    hidden = rnn_cell.units
    params = from_keras_simple_rnn(rnn_cell)
    scale = _read(norm, "gamma") if norm.scale else jnp.ones((hidden,), jnp.float32)
    params["layer_norm"] = {"scale": scale, "bias": _read(norm, "beta", (hidden,))}
    return params


def to_keras_layer_norm_rnn(layer, params: Params) -> None:
    """Write :func:`jaxseq.cells.layer_norm_rnn` parameters into a built ``RNN(LNSimpleRNNCell)``."""
    _, rnn_cell, norm = _layer_norm_parts(layer)
    _require(params, ("kernel", "recurrent_kernel", "bias", "layer_norm"), "layer_norm_rnn")
    _require(params["layer_norm"], ("scale", "bias"), "layer_norm_rnn's layer_norm")
    to_keras_simple_rnn(rnn_cell, params)
    if norm.scale:
        _write(norm, "gamma", params["layer_norm"]["scale"], "layer_norm.scale")
    elif not np.all(_numpy(params["layer_norm"]["scale"]) == 1):
        raise InputError(f"{_name(layer)}: its LayerNormalization has scale=False")
    _write(norm, "beta", params["layer_norm"]["bias"], "layer_norm.bias")


def keras_cell(layer) -> cells.Cell:
    """The jaxseq :class:`~jaxseq.cells.Cell` that computes what a Keras recurrent layer computes.

    ``SimpleRNN`` -> ``simple_rnn(activation)``; ``LSTM`` -> ``lstm(activation=...,
    recurrent_activation=...)``; ``GRU`` -> ``gru(reset_after=..., ...)``; ``RNN`` over a
    book-style ``LNSimpleRNNCell`` -> ``layer_norm_rnn(activation, epsilon=...)``. Activations:
    tanh, sigmoid, relu, linear.
    """
    keras = _keras()
    cell = _cell_of(layer)
    if isinstance(cell, keras.layers.SimpleRNNCell):
        return cells.simple_rnn(_activation(cell.activation, "activation", layer))
    if isinstance(cell, keras.layers.LSTMCell | keras.layers.GRUCell):
        kwargs = {
            "activation": _activation(cell.activation, "activation", layer),
            "recurrent_activation": _activation(
                cell.recurrent_activation, "recurrent_activation", layer
            ),
        }
        if isinstance(cell, keras.layers.LSTMCell):
            return cells.lstm(**kwargs)
        return cells.gru(reset_after=cell.reset_after, **kwargs)
    outer, _, norm = _layer_norm_parts(layer)
    if not hasattr(outer, "activation"):
        raise InputError(
            f"{_name(layer)}: the layer-normalised cell must keep its activation in "
            "`self.activation` (as the book's LNSimpleRNNCell does)"
        )
    return cells.layer_norm_rnn(
        _activation(outer.activation, "activation", layer), epsilon=norm.epsilon
    )


# --------------------------------------------------------------------------- Keras: feed-forward


def from_keras_dense(layer) -> Params:
    """A Keras ``Dense(n)`` (or ``TimeDistributed(Dense(n))``) to flax ``nn.Dense`` parameters
    ``{kernel [in, n], bias [n]}``."""
    layer = getattr(layer, "layer", layer)  # TimeDistributed
    if not isinstance(layer, _keras().layers.Dense):
        raise InputError(f"from_keras_dense needs a Keras Dense, got {_name(layer)}")
    return {"kernel": _read(layer, "kernel"), "bias": _read(layer, "bias", (layer.units,))}


def to_keras_dense(layer, params: Params) -> None:
    """Write flax ``nn.Dense`` parameters into a built Keras ``Dense`` (or ``TimeDistributed``)."""
    layer = getattr(layer, "layer", layer)
    if not isinstance(layer, _keras().layers.Dense):
        raise InputError(f"to_keras_dense needs a Keras Dense, got {_name(layer)}")
    _require(params, ("kernel", "bias"), "Dense")
    _write(layer, "kernel", params["kernel"])
    _write(layer, "bias", params["bias"])


def _check_conv1d(layer, what: str):
    if not isinstance(layer, _keras().layers.Conv1D):
        raise InputError(f"{what} needs a Keras Conv1D, got {_name(layer)}")
    if getattr(layer, "groups", 1) != 1 or layer.data_format != "channels_last":
        raise InputError(
            f"{_name(layer)}: only channels_last Conv1D with groups=1 is supported "
            f"(got data_format={layer.data_format!r}, groups={layer.groups})"
        )


def from_keras_conv1d(layer) -> Params:
    """A Keras ``Conv1D(filters, k)`` to flax ``nn.Conv`` parameters ``{kernel [k, in, filters],
    bias [filters]}`` (same layout). :class:`jaxseq.layers.Conv1D` holds them under ``"Conv_0"``;
    give it the Keras layer's ``strides``, ``padding`` and ``dilation_rate``."""
    _check_conv1d(layer, "from_keras_conv1d")
    return {"kernel": _read(layer, "kernel"), "bias": _read(layer, "bias", (layer.filters,))}


def to_keras_conv1d(layer, params: Params) -> None:
    """Write flax ``nn.Conv`` parameters (or a :class:`jaxseq.layers.Conv1D`'s
    ``{'Conv_0': ...}``) into a built Keras ``Conv1D``."""
    _check_conv1d(layer, "to_keras_conv1d")
    params = _unwrap_conv(params)
    _require(params, ("kernel", "bias"), "Conv1D")
    _write(layer, "kernel", params["kernel"])
    _write(layer, "bias", params["bias"])


def from_keras_batch_norm(layer) -> tuple[Params, Params]:
    """A Keras ``BatchNormalization`` to flax ``nn.BatchNorm`` variables:
    ``({scale, bias}, {mean, var})``, each ``[features]`` (params, batch_stats)."""
    if not isinstance(layer, _keras().layers.BatchNormalization):
        raise InputError(
            f"from_keras_batch_norm needs a Keras BatchNormalization, got {_name(layer)}"
        )
    size = _read(layer, "moving_mean").shape
    scale = _read(layer, "gamma") if layer.scale else jnp.ones(size, jnp.float32)
    params = {"scale": scale, "bias": _read(layer, "beta", size)}
    stats = {"mean": _read(layer, "moving_mean"), "var": _read(layer, "moving_variance")}
    return params, stats


def to_keras_batch_norm(layer, params: Params, batch_stats: Params) -> None:
    """Write flax ``nn.BatchNorm`` ``params {scale, bias}`` and ``batch_stats {mean, var}`` into a
    built Keras ``BatchNormalization``."""
    if not isinstance(layer, _keras().layers.BatchNormalization):
        raise InputError(
            f"to_keras_batch_norm needs a Keras BatchNormalization, got {_name(layer)}"
        )
    _require(params, ("scale", "bias"), "BatchNorm")
    _require(batch_stats, ("mean", "var"), "BatchNorm batch_stats")
    if layer.scale:
        _write(layer, "gamma", params["scale"], "scale")
    _write(layer, "beta", params["bias"], "bias")
    _write(layer, "moving_mean", batch_stats["mean"], "mean")
    _write(layer, "moving_variance", batch_stats["var"], "var")


# --------------------------------------------------------------------------- Keras: dispatch


def _keras_kind(layer) -> str:
    keras = _keras()
    inner = (
        getattr(layer, "layer", None) if isinstance(layer, keras.layers.TimeDistributed) else None
    )
    if inner is not None:
        return _keras_kind(inner)
    cell = _cell_of(layer)
    for kind, cls in (
        ("simple_rnn", "SimpleRNNCell"),
        ("lstm", "LSTMCell"),
        ("gru", "GRUCell"),
        ("dense", "Dense"),
        ("conv1d", "Conv1D"),
        ("batch_norm", "BatchNormalization"),
    ):
        if isinstance(cell, getattr(keras.layers, cls)):
            return kind
    if isinstance(layer, keras.layers.RNN):
        _layer_norm_parts(layer)  # raises a clear error if it is not the book's cell
        return "layer_norm_rnn"
    raise InputError(
        f"{_name(layer)} is not supported: Keras SimpleRNN, LSTM, GRU, RNN(LNSimpleRNNCell), "
        "Dense, TimeDistributed(Dense), Conv1D and BatchNormalization are"
    )


def from_keras_layer(layer) -> Params:
    """Any supported Keras layer's weights as jaxseq/flax parameters (see the table above).

    ``BatchNormalization`` gives ``{'params': ..., 'batch_stats': ...}``.
    """
    kind = _keras_kind(layer)
    if kind == "batch_norm":
        params, stats = from_keras_batch_norm(layer)
        return {"params": params, "batch_stats": stats}
    return _FROM_KERAS[kind](layer)


def to_keras_layer(layer, params: Params) -> None:
    """Write jaxseq/flax parameters into any supported, built Keras layer (inverse of
    :func:`from_keras_layer`)."""
    kind = _keras_kind(layer)
    if kind == "batch_norm":
        _require(params, ("params", "batch_stats"), "BatchNorm variables")
        to_keras_batch_norm(layer, params["params"], params["batch_stats"])
        return
    _TO_KERAS[kind](layer, params)


_FROM_KERAS = {
    "simple_rnn": from_keras_simple_rnn,
    "lstm": from_keras_lstm,
    "gru": from_keras_gru,
    "layer_norm_rnn": from_keras_layer_norm_rnn,
    "dense": from_keras_dense,
    "conv1d": from_keras_conv1d,
}
_TO_KERAS = {
    "simple_rnn": to_keras_simple_rnn,
    "lstm": to_keras_lstm,
    "gru": to_keras_gru,
    "layer_norm_rnn": to_keras_layer_norm_rnn,
    "dense": to_keras_dense,
    "conv1d": to_keras_conv1d,
}


# --------------------------------------------------------------------------- Keras: whole models
#
# Both sides are described as a list of layer "specs" (hashable tuples with every
# hyperparameter that changes the computation); a Keras Sequential converts to the zoo model
# whose spec list equals its own, and its layer i's weights go to the zoo module's layer i.

_DEFAULT_CELL_SPEC = {
    "simple_rnn": ("tanh", None, None),
    "lstm": ("tanh", "sigmoid", None),
    "gru": ("tanh", "sigmoid", None),
    "gru_reset_before": ("tanh", "sigmoid", None),
    "layer_norm_rnn": ("tanh", None, 1e-3),
}


_KERAS_NAMES = {
    "simple_rnn": "SimpleRNN",
    "lstm": "LSTM",
    "gru": "GRU",
    "gru_reset_before": "GRU",
    "layer_norm_rnn": "RNN(LNSimpleRNNCell)",
}


def _describe(spec: tuple) -> str:
    """A spec as the Keras layer it stands for."""
    kind = spec[0]
    if kind == "rnn":
        _, cell, units, sequences, act, rec_act, eps = spec
        extra = [f"return_sequences={sequences}", f"activation={act}"]
        if rec_act:
            extra.append(f"recurrent_activation={rec_act}")
        if cell.startswith("gru"):
            extra.append(f"reset_after={cell == 'gru'}")
        if eps is not None:
            extra.append(f"epsilon={eps:g}")
        return f"{_KERAS_NAMES.get(cell, cell)}({units}, {', '.join(extra)})"
    if kind in ("dense", "td_dense"):
        dense = f"Dense({spec[1]}, activation={spec[2]})"
        return dense if kind == "dense" else f"TimeDistributed({dense})"
    if kind == "conv":
        _, filters, k, stride, padding, dilation, act = spec
        return (
            f"Conv1D({filters}, {k}, strides={stride}, padding={padding}, "
            f"dilation_rate={dilation}, activation={act})"
        )
    if kind == "bn":
        return f"BatchNormalization(momentum={spec[1]:g}, epsilon={spec[2]:g})"
    return "Flatten()"


def _conv_spec(filters, k, stride, padding, dilation, act) -> tuple:
    if dilation * (k - 1) + 1 == 1:
        padding = "valid"  # a one-tap kernel pads nothing whatever the mode
    return ("conv", int(filters), int(k), int(stride), padding.lower(), int(dilation), act)


def _flax_activation_name(fn) -> str:
    if fn is None:
        return "linear"
    for name, known in (("relu", jax.nn.relu), ("tanh", jnp.tanh)):
        if fn is known:
            return name
    return getattr(fn, "__name__", repr(fn))


def _zoo_specs(module) -> list[tuple[tuple, str | None]] | None:
    """``[(spec, variable key)]`` of a zoo module, or ``None`` if it is not a plain stack."""
    import flax.linen as nn

    if isinstance(module, WaveNet):
        specs = [
            _conv_spec(module.filters, module.kernel_size, 1, "causal", rate, "relu")
            for rate in module.dilations
        ]
        specs.append(_conv_spec(module.outputs, 1, 1, "valid", 1, "linear"))
        return [(s, f"Conv1D_{i}") for i, s in enumerate(specs)]
    if not isinstance(module, Sequential):
        return None
    out = []
    for i, layer in enumerate(module.layers):
        key = f"layers_{i}"
        if isinstance(layer, RNN):
            if layer.reverse or layer.return_state or layer.dropout or layer.recurrent_dropout:
                return None
            defaults = _DEFAULT_CELL_SPEC.get(layer.cell.name)
            if defaults is None:
                return None
            spec = ("rnn", layer.cell.name, layer.units, layer.return_sequences, *defaults)
        elif isinstance(layer, TimeDistributed) and isinstance(layer.layer, nn.Dense):
            spec = ("td_dense", layer.layer.features, "linear")
        elif isinstance(layer, nn.Dense):
            spec = ("dense", layer.features, "linear")
        elif isinstance(layer, Conv1D):
            spec = _conv_spec(
                layer.filters,
                layer.kernel_size,
                layer.strides,
                layer.padding,
                layer.dilation_rate,
                _flax_activation_name(layer.activation),
            )
        elif isinstance(layer, BatchNorm):
            spec = ("bn", float(layer.momentum), float(layer.epsilon))
        elif isinstance(layer, Flatten):
            spec, key = ("flatten",), None
        else:
            return None
        out.append((spec, key))
    return out


def _keras_rnn_spec(layer) -> tuple:
    keras = _keras()
    for flag in ("go_backwards", "stateful", "return_state"):
        if getattr(layer, flag, False):
            raise InputError(f"{_name(layer)}: {flag}=True has no zoo counterpart")
    cell = _cell_of(layer)
    for rate in ("dropout", "recurrent_dropout"):
        if getattr(cell, rate, 0) or getattr(layer, rate, 0):
            raise InputError(
                f"{_name(layer)}: {rate} > 0, but the zoo models have no dropout; rebuild the "
                "Keras layer without it (dropout does not change inference)"
            )
    if isinstance(cell, keras.layers.SimpleRNNCell):
        name, rec_act, eps = "simple_rnn", None, None
    elif isinstance(cell, keras.layers.LSTMCell):
        name, rec_act, eps = "lstm", _activation_name(cell.recurrent_activation), None
    elif isinstance(cell, keras.layers.GRUCell):
        name = "gru" if cell.reset_after else "gru_reset_before"
        rec_act, eps = _activation_name(cell.recurrent_activation), None
    else:
        outer, _, norm = _layer_norm_parts(layer)
        name, rec_act, eps = "layer_norm_rnn", None, float(norm.epsilon)
        cell = outer
    act = _activation_name(getattr(cell, "activation", None))
    units = int(getattr(cell, "units", None) or cell.state_size)
    return ("rnn", name, units, bool(layer.return_sequences), act, rec_act, eps)


def _keras_specs(keras_model) -> list[tuple[tuple, Any]]:
    """``[(spec, keras layer)]`` of a Keras Sequential (input layers dropped)."""
    keras = _keras()
    out = []
    sequence = True  # is the running output [batch, time, ...]?
    for layer in keras_model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.layers.RNN):
            spec = _keras_rnn_spec(layer)
            sequence = spec[3]
        elif isinstance(layer, keras.layers.TimeDistributed) and isinstance(
            layer.layer, keras.layers.Dense
        ):
            spec = ("td_dense", int(layer.layer.units), _activation_name(layer.layer.activation))
        elif isinstance(layer, keras.layers.Dense):
            # a Dense on a sequence acts per step, as TimeDistributed(Dense) does
            kind = "td_dense" if sequence else "dense"
            spec = (kind, int(layer.units), _activation_name(layer.activation))
        elif isinstance(layer, keras.layers.Conv1D):
            _check_conv1d(layer, "from_keras_sequential")
            spec = _conv_spec(
                layer.filters,
                layer.kernel_size[0],
                layer.strides[0],
                layer.padding,
                layer.dilation_rate[0],
                _activation_name(layer.activation),
            )
        elif isinstance(layer, keras.layers.BatchNormalization):
            if list(np.atleast_1d(layer.axis)) not in ([-1], [2]):
                raise InputError(f"{_name(layer)}: only the last axis can be normalised")
            spec = ("bn", float(layer.momentum), float(layer.epsilon))
        elif isinstance(layer, keras.layers.Flatten):
            spec, sequence = ("flatten",), False
        else:
            raise InputError(
                f"{_name(layer)} is not supported in from_keras_sequential: the chapter's models "
                "use SimpleRNN, LSTM, GRU, RNN(LNSimpleRNNCell), BatchNormalization, Conv1D, "
                "Flatten, Dense and TimeDistributed(Dense)"
            )
        out.append((spec, layer))
    if not out:
        raise InputError("the Keras model has no layers")
    return out


def _keras_input_shape(keras_model, specs) -> tuple[int | None, int]:
    """``(window or None, features)`` of a Keras model's inputs."""
    try:
        shape = tuple(keras_model.inputs[0].shape)
    except (AttributeError, IndexError, TypeError, ValueError):
        shape = None
    if shape is not None and len(shape) == 3 and shape[-1] is not None:
        return shape[1], int(shape[-1])
    first_spec, first = specs[0]
    if first_spec[0] == "rnn":
        weights = _weights(_cell_of(first))
        kernels = [v for k, v in weights.items() if k == "kernel"]
        if not kernels:  # the layer-normalised cell holds its kernel one level down
            kernels = [_layer_norm_parts(first)[1].kernel]
        return None, int(kernels[0].shape[0])
    if first_spec[0] == "conv":
        return None, int(_weights(first)["kernel"].shape[1])
    raise InputError(
        "cannot tell the Keras model's input shape: give it a keras.Input((window, features))"
    )


def _zoo_candidates(keras_specs, window, features, name):
    """Zoo models (built for the Keras model's sizes) in order of preference."""
    last = keras_specs[-1][0]
    if last[0] not in ("rnn", "dense", "td_dense", "conv"):
        raise InputError(
            f"the Keras model ends with {_describe(last)}; the zoo's models end with a recurrent, "
            "Dense, TimeDistributed(Dense) or Conv1D layer"
        )
    outputs = last[2] if last[0] == "rnn" else last[1]
    names = [name] if name is not None else models.names()
    built = []
    for candidate in names:
        model = models.get(candidate)  # raises InputError for an unknown name
        if model.task == "one_step":
            kwargs = {"targets": outputs}
        else:
            kwargs = {"horizon": outputs, "targets": 1}
        if model.fixed_window:
            if window is None:
                continue
            kwargs["window"] = window
        elif window is not None:
            kwargs["window"] = window
        built.append(models.get(candidate, features=features, **kwargs))
    # A single output is the one-step task's; several outputs the multi-step/seq2seq tasks'.
    built.sort(key=lambda m: (m.task == "one_step") != (outputs == 1))
    return built


def _flatten_window(keras_specs, features) -> int | None:
    """For Flatten -> Dense models, the window implied by the Dense kernel."""
    for i, (spec, _) in enumerate(keras_specs):
        if spec[0] == "flatten" and i + 1 < len(keras_specs):
            kernel = _weights(keras_specs[i + 1][1])["kernel"]
            inputs = int(kernel.shape[0])
            if inputs % features == 0:
                return inputs // features
    return None


def from_keras_sequential(keras_model, name: str | None = None):
    """Convert a Keras ``Sequential`` of the chapter to its zoo model, weights included.

    The zoo model is found by layer structure (types, units, return_sequences, activations,
    kernel sizes, strides, paddings, dilations): e.g. ``SimpleRNN(20, return_sequences=True) x2
    -> TimeDistributed(Dense(10))`` is ``rnn_seq2seq``, ``LSTM(20, return_sequences=True) x2 ->
    TimeDistributed(Dense(10))`` is ``lstm_seq2seq``, eight causal ``Conv1D(20, 2)`` with
    dilations 1, 2, 4, 8, 1, 2, 4, 8 and ``Conv1D(10, 1)`` is ``wavenet``. The zoo model is built
    for the Keras model's input features and output size (``horizon`` = outputs for multi-step
    and seq2seq models, ``targets`` = outputs for one-step ones). A ``Dense`` applied to a
    sequence is treated as ``TimeDistributed(Dense)`` (Keras computes the same).

    Args:
        keras_model: a built ``keras.Sequential`` (give it a ``keras.Input``, or call it once).
        name: force this zoo model (a mismatch then says which layer differs).

    Returns:
        ``(model, variables)``: a :class:`jaxseq.models.Model` and its variables
        (``{'params': ...}``, plus ``batch_stats`` with BatchNormalization), such that
        ``model.apply(variables, x)`` equals ``keras_model(x)`` for ``x`` ``[batch, time, features]``.

    Raises:
        InputError: the model is not a Sequential, has a layer jaxseq cannot take, or matches no
        zoo model (the message shows its structure and the closest zoo models').
    """
    keras = _keras()
    if not isinstance(keras_model, keras.Sequential):
        raise InputError(
            f"from_keras_sequential needs a keras.Sequential, got {type(keras_model).__name__}; "
            "convert other models layer by layer with from_keras_layer"
        )
    if not keras_model.built:
        raise InputError("the Keras model is not built: give it a keras.Input or call it once")
    keras_specs = _keras_specs(keras_model)
    window, features = _keras_input_shape(keras_model, keras_specs)
    if window is None:
        window = _flatten_window(keras_specs, features)
    ours = [spec for spec, _ in keras_specs]

    tried = []
    for model in _zoo_candidates(keras_specs, window, features, name):
        zoo = _zoo_specs(model.module)
        if zoo is None:
            if name is not None:
                raise InputError(f"zoo model {name!r} is not a plain layer stack Keras can match")
            continue
        if [spec for spec, _ in zoo] == ours:
            variables = _zoo_variables(model, zoo, keras_specs)
            return model, variables
        tried.append((model.name, [spec for spec, _ in zoo]))

    lines = [f"  {i}: {_describe(s)}" for i, s in enumerate(ours)]
    message = ["the Keras model matches no zoo model. Its layers:", *lines]
    if name is not None and tried:
        theirs = tried[0][1]
        for i in range(max(len(ours), len(theirs))):
            a = _describe(ours[i]) if i < len(ours) else "(none)"
            b = _describe(theirs[i]) if i < len(theirs) else "(none)"
            if a != b:
                message.append(f"layer {i} is {a}, but {name!r} has {b} there")
                break
    else:
        same_length = [n for n, s in tried if len(s) == len(ours)]
        message.append(
            "zoo models with as many layers: "
            + (", ".join(same_length) or "none")
            + "; see jaxseq.models.describe()"
        )
    raise InputError("\n".join(message))


def _zoo_variables(model, zoo, keras_specs) -> dict:
    params: dict[str, Any] = {}
    stats: dict[str, Any] = {}
    for (spec, key), (_, layer) in zip(zoo, keras_specs, strict=True):
        kind = spec[0]
        if kind == "rnn":
            params[key] = {"cell": from_keras_layer(layer)}
        elif kind == "dense":
            params[key] = from_keras_dense(layer)
        elif kind == "td_dense":
            params[key] = {"layer": from_keras_dense(layer)}
        elif kind == "conv":
            params[key] = {"Conv_0": from_keras_conv1d(layer)}
        elif kind == "bn":
            p, s = from_keras_batch_norm(layer)
            params[key], stats[key] = {"BatchNorm_0": p}, {"BatchNorm_0": s}
    variables = {"params": params}
    if stats:
        variables["batch_stats"] = stats
    _check_against_zoo(model, variables)
    return variables


def _check_against_zoo(model, variables) -> None:
    """Raise InputError unless ``variables`` have exactly the zoo model's tree and shapes."""
    expected = jax.eval_shape(model.init, jax.random.PRNGKey(0))
    flat_expected = {
        jax.tree_util.keystr(p): tuple(v.shape)
        for p, v in jax.tree_util.tree_flatten_with_path(expected)[0]
    }
    flat_ours = {
        jax.tree_util.keystr(p): tuple(np.shape(v))
        for p, v in jax.tree_util.tree_flatten_with_path(variables)[0]
    }
    if flat_expected != flat_ours:
        diffs = [
            f"{k}: Keras gives {flat_ours.get(k)}, {model.name!r} needs {flat_expected.get(k)}"
            for k in sorted(set(flat_expected) | set(flat_ours))
            if flat_expected.get(k) != flat_ours.get(k)
        ]
        raise InputError(
            f"the Keras weights do not fit zoo model {model.name!r}: " + "; ".join(diffs[:5])
        )


# --------------------------------------------------------------------------- PyTorch

_TORCH_KINDS = {"RNN_TANH": "rnn", "RNN_RELU": "rnn", "LSTM": "lstm", "GRU": "gru"}
_GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def _tensor_numpy(tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().copy()


def _swap_first_two_gates(a: np.ndarray, hidden: int, axis: int) -> np.ndarray:
    """Swap gate blocks 0 and 1 along ``axis`` (PyTorch's r, z, n <-> jaxseq's z, r, g)."""
    a = np.moveaxis(np.asarray(a), axis, 0)
    a = np.concatenate([a[hidden : 2 * hidden], a[:hidden], a[2 * hidden :]], axis=0)
    return np.moveaxis(a, 0, axis)


def _torch_rnn_kind(module) -> str:
    torch = _torch()
    if not isinstance(module, torch.nn.RNNBase):
        raise InputError(f"expected a torch.nn.RNN, LSTM or GRU, got {type(module).__name__}")
    if module.mode not in _TORCH_KINDS:
        raise InputError(f"unsupported PyTorch recurrent mode {module.mode!r}")
    if module.bidirectional:
        raise InputError(
            "bidirectional PyTorch RNNs are not supported: convert a forward and a backward "
            "module separately (jaxseq.Bidirectional, RNN(..., reverse=True))"
        )
    if getattr(module, "proj_size", 0):
        raise InputError("LSTM projections (proj_size > 0) have no jaxseq counterpart")
    return _TORCH_KINDS[module.mode]


def torch_cell(module) -> cells.Cell:
    """The jaxseq cell computing what a PyTorch ``nn.RNN``/``nn.LSTM``/``nn.GRU`` layer computes:
    ``simple_rnn(tanh or relu)``, ``lstm()``, ``gru(reset_after=True)``."""
    kind = _torch_rnn_kind(module)
    if kind == "rnn":
        return cells.simple_rnn(jax.nn.relu if module.mode == "RNN_RELU" else jnp.tanh)
    return cells.lstm() if kind == "lstm" else cells.gru(reset_after=True)


def from_torch_rnn(module) -> list[Params]:
    """A PyTorch ``nn.RNN``/``nn.LSTM``/``nn.GRU`` to one jaxseq parameter dict per layer.

    For layer ``k`` with ``G`` gates (1, 4, 3), hidden size ``H`` and input size ``in``:
    ``kernel [in, G*H] = weight_ih_lk.T``, ``recurrent_kernel [H, G*H] = weight_hh_lk.T``.
    RNN/LSTM: ``bias [G*H] = bias_ih_lk + bias_hh_lk``. GRU: gates reordered r, z, n -> z, r, g,
    ``bias = bias_ih_lk``, ``recurrent_bias = bias_hh_lk`` (for ``gru(reset_after=True)``).
    ``bias=False`` modules give zero biases. ``batch_first`` does not matter (see module doc).
    """
    kind = _torch_rnn_kind(module)
    hidden = module.hidden_size
    size = _GATES[kind] * hidden
    state = dict(module.named_parameters())
    layers = []
    for k in range(module.num_layers):
        w_ih = _tensor_numpy(state[f"weight_ih_l{k}"])
        w_hh = _tensor_numpy(state[f"weight_hh_l{k}"])
        zeros = np.zeros((size,), w_ih.dtype)
        b_ih = _tensor_numpy(state[f"bias_ih_l{k}"]) if module.bias else zeros
        b_hh = _tensor_numpy(state[f"bias_hh_l{k}"]) if module.bias else zeros
        if kind == "gru":
            params = {
                "kernel": _swap_first_two_gates(w_ih, hidden, 0).T,
                "recurrent_kernel": _swap_first_two_gates(w_hh, hidden, 0).T,
                "bias": _swap_first_two_gates(b_ih, hidden, 0),
                "recurrent_bias": _swap_first_two_gates(b_hh, hidden, 0),
            }
        else:
            params = {"kernel": w_ih.T, "recurrent_kernel": w_hh.T, "bias": b_ih + b_hh}
        layers.append({k_: jnp.asarray(np.ascontiguousarray(v)) for k_, v in params.items()})
    return layers


def to_torch_rnn(layers: Sequence[Params] | Params, kind: str, *, bias: bool = True) -> dict:
    """jaxseq recurrent parameters (one dict per layer) to a PyTorch ``state_dict``.

    Args:
        layers: a list of per-layer parameter dicts (or one dict for a single layer), from
            ``simple_rnn`` (kind ``"rnn"``), ``lstm`` (``"lstm"``, no peepholes) or
            ``gru(reset_after=True)`` (``"gru"``) cells.
        kind: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        bias: whether the PyTorch module has biases (``bias=False`` drops them; they must be 0).

    Returns:
        ``{weight_ih_lk [G*H, in], weight_hh_lk [G*H, H], bias_ih_lk [G*H], bias_hh_lk [G*H]}`` as
        float tensors, for ``module.load_state_dict``. RNN/LSTM: ``bias_ih_lk`` is jaxseq's bias
        and ``bias_hh_lk`` is zeros (PyTorch adds the two, so the module computes the same).
        GRU: gates reordered z, r, g -> r, z, n; ``bias_hh_lk`` is ``recurrent_bias``.
    """
    torch = _torch()
    if kind not in _GATES:
        raise InputError(f"kind must be one of {', '.join(_GATES)}, got {kind!r}")
    if isinstance(layers, Mapping):
        layers = [layers]
    state = {}
    for k, params in enumerate(layers):
        names = ("kernel", "recurrent_kernel", "bias")
        _require(
            params, names + (("recurrent_bias",) if kind == "gru" else ()), f"{kind} layer {k}"
        )
        if kind != "gru" and "recurrent_bias" in params:
            raise InputError(f"layer {k} has a recurrent_bias: it is a GRU's, not an {kind}'s")
        if any(name.startswith("peephole") for name in params):
            raise InputError(f"layer {k} has peepholes, which PyTorch's LSTM does not")
        kernel = _numpy(params["kernel"])
        recurrent = _numpy(params["recurrent_kernel"])
        hidden = recurrent.shape[0]
        if recurrent.shape != (hidden, _GATES[kind] * hidden) or kernel.shape[1:] != (
            _GATES[kind] * hidden,
        ):
            raise InputError(
                f"{kind} layer {k}: kernel {kernel.shape} and recurrent_kernel {recurrent.shape} "
                f"are not [in, {_GATES[kind]}*H] and [H, {_GATES[kind]}*H]"
            )
        b = _numpy(params["bias"])
        if kind == "gru":
            w_ih = _swap_first_two_gates(kernel.T, hidden, 0)
            w_hh = _swap_first_two_gates(recurrent.T, hidden, 0)
            b_ih = _swap_first_two_gates(b, hidden, 0)
            b_hh = _swap_first_two_gates(_numpy(params["recurrent_bias"]), hidden, 0)
        else:
            w_ih, w_hh, b_ih, b_hh = kernel.T, recurrent.T, b, np.zeros_like(b)
        state[f"weight_ih_l{k}"] = w_ih
        state[f"weight_hh_l{k}"] = w_hh
        if bias:
            state[f"bias_ih_l{k}"], state[f"bias_hh_l{k}"] = b_ih, b_hh
        elif np.any(b_ih) or np.any(b_hh):
            raise InputError(f"{kind} layer {k} has non-zero biases but bias=False")
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}


def torch_rnn_stack(module) -> tuple[Sequential, dict]:
    """A PyTorch ``nn.RNN``/``nn.LSTM``/``nn.GRU`` (any ``num_layers``) as a runnable jaxseq stack.

    Returns ``(Sequential([RNN(cell, H, return_sequences=True)] * num_layers), variables)``;
    ``stack.apply(variables, x)`` with ``x`` ``[batch, time, in]`` equals the module's first
    output (``batch_first=True``; transpose for ``batch_first=False``), in evaluation mode
    (PyTorch's inter-layer ``dropout`` is not carried over).
    """
    cell = torch_cell(module)
    layers = from_torch_rnn(module)
    stack = Sequential(
        [RNN(cell, module.hidden_size, return_sequences=True) for _ in range(len(layers))]
    )
    variables = {"params": {f"layers_{k}": {"cell": p} for k, p in enumerate(layers)}}
    return stack, variables


def from_torch_linear(module) -> Params:
    """A PyTorch ``nn.Linear`` to flax ``nn.Dense`` parameters:
    ``{kernel [in, out] = weight.T, bias [out]}`` (zeros without bias)."""
    torch = _torch()
    if not isinstance(module, torch.nn.Linear):
        raise InputError(f"from_torch_linear needs a torch.nn.Linear, got {type(module).__name__}")
    weight = _tensor_numpy(module.weight)
    b = (
        _tensor_numpy(module.bias)
        if module.bias is not None
        else np.zeros(weight.shape[0], weight.dtype)
    )
    return {"kernel": jnp.asarray(np.ascontiguousarray(weight.T)), "bias": jnp.asarray(b)}


def to_torch_linear(params: Params) -> dict:
    """flax ``nn.Dense`` parameters to an ``nn.Linear`` state_dict ``{weight [out, in], bias}``."""
    torch = _torch()
    _require(params, ("kernel", "bias"), "Dense")
    weight = np.ascontiguousarray(_numpy(params["kernel"]).T)
    return {"weight": torch.from_numpy(weight), "bias": torch.from_numpy(_numpy(params["bias"]))}


def from_torch_conv1d(module) -> Params:
    """A PyTorch ``nn.Conv1d`` to flax ``nn.Conv`` parameters:
    ``{kernel [k, in, out] = weight.transpose(2, 1, 0), bias [out]}``.

    Only the weights: set the jaxseq layer's ``strides``, ``dilation_rate`` and padding yourself
    (PyTorch's ``padding=p`` pads ``p`` steps on both sides; ``groups`` must be 1).
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Conv1d):
        raise InputError(f"from_torch_conv1d needs a torch.nn.Conv1d, got {type(module).__name__}")
    if module.groups != 1:
        raise InputError(f"only groups=1 convolutions are supported, got groups={module.groups}")
    weight = _tensor_numpy(module.weight)
    out = weight.shape[0]
    b = _tensor_numpy(module.bias) if module.bias is not None else np.zeros(out, weight.dtype)
    kernel = np.ascontiguousarray(weight.transpose(2, 1, 0))
    return {"kernel": jnp.asarray(kernel), "bias": jnp.asarray(b)}


def to_torch_conv1d(params: Params) -> dict:
    """flax ``nn.Conv`` parameters (or :class:`jaxseq.layers.Conv1D`'s ``{'Conv_0': ...}``) to an
    ``nn.Conv1d`` state_dict ``{weight [out, in, k], bias [out]}``."""
    torch = _torch()
    params = _unwrap_conv(params)
    _require(params, ("kernel", "bias"), "Conv1D")
    kernel = _numpy(params["kernel"])
    if kernel.ndim != 3:
        raise InputError(f"a Conv1D kernel is [k, in, out], got shape {kernel.shape}")
    weight = np.ascontiguousarray(kernel.transpose(2, 1, 0))
    return {"weight": torch.from_numpy(weight), "bias": torch.from_numpy(_numpy(params["bias"]))}
