"""What every converter shares: Keras and PyTorch imported on first use, Keras weights read and
written by their short names (shapes checked, values copied exactly), parameter dicts checked
for the keys a conversion needs, and activations matched by name.

Nothing here imports Keras or PyTorch at module level.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxseq import fused
from jaxseq.errors import InputError

Array = jax.Array
Params = dict[str, Any]


def keras_module():
    """The ``keras`` module (Keras 3), or an :class:`InputError` saying it is needed."""
    try:
        import keras
    except ImportError as err:  # pragma: no cover - keras is a dev dependency
        raise InputError("Keras interoperability needs keras >= 3 installed") from err
    return keras


def torch_module():
    """The ``torch`` module, or an :class:`InputError` saying it is needed."""
    try:
        import torch
    except ImportError as err:  # pragma: no cover - torch is a dev dependency
        raise InputError("PyTorch interoperability needs torch installed") from err
    return torch


def as_array(value) -> Array:
    """A Keras variable or a NumPy array as a jax array (same dtype, copied)."""
    if hasattr(value, "assign") and hasattr(value, "value"):  # a keras.Variable, any backend
        value = keras_module().ops.convert_to_numpy(value.value)
    return jnp.asarray(np.array(value))


def as_numpy(value) -> np.ndarray:
    """Any array as a NumPy array (copied)."""
    return np.array(value)


def layer_name(layer) -> str:
    """A layer for messages: its class and its name."""
    return f"{type(layer).__name__} {getattr(layer, 'name', '')!r}".strip()


def activation_name(fn) -> str:
    """The Keras name of an activation function (``tanh``, ``sigmoid``, ``relu``, ``linear``)."""
    if fn is None:
        return "linear"
    return getattr(fn, "__name__", repr(fn))


def _identity(x: Array) -> Array:
    return x


#: One object per name: cells hand activations to ``custom_vjp`` as static arguments.
ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "tanh": jnp.tanh,
    "sigmoid": fused.sigmoid,
    "relu": jax.nn.relu,
    "linear": _identity,
}


def activation(fn, what: str, layer) -> Callable[[Array], Array]:
    """The jaxseq function for a Keras activation (one of :data:`ACTIVATIONS`)."""
    name = activation_name(fn)
    if name not in ACTIVATIONS:
        raise InputError(
            f"{layer_name(layer)}: {what} {name!r} is not supported; use one of "
            f"{', '.join(ACTIVATIONS)}"
        )
    return ACTIVATIONS[name]


def keras_weights(layer) -> dict[str, Any]:
    """A Keras layer's own variables by short name (``kernel``, ``bias``, ``gamma``, ...)."""
    if not getattr(layer, "built", True) or not layer.weights:
        raise InputError(
            f"{layer_name(layer)} has no weights yet: build it first (call it on an input or "
            "give its model a keras.Input)"
        )
    return {v.name.split("/")[-1]: v for v in layer.weights}


def read(layer, name: str, default_shape: tuple[int, ...] | None = None) -> Array:
    """The Keras layer's weight ``name`` as a jax array; zeros of ``default_shape`` if the layer
    has no such weight (a bias it does not use), else an :class:`InputError`."""
    weights = keras_weights(layer)
    if name in weights:
        return as_array(weights[name])
    if default_shape is not None:  # a bias the layer does not use (use_bias=False)
        return jnp.zeros(default_shape, jnp.float32)
    raise InputError(f"{layer_name(layer)} has no weight {name!r} (it has {', '.join(weights)})")


def write(layer, name: str, value, what: str = "") -> None:
    """Copy ``value`` into the layer's variable ``name``; a missing bias must be zero."""
    weights = keras_weights(layer)
    value = as_numpy(value)
    if name not in weights:
        if name.endswith("bias") and not np.any(value):
            return  # use_bias=False and nothing to lose
        raise InputError(
            f"{layer_name(layer)} has no weight {name!r} to receive {what or name} (it has "
            f"{', '.join(weights)}); a non-zero {name} cannot be exported to it"
        )
    variable = weights[name]
    if tuple(variable.shape) != value.shape:
        raise InputError(
            f"{layer_name(layer)}: {what or name} has shape {value.shape} but the layer's "
            f"{name!r} is {tuple(variable.shape)}"
        )
    variable.assign(value.astype(variable.dtype))


def require(params: Mapping, names: Sequence[str], what: str) -> None:
    """An :class:`InputError` unless ``params`` is a dict holding every one of ``names``."""
    if not isinstance(params, Mapping):
        raise InputError(f"{what} parameters must be a dict, got {type(params).__name__}")
    missing = [n for n in names if n not in params]
    if missing:
        raise InputError(
            f"{what} parameters lack {', '.join(missing)} (they have {', '.join(params)})"
        )


def cell_of(layer):
    """The cell of a Keras recurrent layer (the layer itself if it is a cell)."""
    return getattr(layer, "cell", layer)
