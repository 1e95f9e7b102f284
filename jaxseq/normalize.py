"""Window normalisation: each input window in its own frame, forecasts mapped back.

A forecasting network trained on one global scaling sees a trending series leave the range it
was trained on. Normalising every input window by its own statistics (as neuralforecast's
window scalers and RevIN do) removes the level and the scale the network would otherwise have
to extrapolate. For an input window ``x`` ``[batch, time, features]``::

    loc   = x[:, -1]            (location "last")   or  mean_t x   ("mean")  or  median_t x ("median")
    s     = std_t x             (scale "std")       or  1.4826 * median_t |x - median_t x|  ("robust")
    s     = max(s, floor)       (a constant window stays finite)
    x'    = (x - loc) / s  [* gamma + beta]          (affine: RevIN's learnable per-feature terms)
    yhat  = ([yhat' - beta_j] / gamma_j) * s_j + loc_j   for each forecast column j

Statistics are per example and per feature; the forecast columns take the statistics of the
input feature they forecast. The functions are pure and shape-polymorphic, so a normalised
model is still ``init``-vmappable over keys and ``apply``-vmappable over parameters. Training
compares ``yhat'`` with the targets taken into the same frame, ``(y - loc_j) / s_j``.

With location and scale both equivariant, a normalised model's forecasts are equivariant:
``f(a x + b) = a f(x) + b`` for ``a > 0`` (up to float rounding, and as long as no window is
at the floor).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxseq.errors import InputError

Array = jax.Array

LOCATIONS = ("last", "mean", "median")
SCALES = ("std", "robust")
#: ``normalize=`` choices of the workflow: per window (inside the model, on a series already
#: standardised with training statistics), the series' training statistics only, or nothing.
MODES = ("window", "series", "none")
#: what a user may ask for: a mode, or ``"auto"`` (:func:`resolve_mode`)
CHOICES = (*MODES, "auto")
#: ``"auto"`` takes ``"window"`` when more than this share of the validation part lies outside
#: the training part's range (fixed before it was measured; chosen over both fixed modes on
#: validation, ``experiments/results/choice_normalize_auto/choice.md``)
AUTO_OUT_OF_RANGE = 0.25
#: MAD of a normal distribution is 0.6745 sigma; this factor makes the robust scale a sigma.
MAD_TO_STD = 1.4826
AFFINE = "window_norm"  # the parameter collection entry that holds gamma and beta


class Frame(NamedTuple):
    """One batch's window statistics: ``loc`` and ``scale`` ``[batch, 1, features]``."""

    loc: Array
    scale: Array


@dataclasses.dataclass(frozen=True)
class Normalization:
    """How a model normalises its input windows (hashable: models are cached by identity).

    Attributes:
        location: ``"last"`` (the window's last value), ``"mean"`` or ``"median"``.
        scale: ``"std"`` (population standard deviation) or ``"robust"`` (1.4826 x MAD).
        floor: the smallest scale, in the model's input units (the workflow standardises the
            series with training statistics first, so 1e-3 means a thousandth of the series'
            standard deviation).
        affine: learnable per-feature ``gamma`` and ``beta`` after the normalisation (RevIN),
            stored as ``params["window_norm"]``.
    """

    location: str = "mean"
    scale: str = "std"
    floor: float = 1e-3
    affine: bool = False

    def __post_init__(self):
        if self.location not in LOCATIONS:
            raise InputError(
                f"normalisation location must be one of {', '.join(LOCATIONS)}; "
                f"got {self.location!r}"
            )
        if self.scale not in SCALES:
            raise InputError(
                f"normalisation scale must be one of {', '.join(SCALES)}; got {self.scale!r}"
            )
        if not (isinstance(self.floor, int | float) and self.floor > 0):
            raise InputError(f"normalisation floor must be a positive number, got {self.floor!r}")

    # ------------------------------------------------------------------ statistics

    def frame(self, x: Array) -> Frame:
        """Statistics of each window of ``x`` ``[batch, time, features]``."""
        if self.location == "last":
            loc = x[:, -1:]
        elif self.location == "mean":
            loc = jnp.mean(x, axis=1, keepdims=True)
        else:
            loc = jnp.median(x, axis=1, keepdims=True)
        if self.scale == "std":
            scale = jnp.std(x, axis=1, keepdims=True)
        else:
            center = jnp.median(x, axis=1, keepdims=True)
            scale = MAD_TO_STD * jnp.median(jnp.abs(x - center), axis=1, keepdims=True)
        return Frame(loc, jnp.maximum(scale, self.floor))

    # ------------------------------------------------------------------ the two directions

    def inputs(self, x: Array, frame: Frame, affine: dict | None = None) -> Array:
        """``x`` in the window's frame: ``(x - loc) / scale`` (then ``* gamma + beta``)."""
        out = (x - frame.loc) / frame.scale
        if affine is not None:
            out = out * affine["gamma"] + affine["beta"]
        return out

    def targets(
        self, y: Array, frame: Frame, columns: Sequence[int], affine: dict | None = None
    ) -> Array:
        """Targets (or forecasts) in data units -> the frame. ``y``'s last axis is step-major
        over ``columns`` (``index = k * len(columns) + j``); leading axes are ``[batch]`` or
        ``[batch, steps]`` (seq2seq)."""
        a, b = self.data_map(y, frame, columns, affine)
        return (y - b) / a

    def outputs(
        self, y: Array, frame: Frame, columns: Sequence[int], affine: dict | None = None
    ) -> Array:
        """Outputs in the frame -> data units: the exact inverse of :meth:`targets`."""
        a, b = self.data_map(y, frame, columns, affine)
        return a * y + b

    def data_map(
        self, y: Array, frame: Frame, columns: Sequence[int], affine: dict | None = None
    ) -> tuple[Array, Array]:
        """The frame -> data map as ``y = a * y' + b``, ``a`` and ``b`` broadcastable to ``y``
        (laid out as in :meth:`targets`): ``a = s_j / gamma_j``, ``b = loc_j - beta_j * a``.
        Probabilistic heads map their parameters with it (``a > 0`` unless RevIN's gamma turns
        negative)."""
        loc, scale, gamma, beta = self._columns(y, frame, columns, affine)
        a = scale / gamma
        return a, loc - beta * a

    def _columns(self, y, frame: Frame, columns, affine):
        cols = jnp.asarray(tuple(columns))
        reps = y.shape[-1] // len(columns)

        def per_output(stat):  # [batch, 1, features] -> broadcastable to y
            value = jnp.tile(stat[:, 0, cols], reps)  # [batch, reps * targets]
            return value.reshape((y.shape[0],) + (1,) * (y.ndim - 2) + (y.shape[-1],))

        if affine is None:
            gamma = beta = None
        else:
            gamma = jnp.tile(affine["gamma"][cols], reps)
            beta = jnp.tile(affine["beta"][cols], reps)
        one, zero = jnp.ones((), y.dtype), jnp.zeros((), y.dtype)
        return (
            per_output(frame.loc),
            per_output(frame.scale),
            one if gamma is None else _affine_gamma(gamma),
            zero if beta is None else beta,
        )

    def init_affine(self, features: int) -> dict:
        """RevIN's initial terms: ``gamma`` ones, ``beta`` zeros, ``[features]`` each."""
        return {"gamma": jnp.ones((features,), jnp.float32), "beta": jnp.zeros((features,))}


def _affine_gamma(gamma: Array) -> Array:
    # RevIN divides by (gamma + eps^2): a gamma driven to zero must not blow the inverse up.
    return gamma + 1e-10


def get(spec) -> Normalization | None:
    """A :class:`Normalization` from ``None``/``"none"`` (off), ``"window"`` (the defaults) or
    an instance."""
    if spec is None or spec == "none":
        return None
    if isinstance(spec, Normalization):
        return spec
    if spec == "window":
        return Normalization()
    raise InputError(
        f"normalize must be 'window', 'none' or a jaxseq.normalize.Normalization; got {spec!r}"
    )


def check_mode(mode: str) -> str:
    if mode not in CHOICES:
        raise InputError(f"normalize must be one of {', '.join(CHOICES)}; got {mode!r}")
    return mode


def out_of_range_share(train, later) -> float:
    """The share of the values of ``later`` (NaN left out) outside ``[min, max]`` of
    ``train`` (both ``[time]`` or ``[time, features]``, compared column by column)."""
    train, later = np.asarray(train, np.float64), np.asarray(later, np.float64)
    low, high = np.nanmin(train, axis=0), np.nanmax(train, axis=0)
    seen = ~np.isnan(later)
    if not seen.any():
        return 0.0
    outside = (later < low) | (later > high)
    return float(outside[seen].mean())


def resolve_mode(mode: str, train, later) -> str:
    """The mode a run trains with: ``mode`` itself, or for ``"auto"`` ``"window"`` when the
    series leaves its training range (more than :data:`AUTO_OUT_OF_RANGE` of ``later``, the
    values its early stopping reads after the training part, outside the range of ``train``,
    the training part: a trending series, whose levels a network normalised by the training
    statistics would have to extrapolate) and ``"series"`` otherwise. Reads no value after
    ``later``."""
    check_mode(mode)
    if mode != "auto":
        return mode
    return "window" if out_of_range_share(train, later) > AUTO_OUT_OF_RANGE else "series"
