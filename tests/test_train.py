"""Training: the optimiser against a NumPy Adam, compiled epochs, replicas, sweeps, resume."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxseq import data, models, train
from jaxseq.errors import InputError

SMALL = data.chapter_data("one_step", n_series=200)  # 140 train (4 full batches of 32 + 12)
SMALL_SEQ = data.chapter_data("seq2seq", n_series=100)


def _numpy_adam(params, grads, m, v, t, lr, b1=0.9, b2=0.999, eps=1e-7):
    m = b1 * m + (1 - b1) * grads
    v = b2 * v + (1 - b2) * grads**2
    mhat = m / (1 - b1**t)
    vhat = v / (1 - b2**t)
    return params - lr * mhat / (np.sqrt(vhat) + eps), m, v


def test_train_step_is_mse_gradient_then_keras_adam():
    """Linear model: the MSE gradient in closed form, then Adam with epsilon 1e-7, by hand."""
    model = models.get("linear")
    opt = train.make_optimizer(0.01)
    state = train.init_state(model, opt, jax.random.PRNGKey(0))
    variables = state.variables
    X, Y = SMALL.train.X[:32], SMALL.train.Y[:32]
    W = np.asarray(variables["params"]["head"]["kernel"], np.float64)
    b = np.asarray(variables["params"]["head"]["bias"], np.float64)
    m = {"W": np.zeros_like(W), "b": np.zeros_like(b)}
    v = {"W": np.zeros_like(W), "b": np.zeros_like(b)}
    step = jax.jit(lambda s, x, y: train.train_step(model, opt, s, x, y, None))
    for t in (1, 2, 3):
        Xf = X.reshape(32, -1).astype(np.float64)
        err = Xf @ W + b - Y
        loss = np.mean(err**2)
        gW, gb = 2 * Xf.T @ err / err.size, 2 * err.sum(0) / err.size
        W, m["W"], v["W"] = _numpy_adam(W, gW, m["W"], v["W"], t, 0.01)
        b, m["b"], v["b"] = _numpy_adam(b, gb, m["b"], v["b"], t, 0.01)
        state, got_loss = step(state, X, Y)
        assert float(got_loss) == pytest.approx(loss, rel=1e-5)
        p = state.variables["params"]["head"]
        np.testing.assert_allclose(p["kernel"], W, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(p["bias"], b, rtol=1e-4, atol=1e-6)


def test_train_step_in_bfloat16_keeps_float32_parameters_and_statistics():
    """compute_dtype: the model runs in bf16, the state (BatchNorm statistics too) stays float32
    and the step moves the parameters as the float32 step does, within bf16's precision."""
    model = models.get("rnn_bn_seq2seq")
    opt = train.make_optimizer(1e-3)
    state = train.init_state(model, opt, jax.random.PRNGKey(0))
    X, Y = SMALL_SEQ.train.X[:16], SMALL_SEQ.train.Y[:16]
    f32, loss32 = train.train_step(model, opt, state, X, Y, None)
    bf16, loss16 = jax.jit(
        lambda s: train.train_step(model, opt, s, X, Y, None, compute_dtype=jnp.bfloat16)
    )(state)
    assert loss16.dtype == jnp.float32 and float(loss16) == pytest.approx(float(loss32), rel=0.05)
    assert "batch_stats" in bf16.variables
    for a, b in zip(jax.tree.leaves(bf16), jax.tree.leaves(f32), strict=True):
        assert a.dtype == b.dtype
    step32 = jax.tree.map(lambda a, b: a - b, f32.variables["params"], state.variables["params"])
    step16 = jax.tree.map(lambda a, b: a - b, bf16.variables["params"], state.variables["params"])
    flat32, flat16 = (
        np.concatenate([np.ravel(v) for v in jax.tree.leaves(t)]) for t in (step32, step16)
    )
    assert np.corrcoef(flat32, flat16)[0, 1] > 0.9


def test_clipping_changes_the_update_of_an_exploding_gradient():
    """Adam normalises magnitudes, so compare the second moment after one step: clipped
    gradients leave v equal to (1 - b2) * clip^2 / n per coordinate."""
    grads = {"w": jnp.full((4,), 1e6)}
    params = {"w": jnp.zeros(4)}
    chain = train.make_optimizer(0.1, clip_norm=2.0, flatten=False)  # state laid out per leaf
    _, state = chain.update(grads, chain.init(params), params)
    nu = state.inner_state[1][0].nu["w"]
    np.testing.assert_allclose(nu, 0.001 * (2.0 / 2) ** 2, rtol=1e-5)  # each coord clipped to 1
    off = train.make_optimizer(0.1, clip_norm=None, flatten=False)
    _, state = off.update(grads, off.init(params), params)
    np.testing.assert_allclose(state.inner_state[0].nu["w"], 0.001 * 1e12, rtol=1e-5)


@pytest.mark.parametrize("clip_norm", [None, 0.5])
def test_flattened_optimizer_makes_the_same_updates(clip_norm, rng):
    """One flat vector for all parameters is a layout, not a different optimiser: five steps of
    Adam (with and without clipping) equal the per-leaf updates."""
    params = {
        "a": jnp.asarray(rng.normal(size=(3, 4)), jnp.float32),
        "b": {"c": jnp.asarray(rng.normal(size=(5,)), jnp.float32)},
    }
    flat = train.make_optimizer(0.01, clip_norm=clip_norm)
    per_leaf = train.make_optimizer(0.01, clip_norm=clip_norm, flatten=False)
    p1, p2, s1, s2 = params, params, flat.init(params), per_leaf.init(params)
    for _ in range(5):
        grads = jax.tree_util.tree_map(lambda p: jnp.sin(3 * p) + p**2, p1)
        u1, s1 = flat.update(grads, s1, p1)
        u2, s2 = per_leaf.update(grads, s2, p2)
        jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, 1e-6, 1e-7), u1, u2)
        p1, p2 = optax.apply_updates(p1, u1), optax.apply_updates(p2, u2)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, 1e-6, 1e-7), p1, p2)


def test_epoch_takes_every_minibatch_and_the_short_last_one():
    model = models.get("linear")
    trainer = train.Trainer(model, batch_size=32)
    result = trainer.fit(SMALL, seeds=1, epochs=2)
    count = result.state.opt_state.inner_state[0].count  # adam's step count
    assert int(np.asarray(count)[0]) == 2 * 5  # 140 samples: 4 x 32 + 12, per epoch


def test_epoch_loss_is_the_sample_weighted_mean_of_batch_losses():
    model = models.get("linear")
    opt = train.make_optimizer(1e-3)
    variables = model.init(jax.random.PRNGKey(0))
    state = train.TrainState(variables, opt.init(variables["params"]))
    key = jax.random.PRNGKey(5)
    split = data.Split(jnp.asarray(SMALL.train.X), jnp.asarray(SMALL.train.Y))
    _, metrics = train.run_epoch(model, opt, 32, state, key, split, None)
    # Redo by hand with the same permutation
    perm = np.asarray(jax.random.permutation(jax.random.split(key)[0], 140))
    X, Y = SMALL.train.X[perm], SMALL.train.Y[perm]
    losses, sizes = [], []
    s = state
    for start in range(0, 140, 32):
        s, loss = train.train_step(
            model, opt, s, X[start : start + 32], Y[start : start + 32], None
        )
        losses.append(float(loss))
        sizes.append(len(X[start : start + 32]))
    assert float(metrics["loss"]) == pytest.approx(np.average(losses, weights=sizes), rel=1e-5)


@pytest.fixture(scope="module")
def two_replicas():
    trainer = train.Trainer(models.get("lstm_seq2seq"), batch_size=16)
    return trainer.fit(SMALL_SEQ, seeds=[3, 7], epochs=2)


def test_replica_equals_its_single_seed_run(two_replicas):
    single = train.Trainer(models.get("lstm_seq2seq"), batch_size=16).fit(
        SMALL_SEQ, seeds=[7], epochs=2
    )
    jax.tree_util.tree_map(
        lambda a, b: np.testing.assert_allclose(a[1], b[0], rtol=2e-4, atol=2e-6),
        two_replicas.state.variables,
        single.state.variables,
    )
    np.testing.assert_allclose(
        two_replicas.history.curve("val_mse")[:, 1],
        single.history.curve("val_mse")[:, 0],
        rtol=1e-4,
    )


def test_replicas_differ_and_training_lowers_the_loss(two_replicas):
    curve = two_replicas.history.curve("loss")  # [epochs, replicas]
    assert curve.shape == (2, 2)
    assert (curve[-1] < curve[0]).all()
    a, b = (
        jax.tree_util.tree_map(lambda v, i=i: v[i], two_replicas.state.variables) for i in (0, 1)
    )
    assert not np.allclose(
        a["params"]["rnn_0"]["cell"]["kernel"], b["params"]["rnn_0"]["cell"]["kernel"]
    )


def test_learning_rate_sweep_trains_each_rate_as_its_own_run():
    model = models.get("linear")
    sweep = train.Trainer(model, learning_rate=[1e-3, 3e-2]).fit(SMALL, seeds=[0, 0], epochs=1)
    for i, rate in enumerate([1e-3, 3e-2]):
        alone = train.Trainer(model, learning_rate=rate).fit(SMALL, seeds=[0], epochs=1)
        np.testing.assert_allclose(
            sweep.state.variables["params"]["head"]["kernel"][i],
            alone.state.variables["params"]["head"]["kernel"][0],
            rtol=1e-5,
            atol=1e-7,
        )


def test_clip_norm_sweep_and_schedule_are_accepted():
    model = models.get("linear")
    r = train.Trainer(model, learning_rate=1e-2, clip_norm=[0.01, 10.0]).fit(
        SMALL, seeds=[1, 1], epochs=1
    )
    k = r.state.variables["params"]["head"]["kernel"]
    assert not np.allclose(k[0], k[1])  # a tight threshold changes the run
    schedule = optax.exponential_decay(1e-2, transition_steps=5, decay_rate=0.5)
    r = train.Trainer(model, learning_rate=schedule).fit(SMALL, seeds=2, epochs=1)
    assert np.isfinite(r.history.curve("loss")).all()


def test_trainers_of_the_same_model_and_settings_share_one_compiled_epoch():
    model = models.get("linear")
    first = train.Trainer(model, learning_rate=np.float32(0.01)).epoch_fn()
    assert train.Trainer(model, learning_rate=np.float32(0.01)).epoch_fn() is first
    assert train.Trainer(model, learning_rate=[np.float32(0.01), 0.5]).epoch_fn() is first
    assert train.Trainer(model, learning_rate=0.02).epoch_fn() is not first
    assert train.Trainer(model, batch_size=16).epoch_fn() is not first
    assert train.Trainer(model, clip_norm=1.0).epoch_fn() is not first
    assert train.Trainer(models.get("linear_multi")).epoch_fn() is not first


def test_resumed_run_ends_where_an_uninterrupted_run_ends():
    model = models.get("linear")
    full = train.Trainer(model).fit(SMALL, seeds=2, epochs=3)
    trainer = train.Trainer(model)
    first = trainer.fit(SMALL, seeds=2, epochs=1)
    rest = trainer.fit(SMALL, seeds=2, epochs=2, state=first.state, start_epoch=1)
    jax.tree_util.tree_map(
        np.testing.assert_array_equal, full.state.variables, rest.state.variables
    )


def test_batchnorm_statistics_are_updated_in_training():
    ds = data.chapter_data("seq2seq", n_series=60)
    r = train.Trainer(models.get("rnn_bn_seq2seq")).fit(ds, seeds=1, epochs=1)
    stats = jax.tree_util.tree_leaves_with_path(r.state.variables["batch_stats"])
    means = [v for path, v in stats if jax.tree_util.keystr(path).endswith("['mean']")]
    assert means and not any(np.allclose(mean, 0.0) for mean in means)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: train.make_optimizer(-0.1), "learning_rate must be a positive number"),
        (lambda: train.make_optimizer(1e-3, clip_norm=0.0), "clip_norm must be > 0 or None"),
        (
            lambda: train.Trainer(models.get("linear"), batch_size=0),
            "batch_size must be an integer >= 1",
        ),
        (
            lambda: train.Trainer(models.get("linear")).fit(SMALL, seeds=0),
            "seeds must be an integer >= 1",
        ),
        (
            lambda: train.Trainer(models.get("linear")).fit(SMALL, epochs=0),
            "epochs must be an integer >= 1",
        ),
        (
            lambda: train.Trainer(models.get("lstm_seq2seq")).fit(SMALL),
            "is trained on seq2seq targets, the data set holds one_step",
        ),
        (
            lambda: train.Trainer(models.get("linear"), learning_rate=[1e-3, 1e-2]).fit(
                SMALL, seeds=3
            ),
            r"learning_rate must be a number or one per replica \(3\)",
        ),
    ],
)
def test_training_errors(make, message):
    with pytest.raises(InputError, match=message):
        make()


@pytest.mark.parametrize(
    "name", ["lstm_seq2seq", "peephole_lstm_seq2seq", "rnn_bn_seq2seq", "ln_rnn_seq2seq", "wavenet"]
)
def test_each_replicas_initial_state_is_its_own_init(name):
    """Replicas are initialised one at a time inside the compiled program: each equals the
    model's own init of its key (the vmapped init to the bit), and the optimiser's rate is
    that replica's."""
    model = models.get(name, window=8, horizon=2)
    keys = train.replica_keys(4)
    rates = np.array([1e-3, 2e-3, 3e-3, 4e-3], np.float32)
    state = train.Trainer(model, learning_rate=rates).init(keys)
    want = jax.vmap(lambda k: model.init(jax.random.fold_in(k, 0)))(keys)
    jax.tree_util.tree_map(np.testing.assert_array_equal, state.variables, want)
    np.testing.assert_array_equal(state.opt_state.hyperparams["learning_rate"], rates)


def test_hundreds_of_recurrent_replicas_initialise():
    """384 replicas of a recurrent model (one model per series of a panel, chunks of 128
    series x 3 seeds): a batched orthogonal initialiser deadlocked XLA's CPU thread pool
    (jax 0.10.2, 2 cores). Run in a child process so that a hang fails instead of waiting."""
    import subprocess
    import sys

    code = (
        "from jaxseq import models, train; import jax; "
        "m = models.get('gru_seq2seq', window=24, horizon=10); "
        "jax.block_until_ready(train.Trainer(m).init(train.replica_keys(384))); print('ok')"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=240
        )
    except subprocess.TimeoutExpired:
        pytest.fail("initialising 384 replicas did not return within 240 s")
    assert done.stdout.strip() == "ok", done.stderr[-2000:]
