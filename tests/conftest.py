import jax
import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def random_params(params, rng, scale=0.5):
    """Replace every leaf by non-zero random values (zero biases hide layout mistakes)."""
    return jax.tree_util.tree_map(
        lambda p: (rng.normal(size=p.shape) * scale).astype(np.float32), params
    )


def to_numpy64(tree):
    return jax.tree_util.tree_map(lambda p: np.asarray(p, np.float64), tree)
