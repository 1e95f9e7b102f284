"""The vmap'd evaluator against NumPy; baselines; iterative forecasting."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxseq import data, evaluate, models
from jaxseq.errors import InputError

SEQ = data.chapter_data("seq2seq", n_series=120)


@pytest.fixture(scope="module")
def replicas():
    model = models.get("gru_seq2seq")
    return model, jax.jit(jax.vmap(model.init))(jax.random.split(jax.random.PRNGKey(0), 3))


def test_evaluator_equals_numpy_mse_of_the_same_predictions(replicas):
    model, variables = replicas
    metrics = evaluate.evaluate_replicas(model, variables, SEQ.valid)
    preds = evaluate.predict_replicas(model, variables, SEQ.valid.X)
    assert preds.shape == (3, len(SEQ.valid), 50, 10)
    for k in range(3):
        diff = preds[k].astype(np.float64) - SEQ.valid.Y
        assert metrics["mse"][k] == pytest.approx(np.mean(diff**2), rel=1e-5)
        assert metrics["last_step_mse"][k] == pytest.approx(np.mean(diff[:, -1] ** 2), rel=1e-5)


def test_chunked_prediction_equals_one_batch(replicas):
    from jaxseq.train import predict

    model, variables = replicas
    one = jax.tree_util.tree_map(lambda v: v[0], variables)
    X = jnp.asarray(SEQ.train.X[:50])
    np.testing.assert_allclose(
        predict(model, one, X, batch_size=16), model.apply(one, X), rtol=1e-6, atol=1e-7
    )


def test_summary_statistics():
    s = evaluate.summarize([1.0, 2.0, 4.0])
    assert s == {
        "mean": pytest.approx(7 / 3),
        "std": pytest.approx(np.std([1, 2, 4])),
        "min": 1.0,
        "max": 4.0,
    }


def test_baselines():
    X = np.arange(12.0).reshape(2, 6, 1)
    np.testing.assert_array_equal(evaluate.naive_forecast(X, 3), [[5, 5, 5], [11, 11, 11]])
    # least squares recovers an exactly linear rule
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(200, 5, 1))
    Y = Xs[:, :, 0] @ np.array([[0.5], [-1.0], [0.0], [2.0], [0.1]]) + 0.3
    fit = evaluate.linear_least_squares(data.Split(Xs, Y))
    np.testing.assert_allclose(fit(Xs), Y, atol=1e-9)


def test_iterative_forecast_grow_equals_the_notebooks_loop_and_slide_keeps_the_window():
    model = models.get("deep_rnn_dense")
    variables = jax.vmap(model.init)(jax.random.split(jax.random.PRNGKey(1), 2))
    X = jnp.asarray(SEQ.valid.X[:5])
    grow = evaluate.forecast_iterative_replicas(model, variables, X, 4)
    slide = evaluate.forecast_iterative_replicas(model, variables, X, 4, window="slide")
    apply = jax.jit(model.apply)
    for k in range(2):
        v = jax.tree_util.tree_map(lambda a, k=k: a[k], variables)
        x_grow, x_slide = X, X
        for step in range(4):
            y = apply(v, x_grow)
            np.testing.assert_allclose(grow[k, :, step], y[:, 0], rtol=1e-5, atol=1e-6)
            x_grow = jnp.concatenate([x_grow, y[:, None]], axis=1)
            y = apply(v, x_slide)
            np.testing.assert_allclose(slide[k, :, step], y[:, 0], rtol=1e-5, atol=1e-6)
            x_slide = jnp.concatenate([x_slide[:, 1:], y[:, None]], axis=1)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: evaluate.forecast_iterative(models.get("lstm_seq2seq"), None, SEQ.valid.X, 3),
            "needs a one_step model, 'lstm_seq2seq' is seq2seq",
        ),
        (
            lambda: evaluate.forecast_iterative(models.get("linear"), None, SEQ.valid.X, 3),
            "cannot read a growing window",
        ),
        (
            lambda: evaluate.forecast_iterative(models.get("deep_rnn_dense"), None, SEQ.valid.X, 0),
            "steps must be an integer >= 1",
        ),
        (
            lambda: evaluate.forecast_iterative(
                models.get("deep_rnn_dense"), None, SEQ.valid.X, 2, window="up"
            ),
            "window must be 'grow' or 'slide'",
        ),
    ],
)
def test_forecast_errors(call, message):
    with pytest.raises(InputError, match=message):
        call()


@pytest.mark.parametrize("backend, chunk", [("cpu", 256), ("gpu", 2048), ("tpu", 2048)])
def test_default_chunk_per_backend_and_both_branches_agree(replicas, monkeypatch, backend, chunk):
    """The one backend branch: 256 windows on a CPU, 2,048 elsewhere; the evaluator gives the
    same metrics either way."""
    from jaxseq import train

    monkeypatch.setattr(train.jax, "default_backend", lambda: backend)
    assert train.default_chunk() == chunk
    model, variables = replicas
    one = jax.tree_util.tree_map(lambda v: v[0], variables)
    X, Y = jnp.asarray(SEQ.valid.X[:300]), jnp.asarray(SEQ.valid.Y[:300])
    got = train.evaluate_loss(model, one, X, Y)  # traced now, with the patched backend
    whole = train.evaluate_loss(model, one, X, Y, batch_size=300)
    np.testing.assert_allclose(got["mse"], whole["mse"], rtol=1e-5)


def test_a_linear_head_solved_in_closed_form_is_where_gradient_descent_ends():
    """Raw windows: the closed form is least squares on the flattened window. Normalised
    windows and a hybrid's base: the gradient of the model's own training loss vanishes at the
    closed form (its minimum)."""
    from jaxseq import hybrid, train

    ds = data.chapter_data("multi_step", n_series=200)
    plain = models.get("linear_multi")
    solved = evaluate.solve_linear_head(plain, ds.train)
    np.testing.assert_allclose(
        plain.apply(solved, ds.valid.X),
        evaluate.linear_least_squares(ds.train)(ds.valid.X),
        rtol=1e-3,
        atol=1e-4,
    )
    series = np.sin(np.arange(300) / 5.0) + 0.05 * np.random.default_rng(0).normal(size=300)
    base = hybrid.base_forecasts("seasonal_naive", series, 5, season=31, fit_end=200)
    X, Y = data.windows_at(
        series[:, None].astype(np.float32), np.arange(40, 200), 30, 5, "multi_step", [0], base=base
    )
    for normalize in (None, "window"):
        model = models.get(
            "linear_multi",
            window=30,
            features=6,
            horizon=5,
            future=1,
            base=True,
            normalize=normalize,
        )
        solved = evaluate.solve_linear_head(model, data.Split(X, Y))
        grads = jax.grad(lambda p, m=model: train.loss_fn(m, p, {}, X, Y, None)[0])(
            solved["params"]
        )
        assert max(float(np.abs(g).max()) for g in jax.tree_util.tree_leaves(grads)) < 1e-4
    with pytest.raises(InputError, match="is not one linear head"):
        evaluate.solve_linear_head(models.get("rnn_multi"), ds.train)
