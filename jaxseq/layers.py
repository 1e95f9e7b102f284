"""Feed-forward layers with the chapter's (Keras') defaults, built on flax.linen.

Flax supplies the layers; this module only sets the defaults the book's models were trained
with (glorot-uniform kernels, Keras' norm epsilons and momentum), names them as Keras does,
and adds the two shape helpers Keras has and flax does not (``Flatten``, ``RepeatVector``),
plus ``Sequential``, which passes ``train`` to the layers that take it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from functools import partial

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxseq.errors import InputError

glorot_uniform = nn.initializers.glorot_uniform

#: ``nn.Dense`` with Keras' glorot-uniform kernel (flax's own default is lecun-normal).
Dense = partial(nn.Dense, kernel_init=glorot_uniform())

#: Keras' ``LayerNormalization`` defaults: epsilon 1e-3, exact (two-pass) variance.
LayerNorm = partial(nn.LayerNorm, epsilon=1e-3, use_fast_variance=False)


class BatchNorm(nn.Module):
    """Keras' ``BatchNormalization`` (momentum 0.99, epsilon 1e-3) over every axis but the last.

    Between recurrent layers it normalises ``[batch, time, features]`` over batch and time.
    Batch statistics are used and updated when ``train``; the running averages otherwise.
    """

    momentum: float = 0.99
    epsilon: float = 1e-3

    @nn.compact
    def __call__(self, x, *, train: bool = False):
        return nn.BatchNorm(
            use_running_average=not train,
            momentum=self.momentum,
            epsilon=self.epsilon,
            use_fast_variance=False,
        )(x)


class Dropout(nn.Module):
    """``nn.Dropout`` driven by the ``train`` flag (needs a ``'dropout'`` PRNG stream when training)."""

    rate: float

    @nn.compact
    def __call__(self, x, *, train: bool = False):
        return nn.Dropout(self.rate, deterministic=not train)(x)


class Conv1D(nn.Module):
    """A 1-D convolution over ``[batch, time, channels]`` with Keras' arguments.

    ``padding`` is ``"valid"``, ``"same"`` or ``"causal"`` (left padding of
    ``dilation_rate * (kernel_size - 1)`` steps, so output ``t`` sees inputs ``<= t`` only).
    Output length: ``time`` for same/causal with stride 1; ``(time - span) // strides + 1`` for
    valid, where ``span = dilation_rate * (kernel_size - 1) + 1``.
    """

    filters: int
    kernel_size: int
    strides: int = 1
    padding: str = "valid"
    dilation_rate: int = 1
    activation: Callable | None = None
    use_bias: bool = True
    kernel_init: Callable = glorot_uniform()

    @nn.compact
    def __call__(self, x):
        if x.ndim != 3:
            raise InputError(f"Conv1D inputs must be [batch, time, channels], got shape {x.shape}")
        padding = self.padding.upper()
        if padding not in ("VALID", "SAME", "CAUSAL"):
            raise InputError(f"Conv1D padding must be valid, same or causal, got {self.padding!r}")
        span = self.dilation_rate * (self.kernel_size - 1) + 1
        if padding == "VALID" and x.shape[1] < span:
            raise InputError(
                f"Conv1D with kernel {self.kernel_size} and dilation {self.dilation_rate} needs at "
                f"least {span} time steps with valid padding, got {x.shape[1]}"
            )
        y = nn.Conv(
            self.filters,
            (self.kernel_size,),
            strides=(self.strides,),
            padding=padding,
            kernel_dilation=(self.dilation_rate,),
            use_bias=self.use_bias,
            kernel_init=self.kernel_init,
        )(x)
        return y if self.activation is None else self.activation(y)


class TimeDistributed(nn.Module):
    """Apply a layer to every time step of ``[batch, time, ...]`` independently (a per-step head)."""

    layer: nn.Module

    @nn.compact
    def __call__(self, x):
        if x.ndim < 3:
            raise InputError(
                f"TimeDistributed needs [batch, time, ...] inputs, got shape {x.shape}"
            )
        batch, time = x.shape[:2]
        y = self.layer(x.reshape((batch * time,) + x.shape[2:]))
        return y.reshape((batch, time) + y.shape[1:])


class Flatten(nn.Module):
    """``[batch, ...] -> [batch, prod(...)]``."""

    @nn.compact
    def __call__(self, x):
        return x.reshape(x.shape[0], -1)


class RepeatVector(nn.Module):
    """``[batch, features] -> [batch, n, features]``: feed one vector at every step of a decoder."""

    n: int

    @nn.compact
    def __call__(self, x):
        if x.ndim != 2:
            raise InputError(f"RepeatVector needs [batch, features] inputs, got shape {x.shape}")
        return jnp.broadcast_to(x[:, None, :], (x.shape[0], self.n, x.shape[1]))


class Activation(nn.Module):
    """An elementwise function as a layer (for ``Sequential``)."""

    fn: Callable[[jax.Array], jax.Array]

    @nn.compact
    def __call__(self, x):
        return self.fn(x)


def takes_train(layer: nn.Module) -> bool:
    """Whether a module's ``__call__`` takes a ``train`` flag."""
    return "train" in inspect.signature(type(layer).__call__).parameters


class Sequential(nn.Module):
    """Layers applied in order, like ``keras.Sequential``; ``train`` goes to the layers that take it."""

    layers: Sequence[nn.Module]

    @nn.compact
    def __call__(self, x, *, train: bool = False):
        for layer in self.layers:
            x = layer(x, train=train) if takes_train(layer) else layer(x)
        return x
