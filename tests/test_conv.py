"""Convolutions against a direct NumPy convolution; causality and receptive fields."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxseq.conv import CHAPTER_DILATIONS, GatedWaveNet, WaveNet, receptive_field
from jaxseq.errors import InputError
from jaxseq.layers import Conv1D
from tests import reference
from tests.conftest import random_params


@pytest.mark.parametrize(
    ("kernel", "stride", "dilation", "padding"),
    [
        (4, 2, 1, "valid"),
        (2, 1, 4, "causal"),
        (3, 1, 2, "same"),
        (3, 3, 1, "valid"),
        (1, 1, 1, "valid"),
    ],
)
def test_conv1d_matches_direct_convolution(kernel, stride, dilation, padding, rng):
    layer = Conv1D(5, kernel, strides=stride, padding=padding, dilation_rate=dilation)
    x = rng.normal(size=(2, 17, 3)).astype(np.float32)
    variables = random_params(layer.init(jax.random.PRNGKey(0), x), rng)
    p = variables["params"]
    expected = reference.conv1d(
        x.astype(np.float64),
        np.asarray(p["kernel"], np.float64),
        np.asarray(p["bias"], np.float64),
        stride,
        dilation,
        padding,
    )
    np.testing.assert_allclose(layer.apply(variables, x), expected, rtol=1e-5, atol=1e-5)


def _influence(apply, x, t_out):
    """The input steps whose change changes output step t_out."""
    base = apply(x)
    seen = []
    for t in range(x.shape[1]):
        changed = apply(x.at[:, t].add(1.0))
        if not np.allclose(changed[:, t_out], base[:, t_out], atol=0, rtol=0):
            seen.append(t)
    return seen


@pytest.mark.parametrize(
    "module", [Conv1D(4, 3, padding="causal", dilation_rate=2), WaveNet(), GatedWaveNet()]
)
def test_causal_layers_never_see_the_future(module, rng):
    x = jnp.asarray(rng.normal(size=(2, 40, 1)).astype(np.float32))
    variables = module.init(jax.random.PRNGKey(1), x)
    apply = jax.jit(module.apply)
    base = apply(variables, x)
    for t in (0, 13, 39):
        changed = apply(variables, x.at[:, t].add(1.0))
        np.testing.assert_array_equal(changed[:, :t], base[:, :t])
        assert not np.allclose(changed[:, t], base[:, t])


def test_chapter_wavenet_sees_exactly_31_steps(rng):
    assert receptive_field(2, CHAPTER_DILATIONS) == 31
    model = WaveNet()
    x = jnp.asarray(rng.normal(size=(4, 50, 1)).astype(np.float32))
    variables = model.init(jax.random.PRNGKey(0), x)
    assert _influence(jax.jit(lambda z: model.apply(variables, z)), x, 49) == list(range(19, 50))


def test_gated_wavenet_receptive_field(rng):
    model = GatedWaveNet()
    x = jnp.asarray(rng.normal(size=(2, 50, 1)).astype(np.float32))
    variables = model.init(jax.random.PRNGKey(0), x)
    # The input convolution adds one step to the dilated stack's 31.
    assert _influence(jax.jit(lambda z: model.apply(variables, z)), x, 49) == list(range(18, 50))


def test_gated_unit_is_tanh_times_sigmoid_with_residual_and_skip(rng):
    from jaxseq.conv import GatedResidualBlock

    block = GatedResidualBlock(filters=3, dilation_rate=2)
    x = jnp.asarray(rng.normal(size=(1, 8, 3)).astype(np.float32))
    variables = random_params(block.init(jax.random.PRNGKey(0), x), rng)
    residual, skip = block.apply(variables, x)
    p = jax.tree_util.tree_map(lambda a: np.asarray(a, np.float64), variables["params"])
    ab = reference.conv1d(
        np.asarray(x, np.float64),
        p["gate"]["kernel"],
        p["gate"]["bias"],
        1,
        2,
        "causal",
    )
    gated = np.tanh(ab[..., :3]) / (1 + np.exp(-ab[..., 3:]))
    expected_skip = gated @ p["skip"]["kernel"][0] + p["skip"]["bias"]
    np.testing.assert_allclose(skip, expected_skip, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(residual, np.asarray(x) + expected_skip, rtol=1e-5, atol=1e-6)


def test_conv1d_errors():
    with pytest.raises(InputError, match="padding must be valid, same or causal, got 'full'"):
        Conv1D(2, 3, padding="full").init(jax.random.PRNGKey(0), jnp.ones((1, 5, 1)))
    with pytest.raises(InputError, match="needs at least 7 time steps with valid padding, got 5"):
        Conv1D(2, 4, dilation_rate=2).init(jax.random.PRNGKey(0), jnp.ones((1, 5, 1)))
    with pytest.raises(InputError, match=r"Conv1D inputs must be \[batch, time, channels\]"):
        Conv1D(2, 3).init(jax.random.PRNGKey(0), jnp.ones((5, 1)))


def test_flax_is_the_convolution_underneath():
    layer = Conv1D(2, 3)
    variables = layer.init(jax.random.PRNGKey(0), jnp.ones((1, 5, 1)))
    direct = nn.Conv(2, (3,), padding="VALID").apply(variables, jnp.ones((1, 5, 1)))
    np.testing.assert_allclose(layer.apply(variables, jnp.ones((1, 5, 1))), direct, rtol=1e-6)
