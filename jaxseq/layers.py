"""Feed-forward layers with the chapter's (Keras') defaults, built on flax.linen.

Flax supplies the layers; this module only sets the defaults the book's models were trained
with (glorot-uniform kernels, Keras' norm epsilons and momentum), names them as Keras does,
and adds the two shape helpers Keras has and flax does not (``Flatten``, ``RepeatVector``),
plus ``Sequential``, which passes ``train`` to the layers that take it.

Parameters are laid out as Keras lays out its weights: a wrapper adds no level of its own.
``Conv1D`` holds ``{kernel [k, in, filters], bias [filters]}``, ``BatchNorm`` holds params
``{scale, bias}`` and batch_stats ``{mean, var}``, ``TimeDistributed(layer)`` holds ``layer``'s
parameters as they are, and ``Sequential`` keeps each layer's under the layer's ``name``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from functools import partial

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxseq.errors import InputError, check_positive_int

glorot_uniform = nn.initializers.glorot_uniform

#: ``nn.Dense`` with Keras' glorot-uniform kernel (flax's own default is lecun-normal).
Dense = partial(nn.Dense, kernel_init=glorot_uniform())

#: Keras' ``LayerNormalization`` defaults: epsilon 1e-3, exact (two-pass) variance.
LayerNorm = partial(nn.LayerNorm, epsilon=1e-3, use_fast_variance=False)


class BatchNorm(nn.Module):
    """Keras' ``BatchNormalization`` (momentum 0.99, epsilon 1e-3) over every axis but the last.

    Between recurrent layers it normalises ``[batch, time, features]`` over batch and time.
    Batch statistics are used and updated when ``train``; the running averages otherwise.
    Variables: params ``{scale, bias}``, batch_stats ``{mean, var}``, each ``[features]``.
    """

    momentum: float = 0.99
    epsilon: float = 1e-3

    def setup(self):
        self.norm = nn.BatchNorm(
            momentum=self.momentum, epsilon=self.epsilon, use_fast_variance=False
        )
        nn.share_scope(self, self.norm)  # flax's variables sit directly in this layer's

    def __call__(self, x, *, train: bool = False):
        return self.norm(x, use_running_average=not train)


class Dropout(nn.Module):
    """``nn.Dropout`` driven by the ``train`` flag (needs a ``'dropout'`` PRNG stream when training)."""

    rate: float

    @nn.compact
    def __call__(self, x, *, train: bool = False):
        return nn.Dropout(self.rate, deterministic=not train)(x)


def conv1d_as_matmul(
    lhs,
    rhs,
    window_strides,
    padding,
    lhs_dilation=None,
    rhs_dilation=None,
    dimension_numbers=None,
    feature_group_count=1,
    precision=None,
    **kwargs,
):
    """``lax.conv_general_dilated`` for 1-D channel-last convolutions, as one matmul.

    The kernel's taps are gathered side by side (``[batch, out_steps, kernel * channels]``) and
    multiplied by the kernel reshaped to ``[kernel * channels, filters]``. Why by hand: at the
    chapter's sizes XLA's CPU convolution runs 5-20x slower than one matmul, and under ``vmap``
    over parameter replicas it becomes a grouped convolution, slower still; a batched matmul is
    fast on every backend. Flax's ``nn.Conv`` still owns the parameters and padding; anything
    but a plain 1-D convolution is handed to ``lax.conv_general_dilated`` unchanged.
    """
    plain = (
        lhs.ndim == 3 and feature_group_count == 1 and all(d == 1 for d in (lhs_dilation or (1,)))
    )
    if not plain:
        return jax.lax.conv_general_dilated(
            lhs,
            rhs,
            window_strides,
            padding,
            lhs_dilation=lhs_dilation,
            rhs_dilation=rhs_dilation,
            dimension_numbers=dimension_numbers,
            feature_group_count=feature_group_count,
            precision=precision,
            **kwargs,
        )
    (stride,) = window_strides
    dilation = (rhs_dilation or (1,))[0]
    taps, channels, filters = rhs.shape
    span = dilation * (taps - 1) + 1
    if isinstance(padding, str):
        padding = jax.lax.padtype_to_pads(lhs.shape[1:2], (span,), (stride,), padding)
    x = jnp.pad(lhs, ((0, 0), tuple(padding[0]), (0, 0)))
    steps = (x.shape[1] - span) // stride + 1
    end = (steps - 1) * stride + 1
    columns = [x[:, k * dilation : k * dilation + end : stride] for k in range(taps)]
    columns = columns[0] if taps == 1 else jnp.concatenate(columns, axis=-1)
    return jnp.dot(columns, rhs.reshape(taps * channels, filters), precision=precision)


class Conv1D(nn.Module):
    """A 1-D convolution over ``[batch, time, channels]`` with Keras' arguments.

    ``padding`` is ``"valid"``, ``"same"`` or ``"causal"`` (left padding of
    ``dilation_rate * (kernel_size - 1)`` steps, so output ``t`` sees inputs ``<= t`` only).
    Output length: ``time`` for same/causal with stride 1; ``(time - span) // strides + 1`` for
    valid, where ``span = dilation_rate * (kernel_size - 1) + 1``. Parameters: flax ``nn.Conv``'s
    ``{kernel [kernel_size, channels, filters], bias [filters]}``, held directly by this layer.
    """

    filters: int
    kernel_size: int
    strides: int = 1
    padding: str = "valid"
    dilation_rate: int = 1
    activation: Callable | None = None
    use_bias: bool = True
    kernel_init: Callable = glorot_uniform()

    def setup(self):
        self.conv = nn.Conv(
            self.filters,
            (self.kernel_size,),
            strides=(self.strides,),
            padding=self.padding.upper(),
            kernel_dilation=(self.dilation_rate,),
            use_bias=self.use_bias,
            kernel_init=self.kernel_init,
            conv_general_dilated=conv1d_as_matmul,
        )
        nn.share_scope(self, self.conv)  # flax's kernel and bias sit directly in this layer

    def __call__(self, x):
        if x.ndim != 3:
            raise InputError(f"Conv1D inputs must be [batch, time, channels], got shape {x.shape}")
        check_positive_int("Conv1D filters", self.filters)
        check_positive_int("Conv1D kernel_size", self.kernel_size)
        check_positive_int("Conv1D strides", self.strides)
        check_positive_int("Conv1D dilation_rate", self.dilation_rate)
        if self.has_variable("params", "kernel"):  # before flax's own, deeper shape error
            kernel = self.get_variable("params", "kernel")
            if kernel.shape[1] != x.shape[-1]:
                raise InputError(
                    f"Conv1D {self.name}: inputs have {x.shape[-1]} channels but its kernel expects "
                    f"{kernel.shape[1]} (input shape {tuple(x.shape)})"
                )
        padding = self.padding.upper()
        if padding not in ("VALID", "SAME", "CAUSAL"):
            raise InputError(f"Conv1D padding must be valid, same or causal, got {self.padding!r}")
        span = self.dilation_rate * (self.kernel_size - 1) + 1
        if padding == "VALID" and x.shape[1] < span:
            raise InputError(
                f"Conv1D with kernel {self.kernel_size} and dilation {self.dilation_rate} needs at "
                f"least {span} time steps with valid padding, got {x.shape[1]}"
            )
        y = self.conv(x)
        return y if self.activation is None else self.activation(y)


class TimeDistributed(nn.Module):
    """Apply a layer to every time step of ``[batch, time, ...]`` independently (a per-step head).

    The parameters are ``layer``'s own, held directly by this wrapper (as in Keras):
    ``TimeDistributed(Dense(n))`` has ``{kernel, bias}``."""

    layer: nn.Module

    def setup(self):
        nn.share_scope(self, self.layer)

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


def takes_lengths(layer: nn.Module) -> bool:
    """Whether a module's ``__call__`` takes per-sequence ``lengths`` (recurrent layers)."""
    return "lengths" in inspect.signature(type(layer).__call__).parameters


class Sequential(nn.Module):
    """Layers applied in order, like ``keras.Sequential``.

    ``train`` goes to the layers that take it; ``lengths`` (per-sequence valid steps, right
    padding) to the recurrent layers, when every layer supports padding (see
    :meth:`supports_lengths`).

    Each layer's variables live under the layer's own ``name``: ``Sequential([RNN(cell, 20,
    name="rnn_0"), Dense(1, name="head")])`` has params ``{rnn_0: {cell: ...}, head: {kernel,
    bias}}``. Give every layer with parameters a name (names must differ); a layer without one
    is kept under ``layers_{i}``, ``i`` its position in ``layers``.
    """

    layers: Sequence[nn.Module]

    #: flax keeps the ``name`` a layer was built with instead of naming it after this attribute.
    preserve_adopted_names = True

    def supports_lengths(self) -> bool:
        """True when padded inputs give the same answers as unpadded ones: recurrent and
        per-step layers only (a convolution or a flatten would mix padding into valid steps)."""
        return any(takes_lengths(layer) for layer in self.layers) and all(
            takes_lengths(layer) or _is_per_step(layer) for layer in self.layers
        )

    @nn.compact
    def __call__(self, x, *, lengths=None, train: bool = False):
        if lengths is not None and not self.supports_lengths():
            raise InputError("lengths need a model of recurrent and per-step layers only")
        for layer in self.layers:
            kwargs = {"train": train} if takes_train(layer) else {}
            if lengths is not None and takes_lengths(layer):
                kwargs["lengths"] = lengths
                if not getattr(layer, "return_sequences", True):
                    lengths = None  # the sequence has become one vector per example
            x = layer(x, **kwargs)
        return x


def _is_per_step(layer) -> bool:
    if isinstance(layer, BatchNorm):
        return True  # at evaluation it is a per-feature affine map
    return isinstance(layer, nn.Dense | TimeDistributed | Activation | nn.LayerNorm)
