import os

import jax
import numpy as np
import pytest

from jaxseq.app import compile_cache

# Compiled programs are cached on disk across test runs (XLA compiles dominate this suite's
# time on a CPU); the cache changes nothing but speed. JAXSEQ_TEST_CACHE="" turns it off.
_cache = os.environ.get("JAXSEQ_TEST_CACHE", os.path.expanduser("~/.cache/jaxseq/xla-tests"))
if _cache:
    jax.config.update("jax_compilation_cache_dir", _cache)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    # bounded, hence locked: two workers compiling one program must not read a half-written
    # entry (XLA aborts the reader); jaxseq.app.compile_cache says why
    compile_cache.bound(_cache)
os.environ["JAXSEQ_CACHE"] = _cache or "off"  # the command line run in-process uses the same
os.environ.pop("JAX_COMPILATION_CACHE_DIR", None)


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
