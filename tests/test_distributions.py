"""Output heads against independent references: NumPy loops for the pinball loss, scipy for the
normal and Student-t densities and quantiles, finite differences for the gradients."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from jax.test_util import check_grads
from scipy import stats

from jaxseq import distributions as D
from jaxseq.errors import InputError

LEVELS = (0.1, 0.5, 0.9)


def softplus(x):
    return np.logaddexp(0.0, x)


# --------------------------------------------------------------------------- quantile head


def test_pinball_loss_matches_a_numpy_loop():
    head = D.Quantiles(LEVELS)
    q = np.array([[[0.0, 1.0, 2.0], [-1.0, 0.5, 3.0]], [[2.0, 2.5, 2.6], [0.0, 0.0, 0.0]]])
    y = np.array([[1.5, -2.0], [2.55, 0.0]])
    total, count = 0.0, 0
    for idx in np.ndindex(y.shape):
        for i, tau in enumerate(LEVELS):
            e = y[idx] - q[idx][i]
            total += tau * e if e >= 0 else (tau - 1.0) * e
            count += 1
    got = float(head.loss(jnp.asarray(q, jnp.float32), jnp.asarray(y, jnp.float32)))
    assert got == pytest.approx(total / count, rel=1e-6)


def test_quantile_constraint_by_hand():
    head = D.Quantiles((0.1, 0.25, 0.5, 0.9))
    raw = np.array([0.3, -1.0, 2.0, 0.7], np.float32)
    q = np.asarray(head.constrain(raw), np.float64)
    want = [
        2.0 - softplus(-1.0) - softplus(0.3),
        2.0 - softplus(-1.0),
        2.0,
        2.0 + softplus(0.7),
    ]
    np.testing.assert_allclose(q, want, rtol=1e-6)
    assert float(head.point(q)) == 2.0


def test_levels_are_sorted_and_always_hold_the_median():
    assert D.Quantiles((0.9, 0.1)).levels == (0.1, 0.5, 0.9)
    assert D.Quantiles([0.5]).levels == (0.5,)
    assert D.get("0.9, 0.2").levels == (0.2, 0.5, 0.9)
    assert D.Quantiles((0.9, 0.1)) == D.get((0.1, 0.5, 0.9))
    assert hash(D.Quantiles((0.9, 0.1))) == hash(D.get("0.1,0.9"))
    assert D.Quantiles((0.1, 0.9)).size == 3 and D.Normal().size == 2 and D.StudentT().size == 3


@settings(max_examples=40, deadline=None)
@given(
    raw=arrays(
        np.float32,
        (8, 5),
        elements=st.floats(-1e4, 1e4, width=32) | st.sampled_from([-80.0, 0.0, 1e-30, 80.0]),
    )
)
def test_quantiles_never_cross(raw):
    head = D.Quantiles((0.05, 0.25, 0.5, 0.9, 0.99))  # one head, one shape: compiled once
    q = np.asarray(head.constrain(raw))
    assert np.isfinite(q).all()
    assert (np.diff(q, axis=-1) >= 0).all()
    # the median is the raw value itself (subnormals flushed to zero)
    np.testing.assert_allclose(q[:, 2], raw[:, 2], rtol=0, atol=np.finfo(np.float32).tiny)


@pytest.mark.parametrize("seed", range(4))
def test_quantiles_never_cross_for_random_levels(seed):
    rng = np.random.default_rng(seed)
    levels = tuple(rng.choice(np.arange(1, 100) / 100, size=rng.integers(1, 9), replace=False))
    head = D.Quantiles(levels)
    raw = rng.normal(size=(200, head.size)) * rng.choice([1e-3, 1.0, 30.0, 1e4], (200, 1))
    q = np.asarray(head.constrain(raw.astype(np.float32)))
    assert np.isfinite(q).all() and (np.diff(q, axis=-1) >= 0).all()


def test_quantile_head_returns_the_requested_columns():
    head = D.Quantiles((0.05, 0.1, 0.9, 0.95))
    q = np.arange(10.0, dtype=np.float32).reshape(2, 5)
    np.testing.assert_array_equal(head.quantiles(q, (0.1, 0.9)), q[:, [1, 3]])
    np.testing.assert_array_equal(head.quantiles(q, (0.5,)), q[:, [2]])
    with pytest.raises(InputError, match=r"levels holds 0.2, which this quantile head"):
        head.quantiles(q, (0.2,))


# --------------------------------------------------------------------------- normal, t


def _random_params(head, rng, shape=(4, 3)):
    raw = rng.normal(0.0, 1.5, size=(*shape, head.size)).astype(np.float32)
    return np.asarray(head.constrain(raw), np.float64)


def test_normal_nll_matches_scipy(rng):
    head = D.Normal()
    p = _random_params(head, rng)
    y = rng.normal(0.0, 2.0, size=p.shape[:-1])
    want = -np.mean(stats.norm.logpdf(y, p[..., 0], p[..., 1]))
    got = float(head.loss(jnp.asarray(p, jnp.float32), jnp.asarray(y, jnp.float32)))
    assert got == pytest.approx(want, rel=1e-5)


def test_student_t_nll_matches_scipy(rng):
    head = D.StudentT()
    p = _random_params(head, rng)
    p[0, :, 2] = [2.0001, 1e3, 1e5]  # the edge of the constraint and near-normal tails
    y = rng.normal(0.0, 3.0, size=p.shape[:-1])
    want = stats.t.logpdf(y, p[..., 2], p[..., 0], p[..., 1])
    p32, y32 = jnp.asarray(p, jnp.float32), jnp.asarray(y, jnp.float32)
    np.testing.assert_allclose(head.log_prob(p32, y32), want, rtol=1e-5, atol=1e-5)
    assert float(head.loss(p32, y32)) == pytest.approx(-want.mean(), rel=1e-5)


def test_constraints_hold_for_extreme_raw_values():
    raw = np.array([[-1e4, -1e4, -1e4], [1e4, 1e4, 1e4], [0.0, -80.0, 80.0]], np.float32)
    p = np.asarray(D.StudentT().constrain(raw))
    assert np.isfinite(p).all() and (p[:, 1] > 0).all() and (p[:, 2] >= 2.0).all()
    p = np.asarray(D.Normal().constrain(raw[:, :2]))
    assert np.isfinite(p).all() and (p[:, 1] >= 1e-6).all()


QLEVELS = (1e-4, 0.001, 0.025, 0.1, 0.3, 0.5, 0.7, 0.9, 0.975, 0.999, 1 - 1e-4)


def test_normal_quantiles_match_scipy():
    p = np.array([[0.0, 1.0], [3.0, 0.5], [-2.0, 40.0]], np.float32)
    want = stats.norm.ppf(np.array(QLEVELS)[None], p[:, :1], p[:, 1:])
    np.testing.assert_allclose(D.Normal().quantiles(p, QLEVELS), want, rtol=1e-5, atol=1e-5)


def test_student_t_quantiles_match_scipy():
    """Relative error <= 2e-5 (8e-6 measured) over nu in [2.001, 1e7], levels in [1e-4, 1 - 1e-4]."""
    df = np.array([2.001, 2.5, 3.0, 5.0, 12.0, 39.9, 40.0, 100.0, 1e4, 1e7], np.float32)
    want = stats.t.ppf(np.array(QLEVELS)[None], df.astype(np.float64)[:, None])
    p = np.stack([np.zeros_like(df), np.ones_like(df), df], axis=-1)
    np.testing.assert_allclose(D.StudentT().quantiles(p, QLEVELS), want, rtol=2e-5, atol=0)


@pytest.mark.parametrize("head", [D.Quantiles((0.05, 0.2, 0.8, 0.95)), D.Normal(), D.StudentT()])
def test_affine_equivariance(head, rng):
    p = jnp.asarray(_random_params(head, rng), jnp.float32)
    a = rng.uniform(0.1, 5.0, size=p.shape[:-1]).astype(np.float32)
    b = np.float32(-3.0)  # a scalar broadcasts too
    levels = (0.05, 0.2, 0.5, 0.8, 0.95)
    moved = head.affine(p, a, b)
    np.testing.assert_allclose(
        head.quantiles(moved, levels), a[..., None] * head.quantiles(p, levels) + b, rtol=1e-5
    )
    np.testing.assert_allclose(head.point(moved), a * head.point(p) + b, rtol=1e-5, atol=1e-5)
    y = jnp.asarray(rng.normal(size=p.shape[:-1]), jnp.float32)
    if isinstance(head, D.Quantiles):  # the pinball loss scales with a (a constant a here)
        np.testing.assert_allclose(
            head.loss(head.affine(p, 2.0, b), 2.0 * y + b), 2.0 * head.loss(p, y), rtol=1e-5
        )
    else:  # a density picks up the Jacobian: NLL(aY + b) = NLL(Y) + log a
        np.testing.assert_allclose(
            head.loss(moved, a * y + b), head.loss(p, y) + np.mean(np.log(a)), rtol=1e-5
        )


@pytest.mark.parametrize("head", [D.Quantiles(LEVELS), D.Normal(), D.StudentT()])
def test_loss_gradients_match_finite_differences(head):
    rng = np.random.default_rng(1)
    with jax.enable_x64(True):
        raw = jnp.asarray(rng.normal(size=(3, 2, head.size)))
        y = jnp.asarray(rng.normal(size=(3, 2)) * 2.0)
        check_grads(lambda r: head.loss(head.constrain(r), y), (raw,), order=1, modes=("rev",))


@pytest.mark.parametrize("head", [D.Quantiles(LEVELS), D.Normal(), D.StudentT()])
def test_jit_and_vmap(head, rng):
    raw = jnp.asarray(rng.normal(size=(4, 5, head.size)), jnp.float32)
    y = jnp.asarray(rng.normal(size=(4, 5)), jnp.float32)
    eager = head.loss(head.constrain(raw), y)
    jitted = jax.jit(lambda r, t: head.loss(head.constrain(r), t))(raw, y)
    np.testing.assert_allclose(jitted, eager, rtol=1e-6)
    per_row = jax.vmap(lambda r, t: head.loss(head.constrain(r), t))(raw, y)
    assert per_row.shape == (4,)
    np.testing.assert_allclose(per_row.mean(), eager, rtol=1e-6)
    params = head.constrain(raw)
    q = np.asarray(jax.jit(jax.vmap(lambda p: head.quantiles(p, LEVELS)))(params))
    assert q.shape == (4, 5, 3)
    assert (np.diff(q, axis=-1) >= 0).all()
    np.testing.assert_allclose(q[..., 1], jax.jit(head.point)(params), atol=1e-6)  # the median


# --------------------------------------------------------------------------- get, errors


def test_get_names_and_pass_through():
    assert D.get(None) is None and D.get("none") is None and D.get(" None ") is None
    assert isinstance(D.get("normal"), D.Normal)
    for name in ("student_t", "studentt", "t", "Student_T"):
        assert isinstance(D.get(name), D.StudentT)
    head = D.Quantiles(LEVELS)
    assert D.get(head) is head
    assert D.get(np.array([0.1, 0.9])).levels == LEVELS
    assert D.get(0.9).levels == (0.5, 0.9)
    for h in (head, D.Normal(), D.StudentT()):
        assert h.name in h.describe()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("gaussian", r"head must be None or 'none'.*'normal', 'student_t'.*got 'gaussian'"),
        (object, r"head must be None or 'none'"),
        (True, r"head must be None or 'none'"),
        ("0.1,abc", r"head '0.1,abc' must list numbers, got 'abc' at position 1"),
        ((0.1, "x"), r"head must hold numbers, got 'x' at position 1"),
        ((0.1, 1.2), r"head holds 1.2 at position 1, outside \(0, 1\)"),
        ((0.0,), r"head holds 0.0 at position 0, outside \(0, 1\)"),
        ((0.1, float("nan")), r"outside \(0, 1\)"),
        ("0.1,0.1", r"head holds 0.1 twice: give each quantile level once"),
        ((), r"head is empty: give at least one quantile level"),
    ],
)
def test_bad_specs_raise(spec, message):
    with pytest.raises(InputError, match=message):
        D.get(spec)


def test_bad_levels_and_shapes_raise():
    with pytest.raises(InputError, match=r"levels holds 1.5 at position 0, outside \(0, 1\)"):
        D.Quantiles((1.5,))
    with pytest.raises(InputError, match=r"levels must hold numbers"):
        D.Normal().quantiles(jnp.ones((2, 2)), ("a",))
    with pytest.raises(InputError, match=r"raw of the normal head must be \[\.\.\., 2\]"):
        D.Normal().constrain(jnp.ones((4, 3)))
    with pytest.raises(InputError, match=r"params of the student_t head must be \[\.\.\., 3\]"):
        D.StudentT().loss(jnp.ones((4, 2)), jnp.ones(4))
    with pytest.raises(InputError, match=r"y must have the shape of params without its last"):
        D.Quantiles(LEVELS).loss(jnp.ones((4, 3)), jnp.ones((4, 1)))


def test_normal_median_is_mu_exactly():
    p = jnp.asarray([[1.25, 3.0]], jnp.float32)
    assert float(D.Normal().quantiles(p, (0.5,))[0, 0]) == 1.25
    q = np.asarray(D.Normal().quantiles(p, (0.1, 0.9)))
    assert q[0, 0] - 1.25 == pytest.approx(1.25 - q[0, 1], abs=1e-6)  # symmetric
    assert math.isclose(float(D.Normal().point(p)[0]), 1.25)
