"""Keras 3 layers to and from jaxseq parameters, one layer at a time.

``from_keras_*`` read a built layer's weights into jaxseq parameters; ``to_keras_*`` write
jaxseq parameters into a built layer (shapes are checked, values are copied exactly);
:func:`from_keras_layer` and :func:`to_keras_layer` pick the converter by the layer's type, and
:func:`keras_cell` gives the jaxseq cell that computes what a Keras recurrent layer computes.
The layouts are in :mod:`jaxseq.interop`'s table. Works with any Keras backend.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from jaxseq import cells
from jaxseq.errors import InputError
from jaxseq.interop.common import (
    Params,
    activation,
    as_numpy,
    cell_of,
    keras_module,
    layer_name,
    read,
    require,
    write,
)
from jaxseq.interop.keras_ln_cell import (
    from_keras_layer_norm_rnn,
    layer_norm_parts,
    to_keras_layer_norm_rnn,
)

_RNN_WEIGHTS = ("kernel", "recurrent_kernel", "bias")


def _check_type(layer, kinds: tuple[str, ...], what: str):
    keras = keras_module()
    cell = cell_of(layer)
    if not isinstance(cell, tuple(getattr(keras.layers, k) for k in kinds)):
        raise InputError(f"{what} needs a Keras {' or '.join(kinds)}, got {layer_name(layer)}")
    return cell


# --------------------------------------------------------------------------- recurrent


def from_keras_simple_rnn(layer) -> Params:
    """A Keras ``SimpleRNN`` (or ``SimpleRNNCell``) to :func:`jaxseq.cells.simple_rnn` parameters.

    Returns ``{kernel [in, H], recurrent_kernel [H, H], bias [H]}`` (zeros if ``use_bias=False``).
    """
    cell = _check_type(layer, ("SimpleRNNCell",), "from_keras_simple_rnn")
    return {
        "kernel": read(cell, "kernel"),
        "recurrent_kernel": read(cell, "recurrent_kernel"),
        "bias": read(cell, "bias", (cell.units,)),
    }


def to_keras_simple_rnn(layer, params: Params) -> None:
    """Write :func:`jaxseq.cells.simple_rnn` parameters into a built Keras ``SimpleRNN``."""
    cell = _check_type(layer, ("SimpleRNNCell",), "to_keras_simple_rnn")
    require(params, _RNN_WEIGHTS, "simple_rnn")
    for name in _RNN_WEIGHTS:
        write(cell, name, params[name])


def from_keras_lstm(layer) -> Params:
    """A Keras ``LSTM`` (or ``LSTMCell``) to :func:`jaxseq.cells.lstm` parameters.

    Returns ``{kernel [in, 4H], recurrent_kernel [H, 4H], bias [4H]}``, gates i, f, g, o in both.
    """
    cell = _check_type(layer, ("LSTMCell",), "from_keras_lstm")
    return {
        "kernel": read(cell, "kernel"),
        "recurrent_kernel": read(cell, "recurrent_kernel"),
        "bias": read(cell, "bias", (4 * cell.units,)),
    }


def to_keras_lstm(layer, params: Params) -> None:
    """Write :func:`jaxseq.cells.lstm` parameters (no peepholes) into a built Keras ``LSTM``."""
    cell = _check_type(layer, ("LSTMCell",), "to_keras_lstm")
    require(params, _RNN_WEIGHTS, "lstm")
    if any(k.startswith("peephole") for k in params):
        raise InputError("Keras 3 has no peephole LSTM: these lstm parameters have peepholes")
    for name in _RNN_WEIGHTS:
        write(cell, name, params[name])


def from_keras_gru(layer) -> Params:
    """A Keras ``GRU`` (or ``GRUCell``) to :func:`jaxseq.cells.gru` parameters.

    ``reset_after=True`` (Keras' default): Keras' bias ``(2, 3H)`` splits into ``bias [3H]`` (input
    bias, row 0) and ``recurrent_bias [3H]`` (row 1), for ``gru(reset_after=True)``.
    ``reset_after=False``: ``bias [3H]`` as is, for ``gru(reset_after=False)``.
    Both: ``kernel [in, 3H]``, ``recurrent_kernel [H, 3H]``, gates z, r, g in both libraries.
    """
    cell = _check_type(layer, ("GRUCell",), "from_keras_gru")
    hidden = cell.units
    params = {"kernel": read(cell, "kernel"), "recurrent_kernel": read(cell, "recurrent_kernel")}
    if cell.reset_after:
        bias = read(cell, "bias", (2, 3 * hidden))
        params["bias"], params["recurrent_bias"] = bias[0], bias[1]
    else:
        params["bias"] = read(cell, "bias", (3 * hidden,))
    return params


def to_keras_gru(layer, params: Params) -> None:
    """Write :func:`jaxseq.cells.gru` parameters into a built Keras ``GRU`` of the same form.

    A ``reset_after=True`` Keras GRU needs ``recurrent_bias`` (it becomes row 1 of Keras' bias);
    a ``reset_after=False`` one must not get it.
    """
    cell = _check_type(layer, ("GRUCell",), "to_keras_gru")
    require(params, _RNN_WEIGHTS, "gru")
    has_recurrent_bias = "recurrent_bias" in params
    if cell.reset_after != has_recurrent_bias:
        ours = "reset_after=True" if has_recurrent_bias else "reset_after=False"
        raise InputError(
            f"{layer_name(layer)} has reset_after={cell.reset_after} but the parameters are of a "
            f"gru({ours}) cell; build the Keras GRU with {ours}"
        )
    write(cell, "kernel", params["kernel"])
    write(cell, "recurrent_kernel", params["recurrent_kernel"])
    if cell.reset_after:
        bias = np.stack([as_numpy(params["bias"]), as_numpy(params["recurrent_bias"])])
        write(cell, "bias", bias, "[bias, recurrent_bias]")
    else:
        write(cell, "bias", params["bias"])


def keras_cell(layer) -> cells.Cell:
    """The jaxseq :class:`~jaxseq.cells.Cell` that computes what a Keras recurrent layer computes.

    ``SimpleRNN`` -> ``simple_rnn(activation)``; ``LSTM`` -> ``lstm(activation=...,
    recurrent_activation=...)``; ``GRU`` -> ``gru(reset_after=..., ...)``; ``RNN`` over a
    book-style ``LNSimpleRNNCell`` -> ``layer_norm_rnn(activation, epsilon=...)``. Activations:
    tanh, sigmoid, relu, linear.
    """
    keras = keras_module()
    cell = cell_of(layer)
    if isinstance(cell, keras.layers.SimpleRNNCell):
        return cells.simple_rnn(activation(cell.activation, "activation", layer))
    if isinstance(cell, keras.layers.LSTMCell | keras.layers.GRUCell):
        act = activation(cell.activation, "activation", layer)
        gate = activation(cell.recurrent_activation, "recurrent_activation", layer)
        if isinstance(cell, keras.layers.LSTMCell):
            return cells.lstm(activation=act, recurrent_activation=gate)
        return cells.gru(reset_after=cell.reset_after, activation=act, recurrent_activation=gate)
    outer, _, norm = layer_norm_parts(layer)
    if not hasattr(outer, "activation"):
        raise InputError(
            f"{layer_name(layer)}: the layer-normalised cell must keep its activation in "
            "`self.activation` (as the book's LNSimpleRNNCell does)"
        )
    return cells.layer_norm_rnn(
        activation(outer.activation, "activation", layer), epsilon=norm.epsilon
    )


# --------------------------------------------------------------------------- feed-forward


def from_keras_dense(layer) -> Params:
    """A Keras ``Dense(n)`` (or ``TimeDistributed(Dense(n))``) to flax ``nn.Dense`` parameters
    ``{kernel [in, n], bias [n]}`` (also :class:`jaxseq.layers.TimeDistributed`'s)."""
    layer = getattr(layer, "layer", layer)  # TimeDistributed
    if not isinstance(layer, keras_module().layers.Dense):
        raise InputError(f"from_keras_dense needs a Keras Dense, got {layer_name(layer)}")
    return {"kernel": read(layer, "kernel"), "bias": read(layer, "bias", (layer.units,))}


def to_keras_dense(layer, params: Params) -> None:
    """Write flax ``nn.Dense`` parameters into a built Keras ``Dense`` (or ``TimeDistributed``)."""
    layer = getattr(layer, "layer", layer)
    if not isinstance(layer, keras_module().layers.Dense):
        raise InputError(f"to_keras_dense needs a Keras Dense, got {layer_name(layer)}")
    require(params, ("kernel", "bias"), "Dense")
    write(layer, "kernel", params["kernel"])
    write(layer, "bias", params["bias"])


def check_conv1d(layer, what: str) -> None:
    """An :class:`InputError` unless ``layer`` is a channels-last Keras ``Conv1D``, groups 1."""
    if not isinstance(layer, keras_module().layers.Conv1D):
        raise InputError(f"{what} needs a Keras Conv1D, got {layer_name(layer)}")
    if getattr(layer, "groups", 1) != 1 or layer.data_format != "channels_last":
        raise InputError(
            f"{layer_name(layer)}: only channels_last Conv1D with groups=1 is supported "
            f"(got data_format={layer.data_format!r}, groups={layer.groups})"
        )


def from_keras_conv1d(layer) -> Params:
    """A Keras ``Conv1D(filters, k)`` to :class:`jaxseq.layers.Conv1D` parameters ``{kernel [k,
    in, filters], bias [filters]}`` (same layout); give the jaxseq layer the Keras layer's
    ``strides``, ``padding`` and ``dilation_rate``."""
    check_conv1d(layer, "from_keras_conv1d")
    return {"kernel": read(layer, "kernel"), "bias": read(layer, "bias", (layer.filters,))}


def to_keras_conv1d(layer, params: Params) -> None:
    """Write :class:`jaxseq.layers.Conv1D` parameters into a built Keras ``Conv1D``."""
    check_conv1d(layer, "to_keras_conv1d")
    require(params, ("kernel", "bias"), "Conv1D")
    write(layer, "kernel", params["kernel"])
    write(layer, "bias", params["bias"])


def from_keras_batch_norm(layer) -> tuple[Params, Params]:
    """A Keras ``BatchNormalization`` to :class:`jaxseq.layers.BatchNorm` variables:
    ``({scale, bias}, {mean, var})``, each ``[features]`` (params, batch_stats)."""
    if not isinstance(layer, keras_module().layers.BatchNormalization):
        raise InputError(
            f"from_keras_batch_norm needs a Keras BatchNormalization, got {layer_name(layer)}"
        )
    size = read(layer, "moving_mean").shape
    scale = read(layer, "gamma") if layer.scale else jnp.ones(size, jnp.float32)
    params = {"scale": scale, "bias": read(layer, "beta", size)}
    stats = {"mean": read(layer, "moving_mean"), "var": read(layer, "moving_variance")}
    return params, stats


def to_keras_batch_norm(layer, params: Params, batch_stats: Params) -> None:
    """Write :class:`jaxseq.layers.BatchNorm` ``params {scale, bias}`` and ``batch_stats {mean,
    var}`` into a built Keras ``BatchNormalization``."""
    if not isinstance(layer, keras_module().layers.BatchNormalization):
        raise InputError(
            f"to_keras_batch_norm needs a Keras BatchNormalization, got {layer_name(layer)}"
        )
    require(params, ("scale", "bias"), "BatchNorm")
    require(batch_stats, ("mean", "var"), "BatchNorm batch_stats")
    if layer.scale:
        write(layer, "gamma", params["scale"], "scale")
    write(layer, "beta", params["bias"], "bias")
    write(layer, "moving_mean", batch_stats["mean"], "mean")
    write(layer, "moving_variance", batch_stats["var"], "var")


# --------------------------------------------------------------------------- any layer


def _keras_kind(layer) -> str:
    keras = keras_module()
    inner = (
        getattr(layer, "layer", None) if isinstance(layer, keras.layers.TimeDistributed) else None
    )
    if inner is not None:
        return _keras_kind(inner)
    cell = cell_of(layer)
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
        layer_norm_parts(layer)  # raises a clear error if it is not the book's cell
        return "layer_norm_rnn"
    raise InputError(
        f"{layer_name(layer)} is not supported: Keras SimpleRNN, LSTM, GRU, "
        "RNN(LNSimpleRNNCell), Dense, TimeDistributed(Dense), Conv1D and BatchNormalization are"
    )


def from_keras_layer(layer) -> Params:
    """Any supported Keras layer's weights as jaxseq/flax parameters (see :mod:`jaxseq.interop`).

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
        require(params, ("params", "batch_stats"), "BatchNorm variables")
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
