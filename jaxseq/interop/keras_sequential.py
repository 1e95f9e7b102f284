"""A Keras ``Sequential`` of the chapter to its zoo model, weights included.

Both sides are described as a list of layer "specs" (hashable tuples with every
hyperparameter that changes the computation); a Keras Sequential converts to the zoo model
whose spec list equals its own, and its layer ``i``'s weights go to the zoo model's layer ``i``,
under the name that layer has in the zoo (``rnn_0``, ``bn_0``, ``conv_0``, ``head``, ...; see
:mod:`jaxseq.models`).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxseq import models
from jaxseq.conv import WaveNet
from jaxseq.errors import InputError
from jaxseq.interop.common import activation_name, cell_of, keras_module, keras_weights, layer_name
from jaxseq.interop.keras_layers import (
    check_conv1d,
    from_keras_batch_norm,
    from_keras_conv1d,
    from_keras_dense,
    from_keras_layer,
)
from jaxseq.interop.keras_ln_cell import layer_norm_parts
from jaxseq.layers import BatchNorm, Conv1D, Flatten, Sequential, TimeDistributed
from jaxseq.recurrent import RNN

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


# --------------------------------------------------------------------------- the zoo's side


def _zoo_specs(module) -> list[tuple[tuple, str | None]] | None:
    """``[(spec, variable key)]`` of a zoo module, or ``None`` if it is not a plain stack of
    named layers. The key is the layer's name (``None`` for a layer without variables)."""
    if isinstance(module, WaveNet):
        specs = [
            _conv_spec(module.filters, module.kernel_size, 1, "causal", rate, "relu")
            for rate in module.dilations
        ]
        specs.append(_conv_spec(module.outputs, 1, 1, "valid", 1, "linear"))
        return list(zip(specs, module.layer_names(), strict=True))
    if not isinstance(module, Sequential):
        return None
    out = []
    for layer in module.layers:
        key = layer.name
        spec: tuple
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
        if spec[0] != "flatten" and key is None:
            return None  # an unnamed layer: its key would be flax's, not the zoo's
        out.append((spec, key))
    return out


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


# --------------------------------------------------------------------------- the Keras side


def _keras_rnn_spec(layer) -> tuple:
    keras = keras_module()
    for flag in ("go_backwards", "stateful", "return_state"):
        if getattr(layer, flag, False):
            raise InputError(f"{layer_name(layer)}: {flag}=True has no zoo counterpart")
    cell = cell_of(layer)
    for rate in ("dropout", "recurrent_dropout"):
        if getattr(cell, rate, 0) or getattr(layer, rate, 0):
            raise InputError(
                f"{layer_name(layer)}: {rate} > 0, but the zoo models have no dropout; rebuild "
                "the Keras layer without it (dropout does not change inference)"
            )
    if isinstance(cell, keras.layers.SimpleRNNCell):
        name, rec_act, eps = "simple_rnn", None, None
    elif isinstance(cell, keras.layers.LSTMCell):
        name, rec_act, eps = "lstm", activation_name(cell.recurrent_activation), None
    elif isinstance(cell, keras.layers.GRUCell):
        name = "gru" if cell.reset_after else "gru_reset_before"
        rec_act, eps = activation_name(cell.recurrent_activation), None
    else:
        outer, _, norm = layer_norm_parts(layer)
        name, rec_act, eps = "layer_norm_rnn", None, float(norm.epsilon)
        cell = outer
    act = activation_name(getattr(cell, "activation", None))
    units = int(getattr(cell, "units", None) or cell.state_size)
    return ("rnn", name, units, bool(layer.return_sequences), act, rec_act, eps)


def _keras_specs(keras_model) -> list[tuple[tuple, Any]]:
    """``[(spec, keras layer)]`` of a Keras Sequential (input layers dropped)."""
    keras = keras_module()
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
            spec = ("td_dense", int(layer.layer.units), activation_name(layer.layer.activation))
        elif isinstance(layer, keras.layers.Dense):
            # a Dense on a sequence acts per step, as TimeDistributed(Dense) does
            kind = "td_dense" if sequence else "dense"
            spec = (kind, int(layer.units), activation_name(layer.activation))
        elif isinstance(layer, keras.layers.Conv1D):
            check_conv1d(layer, "from_keras_sequential")
            spec = _conv_spec(
                layer.filters,
                layer.kernel_size[0],
                layer.strides[0],
                layer.padding,
                layer.dilation_rate[0],
                activation_name(layer.activation),
            )
        elif isinstance(layer, keras.layers.BatchNormalization):
            if list(np.atleast_1d(layer.axis)) not in ([-1], [2]):
                raise InputError(f"{layer_name(layer)}: only the last axis can be normalised")
            spec = ("bn", float(layer.momentum), float(layer.epsilon))
        elif isinstance(layer, keras.layers.Flatten):
            spec, sequence = ("flatten",), False
        else:
            raise InputError(
                f"{layer_name(layer)} is not supported in from_keras_sequential: the chapter's "
                "models use SimpleRNN, LSTM, GRU, RNN(LNSimpleRNNCell), BatchNormalization, "
                "Conv1D, Flatten, Dense and TimeDistributed(Dense)"
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
        weights = keras_weights(cell_of(first))
        kernels = [v for k, v in weights.items() if k == "kernel"]
        if not kernels:  # the layer-normalised cell holds its kernel one level down
            kernels = [layer_norm_parts(first)[1].kernel]
        return None, int(kernels[0].shape[0])
    if first_spec[0] == "conv":
        return None, int(keras_weights(first)["kernel"].shape[1])
    raise InputError(
        "cannot tell the Keras model's input shape: give it a keras.Input((window, features))"
    )


def _flatten_window(keras_specs, features) -> int | None:
    """For Flatten -> Dense models, the window implied by the Dense kernel."""
    for i, (spec, _) in enumerate(keras_specs):
        if spec[0] == "flatten" and i + 1 < len(keras_specs):
            kernel = keras_weights(keras_specs[i + 1][1])["kernel"]
            inputs = int(kernel.shape[0])
            if inputs % features == 0:
                return inputs // features
    return None


# --------------------------------------------------------------------------- the match


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
    keras = keras_module()
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
        elif kind in ("dense", "td_dense"):
            params[key] = from_keras_dense(layer)
        elif kind == "conv":
            params[key] = from_keras_conv1d(layer)
        elif kind == "bn":
            params[key], stats[key] = from_keras_batch_norm(layer)
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
