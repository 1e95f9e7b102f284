"""Window normalisation: statistics against NumPy, exact inversion, equivariant forecasts."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxseq import models, normalize, train
from jaxseq.errors import InputError

RNG = np.random.default_rng(0)


def _numpy_frame(x, location, scale, floor):
    loc = {
        "last": x[:, -1:],
        "mean": x.mean(1, keepdims=True),
        "median": np.median(x, 1, keepdims=True),
    }[location]
    if scale == "std":
        s = x.std(1, keepdims=True)
    else:
        med = np.median(x, 1, keepdims=True)
        s = 1.4826 * np.median(np.abs(x - med), 1, keepdims=True)
    return loc, np.maximum(s, floor)


@pytest.mark.parametrize("location", normalize.LOCATIONS)
@pytest.mark.parametrize("scale", normalize.SCALES)
def test_frame_matches_numpy_per_example_and_feature(location, scale):
    x = RNG.normal(size=(4, 9, 3)).astype(np.float32) * [1.0, 10.0, 0.1] + [0.0, 50.0, -3.0]
    spec = normalize.Normalization(location=location, scale=scale)
    frame = spec.frame(jnp.asarray(x))
    loc, s = _numpy_frame(x.astype(np.float64), location, scale, spec.floor)
    np.testing.assert_allclose(frame.loc, loc, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(frame.scale, s, rtol=1e-5)
    xn = spec.inputs(jnp.asarray(x), frame)
    np.testing.assert_allclose(xn, (x - loc) / s, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("shape", [(5, 6), (5, 7, 6)])  # multi-step [b, h*T]; seq2seq [b, t, h*T]
def test_targets_and_outputs_invert_each_other(affine, shape):
    x = jnp.asarray(RNG.normal(size=(5, 8, 3)) * 4 + 7, jnp.float32)
    spec = normalize.Normalization(affine=affine)
    frame = spec.frame(x)
    terms = None
    if affine:
        terms = {"gamma": jnp.asarray([0.5, 2.0, 1.5]), "beta": jnp.asarray([0.1, -0.2, 0.3])}
    y = jnp.asarray(RNG.normal(size=shape) * 4 + 7, jnp.float32)
    cols = (2, 0)  # horizon 3 x 2 targets, step-major
    back = spec.outputs(spec.targets(y, frame, cols, terms), frame, cols, terms)
    np.testing.assert_allclose(back, y, rtol=1e-6, atol=1e-5)
    # the frame of target j is feature cols[j]'s: check one entry by hand
    t = spec.targets(y, frame, cols, terms)
    k, j = 1, 0  # step 2 of target 0 -> flat index k * 2 + j, feature 2
    want = y[..., k * 2 + j] - frame.loc[:, 0, 2].reshape((-1,) + (1,) * (len(shape) - 2))
    want = want / frame.scale[:, 0, 2].reshape((-1,) + (1,) * (len(shape) - 2))
    if affine:
        want = want * 1.5 + 0.3  # gamma and beta of feature 2
    np.testing.assert_allclose(t[..., k * 2 + j], want, rtol=1e-4, atol=1e-5)


def test_a_constant_window_stays_finite():
    spec = normalize.Normalization(scale="robust")
    x = jnp.full((2, 10, 1), 123.0)
    frame = spec.frame(x)
    assert float(frame.scale.min()) == pytest.approx(spec.floor)
    assert np.isfinite(np.asarray(spec.inputs(x, frame))).all()


EQUIVARIANT = ["linear_multi", "lstm_seq2vec", "gru_seq2seq", "wavenet", "encoder_decoder"]


@pytest.mark.parametrize("name", EQUIVARIANT)
@pytest.mark.parametrize("location", ["last", "mean"])
def test_forecasts_shift_and_scale_with_the_series(name, location):
    spec = normalize.Normalization(location=location, affine=True)
    model = models.get(name, window=16, features=2, horizon=3, target_columns=(1,), normalize=spec)
    variables = model.init(jax.random.PRNGKey(3))
    x = jnp.asarray(RNG.normal(size=(4, 16, 2)) + [0.0, 2.0], jnp.float32)
    base = np.asarray(model.apply(variables, x), np.float64)
    for a, b in [(1.0, 3.0), (2.5, 0.0), (0.3, -7.0)]:
        moved = np.asarray(model.apply(variables, a * x + b), np.float64)
        np.testing.assert_allclose(moved, a * base + b, rtol=1e-4, atol=2e-4 * (1 + abs(b)))


def test_without_normalisation_the_forecasts_are_not_equivariant():
    # the property above is the normalisation's doing, not the models'
    model = models.get("lstm_seq2vec", window=16, horizon=3)
    variables = model.init(jax.random.PRNGKey(3))
    x = jnp.asarray(RNG.normal(size=(4, 16, 1)), jnp.float32)
    base = np.asarray(model.apply(variables, x))
    moved = np.asarray(model.apply(variables, x + 3.0))
    assert np.abs(moved - (base + 3.0)).max() > 1e-2


def test_training_loss_is_taken_in_each_windows_frame():
    model = models.get("lstm_seq2vec", window=12, horizon=4, normalize="window")
    variables = model.init(jax.random.PRNGKey(0))
    x = RNG.normal(size=(6, 12, 1)).astype(np.float32) * np.arange(1, 7)[:, None, None] + 5
    y = RNG.normal(size=(6, 4)).astype(np.float32) + 5
    loss, _ = train.loss_fn(model, variables["params"], {}, jnp.asarray(x), jnp.asarray(y), None)
    pred = np.asarray(model.apply(variables, jnp.asarray(x)), np.float64)
    loc, s = x[:, -1, :1].astype(np.float64), x.std(1).astype(np.float64)
    want = np.mean(((pred - loc) / s - (y - loc) / s) ** 2)
    np.testing.assert_allclose(float(loss), want, rtol=1e-4)


def test_normalised_models_vmap_over_keys_and_parameters():
    model = models.get("gru_seq2seq", window=10, horizon=2, normalize="window")
    variables = jax.vmap(model.init)(jax.random.split(jax.random.PRNGKey(0), 3))
    x = jnp.asarray(RNG.normal(size=(5, 10, 1)), jnp.float32)
    out = jax.jit(jax.vmap(model.apply, in_axes=(0, None)))(variables, x)
    assert out.shape == (3, 5, 10, 2)
    one = model.apply(jax.tree_util.tree_map(lambda v: v[1], variables), x)
    np.testing.assert_allclose(out[1], one, rtol=1e-5, atol=1e-6)


def test_bad_normalisation_settings_are_refused():
    with pytest.raises(InputError, match="location must be one of last, mean, median"):
        normalize.Normalization(location="first")
    with pytest.raises(InputError, match="floor must be a positive number"):
        normalize.Normalization(floor=0)
    with pytest.raises(InputError, match="normalize must be 'window', 'none'"):
        models.get("lstm_seq2vec", normalize="global")
    with pytest.raises(InputError, match=r"target_columns must be 1 feature indices in \[0, 2\)"):
        models.get("lstm_seq2vec", features=2, target_columns=(2,))
    model = models.get("deep_rnn", normalize="window")
    assert not model.supports_lengths


def test_auto_takes_window_only_where_the_stopping_targets_leave_the_training_range():
    train = np.array([1.0, 5.0, 3.0, 2.0])
    # 2 of 8 outside [1, 5] is 25%: not more than the threshold
    inside = np.array([1.0, 5.0, 6.0, 0.5, 2.0, 3.0, 4.0, 4.5])
    assert normalize.out_of_range_share(train, inside) == 0.25
    assert normalize.resolve_mode("auto", train, inside) == "series"
    beyond = np.append(inside, 9.0)  # 3 of 9
    assert normalize.out_of_range_share(train, beyond) == pytest.approx(1 / 3)
    assert normalize.resolve_mode("auto", train, beyond) == "window"
    assert normalize.out_of_range_share(train, np.array([np.nan, 7.0, 2.0])) == 0.5  # NaN left out
    assert normalize.resolve_mode("series", train, beyond) == "series"
    with pytest.raises(InputError, match="normalize must be one of window, series, none, auto"):
        normalize.resolve_mode("minmax", train, beyond)


def test_auto_reads_no_value_after_the_early_stopping_windows():
    from jaxseq.data import make_protocol

    protocol = make_protocol(200, window=12, horizon=4, valid_size=40, test_size=20).halved()
    end = protocol.stopping_end()
    assert end == int(protocol.origins("stop")[-1]) + 4 < protocol.valid_end
    assert int(protocol.origins("valid")[0]) + 4 > end  # the ranking windows' targets come later
