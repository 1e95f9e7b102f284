"""Probabilistic heads inside zoo models: shapes, non-crossing quantiles, loss in the frame."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxseq import models
from jaxseq.train import loss_fn


def _model(head, normalize="window"):
    return models.get("lstm_seq2vec", window=12, horizon=3, head=head, normalize=normalize)


def test_quantile_head_outputs_ordered_quantiles_and_median_point():
    model = _model((0.1, 0.5, 0.9))
    variables = model.init(jax.random.PRNGKey(0))
    x = jax.random.normal(jax.random.PRNGKey(1), (4, 12, 1)) * 5 + 100
    q = np.asarray(model.quantiles(variables, x))
    assert q.shape == (4, 3, 3)
    assert (np.diff(q, axis=-1) >= 0).all()
    np.testing.assert_allclose(np.asarray(model.apply(variables, x)), q[..., 1], rtol=1e-6)


def test_head_loss_is_the_pinball_loss_of_framed_targets():
    model = _model((0.1, 0.5, 0.9), normalize=None)
    variables = model.init(jax.random.PRNGKey(0))
    x = jax.random.normal(jax.random.PRNGKey(1), (4, 12, 1))
    y = jax.random.normal(jax.random.PRNGKey(2), (4, 3))
    loss, _ = loss_fn(model, variables["params"], {}, x, y, None)
    q = np.asarray(model.quantiles(variables, x))
    e = np.asarray(y)[..., None] - q
    tau = np.array([0.1, 0.5, 0.9])
    expected = np.mean(np.maximum(tau * e, (tau - 1) * e))
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)


def test_normal_head_scales_with_the_data():
    model = _model("normal")
    variables = model.init(jax.random.PRNGKey(0))
    x = jax.random.normal(jax.random.PRNGKey(1), (2, 12, 1))
    p1 = np.asarray(model.distribution(variables, x))
    p2 = np.asarray(model.distribution(variables, 10 * x + 3))
    np.testing.assert_allclose(p2[..., 0], 10 * p1[..., 0] + 3, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(p2[..., 1], 10 * p1[..., 1], rtol=1e-4)
    assert jnp.all(jnp.isfinite(model.quantiles(variables, x)))
