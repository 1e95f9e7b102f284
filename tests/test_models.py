"""Every zoo model: shapes on the chapter's inputs, a pinned parameter tree, vmap over keys."""

import json
import pathlib
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxseq import models
from jaxseq.errors import InputError

GOLDEN = json.loads((pathlib.Path(__file__).parent / "golden" / "param_trees.json").read_text())
X = jnp.asarray(np.random.default_rng(0).normal(size=(4, 50, 1)).astype(np.float32))

EXPECTED_OUTPUT = {"one_step": (4, 1), "multi_step": (4, 10), "seq2seq": (4, 50, 10)}

# Parameter counts Keras' model.summary() gives for the chapter's models (computed from Keras'
# layer formulas: SimpleRNN n(n+i+1), LSTM 4n(n+i+1), GRU(reset_after) 3n(n+i+2), BN 4n of which
# 2n trainable, Dense o(i+1)).
KERAS_PARAM_COUNTS = {
    "linear": 51,
    "simple_rnn": 3,
    "deep_rnn": 1282,
    "deep_rnn_dense": 1281,
    "linear_multi": 510,
    "rnn_multi": 1470,
    "rnn_seq2seq": 1470,
    "rnn_bn_seq2seq": 1550,
    "ln_rnn_seq2seq": 1550,
    "lstm_seq2seq": 5250,
    "gru_seq2seq": 4110,
    "conv_gru_seq2seq": 5350,
    "wavenet": 6010,
}


def _tree(variables):
    flat = jax.tree_util.tree_flatten_with_path(variables)[0]
    return {
        "/".join(str(getattr(k, "key", k)) for k in path): list(np.shape(leaf))
        for path, leaf in flat
    }


def test_zoo_lists_every_model_of_the_chapter():
    names = models.names()
    refs = {models.get(n).reference for n in names}
    assert set(range(2, 19)) - {6, 7, 13} <= refs  # 6, 7 are evaluations; 13 is not a model
    for mode in ("seq2vec", "seq2seq", "vec2seq", "encoder_decoder"):
        assert any(models.get(n).mode == mode for n in names), mode
    assert set(GOLDEN) == set(names)


@pytest.mark.parametrize("name", models.names())
def test_zoo_model(name):
    model = models.get(name)
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    variables = jax.jit(jax.vmap(model.init))(keys)
    # pinned parameter tree, with the replica axis in front
    assert {k: v[1:] for k, v in _tree(variables).items()} == GOLDEN[name]
    assert all(v[0] == 3 for v in _tree(variables).values())
    # apply vmapped over parameters
    ys = jax.jit(jax.vmap(model.apply, in_axes=(0, None)))(variables, X)
    expected = EXPECTED_OUTPUT[model.task]
    if model.target_steps is not None:
        start, stride = model.target_steps
        expected = (4, len(range(start, 50, stride)), 10)
    assert ys.shape == (3, *expected)
    assert np.isfinite(np.asarray(ys)).all()
    assert not np.allclose(ys[0], ys[1])  # different keys, different models
    if name in KERAS_PARAM_COUNTS:
        single = jax.tree_util.tree_map(lambda v: v[0], variables)
        assert model.count_params(single) == KERAS_PARAM_COUNTS[name]


@pytest.mark.parametrize("name", ["lstm_seq2seq", "wavenet"])
def test_vmapped_replica_equals_unbatched_model(name):
    model = models.get(name)
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    variables = jax.jit(jax.vmap(model.init))(keys)
    single = jax.jit(model.init)(keys[1])
    jax.tree_util.tree_map(
        np.testing.assert_array_equal, single, jax.tree_util.tree_map(lambda v: v[1], variables)
    )
    ys = jax.jit(jax.vmap(model.apply, in_axes=(0, None)))(variables, X)
    np.testing.assert_allclose(jax.jit(model.apply)(single, X), ys[1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", models.names())
def test_parameter_names_are_the_zoos_own_not_flaxs(name):
    """Every layer is named where the model is defined: no ``layers_0``, ``Dense_0``, ``Conv_0``."""
    generated = re.compile(r"^(layers_\d+|[A-Z]\w*_\d+)$")
    for path in GOLDEN[name]:
        assert not any(generated.match(part) for part in path.split("/")), path


def test_targets_of_the_conv_model_align_with_its_outputs():
    model = models.get("conv_gru_seq2seq")
    Y = np.arange(50)[None, :, None] * np.ones((2, 1, 10))
    np.testing.assert_array_equal(model.targets(Y)[0, :, 0], np.arange(3, 50, 2))
    assert model.targets(Y)[:, -1, 0].tolist() == [49, 49]


def test_training_mode_returns_batch_statistics():
    model = models.get("rnn_bn_seq2seq")
    variables = model.init(jax.random.PRNGKey(0))
    y, updates = model.apply(variables, X, train=True)
    assert set(updates) == {"batch_stats"}
    assert not np.allclose(updates["batch_stats"]["bn_0"]["mean"], 0.0)


def test_rnn_models_take_any_window_length():
    model = models.get("gru_seq2seq")
    variables = model.init(jax.random.PRNGKey(0))
    assert model.apply(variables, jnp.ones((2, 80, 1))).shape == (2, 80, 10)


def test_model_options():
    model = models.get("lstm_seq2seq", features=3, horizon=5, targets=2)
    variables = model.init(jax.random.PRNGKey(0))
    assert model.apply(variables, jnp.ones((2, 50, 3))).shape == (2, 50, 10)
    model = models.get("encoder_decoder", horizon=4, targets=2)
    assert model.apply(model.init(jax.random.PRNGKey(0)), X).shape == (4, 8)
    assert models.get("linear", horizon=10).dims.horizon == 1  # one-step models forecast 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: models.get("transformer"), "unknown model 'transformer'; known models: linear, "),
        (lambda: models.get("lstm_seq2seq", features=0), "features must be an integer >= 1, got 0"),
        (
            lambda: _apply("lstm_seq2seq", jnp.ones((4, 50, 2))),
            r"model 'lstm_seq2seq' was built for 1 feature\(s\), inputs have 2",
        ),
        (
            lambda: _apply("lstm_seq2seq", jnp.ones((4, 50))),
            r"takes inputs \[batch, time, features\]",
        ),
        (
            lambda: _apply("linear", jnp.ones((4, 40, 1))),
            "model 'linear' takes exactly 50 steps, inputs have 40",
        ),
    ],
)
def test_model_errors(call, message):
    with pytest.raises(InputError, match=message):
        call()


def _apply(name, x):
    model = models.get(name)
    return model.apply(model.init(jax.random.PRNGKey(0)), x)
