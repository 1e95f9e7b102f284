"""Convolutional sequence stacks: the chapter's WaveNet and a gated WaveNet.

Both are causal: output ``t`` depends on inputs ``<= t`` only. A stack of causal convolutions of
kernel ``k`` and dilations ``d_i`` sees ``1 + (k - 1) * sum(d_i)`` steps (the chapter's: 31).
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxseq.layers import Conv1D

CHAPTER_DILATIONS = (1, 2, 4, 8) * 2


def receptive_field(kernel_size: int, dilations: Sequence[int]) -> int:
    """Steps a stack of causal convolutions sees, the current one included."""
    return 1 + (kernel_size - 1) * sum(dilations)


class WaveNet(nn.Module):
    """The chapter's simplified WaveNet: causal ReLU convolutions with doubling dilation, then a
    1x1 convolution to the outputs. ``[batch, time, features] -> [batch, time, outputs]``.

    Parameters (:meth:`layer_names`, in order): ``conv_0`` ... ``conv_{n-1}``, one per dilation,
    then ``head``; each a :class:`~jaxseq.layers.Conv1D`'s ``{kernel [k, in, out], bias [out]}``.
    """

    outputs: int = 10
    filters: int = 20
    kernel_size: int = 2
    dilations: Sequence[int] = CHAPTER_DILATIONS

    def layer_names(self) -> list[str]:
        """The parameter keys of the convolutions, input to output."""
        return [f"conv_{i}" for i in range(len(self.dilations))] + ["head"]

    @nn.compact
    def __call__(self, x):
        *stack, head = self.layer_names()
        for rate, name in zip(self.dilations, stack, strict=True):
            x = Conv1D(
                self.filters,
                self.kernel_size,
                padding="causal",
                dilation_rate=rate,
                activation=nn.relu,
                name=name,
            )(x)
        return Conv1D(self.outputs, 1, name=head)(x)


class GatedResidualBlock(nn.Module):
    """One gated WaveNet block: ``g = tanh(a) * sigmoid(b)`` from a dilated causal convolution
    producing ``[a, b]``; a 1x1 convolution of ``g`` is both the skip output and the residual
    added to the input. Returns ``(residual, skip)``, each ``[batch, time, filters]``.

    Parameters: ``gate`` (the dilated convolution, ``kernel [k, filters, 2 * filters]``) and
    ``skip`` (the 1x1 convolution, ``kernel [1, filters, filters]``), each with its ``bias``."""

    filters: int
    dilation_rate: int
    kernel_size: int = 2

    @nn.compact
    def __call__(self, x):
        ab = Conv1D(
            2 * self.filters,
            self.kernel_size,
            padding="causal",
            dilation_rate=self.dilation_rate,
            name="gate",
        )(x)
        a, b = jnp.split(ab, 2, axis=-1)
        gated = jnp.tanh(a) * jax.nn.sigmoid(b)
        skip = Conv1D(self.filters, 1, name="skip")(gated)
        return x + skip, skip


class GatedWaveNet(nn.Module):
    """WaveNet with gated activation units, residual and skip connections (van den Oord et al.).

    A causal input convolution, then one :class:`GatedResidualBlock` per dilation; the sum of
    the skips goes through ReLU, a 1x1 ReLU convolution and a linear 1x1 convolution to the
    outputs (no softmax: this is regression). ``[batch, time, features] -> [batch, time, outputs]``.

    Parameters: ``conv_in`` (the input convolution), ``block_0`` ... ``block_{n-1}`` (one per
    dilation, each ``{gate, skip}``), ``conv_out`` (the 1x1 ReLU convolution) and ``head``.
    """

    outputs: int = 10
    filters: int = 16
    kernel_size: int = 2
    dilations: Sequence[int] = CHAPTER_DILATIONS

    @nn.compact
    def __call__(self, x):
        x = Conv1D(self.filters, self.kernel_size, padding="causal", name="conv_in")(x)
        skips = []
        for i, rate in enumerate(self.dilations):
            x, skip = GatedResidualBlock(self.filters, rate, self.kernel_size, name=f"block_{i}")(x)
            skips.append(skip)
        z = nn.relu(sum(skips))
        z = Conv1D(self.filters, 1, activation=nn.relu, name="conv_out")(z)
        return Conv1D(self.outputs, 1, name="head")(z)
