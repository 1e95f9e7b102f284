"""Weights in and out of Keras 3 and PyTorch: same outputs after import, exact round trips."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from jaxseq import cells, interop  # noqa: E402
from jaxseq.errors import InputError  # noqa: E402
from jaxseq.layers import Conv1D, Dense  # noqa: E402
from jaxseq.recurrent import RNN  # noqa: E402

BATCH, TIME, FEATURES, UNITS = 3, 7, 4, 5
TOL = {"atol": 1e-5, "rtol": 1e-5}

# Every weight is overwritten with random values before use, so Keras' own initialisers only
# cost time (an orthogonal init compiles a QR per shape): zeros are 10x faster to build.
K = {"kernel_initializer": "zeros"}
KR = {**K, "recurrent_initializer": "zeros"}


def _close(ours, theirs, what=""):
    ours, theirs = np.asarray(ours), np.asarray(keras.ops.convert_to_numpy(theirs))
    assert ours.shape == theirs.shape, (what, ours.shape, theirs.shape)
    np.testing.assert_allclose(ours, theirs, **TOL, err_msg=what)
    return float(np.max(np.abs(ours - theirs)))


def _inputs(rng, time=TIME, features=FEATURES):
    return rng.normal(size=(BATCH, time, features)).astype(np.float32)


def _randomize(layer, rng, scale=0.5):
    """Non-zero random values in every weight (zero biases would hide layout mistakes)."""
    for w in layer.weights:
        if "variance" in w.name:
            value = rng.uniform(0.5, 1.5, size=w.shape)
        else:
            value = rng.normal(size=w.shape) * scale
        w.assign(value.astype(np.float32))


def _snapshot(layer):
    return [np.array(keras.ops.convert_to_numpy(w.value)) for w in layer.weights]


def _check_round_trip(layer, params):
    """Export ``params`` into ``layer`` (its weights zeroed first): Keras' weights come back exactly."""
    before = _snapshot(layer)
    for w in layer.weights:
        w.assign(np.zeros(w.shape, np.float32))
    interop.to_keras_layer(layer, params)
    after = _snapshot(layer)
    assert len(before) == len(after)
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)


def _run_rnn(cell, units, params, x):
    return RNN(cell, units, return_sequences=True).apply({"params": {"cell": params}}, x)


def test_every_converter_is_exported_by_the_package():
    """``interop.X`` and ``from jaxseq.interop import X`` reach the function in its own module."""
    import importlib

    from jaxseq.interop import from_keras_sequential, to_torch_rnn

    assert (from_keras_sequential, to_torch_rnn) == (
        interop.from_keras_sequential,
        interop.to_torch_rnn,
    )
    assert len(interop.__all__) == 27
    for name in interop.__all__:
        function = getattr(interop, name)
        home = importlib.import_module(function.__module__)
        assert home.__name__.startswith("jaxseq.interop."), name
        assert getattr(home, name) is function


# --------------------------------------------------------------------------- Keras layers

RECURRENT = {
    "simple_rnn": lambda: keras.layers.SimpleRNN(UNITS, return_sequences=True, **KR),
    "lstm": lambda: keras.layers.LSTM(UNITS, return_sequences=True, **KR),
    "gru_reset_after": lambda: keras.layers.GRU(
        UNITS, return_sequences=True, reset_after=True, **KR
    ),
    "gru_reset_before": lambda: keras.layers.GRU(
        UNITS, return_sequences=True, reset_after=False, **KR
    ),
}


@pytest.mark.parametrize("kind", list(RECURRENT))
def test_keras_recurrent_layer(kind, rng):
    layer = RECURRENT[kind]()
    x = _inputs(rng)
    layer.build(x.shape)
    _randomize(layer, rng)
    params = interop.from_keras_layer(layer)
    cell = interop.keras_cell(layer)
    if kind.startswith("gru"):
        assert cell.name == ("gru" if kind == "gru_reset_after" else "gru_reset_before")
        assert ("recurrent_bias" in params) == (kind == "gru_reset_after")
    diff = _close(_run_rnn(cell, UNITS, params, x), layer(x), kind)
    print(f"{kind}: max |diff| = {diff:.2e}")
    _check_round_trip(layer, params)


def test_keras_dense(rng):
    layer = keras.layers.Dense(6, **K)
    x = _inputs(rng)
    layer.build(x.shape)
    _randomize(layer, rng)
    params = interop.from_keras_layer(layer)
    diff = _close(Dense(6).apply({"params": params}, x), layer(x), "dense")
    print(f"dense: max |diff| = {diff:.2e}")
    _check_round_trip(layer, params)


@pytest.mark.parametrize(
    "config",
    [
        {"kernel_size": 3, "padding": "causal", "dilation_rate": 2},
        {"kernel_size": 4, "padding": "valid", "strides": 2},
    ],
    ids=["causal_dilated", "valid_stride2"],
)
def test_keras_conv1d(config, rng):
    layer = keras.layers.Conv1D(6, **config, **K)
    x = _inputs(rng, time=11)
    layer.build(x.shape)
    _randomize(layer, rng)
    params = interop.from_keras_layer(layer)
    ours = Conv1D(6, **config).apply({"params": params}, x)
    diff = _close(ours, layer(x), str(config))
    print(f"conv1d {config}: max |diff| = {diff:.2e}")
    _check_round_trip(layer, params)


LNSimpleRNNCell = interop.keras_layer_norm_cell(keras, **KR)


def test_keras_layer_norm_cell(rng):
    layer = keras.layers.RNN(LNSimpleRNNCell(UNITS), return_sequences=True)
    x = _inputs(rng)
    layer.build(x.shape)
    _randomize(layer, rng)
    params = interop.from_keras_layer(layer)
    assert set(params) == {"kernel", "recurrent_kernel", "bias", "layer_norm"}
    cell = interop.keras_cell(layer)
    assert cell.name == "layer_norm_rnn"
    # the same numbers through jaxseq's own cells.layer_norm_rnn()
    for jax_cell in (cell, cells.layer_norm_rnn()):
        diff = _close(_run_rnn(jax_cell, UNITS, params, x), layer(x), "layer_norm_rnn")
    print(f"layer_norm_rnn: max |diff| = {diff:.2e}")
    _check_round_trip(layer, params)


def test_keras_export_checks_the_form():
    gru = _built(keras.layers.GRU(UNITS, reset_after=False, **KR), (None, None, FEATURES))
    reset_after_params = {
        "kernel": np.ones((FEATURES, 3 * UNITS), np.float32),
        "recurrent_kernel": np.ones((UNITS, 3 * UNITS), np.float32),
        "bias": np.ones(3 * UNITS, np.float32),
        "recurrent_bias": np.ones(3 * UNITS, np.float32),
    }
    with pytest.raises(InputError, match="reset_after"):
        interop.to_keras_layer(gru, reset_after_params)
    with pytest.raises(InputError, match="has shape"):
        interop.to_keras_dense(
            _built(keras.layers.Dense(3, **K), (None, 2)),
            {"kernel": jnp.zeros((2, 4)), "bias": jnp.zeros(4)},
        )
    bidirectional = keras.layers.Bidirectional(keras.layers.LSTM(UNITS, **KR))
    with pytest.raises(InputError, match="not supported"):
        interop.from_keras_layer(bidirectional)


def _built(layer, shape):
    layer.build(shape)
    return layer


# --------------------------------------------------------------------------- Keras models


def _chapter_model(name, window=None):
    """The chapter's Keras models (as in the book's notebook; zero initialisers for speed)."""
    L = keras.layers
    seq = {"return_sequences": True, **KR}
    stacks = {
        "rnn_seq2seq": [
            L.SimpleRNN(20, **seq),
            L.SimpleRNN(20, **seq),
            L.TimeDistributed(L.Dense(10, **K)),
        ],
        "lstm_seq2seq": [L.LSTM(20, **seq), L.LSTM(20, **seq), L.TimeDistributed(L.Dense(10, **K))],
        "ln_rnn_seq2seq": [
            L.RNN(LNSimpleRNNCell(20), return_sequences=True),
            L.RNN(LNSimpleRNNCell(20), return_sequences=True),
            L.TimeDistributed(L.Dense(10, **K)),
        ],
        "conv_gru_seq2seq": [
            L.Conv1D(20, kernel_size=4, strides=2, padding="valid", **K),
            L.GRU(20, **seq),
            L.GRU(20, **seq),
            L.TimeDistributed(L.Dense(10, **K)),
        ],
        "wavenet": [
            *[
                L.Conv1D(
                    20, kernel_size=2, padding="causal", activation="relu", dilation_rate=r, **K
                )
                for r in (1, 2, 4, 8) * 2
            ],
            L.Conv1D(10, kernel_size=1, **K),
        ],
        "rnn_bn_seq2seq": [
            L.SimpleRNN(20, **seq),
            L.BatchNormalization(),
            L.SimpleRNN(20, **seq),
            L.BatchNormalization(),
            L.TimeDistributed(L.Dense(10, **K)),
        ],
        "linear": [L.Flatten(), L.Dense(1, **K)],
        "too_wide": [L.LSTM(32, **seq), L.LSTM(32, **seq), L.TimeDistributed(L.Dense(10, **K))],
        "dropout": [L.LSTM(20, **KR), L.Dropout(0.1), L.Dense(10, **K)],
    }
    return keras.Sequential([keras.Input((window, 1)), *stacks[name]])


@pytest.mark.parametrize(
    "name",
    [
        "rnn_seq2seq",
        "lstm_seq2seq",
        "ln_rnn_seq2seq",
        "conv_gru_seq2seq",
        "wavenet",
        "rnn_bn_seq2seq",
        "linear",
    ],
)
def test_keras_sequential_to_zoo(name, rng):
    window = 12 if name == "linear" else None
    keras_model = _chapter_model(name, window)
    for layer in keras_model.layers:
        _randomize(layer, rng, scale=0.3)
    model, variables = interop.from_keras_sequential(keras_model)
    assert model.name == name
    x = _inputs(rng, time=12, features=1)
    diff = _close(model.apply(variables, x), keras_model(x), name)
    print(f"sequential {name}: max |diff| = {diff:.2e}")
    if name == "rnn_bn_seq2seq":  # BatchNormalization's four weights round-trip too
        _check_round_trip(keras_model.layers[1], interop.from_keras_layer(keras_model.layers[1]))


@pytest.mark.parametrize(
    "layers, expected",
    [
        (["simple_rnn_1"], "simple_rnn"),
        (["simple_rnn_seq", "simple_rnn_seq", "simple_rnn_1"], "deep_rnn"),
        (["simple_rnn_seq", "simple_rnn", "dense_1"], "deep_rnn_dense"),
        (["simple_rnn_seq", "simple_rnn", "dense_10"], "rnn_multi"),
        (["lstm_seq", "lstm", "dense_10"], "lstm_seq2vec"),
        (["gru_before_seq", "gru_before_seq", "dense_10"], "gru_seed_seq2seq"),
        (["gru_seq", "gru_seq", "dense_10"], "gru_seq2seq"),
    ],
)
def test_keras_sequential_finds_the_zoo_model(layers, expected):
    """Structure decides (no forward pass here): units, return_sequences, output size, form."""
    L = keras.layers
    make = {
        "simple_rnn_1": lambda: L.SimpleRNN(1, **KR),
        "simple_rnn": lambda: L.SimpleRNN(20, **KR),
        "simple_rnn_seq": lambda: L.SimpleRNN(20, return_sequences=True, **KR),
        "lstm": lambda: L.LSTM(20, **KR),
        "lstm_seq": lambda: L.LSTM(20, return_sequences=True, **KR),
        "gru_seq": lambda: L.GRU(20, return_sequences=True, **KR),
        "gru_before_seq": lambda: L.GRU(20, return_sequences=True, reset_after=False, **KR),
        "dense_1": lambda: L.Dense(1, **K),
        "dense_10": lambda: L.Dense(10, **K),  # on a sequence: acts as TimeDistributed
    }
    keras_model = keras.Sequential([keras.Input((None, 1)), *(make[n]() for n in layers)])
    model, variables = interop.from_keras_sequential(keras_model)
    assert model.name == expected
    assert model.count_params(variables) == keras_model.count_params()


def test_keras_sequential_errors():
    with pytest.raises(InputError, match="Dropout"):
        interop.from_keras_sequential(_chapter_model("dropout"))
    with pytest.raises(InputError, match="matches no zoo model"):
        interop.from_keras_sequential(_chapter_model("too_wide"))
    with pytest.raises(InputError, match="layer 0 is LSTM"):
        interop.from_keras_sequential(_chapter_model("lstm_seq2seq"), name="gru_seq2seq")
    inputs = keras.Input((None, 1))
    functional = keras.Model(inputs, keras.layers.Dense(1, **K)(inputs))
    with pytest.raises(InputError, match="keras.Sequential"):
        interop.from_keras_sequential(functional)


# --------------------------------------------------------------------------- PyTorch


@pytest.fixture
def torch():
    import torch  # a dev dependency: a missing torch fails these tests, it does not skip them

    torch.manual_seed(0)
    return torch


def _torch_randomize(module, torch, scale=0.5):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape) * scale)


@pytest.mark.parametrize(
    "kind, options",
    [
        ("RNN", {"num_layers": 2, "batch_first": True}),
        ("RNN", {"nonlinearity": "relu", "batch_first": False}),
        ("LSTM", {"num_layers": 2, "batch_first": False}),
        ("GRU", {"num_layers": 2, "batch_first": True}),
    ],
    ids=["rnn_tanh_2layers", "rnn_relu", "lstm_2layers", "gru_2layers"],
)
def test_torch_recurrent(kind, options, torch, rng):
    module = getattr(torch.nn, kind)(FEATURES, UNITS, **options).eval()
    _torch_randomize(module, torch)
    x = _inputs(rng)
    torch_x = torch.from_numpy(x if module.batch_first else x.transpose(1, 0, 2).copy())
    with torch.no_grad():
        expected = module(torch_x)[0].numpy()
    if not module.batch_first:
        expected = expected.transpose(1, 0, 2)
    stack, variables = interop.torch_rnn_stack(module)
    assert list(variables["params"]) == [f"rnn_{k}" for k in range(module.num_layers)]
    diff = _close(stack.apply(variables, x), expected, kind)
    print(f"torch {kind} {options}: max |diff| = {diff:.2e}")

    # export: a fresh module loaded with our state_dict computes the same
    layers = interop.from_torch_rnn(module)
    state = interop.to_torch_rnn(layers, kind.lower())
    fresh = getattr(torch.nn, kind)(FEATURES, UNITS, **options).eval()
    fresh.load_state_dict(state)
    with torch.no_grad():
        np.testing.assert_allclose(fresh(torch_x)[0].numpy(), module(torch_x)[0].numpy(), **TOL)
    # jaxseq -> torch -> jaxseq is exact
    for ours, back in zip(layers, interop.from_torch_rnn(fresh), strict=True):
        for name in ours:
            np.testing.assert_array_equal(np.asarray(ours[name]), np.asarray(back[name]))
    original = {k: v.detach().numpy() for k, v in module.state_dict().items()}
    for k, v in state.items():
        if kind == "GRU" or k.startswith("weight"):
            np.testing.assert_array_equal(v.numpy(), original[k])  # kept exactly
        elif k.startswith("bias_ih"):  # RNN/LSTM: the two biases summed into bias_ih
            hh = k.replace("bias_ih", "bias_hh")
            np.testing.assert_allclose(v.numpy(), original[k] + original[hh], rtol=0, atol=0)
            np.testing.assert_array_equal(state[hh].numpy(), 0)


def test_torch_linear(torch, rng):
    module = torch.nn.Linear(FEATURES, 6)
    _torch_randomize(module, torch)
    x = _inputs(rng)
    params = interop.from_torch_linear(module)
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    diff = _close(Dense(6).apply({"params": params}, x), expected, "linear")
    print(f"torch linear: max |diff| = {diff:.2e}")
    for k, v in interop.to_torch_linear(params).items():
        np.testing.assert_array_equal(v.numpy(), module.state_dict()[k].numpy())


@pytest.mark.parametrize(
    "kernel_size, stride, dilation, padding",
    [(3, 1, 2, "causal"), (4, 2, 1, "valid")],
    ids=["causal_dilated", "valid_stride2"],
)
def test_torch_conv1d(kernel_size, stride, dilation, padding, torch, rng):
    module = torch.nn.Conv1d(FEATURES, 6, kernel_size, stride=stride, dilation=dilation)
    _torch_randomize(module, torch)
    x = _inputs(rng, time=11)
    torch_x = torch.from_numpy(x.transpose(0, 2, 1).copy())  # PyTorch is [batch, channels, time]
    if padding == "causal":
        torch_x = torch.nn.functional.pad(torch_x, (dilation * (kernel_size - 1), 0))
    with torch.no_grad():
        expected = module(torch_x).numpy().transpose(0, 2, 1)
    params = interop.from_torch_conv1d(module)
    layer = Conv1D(6, kernel_size, strides=stride, padding=padding, dilation_rate=dilation)
    diff = _close(layer.apply({"params": params}, x), expected, padding)
    print(f"torch conv1d {padding}: max |diff| = {diff:.2e}")
    for k, v in interop.to_torch_conv1d(params).items():
        np.testing.assert_array_equal(v.numpy(), module.state_dict()[k].numpy())


def test_torch_errors(torch):
    with pytest.raises(InputError, match="bidirectional"):
        interop.from_torch_rnn(torch.nn.GRU(2, 3, bidirectional=True))
    reset_before = {
        "kernel": np.ones((2, 9), np.float32),
        "recurrent_kernel": np.ones((3, 9), np.float32),
        "bias": np.ones(9, np.float32),
    }
    with pytest.raises(InputError, match="recurrent_bias"):
        interop.to_torch_rnn(reset_before, "gru")
    with pytest.raises(InputError, match="kernel"):
        interop.to_torch_rnn(reset_before, "lstm")  # 9 columns is not 4 * 3
    with pytest.raises(InputError, match="kind"):
        interop.to_torch_rnn([], "transformer")
