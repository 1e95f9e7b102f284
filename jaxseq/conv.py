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
    1x1 convolution to the outputs. ``[batch, time, features] -> [batch, time, outputs]``."""

    outputs: int = 10
    filters: int = 20
    kernel_size: int = 2
    dilations: Sequence[int] = CHAPTER_DILATIONS

    @nn.compact
    def __call__(self, x):
        for rate in self.dilations:
            x = Conv1D(
                self.filters,
                self.kernel_size,
                padding="causal",
                dilation_rate=rate,
                activation=nn.relu,
            )(x)
        return Conv1D(self.outputs, 1)(x)


class GatedResidualBlock(nn.Module):
    """One gated WaveNet block: ``g = tanh(a) * sigmoid(b)`` from a dilated causal convolution
    producing ``[a, b]``; a 1x1 convolution of ``g`` is both the skip output and the residual
    added to the input. Returns ``(residual, skip)``, each ``[batch, time, filters]``."""

    filters: int
    dilation_rate: int
    kernel_size: int = 2

    @nn.compact
    def __call__(self, x):
        ab = Conv1D(
            2 * self.filters, self.kernel_size, padding="causal", dilation_rate=self.dilation_rate
        )(x)
        a, b = jnp.split(ab, 2, axis=-1)
        gated = jnp.tanh(a) * jax.nn.sigmoid(b)
        skip = Conv1D(self.filters, 1)(gated)
        return x + skip, skip


class GatedWaveNet(nn.Module):
    """WaveNet with gated activation units, residual and skip connections (van den Oord et al.).

    A causal input convolution, then one :class:`GatedResidualBlock` per dilation; the sum of
    the skips goes through ReLU, a 1x1 ReLU convolution and a linear 1x1 convolution to the
    outputs (no softmax: this is regression). ``[batch, time, features] -> [batch, time, outputs]``.
    """

    outputs: int = 10
    filters: int = 16
    kernel_size: int = 2
    dilations: Sequence[int] = CHAPTER_DILATIONS

    @nn.compact
    def __call__(self, x):
        x = Conv1D(self.filters, self.kernel_size, padding="causal")(x)
        skips = []
        for rate in self.dilations:
            x, skip = GatedResidualBlock(self.filters, rate, self.kernel_size)(x)
            skips.append(skip)
        z = nn.relu(sum(skips))
        z = Conv1D(self.filters, 1, activation=nn.relu)(z)
        return Conv1D(self.outputs, 1)(z)
