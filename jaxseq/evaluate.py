"""Evaluation: the vmap'd evaluator, baselines and multi-step forecasting.

- :func:`evaluate_replicas`: every replica of a trained model on a split, in one compiled call
  (``vmap`` over the parameter axis), returning per-replica metrics; :func:`summarize` gives mean,
  std, min and max.
- Baselines: naive (the last value), naive repeated over the horizon, and linear least squares.
- :func:`forecast_iterative`: a one-step model applied ``steps`` times, each prediction fed
  back (a growing window, as the notebook does, or a sliding one); one compiled loop.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxseq.data import Split
from jaxseq.errors import InputError, check_positive_int
from jaxseq.models import Model
from jaxseq.train import evaluate_loss, predict

Array = jax.Array


def summarize(values) -> dict[str, float]:
    """Mean, standard deviation (population, ``ddof=0``), min and max over replicas."""
    v = np.asarray(values, np.float64)
    return {
        "mean": float(v.mean()),
        "std": float(v.std()),
        "min": float(v.min()),
        "max": float(v.max()),
    }


@functools.lru_cache(maxsize=64)
def _replica_evaluator(model: Model):
    return jax.jit(
        jax.vmap(
            lambda variables, X, Y: evaluate_loss(model, variables, X, Y), in_axes=(0, None, None)
        )
    )


def evaluate_replicas(model: Model, variables, split: Split) -> dict[str, np.ndarray]:
    """Metrics of every replica on ``split``: ``{'mse': [K], 'last_step_mse': [K] (seq2seq)}``.

    ``variables`` carry a leading replica axis. One compiled call per model and split shape.
    """
    model.check_inputs(split.X)
    metrics = _replica_evaluator(model)(variables, jnp.asarray(split.X), jnp.asarray(split.Y))
    return {k: np.asarray(v) for k, v in metrics.items()}


@functools.lru_cache(maxsize=64)
def _replica_predictor(model: Model):
    return jax.jit(jax.vmap(lambda variables, X: predict(model, variables, X), in_axes=(0, None)))


def predict_replicas(model: Model, variables, X) -> np.ndarray:
    """Predictions of every replica: ``[K, batch, ...]``."""
    model.check_inputs(X)
    return np.asarray(_replica_predictor(model)(variables, jnp.asarray(X)))


@functools.lru_cache(maxsize=64)
def _replica_quantiles(model: Model, levels: tuple[float, ...]):
    return jax.jit(
        jax.vmap(lambda variables, X: model.quantiles(variables, X, levels), in_axes=(0, None))
    )


def quantile_replicas(model: Model, variables, X, levels=None) -> np.ndarray:
    """Every replica's forecast quantiles at ``levels`` (default :attr:`Model.levels`), in the
    units of ``X``: ``[K, batch, ..., outputs, L]`` (:meth:`predict_replicas`' layout with the
    levels last), non-decreasing along ``L``. Needs a model with a probabilistic head."""
    model.check_inputs(X)
    levels = tuple(float(t) for t in (levels or model.levels))
    return np.asarray(_replica_quantiles(model, levels)(variables, jnp.asarray(X)))


def mse_float64(pred, target) -> float:
    """Mean squared error in float64 (NumPy), for figures compared with the notebook's."""
    diff = np.asarray(pred, np.float64) - np.asarray(target, np.float64)
    return float(np.mean(diff * diff))


# --------------------------------------------------------------------------- baselines


def naive_forecast(X, horizon: int = 1) -> np.ndarray:
    """The last input value of feature 0 repeated ``horizon`` times: ``[n, horizon]``."""
    X = np.asarray(X)
    return np.repeat(X[:, -1, :1], horizon, axis=1)


def linear_least_squares(train: Split, *, ridge: float = 0.0):
    """The best linear forecast of the flattened window (closed form, with intercept).

    Returns a function ``X -> predictions`` shaped like ``train.Y``. A reference point for the
    chapter's trained ``linear`` models, which approach it by gradient descent.
    """
    X = np.asarray(train.X, np.float64).reshape(len(train.X), -1)
    Y = np.asarray(train.Y, np.float64).reshape(len(train.Y), -1)
    A = np.hstack([X, np.ones((len(X), 1))])
    gram = A.T @ A + ridge * np.eye(A.shape[1])
    W = np.linalg.solve(gram, A.T @ Y)
    out_shape = train.Y.shape[1:]

    def forecast(Xnew):
        Xn = np.asarray(Xnew, np.float64).reshape(len(Xnew), -1)
        return (np.hstack([Xn, np.ones((len(Xn), 1))]) @ W).reshape((len(Xn),) + out_shape)

    return forecast


def solve_linear_head(model: Model, split: Split, *, ridge: float = 0.0) -> dict:
    """The variables of a model whose only parameters are one linear ``head`` on the flattened
    window (``linear``, ``linear_multi``), solved exactly: the least-squares minimum of its
    own training loss on ``split`` (closed form, in the model's frame: after its window
    normalisation, net of a hybrid's base). What gradient descent on the same model and data
    converges to; :func:`linear_least_squares` is the same for raw windows.

    Returns ``{"params": {"head": {"kernel", "bias"}}}`` float32.
    """
    variables = model.init(jax.random.PRNGKey(0))
    if set(variables) != {"params"} or set(variables["params"]) != {"head"} or model.head:
        raise InputError(f"model {model.name!r} is not one linear head: it has no closed form")
    zero = jax.tree_util.tree_map(jnp.zeros_like, variables)
    X = jnp.asarray(split.X)
    base, _, frame = model.apply_in_frame(zero, X)  # a zero head outputs the base alone
    inputs = X if frame is None else model.normalization.inputs(X, frame)  # type: ignore[union-attr]
    A = np.asarray(inputs, np.float64).reshape(len(X), -1)
    A = np.hstack([A, np.ones((len(A), 1))])
    target = model.frame_targets(model.targets(jnp.asarray(split.Y)), zero, frame) - base
    T = np.asarray(target, np.float64).reshape(len(X), -1)
    if ridge:
        A = np.vstack([A, np.sqrt(ridge) * np.eye(A.shape[1])])
        T = np.vstack([T, np.zeros((A.shape[1], T.shape[1]))])
    W = np.linalg.lstsq(A, T, rcond=None)[0]  # collinear inputs: the minimum-norm solution
    head = {"kernel": W[:-1].astype(np.float32), "bias": W[-1].astype(np.float32)}
    return {"params": {"head": head}}


# --------------------------------------------------------------------------- multi-step


def forecast_iterative(model: Model, variables, X, steps: int, *, window: str = "grow") -> Array:
    """Forecast ``steps`` values with a one-step model, feeding each prediction back.

    Args:
        model: a ``one_step`` model of a univariate series.
        variables: its variables (one replica; ``vmap`` this function for many).
        X: ``[batch, window, 1]``.
        steps: values to forecast.
        window: ``"grow"`` appends each prediction and keeps every past value (the notebook's
            way: inputs of 50, 51, ... 59 steps), run as one padded buffer with per-step
            lengths so it compiles once; ``"slide"`` keeps the last ``window`` steps.

    Returns:
        ``[batch, steps]``.
    """
    if model.task != "one_step":
        raise InputError(
            f"iterative forecasting needs a one_step model, {model.name!r} is {model.task}"
        )
    if model.dims.features != 1:
        raise InputError(
            "iterative forecasting feeds predictions back as inputs: it needs a univariate model"
        )
    steps = check_positive_int("steps", steps)
    if window not in ("grow", "slide"):
        raise InputError(f"window must be 'grow' or 'slide', got {window!r}")
    X = jnp.asarray(X)
    model.check_inputs(X)
    n, w, _ = X.shape
    if window == "grow" and not model.supports_lengths:
        raise InputError(
            f"model {model.name!r} cannot read a growing window (it has layers other than "
            "recurrent and per-step ones); use window='slide'"
        )

    if window == "grow":
        buffer = jnp.concatenate([X, jnp.zeros((n, steps, 1), X.dtype)], axis=1)

        def grow(i, buffer):
            lengths = jnp.full((n,), w, jnp.int32) + i
            y = model.apply(variables, buffer, lengths=lengths)[:, 0]
            return jax.lax.dynamic_update_slice(buffer, y[:, None, None], (0, w + i, 0))

        buffer = jax.lax.fori_loop(0, steps, grow, buffer)
        return buffer[:, w:, 0]

    def slide(x, _):
        y = model.apply(variables, x)[:, 0]
        return jnp.concatenate([x[:, 1:], y[:, None, None]], axis=1), y

    _, ys = jax.lax.scan(slide, X, None, length=steps)
    return ys.T


@functools.lru_cache(maxsize=16)
def _iterative_replicas(model: Model, steps: int, window: str):
    return jax.jit(
        jax.vmap(
            lambda v, X: forecast_iterative(model, v, X, steps, window=window), in_axes=(0, None)
        )
    )


def forecast_iterative_replicas(
    model: Model, variables, X, steps: int, *, window: str = "grow"
) -> np.ndarray:
    """:func:`forecast_iterative` for every replica at once: ``[K, batch, steps]``."""
    return np.asarray(_iterative_replicas(model, steps, window)(variables, jnp.asarray(X)))
