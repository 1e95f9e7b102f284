"""Probabilistic output heads: quantiles, a normal and a Student-t, as pure JAX functions.

A model with a head outputs, for every forecast value (step ``k``, target ``j``), ``size`` raw
numbers on its **last axis**: a point model's ``[..., horizon, targets]`` becomes
``[..., horizon, targets, size]``. A head turns those raw numbers into distribution parameters
(:meth:`Head.constrain`), scores them against the truth (:meth:`Head.loss`), and reads
forecasts from them (:meth:`Head.quantiles`, :meth:`Head.point`). Every method is pure,
shape-polymorphic over the leading axes and works under ``jit`` and ``vmap``; heads are frozen
dataclasses, hence hashable (a head can be a static argument, or part of a cached model).

The heads, with ``sp(x) = log(1 + e^x)`` (``jax.nn.softplus``, stable for any ``x``):

``Quantiles(levels)``, ``size = L``: one value per level ``tau_1 < ... < tau_L`` (0.5 always
among them, at index ``m``). The outputs cannot cross, by construction::

    q_m = r_m,   q_{i+1} = q_i + sp(r_{i+1})  (i >= m),   q_{i-1} = q_i - sp(r_{i-1})  (i <= m)
    loss = mean_{elements, i} rho_{tau_i}(y - q_i),  rho_tau(e) = max(tau e, (tau - 1) e)

The pinball loss ``rho_tau`` is minimised in expectation by the ``tau`` quantile of ``y``, so
a network trained on it learns the conditional quantiles without assuming any distribution.

``Normal()``, ``size = 2``: ``(mu, sigma) = (r_0, sp(r_1) + 1e-6)``::

    loss = mean [ log sigma + z^2 / 2 + log(2 pi) / 2 ],   z = (y - mu) / sigma
    quantile(tau) = mu + sigma Phi^-1(tau)

``StudentT()``, ``size = 3``: ``(mu, sigma, nu) = (r_0, sp(r_1) + 1e-6, 2 + sp(r_2))`` (``nu > 2``:
finite variance, so the forecast's spread is always defined)::

    loss = mean [ log B(nu / 2, 1 / 2) + log(nu) / 2 + log sigma + (nu + 1) / 2 log(1 + z^2 / nu) ]
    quantile(tau) = mu + sigma t_nu^-1(tau)

``log B(nu/2, 1/2) = lgamma(nu/2) + lgamma(1/2) - lgamma((nu+1)/2)``, evaluated by
``jax.scipy.special.betaln`` rather than as a difference of ``gammaln`` values: in float32 that
difference of two large numbers loses ~1e-3 at ``nu = 1e5`` (``betaln``: ~2e-7). The negative
log-likelihood (NLL) is a proper scoring rule: its expectation is smallest at the true
distribution, so it trains location and spread together. The Student-t's heavier tails make
it less sensitive to outliers than the normal.

jax has no inverse t CDF. :meth:`StudentT.quantiles` finds ``t = t_nu^-1(tau)`` by 60 steps of
vectorised bisection on the upper tail ``P(T > t) = I_{nu/(nu+t^2)}(nu/2, 1/2) / 2`` (the
regularised incomplete beta ``I``, ``jax.scipy.special.betainc``; its complement form for
``t^2 < nu``), over the bracket ``[0, t_2^-1]``: the ``nu = 2`` quantile, closed form, bounds
every ``nu > 2``. float32 ``betainc`` loses accuracy for large ``nu`` (relative tail error
~1e-2 at ``nu = 1e5``), so for ``nu >= 40`` the Cornish-Fisher expansion of the t quantile in
powers of ``1 / nu`` (Abramowitz & Stegun 26.7.5, four terms) is used instead. Measured in
float32 against ``scipy.stats.t.ppf`` for ``nu`` in ``[2.001, 1e7]`` and levels in
``[1e-4, 1 - 1e-4]``: relative error at most 8e-6 (bisection alone reaches 3e-5 at ``nu = 100``
and 3e-4 at ``nu = 1000``; the expansion alone 6e-4 at ``nu = 10``, 7e-7 at ``nu = 40``); the
0.5 level gives exactly 0. Gradients of the t quantiles flow to ``mu`` and
``sigma`` but not to ``nu``.

:meth:`Head.affine` maps parameters of ``Y`` to those of ``a Y + b`` (``a > 0``). Normalised
models forecast in each window's own frame and map back to data units with ``y = a y' + b``
(:mod:`jaxseq.normalize`: ``a`` the window's scale, ``b`` its location); for these heads that
map is exact on the parameters (quantiles, ``mu`` and ``sigma`` scale and shift; ``nu`` stays),
so training can score in the normalised frame and forecasts come out in data units.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import math
import numbers
from typing import ClassVar

import jax
import jax.numpy as jnp
from jax.scipy.special import betainc, betaln, ndtri

from jaxseq.errors import InputError

Array = jax.Array

#: The smallest scale of the normal and Student-t heads (keeps ``log sigma`` finite).
SIGMA_FLOOR = 1e-6
#: The Student-t's degrees of freedom are ``DF_MIN + softplus(raw)``.
DF_MIN = 2.0
#: From this ``nu`` on the t quantile comes from the Cornish-Fisher expansion, not bisection.
DF_EXPANSION = 40.0
#: Bisection steps of the t quantile (float32 resolution is reached after about 30).
BISECTION_STEPS = 60

#: Head names :func:`get` accepts (and their aliases), besides quantile levels and ``None``.
NAMES = {
    "normal": "normal",
    "student_t": "student_t",
    "studentt": "student_t",
    "t": "student_t",
}
_CHOICES = (
    "None or 'none' (no head: point forecasts), 'normal', 'student_t' (or 'studentt', 't'), "
    "quantile levels such as (0.1, 0.5, 0.9) or '0.1,0.5,0.9', or a Head"
)


# --------------------------------------------------------------------------- checks


def check_levels(levels, *, name: str = "levels") -> tuple[float, ...]:
    """Return ``levels`` as a tuple of floats, each in ``(0, 1)``, given once, in the given order.

    Raises:
        InputError: ``levels`` is empty, holds a non-number, a value outside ``(0, 1)``, or a
            value twice.
    """
    if isinstance(levels, numbers.Real) and not isinstance(levels, bool):
        levels = (levels,)
    try:
        raw = list(levels)
    except TypeError:
        raise InputError(
            f"{name} must be a sequence of quantile levels in (0, 1) such as (0.1, 0.5, 0.9), "
            f"got {levels!r}"
        ) from None
    if not raw:
        raise InputError(
            f"{name} is empty: give at least one quantile level in (0, 1), such as 0.1,0.5,0.9"
        )
    out = []
    for i, value in enumerate(raw):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise InputError(
                f"{name} must hold numbers, got {value!r} at position {i}: give quantile "
                "levels such as 0.1,0.5,0.9"
            )
        value = float(value)
        if not 0.0 < value < 1.0:  # also refuses NaN
            raise InputError(
                f"{name} holds {value} at position {i}, outside (0, 1): every quantile level "
                "must lie strictly between 0 and 1, such as 0.1,0.5,0.9"
            )
        if value in out:
            raise InputError(f"{name} holds {value} twice: give each quantile level once")
        out.append(value)
    return tuple(out)


def _check_raw(name: str, array, size: int, head: str) -> Array:
    array = jnp.asarray(array)
    if array.ndim < 1 or array.shape[-1] != size:
        raise InputError(
            f"{name} of the {head} head must be [..., {size}] ({size} value(s) per forecast "
            f"value on the last axis), got shape {array.shape}"
        )
    if not jnp.issubdtype(array.dtype, jnp.floating):
        array = array.astype(jnp.float32)
    return array


def _check_truth(params: Array, y) -> Array:
    y = jnp.asarray(y, params.dtype)
    if y.shape != params.shape[:-1]:
        raise InputError(
            f"y must have the shape of params without its last axis, {params.shape[:-1]}; got "
            f"shape {y.shape}: give one truth per forecast value"
        )
    return y


def _pinball(q: Array, y: Array, levels) -> Array:
    """``rho_tau(y - q)`` elementwise, ``q`` ``[..., L]``, ``y`` ``[...]``."""
    tau = jnp.asarray(levels, q.dtype)
    e = y[..., None] - q
    return jnp.maximum(tau * e, (tau - 1.0) * e)


def _tails(levels, dtype) -> tuple[Array, Array]:
    """``min(tau, 1 - tau)`` (in Python's float64 first, so ``1 - tau`` is exact) and
    ``sign(tau - 1/2)``, as ``dtype`` arrays ``[L]``."""
    tail = [min(t, 1.0 - t) for t in levels]
    sign = [(t > 0.5) - (t < 0.5) for t in levels]
    return jnp.asarray(tail, dtype), jnp.asarray(sign, dtype)


# --------------------------------------------------------------------------- heads


@functools.partial(jax.jit, static_argnums=(0, 1))
def _compiled(head: Head, method: str, *arrays) -> Array:
    """``head.<method>(*arrays)`` as one compiled program per head, method and shapes (an
    eager call would otherwise dispatch, and compile, every small operation on its own)."""
    return getattr(head, method)(*arrays)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _compiled_levels(head: Head, levels: tuple[float, ...], params) -> Array:
    return head._quantiles(params, levels)


@dataclasses.dataclass(frozen=True)
class Head(abc.ABC):
    """What every output head provides (see the module docstring for the equations).

    Shapes: ``raw`` and ``params`` are ``[..., size]``; ``y``, ``a``, ``b`` and the point
    forecast are ``[...]`` (``a`` and ``b`` broadcast to it); quantiles are ``[..., L]``.
    The public methods check their arguments (static shapes only, so they work under ``jit``
    and ``vmap``) and run the head's equations, the ``_``-prefixed methods, compiled.
    """

    name: ClassVar[str] = "head"

    @property
    @abc.abstractmethod
    def size(self) -> int:
        """Raw values per forecast value (the last axis of ``raw`` and ``params``)."""

    def _params(self, params) -> Array:
        return _check_raw("params", params, self.size, self.name)

    def constrain(self, raw) -> Array:
        """``raw`` ``[..., size]`` (any real numbers) -> valid ``params`` ``[..., size]``."""
        return _compiled(self, "_constrain", _check_raw("raw", raw, self.size, self.name))

    def affine(self, params, a, b) -> Array:
        """Parameters of ``Y`` -> parameters of ``a Y + b``, for ``a > 0`` (not checked).

        ``a`` and ``b`` are scalars or arrays that broadcast to ``params[..., 0]``.
        """
        params = self._params(params)
        shape = params.shape[:-1]
        try:
            a = jnp.broadcast_to(jnp.asarray(a, params.dtype), shape)
            b = jnp.broadcast_to(jnp.asarray(b, params.dtype), shape)
        except (TypeError, ValueError):
            raise InputError(
                f"a and b must broadcast to params without its last axis, {shape}; got shapes "
                f"{jnp.shape(a)} and {jnp.shape(b)}: give one scale and shift per forecast value"
            ) from None
        return _compiled(self, "_affine", params, a, b)

    def loss(self, params, y) -> Array:
        """The mean loss (scalar) of ``params`` ``[..., size]`` against ``y`` ``[...]``."""
        params = self._params(params)
        return _compiled(self, "_loss", params, _check_truth(params, y))

    def quantiles(self, params, levels) -> Array:
        """``[..., L]``: the quantiles at ``levels`` (a tuple of floats in ``(0, 1)``),
        non-decreasing along ``L`` when ``levels`` is sorted."""
        params = self._params(params)
        return _compiled_levels(self, check_levels(levels), params)

    def point(self, params) -> Array:
        """``[...]``: the median (the point forecast)."""
        return _compiled(self, "_point", self._params(params))

    @abc.abstractmethod
    def _constrain(self, raw: Array) -> Array: ...

    @abc.abstractmethod
    def _affine(self, params: Array, a: Array, b: Array) -> Array: ...

    @abc.abstractmethod
    def _loss(self, params: Array, y: Array) -> Array: ...

    @abc.abstractmethod
    def _quantiles(self, params: Array, levels: tuple[float, ...]) -> Array: ...

    @abc.abstractmethod
    def _point(self, params: Array) -> Array: ...

    @abc.abstractmethod
    def describe(self) -> str:
        """One line: the head, its parameters and its loss."""


@dataclasses.dataclass(frozen=True)
class Quantiles(Head):
    """Non-crossing quantiles at ``levels``: sorted, unique, in ``(0, 1)``, 0.5 among them.

    The constructor sorts ``levels`` and adds 0.5 when it is missing (the anchor of the
    construction and the point forecast), so ``Quantiles((0.9, 0.1)).levels == (0.1, 0.5, 0.9)``.

    ``constrain``: ``q_m = r_m``, each level above adds ``softplus(r)``, each level below
    subtracts it; built one level at a time (``L`` is small and static), so every output is a
    rounded sum of non-negative steps from its neighbour: non-decreasing even in float32.
    ``loss``: the pinball loss averaged over levels and elements. ``quantiles``: the columns
    at ``levels``, each of which must be one of the head's. ``affine``: ``a q + b``.
    ``point``: the 0.5 level.
    """

    levels: tuple[float, ...]
    name: ClassVar[str] = "quantile"

    def __post_init__(self):
        levels = check_levels(self.levels)
        object.__setattr__(self, "levels", tuple(sorted({*levels, 0.5})))

    @property
    def size(self) -> int:
        return len(self.levels)

    @property
    def median_index(self) -> int:
        """The index ``m`` of the 0.5 level."""
        return self.levels.index(0.5)

    def _level_index(self, levels: tuple[float, ...]) -> list[int]:
        index = []
        for t in levels:
            hits = [i for i, own in enumerate(self.levels) if abs(own - t) <= 1e-9]
            if not hits:
                raise InputError(
                    f"levels holds {t}, which this quantile head does not forecast: ask for "
                    f"levels among {self.levels}, or train a head with it"
                )
            index.append(hits[0])
        return index

    def quantiles(self, params, levels) -> Array:
        """The columns of ``params`` at ``levels``, each of which must be one of the head's."""
        self._level_index(check_levels(levels))  # refuse before compiling
        return super().quantiles(params, levels)

    def _constrain(self, raw):
        m = self.median_index
        steps = jax.nn.softplus(raw)
        q = [None] * self.size
        anchor = raw[..., m]
        # A subnormal anchor would pass through unchanged while the sums built on it are
        # flushed to zero (XLA on CPU), putting a neighbour on the wrong side: flush it here.
        q[m] = jnp.where(jnp.abs(anchor) < jnp.finfo(anchor.dtype).tiny, 0.0, anchor)
        for i in range(m + 1, self.size):
            q[i] = q[i - 1] + steps[..., i]
        for i in range(m - 1, -1, -1):
            q[i] = q[i + 1] - steps[..., i]
        return jnp.stack(q, axis=-1)

    def _affine(self, params, a, b):
        return a[..., None] * params + b[..., None]

    def _loss(self, params, y):
        return jnp.mean(_pinball(params, y, self.levels))

    def _quantiles(self, params, levels):
        return params[..., self._level_index(levels)]

    def _point(self, params):
        return params[..., self.median_index]

    def describe(self) -> str:
        levels = ", ".join(f"{t:g}" for t in self.levels)
        return f"quantile head: {self.size} non-crossing levels ({levels}), pinball loss"


@dataclasses.dataclass(frozen=True)
class Normal(Head):
    """A normal distribution ``(mu, sigma)`` per forecast value, trained by its NLL.

    ``constrain``: ``(r_0, softplus(r_1) + 1e-6)``; ``affine``: ``(a mu + b, a sigma)``;
    ``quantiles``: ``mu + sigma Phi^-1(tau)`` (``ndtri`` of ``min(tau, 1 - tau)``, so they are
    symmetric about ``mu`` and the 0.5 level is ``mu`` exactly); ``point``: ``mu``.
    """

    name: ClassVar[str] = "normal"

    @property
    def size(self) -> int:
        return 2

    def _constrain(self, raw):
        sigma = jax.nn.softplus(raw[..., 1]) + SIGMA_FLOOR
        return jnp.stack([raw[..., 0], sigma], axis=-1)

    def _affine(self, params, a, b):
        return jnp.stack([a * params[..., 0] + b, a * params[..., 1]], axis=-1)

    def _loss(self, params, y):
        mu, sigma = params[..., 0], params[..., 1]
        z = (y - mu) / sigma
        return jnp.mean(jnp.log(sigma) + 0.5 * z * z + 0.5 * math.log(2.0 * math.pi))

    def _quantiles(self, params, levels):
        tail, sign = _tails(levels, params.dtype)
        z = -sign * ndtri(tail)
        return params[..., :1] + params[..., 1:2] * z

    def _point(self, params):
        return params[..., 0]

    def describe(self) -> str:
        return "normal head: (mu, sigma) per forecast value, negative log-likelihood loss"


def _t_tail(t: Array, df: Array) -> Array:
    """``P(T > t)`` for ``t >= 0``, from the regularised incomplete beta (both forms)."""
    t2 = t * t
    x = df / (df + t2)
    direct = x < 0.5  # else the complement form, I_x(a, b) = 1 - I_{1-x}(b, a), is accurate
    half = jnp.full_like(x, 0.5)
    beta = betainc(
        jnp.where(direct, 0.5 * df, half),
        jnp.where(direct, half, 0.5 * df),
        jnp.where(direct, x, t2 / (df + t2)),
    )
    return jnp.where(direct, 0.5 * beta, 0.5 - 0.5 * beta)


def _t_bisection(tail: Array, df: Array) -> Array:
    """``t >= 0`` with ``P(T_df > t) = tail`` (``tail`` in ``(0, 1/2]``), by bisection."""
    # The nu = 2 quantile, t = (1 - 2p) / sqrt(2 p (1 - p)), is the largest for every nu > 2.
    hi = (1.0 - 2.0 * tail) / jnp.sqrt(2.0 * tail * (1.0 - tail))
    hi = jnp.broadcast_to(hi * 1.01 + 1e-6, jnp.broadcast_shapes(tail.shape, df.shape))
    lo = jnp.zeros_like(hi)

    def step(_, bracket):
        lo, hi = bracket
        mid = 0.5 * (lo + hi)
        above = _t_tail(mid, df) > tail  # the tail is still too heavy: t lies above mid
        return jnp.where(above, mid, lo), jnp.where(above, hi, mid)

    lo, hi = jax.lax.fori_loop(0, BISECTION_STEPS, step, (lo, hi))
    return 0.5 * (lo + hi)


def _t_expansion(tail: Array, df: Array) -> Array:
    """The Cornish-Fisher expansion of the upper-tail t quantile (A&S 26.7.5), for large nu."""
    x = -ndtri(tail)
    x2 = x * x
    g1 = x * (x2 + 1.0) / 4.0
    g2 = x * ((5.0 * x2 + 16.0) * x2 + 3.0) / 96.0
    g3 = x * (((3.0 * x2 + 19.0) * x2 + 17.0) * x2 - 15.0) / 384.0
    g4 = x * ((((79.0 * x2 + 776.0) * x2 + 1482.0) * x2 - 1920.0) * x2 - 945.0) / 92160.0
    u = 1.0 / df
    return x + u * (g1 + u * (g2 + u * (g3 + u * g4)))


def _t_quantile(levels: tuple[float, ...], df: Array) -> Array:
    df = jax.lax.stop_gradient(df)
    tail, sign = _tails(levels, df.dtype)
    small = _t_bisection(tail, jnp.minimum(df, DF_EXPANSION))
    large = _t_expansion(tail, jnp.maximum(df, DF_EXPANSION))
    return sign * jnp.where(df < DF_EXPANSION, small, large)


_t_quantile_compiled = jax.jit(_t_quantile, static_argnums=0)


def t_quantile(levels, df) -> Array:
    """``t_nu^-1(tau)`` ``[..., L]`` of the standard Student-t, ``df`` ``[..., 1]``, ``nu > 2``.

    Bisection on the incomplete-beta CDF for ``nu < 40``, the Cornish-Fisher expansion from
    there on (accuracy in the module docstring). No gradient with respect to ``df``.
    """
    df = jnp.asarray(df)
    if not jnp.issubdtype(df.dtype, jnp.floating):
        df = df.astype(jnp.float32)
    return _t_quantile_compiled(check_levels(levels), df)


@dataclasses.dataclass(frozen=True)
class StudentT(Head):
    """A Student-t ``(mu, sigma, nu)`` per forecast value, ``nu > 2``, trained by its NLL.

    ``constrain``: ``(r_0, softplus(r_1) + 1e-6, 2 + softplus(r_2))``; ``affine``:
    ``(a mu + b, a sigma, nu)``; ``quantiles``: ``mu + sigma t_nu^-1(tau)``
    (:func:`t_quantile`); ``point``: ``mu``.
    """

    name: ClassVar[str] = "student_t"

    @property
    def size(self) -> int:
        return 3

    def _constrain(self, raw):
        sigma = jax.nn.softplus(raw[..., 1]) + SIGMA_FLOOR
        df = jax.nn.softplus(raw[..., 2]) + DF_MIN
        return jnp.stack([raw[..., 0], sigma, df], axis=-1)

    def _affine(self, params, a, b):
        return jnp.stack([a * params[..., 0] + b, a * params[..., 1], params[..., 2]], axis=-1)

    def log_prob(self, params, y) -> Array:
        """``log p(y)`` ``[...]``: the log density of every forecast value, before averaging."""
        params = self._params(params)
        return _compiled(self, "_log_prob", params, _check_truth(params, y))

    def _log_prob(self, params, y):
        mu, sigma, df = params[..., 0], params[..., 1], params[..., 2]
        z = (y - mu) / sigma
        return (
            -betaln(0.5 * df, 0.5)
            - 0.5 * jnp.log(df)
            - jnp.log(sigma)
            - 0.5 * (df + 1.0) * jnp.log1p(z * z / df)
        )

    def _loss(self, params, y):
        return -jnp.mean(self._log_prob(params, y))

    def _quantiles(self, params, levels):
        z = _t_quantile(levels, params[..., 2:3]).astype(params.dtype)
        return params[..., :1] + params[..., 1:2] * z

    def _point(self, params):
        return params[..., 0]

    def describe(self) -> str:
        return (
            "student_t head: (mu, sigma, nu > 2) per forecast value, negative log-likelihood loss"
        )


# --------------------------------------------------------------------------- lookup


def get(spec) -> Head | None:
    """The head a specification names.

    Args:
        spec: ``None`` or ``"none"`` (no head); ``"normal"``; ``"student_t"`` (or
            ``"studentt"``, ``"t"``); quantile levels as a sequence of numbers
            ``(0.1, 0.5, 0.9)`` or a comma-separated string ``"0.1,0.5,0.9"`` (0.5 is added when
            missing); or a :class:`Head`, returned as it is.

    Returns:
        The :class:`Head`, or ``None`` for no head.

    Raises:
        InputError: an unknown name, or quantile levels that are not numbers in ``(0, 1)``
            given once.
    """
    if spec is None or isinstance(spec, Head):
        return spec
    if isinstance(spec, str):
        text = spec.strip().lower()
        if text == "none":
            return None
        if text == "normal":
            return Normal()
        if NAMES.get(text) == "student_t":
            return StudentT()
        if text and ("," in text or text[0] in "0123456789.-+"):
            parts = [p.strip() for p in text.split(",")]
            levels = []
            for i, part in enumerate(parts):
                try:
                    levels.append(float(part))
                except ValueError:
                    raise InputError(
                        f"head {spec!r} must list numbers, got {part!r} at position {i}: give "
                        "quantile levels such as 0.1,0.5,0.9"
                    ) from None
            return Quantiles(check_levels(levels, name="head"))
        raise InputError(f"head must be {_CHOICES}; got {spec!r}")
    if isinstance(spec, numbers.Real) and not isinstance(spec, bool):
        return Quantiles(check_levels((spec,), name="head"))
    if hasattr(spec, "__array__") and getattr(spec, "ndim", None) == 1:
        spec = spec.tolist()  # a NumPy or JAX array of levels
    if isinstance(spec, list | tuple):
        return Quantiles(check_levels(spec, name="head"))
    raise InputError(f"head must be {_CHOICES}; got {spec!r}")


def spec_of(head: Head | None) -> str | list[float] | None:
    """The JSON form of a head, which :func:`get` reads back: ``None``, ``"normal"``,
    ``"student_t"`` or the list of quantile levels."""
    if head is None:
        return None
    if isinstance(head, Quantiles):
        return [float(t) for t in head.levels]
    return head.name


#: Quantile levels a model without a quantile head reports (50%, 80% and 95% intervals).
REPORT_LEVELS = (0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975)


def levels_of(head: Head | None) -> tuple[float, ...]:
    """The quantile levels reported for a forecast with ``head``: a quantile head's own, else
    (a distribution, or point forecasts scored against quantile baselines)
    :data:`REPORT_LEVELS`."""
    return tuple(getattr(head, "levels", REPORT_LEVELS))
