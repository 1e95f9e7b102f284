"""Training: the optax chain, a jit-compiled train step, one compiled epoch, many replicas by vmap.

The pieces compose from the inside out:

- :func:`make_optimizer`: gradient clipping by global norm (optional) then Adam with Keras'
  epsilon 1e-7; learning rate and threshold live in the optimiser state
  (``optax.inject_hyperparams``), so a vector of them can be trained at once.
- :func:`train_step`: loss, ``value_and_grad`` (backpropagation through time, through the scan),
  optax update. Pure. The one training step: the epoch below, ``jaxseq bench`` and the studies
  in ``benchmarks/`` all run it (optionally computing in bfloat16, ``compute_dtype``); start
  one from :func:`init_state`.
- :func:`run_epoch`: shuffle with an explicit key, every minibatch (the short last one too) in
  one ``lax.scan``, then the validation loss. Pure; compiled once.
- :class:`Trainer`: ``vmap`` of the epoch over K replicas, each with its own initialisation,
  shuffling and hyperparameters, jit-compiled with donated buffers; a Python loop over epochs
  only, for progress and learning curves. With a ``monitor`` each replica keeps its best
  epoch and stops on its own (:mod:`jaxseq.stopping`), inside the same compiled epoch; a
  :class:`~jaxseq.stopping.Budget` gives the training length in optimizer steps.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, cast

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxseq import stopping
from jaxseq.data import Dataset, Split
from jaxseq.errors import InputError, check_positive_int
from jaxseq.history import FitResult, History, TrainingDiverged
from jaxseq.models import Model, mae, mse
from jaxseq.stopping import Budget, TrackedState

Array = jax.Array
RateSchedule = Callable[[Array], Array]

KERAS_ADAM_EPSILON = 1e-7


def make_optimizer(
    learning_rate: float | RateSchedule = 1e-3,
    *,
    clip_norm: float | None = None,
    eps: float = KERAS_ADAM_EPSILON,
    b1: float = 0.9,
    b2: float = 0.999,
    flatten: bool = True,
    schedule: stopping.Schedule | None = None,
) -> optax.GradientTransformation:
    """Adam (Keras' epsilon 1e-7 by default) after optional clipping by global norm.

    Args:
        learning_rate: a float or an optax schedule (``step -> rate``).
        clip_norm: clip the gradient's global norm to this value; ``None`` turns clipping off.
        schedule: a multiplier of the rate by step count (:class:`jaxseq.stopping.Schedule`),
            applied after Adam (``optax.scale_by_schedule``), so each replica's own rate stays
            in the state; ``None``: none.
        flatten: run the update on all parameters as one flat vector (``optax.flatten``): the
            same arithmetic (Adam is elementwise), but a few fused passes in all instead of a
            few per parameter array, each a separate kernel launch. For the chapter's small
            models that is a visible share of a step: W1's training step 1.05-1.08x faster
            on this CPU (``python benchmarks/perf_ideas.py``).

    The numeric hyperparameters sit in ``state.hyperparams`` so :class:`Trainer` can give each
    replica its own.
    """
    if not callable(learning_rate):
        _check_rate(learning_rate)
    check_clip_norm(clip_norm)

    def chain(learning_rate, clip_norm):
        update = optax.adam(learning_rate, b1=b1, b2=b2, eps=eps)
        if schedule is not None and schedule.kind == "cosine":
            update = optax.chain(update, optax.scale_by_schedule(schedule))
        if clip_norm is not None:
            update = optax.chain(optax.clip_by_global_norm(clip_norm), update)
        return optax.flatten(update) if flatten else update

    return optax.inject_hyperparams(
        chain, static_args=() if clip_norm is not None else ("clip_norm",)
    )(learning_rate=learning_rate, clip_norm=clip_norm)


def check_clip_norm(clip_norm) -> float | None:
    """A gradient clipping norm: a number > 0, or ``None`` (off)."""
    if clip_norm is None:
        return None
    number = isinstance(clip_norm, int | float | np.floating | np.integer)
    if isinstance(clip_norm, bool) or not number or not clip_norm > 0:
        raise InputError(f"clip_norm must be > 0 or None (off), got {clip_norm!r}")
    return float(clip_norm)


def _check_rate(rate):
    number = isinstance(rate, int | float | np.floating | np.integer) and not isinstance(rate, bool)
    if not (number and math.isfinite(rate) and rate > 0):
        raise InputError(
            f"learning_rate must be a positive number or an optax schedule, got {rate!r}"
        )


class TrainState(NamedTuple):
    """What an epoch carries: model variables (``params`` and any BatchNorm statistics) and the
    optimiser state."""

    variables: dict
    opt_state: Any


def init_state(model: Model, optimizer: optax.GradientTransformation, key: Array) -> TrainState:
    """One replica's fresh :class:`TrainState`: ``model.init(key)`` and the optimiser's state."""
    variables = model.init(key)
    return TrainState(variables, optimizer.init(variables["params"]))


def cast_floating(tree, dtype):
    """``tree`` with every floating-point leaf cast to ``dtype`` (other leaves unchanged)."""
    return jax.tree_util.tree_map(
        lambda a: a.astype(dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a, tree
    )


def loss_fn(model: Model, params, other, X, Y, key, *, compute_dtype=None) -> tuple[Array, dict]:
    """The model's loss on a batch (MSE, or its head's pinball loss or negative
    log-likelihood: :meth:`Model.loss_in_frame`), and the updated non-parameter collections.

    A window-normalised model is scored in each window's frame (outputs against the targets
    normalised with that window's statistics), so every window weighs alike whatever its level.

    ``compute_dtype`` (e.g. ``jnp.bfloat16``): the model computes in that dtype, its variables
    and inputs cast inside this function (so gradients arrive in the parameters' own dtype),
    its outputs cast back to the targets' dtype for the loss; ``None``: no casts.
    """
    variables = {"params": params, **other}
    inputs = X
    if compute_dtype is not None:
        variables, inputs = cast_floating((variables, X), compute_dtype)
    out, updates, frame = model.apply_in_frame(variables, inputs, train=True, key=key)
    if compute_dtype is not None:
        out = out.astype(jnp.result_type(Y))
        # new BatchNorm statistics back to the state's dtype
        updates = {
            k: jax.tree_util.tree_map(lambda a, b: a.astype(b.dtype), v, other[k])
            for k, v in updates.items()
        }
    return model.loss_in_frame(
        out, model.frame_targets(model.targets(Y), variables, frame)
    ), updates


def train_step(
    model: Model,
    optimizer: optax.GradientTransformation,
    state: TrainState,
    X,
    Y,
    key,
    *,
    compute_dtype=None,
):
    """One optimisation step: ``(state, X, Y, key) -> (state, loss)``. Pure.

    ``compute_dtype``: compute the model in that dtype (bfloat16 on GPUs and TPUs) while the
    parameters, gradients and optimiser state keep theirs (see :func:`loss_fn`).
    """
    params = state.variables["params"]
    other = {k: v for k, v in state.variables.items() if k != "params"}
    (loss, updates), grads = jax.value_and_grad(loss_fn, argnums=1, has_aux=True)(
        model, params, other, X, Y, key, compute_dtype=compute_dtype
    )
    deltas, opt_state = optimizer.update(grads, state.opt_state, params)
    params = optax.apply_updates(params, deltas)
    return TrainState({"params": params, **other, **updates}, opt_state), loss


def default_chunk() -> int:
    """Windows per chunk of an inference pass: 256 on a CPU, 2,048 on an accelerator.

    On a CPU each recurrent step's arrays stay in cache at 256 windows (measured in
    ``docs/performance.md``, section 3: the evaluator 1.2-1.8x faster than at 2,048); an
    accelerator wants the larger batch. The only backend branch in the library.
    """
    return 256 if jax.default_backend() == "cpu" else 2048


def evaluate_loss(model: Model, variables, X, Y, batch_size: int | None = None) -> dict[str, Array]:
    """MSE (and, for seq2seq, last-step MSE) of ``model`` on a whole split, the same with MAE
    for a model trained on it (``mae``, ``last_step_mae``), and a head's loss (``loss``). Pure.

    The split is cut into equal chunks of at most ``batch_size`` windows (default
    :func:`default_chunk`) evaluated by ``lax.map``; chunk sums are combined exactly.
    """
    pred = predict(model, variables, X, batch_size)
    target = model.targets(Y)
    out = {"mse": mse(pred, target)}
    if model.task == "seq2seq":
        out["last_step_mse"] = mse(pred[:, -1], target[:, -1])
    if model.head is None and model.loss == "mae":
        out["mae"] = mae(pred, target)
        if model.task == "seq2seq":
            out["last_step_mae"] = mae(pred[:, -1], target[:, -1])
    if model.head is not None:  # the head's own loss picks the best epoch of a probabilistic model
        raw, _, frame = model.apply_in_frame(variables, X)
        framed = model.frame_targets(target, variables, frame)
        if model.task == "seq2seq":
            raw, framed = raw[:, -1], framed[:, -1]
        out["loss"] = model.loss_in_frame(raw, framed)
    return out


def predict(model: Model, variables, X, batch_size: int | None = None) -> Array:
    """Predictions for ``X`` in chunks of at most ``batch_size`` windows (default
    :func:`default_chunk`; one compiled body)."""
    batch_size = batch_size or default_chunk()
    n = X.shape[0]
    if n <= batch_size:
        return model.apply(variables, X)
    chunks = math.ceil(n / batch_size)
    size = math.ceil(n / chunks)
    pad = chunks * size - n
    Xp = jnp.concatenate([X, jnp.repeat(X[-1:], pad, axis=0)]) if pad else X
    out = jax.lax.map(lambda x: model.apply(variables, x), Xp.reshape(chunks, size, *X.shape[1:]))
    return out.reshape(chunks * size, *out.shape[2:])[:n]


def run_epoch(
    model: Model,
    optimizer: optax.GradientTransformation,
    batch_size: int,
    state: TrainState,
    key: Array,
    train: Split,
    valid: Split | None,
    *,
    constrain: Callable | None = None,
):
    """One epoch: shuffle with ``key``, every minibatch in one ``lax.scan`` (the short last batch
    as one extra step, so its gradient is exact), then the validation loss. Pure.

    ``constrain(tree, stacked)`` (optional) is applied to every minibatch ``(x, y)`` (``stacked``
    false) and to the stacked minibatches ``[steps, batch, ...]`` (true) and the validation
    inputs: :mod:`jaxseq.distributed` passes a sharding constraint there for data parallelism.

    Returns ``(state, metrics)`` with ``metrics['loss']`` the mean training loss over the epoch's
    samples (Keras' figure), the validation metrics as ``val_mse`` (and ``val_last_step_mse``),
    and ``bad_step``: -1, or the first step whose loss or parameters were not finite, in which
    case ``state`` holds the parameters from before that step.
    """
    X, Y = train.X, train.Y
    n = X.shape[0]
    shuffle_key, dropout_key = jax.random.split(key)
    perm = jax.random.permutation(shuffle_key, n)
    X, Y = X[perm], Y[perm]
    full = n // batch_size
    rest = n - full * batch_size
    step_keys = jax.random.split(dropout_key, full + 1)
    if constrain is None:
        constrain = lambda tree, stacked=False: tree

    def guarded_step(carry, x, y, k, index):
        # A non-finite loss or parameter freezes the state from that step on (the last good
        # parameters survive) and records the step, for Trainer.fit to report.
        state, bad_step = carry
        x, y = constrain((x, y))
        new_state, loss = train_step(model, optimizer, state, x, y, k)
        finite = jnp.isfinite(loss) & _all_finite(new_state.variables["params"])
        keep = finite & (bad_step < 0)
        state = jax.tree_util.tree_map(lambda a, b: jnp.where(keep, a, b), new_state, state)
        bad_step = jnp.where((bad_step < 0) & ~finite, index, bad_step)
        return (state, bad_step), loss

    stacked = constrain(
        (
            X[: full * batch_size].reshape(full, batch_size, *X.shape[1:]),
            Y[: full * batch_size].reshape(full, batch_size, *Y.shape[1:]),
        ),
        True,
    )
    batches = (*stacked, step_keys[:full], jnp.arange(full))
    carry = (state, jnp.asarray(-1, jnp.int32))
    total = jnp.zeros((), jnp.float32)
    if full:
        carry, losses = jax.lax.scan(lambda c, b: guarded_step(c, *b), carry, batches)
        total = jnp.sum(losses) * batch_size
    if rest:
        carry, last = guarded_step(carry, X[-rest:], Y[-rest:], step_keys[-1], full)
        total = total + last * rest
    state, bad_step = carry
    metrics = {"loss": total / n, "bad_step": bad_step}
    if valid is not None:
        vx, vy = constrain((valid.X, valid.Y))
        for name, value in evaluate_loss(model, state.variables, vx, vy).items():
            metrics[f"val_{name}"] = value
    return state, metrics


def _all_finite(tree) -> Array:
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in leaves]))


def _as_replica_vector(name: str, value, replicas: int) -> np.ndarray | None:
    if value is None:
        return None
    arr = np.asarray(value, np.float32)
    if arr.ndim == 0:
        return np.full((replicas,), arr, np.float32)
    if arr.shape != (replicas,):
        raise InputError(
            f"{name} must be a number or one per replica ({replicas}), got shape {arr.shape}"
        )
    return arr


def replica_keys(seeds: int | Sequence[int] | Array) -> Array:
    """PRNG keys for replicas: ``n`` seeds ``0..n-1``, an explicit list of seeds, or keys as given
    (``[K, 2]`` uint32)."""
    if isinstance(seeds, int | np.integer) and not isinstance(seeds, bool):
        seeds = check_positive_int("seeds", seeds)
        return jax.vmap(jax.random.PRNGKey)(jnp.arange(seeds))
    if isinstance(seeds, jax.Array) and seeds.ndim == 2 and seeds.dtype == jnp.uint32:
        return seeds
    if isinstance(seeds, bool | str | bytes | float) or not hasattr(seeds, "__iter__"):
        raise InputError(
            f"seeds must be a number of replicas (an integer >= 1), a list of integer seeds or "
            f"[K, 2] keys; got {seeds!r}"
        )
    seeds = list(seeds)
    if not seeds:
        raise InputError("seeds must name at least one seed")
    if not all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in seeds):
        raise InputError(f"seeds must be integers, got {seeds!r}")
    return jax.vmap(jax.random.PRNGKey)(jnp.asarray(seeds))


def _optimizer_from_spec(spec: tuple) -> optax.GradientTransformation:
    """The optimiser of :meth:`Trainer._optimizer_spec`."""
    if len(spec) == 1:
        return spec[0]
    return make_optimizer(spec[0], clip_norm=spec[1], schedule=spec[2])


@functools.lru_cache(maxsize=64)
def _compiled_init(
    model: Model, optimizer_spec: tuple, tracked: bool, per_rate: bool, per_clip: bool
):
    """The replicas' initial states, compiled once per model and optimiser (a loop that
    trains many data sets with one trainer initialises without compiling again):
    ``(keys[K], rates[K] | None, clips[K] | None) -> state[K]``.

    The replicas are initialised one after another inside the compiled program
    (``lax.map``), not as one ``vmap``'d batch: a batched orthogonal initialiser is a batched
    LAPACK QR, which jaxlib's CPU kernels split over XLA's intra-op thread pool, and with
    several of them in one program (a recurrent model's layers) that pool can deadlock on a
    small CPU (jax 0.10.2, 2 cores: 256 replicas of two orthogonal 20 x 60 matrices hung in 3
    tries of 3, ``benchmarks/results/init_deadlock.md``). One replica at a time gives the same
    values (each matrix is its own QR either way) and costs little: an initialisation is
    cheap beside an epoch."""
    optimizer = _optimizer_from_spec(optimizer_spec)
    custom = len(optimizer_spec) == 1

    def init_one(key, rate, clip):
        variables = model.init(jax.random.fold_in(key, 0))
        opt_state = optimizer.init(variables["params"])
        if not custom:
            hyper = dict(opt_state.hyperparams)
            if rate is not None:
                hyper["learning_rate"] = rate
            if clip is not None:
                hyper["clip_norm"] = clip
            opt_state = opt_state._replace(hyperparams=hyper)
        state = TrainState(variables, opt_state)
        return TrackedState(state, stopping.init_tracker(variables)) if tracked else state

    def init_all(keys, rates, clips):
        def one(xs):
            key, rate, clip = xs
            return init_one(key, rate if per_rate else rates, clip if per_clip else clips)

        return jax.lax.map(one, (keys, rates if per_rate else None, clips if per_clip else None))

    return jax.jit(init_all)


@functools.lru_cache(maxsize=64)
def _compiled_epoch(
    model: Model, batch_size: int, optimizer_spec: tuple, data_axis: int | None = None
):
    """One jit-compiled, replica-vmapped epoch per model, batch size and optimiser (the cache
    policy of :mod:`jaxseq.evaluate`: models hash by identity). ``data_axis=0``: each replica
    trains on its own data, stacked on the first axis (:meth:`Trainer.fit`'s
    ``per_replica_data``); ``None``: every replica reads the same data."""
    optimizer = _optimizer_from_spec(optimizer_spec)

    def epoch(state, key, train, valid):
        return run_epoch(model, optimizer, batch_size, state, key, train, valid)

    in_axes = (0, 0, data_axis, data_axis)
    return jax.jit(jax.vmap(epoch, in_axes=in_axes), donate_argnums=(0,))


@functools.lru_cache(maxsize=64)
def _compiled_tracked_epoch(
    model: Model,
    batch_size: int,
    optimizer_spec: tuple,
    monitor: str,
    plateau: bool,
    data_axis: int | None = None,
):
    """:func:`_compiled_epoch` for a :class:`TrackedState` (:func:`jaxseq.stopping.tracked`):
    ``(carry[K], keys[K], epoch, limits, train, valid) -> (carry, metrics)``."""
    optimizer = _optimizer_from_spec(optimizer_spec)

    def epoch(state, key, train, valid):
        return run_epoch(model, optimizer, batch_size, state, key, train, valid)

    step = stopping.tracked(epoch, monitor, plateau)
    in_axes = (0, 0, None, None, data_axis, data_axis)
    return jax.jit(jax.vmap(step, in_axes=in_axes), donate_argnums=(0,))


class Trainer:
    """Train K replicas of a model at once, one compiled epoch at a time.

    Each replica has its own key (initialisation, shuffling, dropout) and may have its own
    learning rate and clipping threshold: pass arrays of length K to sweep them.

    With ``monitor`` (a validation metric: ``"val_mse"``, ``"val_last_step_mse"``,
    ``"val_loss"``) each replica keeps the variables of its best epoch and, given a patience
    (:class:`jaxseq.stopping.Budget`), stops on its own (:mod:`jaxseq.stopping`); ``schedule``
    multiplies the learning rate by step (:class:`jaxseq.stopping.Schedule`: ``cosine``; or
    ``plateau``, which needs a monitor and a patience).

    Example::

        trainer = Trainer(models.get("lstm_seq2seq"), batch_size=32)
        result = trainer.fit(data.chapter_data("seq2seq"), seeds=5, epochs=20)
        result.history.curve("val_last_step_mse")   # [20, 5]

        early = Trainer(models.get("lstm_seq2seq"), monitor="val_last_step_mse")
        result = early.fit(dataset, seeds=5, budget=Budget(max_steps=2000, patience=200))
        result.history.best_epoch                     # each replica's kept epoch
    """

    def __init__(
        self,
        model: Model,
        *,
        batch_size: int = 32,
        learning_rate: float | Sequence[float] | RateSchedule | None = None,
        clip_norm: float | Sequence[float] | None = None,
        optimizer: optax.GradientTransformation | None = None,
        monitor: str | None = None,
        schedule: stopping.Schedule | None = None,
    ):
        self.model = model
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.learning_rate = model.learning_rate if learning_rate is None else learning_rate
        self.clip_norm = clip_norm
        self._custom_optimizer = optimizer
        self.monitor = monitor
        self.schedule = schedule
        if schedule is not None and schedule.kind == "plateau":
            if monitor is None:
                raise InputError("the plateau schedule follows a validation metric: set monitor")
            if optimizer is not None:
                raise InputError(
                    "the plateau schedule lowers jaxseq's own optimiser's rate; with a custom "
                    "optimizer use optax.contrib.reduce_on_plateau inside it"
                )

    def _optimizer_spec(self) -> tuple:
        """What determines the optimiser's structure (hashable): the custom optimiser, or
        the first rate (or the schedule), the first clipping threshold and the step schedule.
        Per-replica values live in the optimiser state, so replicas with other values share
        the structure."""
        if self._custom_optimizer is not None:
            return (self._custom_optimizer,)
        rate = self.learning_rate
        first: float | RateSchedule
        if callable(rate):
            first = rate
        elif np.ndim(rate) > 0:  # one rate per replica: the optimiser starts from the first
            first = float(np.asarray(rate).flat[0])
        elif isinstance(rate, (np.ndarray, np.generic, jax.Array)):  # arrays do not hash
            first = float(rate)
        else:  # a single rate (make_optimizer rejects anything but a positive number)
            first = cast(float, rate)
        clip = self.clip_norm
        clip_first = None if clip is None else (float(np.asarray(clip).flat[0]))
        return (first, clip_first, self.schedule)

    def optimizer(self) -> optax.GradientTransformation:
        return _optimizer_from_spec(self._optimizer_spec())

    def init(self, keys: Array) -> TrainState | TrackedState:
        """Replicated initial state ``[K, ...]`` from K keys (each replica its own init key);
        a :class:`TrackedState` when the trainer has a monitor."""
        K = keys.shape[0]
        rates = (
            None
            if callable(self.learning_rate)
            else _as_replica_vector("learning_rate", self.learning_rate, K)
        )
        if rates is not None:
            for r in rates:
                _check_rate(float(r))
        clips = _as_replica_vector("clip_norm", self.clip_norm, K)
        init = _compiled_init(
            self.model,
            self._optimizer_spec(),
            self.monitor is not None,
            rates is not None,
            clips is not None,
        )
        return init(keys, rates, clips)

    def epoch_fn(self, data_axis: int | None = None):
        """The compiled epoch over replicas: ``(state[K], keys[K], train, valid) -> (state,
        metrics)``, shared by every trainer of the same model, batch size and optimiser
        (``data_axis=0``: ``train`` and ``valid`` hold one data set per replica)."""
        return _compiled_epoch(self.model, self.batch_size, self._optimizer_spec(), data_axis)

    def tracked_epoch_fn(self, data_axis: int | None = None):
        """The compiled epoch of a trainer with a monitor: ``(carry[K], keys[K], epoch,
        limits, train, valid) -> (carry, metrics)`` (:func:`_compiled_tracked_epoch`)."""
        if self.monitor is None:
            raise InputError("this trainer has no monitor: it keeps no best epoch")
        plateau = self.schedule is not None and self.schedule.kind == "plateau"
        return _compiled_tracked_epoch(
            self.model, self.batch_size, self._optimizer_spec(), self.monitor, plateau, data_axis
        )

    def fit(
        self,
        dataset: Dataset,
        *,
        seeds: int | Sequence[int] | Array = 1,
        epochs: int | None = None,
        budget: Budget | None = None,
        state: TrainState | TrackedState | None = None,
        start_epoch: int = 0,
        callback: Callable[[int, dict[str, np.ndarray]], None] | None = None,
        on_epoch_end: Callable[[int, Any, dict[str, np.ndarray]], None] | None = None,
        epoch_fn: Callable | None = None,
        place: Callable | None = None,
        per_replica_data: bool = False,
        validate: bool = True,
        compact: bool = False,
    ) -> FitResult:
        """Train for ``epochs`` epochs (default 20), or for a ``budget`` of optimizer steps in
        whole epochs (counted from epoch 0: a resumed run trains what is left); ``callback(epoch, metrics)`` after each (for progress), and
        ``on_epoch_end(epoch, state, metrics)`` (for checkpoints: the state, a
        :class:`TrackedState` with a monitor, is valid only during the call, the next epoch
        reuses its buffers).

        With a monitor, training ends early once every replica has stopped, and the result's
        state holds each replica's best variables (its optimiser state is the last one's).
        A budget's patience needs a monitor.

        ``state`` and ``start_epoch`` resume an earlier run: the epoch keys depend only on the
        replica key and the epoch number, so a resumed run ends where an uninterrupted one does.

        ``epoch_fn`` replaces the compiled epoch and ``place(tree)`` puts the state and the
        epoch keys on devices (both used by :func:`jaxseq.distributed.fit_sharded`; not with a
        monitor).

        ``per_replica_data``: every split holds one data set per replica, stacked on a first
        axis of length K (``X`` ``[K, n, window, features]``; the same ``n`` for all): replica
        ``k`` trains and stops early on data set ``k`` alone, exactly as if it were trained
        by itself (one small model per series, many series in one compiled program).

        ``validate=False`` (without a monitor): no validation metrics, the validation split
        is not read (a refit for a fixed number of epochs, :mod:`jaxseq.app.refit`).

        ``compact`` (with a monitor, without ``on_epoch_end``): once the running replicas fit
        in half of the compiled program's, the program shrinks to them (padded to a power of
        two with stopped ones, so a run compiles at most ``log2 K`` more programs), so an
        epoch's time follows the replicas still training rather than all K
        (:func:`compacted`); the stopped ones are put back unchanged at the end. Each
        replica computes the same epochs, its figures equal up to float rounding at the epoch
        the program shrinks (XLA's kernels for another replica count may round differently);
        over later epochs that rounding can grow, as between two machines, into another run
        that stops elsewhere (on a 4,032-step series one epoch turned a 1e-7 difference into
        a validation error 2.3 times as high: ``benchmarks/results/compare_compaction.md``).
        Hence opt-in: worth its compilations where many replicas stop at different times (one
        model per series, :func:`jaxseq.app.panel.training.fit_local`).
        """
        keys = replica_keys(seeds)
        data_axis = 0 if per_replica_data else None
        if per_replica_data:
            for name, split in (("train", dataset.train), ("monitored", dataset.monitored)):
                if split is not None and split.X.shape[0] != keys.shape[0]:
                    raise InputError(
                        f"per-replica data: the {name} split stacks {split.X.shape[0]} data "
                        f"sets for {keys.shape[0]} replicas; give one per replica"
                    )
        self._check_data(dataset, data_axis)
        tracked = self.monitor is not None
        per_epoch = stopping.steps_per_epoch(
            dataset.train.X.shape[int(per_replica_data)], self.batch_size
        )
        end = self._epochs(epochs, budget, per_epoch)
        end = end if budget is not None else start_epoch + end
        if tracked and (epoch_fn is not None or place is not None):
            raise InputError("a trainer with a monitor runs its own compiled epoch on one device")
        if tracked and (dataset.monitored is None or len(dataset.monitored) == 0):
            raise InputError(f"monitor {self.monitor!r} needs a validation split with windows")
        train = _device_split(dataset.train)
        if not validate and tracked:
            raise InputError("a trainer with a monitor follows the validation split: validate")
        valid = _device_split(dataset.monitored) if validate else None
        place = place or (lambda tree: tree)
        history = History(steps_per_epoch=per_epoch)
        t0 = time.perf_counter()
        carry = place(self.init(keys) if state is None else state)
        if tracked:
            patience = budget.patience_epochs(per_epoch) if budget else None
            min_delta = budget.min_delta if budget else 0.0
            plateau = self.schedule is not None and self.schedule.kind == "plateau"
            lim = stopping.limits(patience, min_delta, plateau)
            tracked_fn = self.tracked_epoch_fn(data_axis)
        else:
            epoch_fn = epoch_fn or self.epoch_fn(data_axis)
        fold_in_each = jax.vmap(jax.random.fold_in, in_axes=(0, None))
        shuffle_base = fold_in_each(keys, 1)
        diverged = np.zeros(keys.shape[0], bool)
        epoch = start_epoch - 1  # the last epoch trained
        compiled_at = time.perf_counter()
        # the replicas in the compiled program, by index (None: all K in order) and the full
        # carry the others wait in (compact)
        active: np.ndarray | None = None
        full = None
        every_train, every_valid = train, valid
        shrink = tracked and compact and on_epoch_end is None
        for epoch in range(start_epoch, end):
            epoch_keys = place(fold_in_each(shuffle_base, epoch))
            t = time.perf_counter()
            if tracked:
                index = jnp.asarray(epoch, jnp.int32)
                if active is not None:
                    epoch_keys = epoch_keys[active]
                carry, metrics = tracked_fn(carry, epoch_keys, index, lim, train, valid)
            else:
                assert epoch_fn is not None
                carry, metrics = epoch_fn(carry, epoch_keys, train, valid)
            metrics = jax.device_get(metrics)
            if active is not None:
                metrics = _widen_metrics(metrics, active, keys.shape[0])
            bad = np.asarray(metrics.pop("bad_step"))
            seconds = time.perf_counter() - t
            if epoch == start_epoch:
                history.compile_seconds = seconds + (compiled_at - t0)
            stopped = np.asarray(metrics.pop("stopped", False))
            if tracked:  # a stopped replica's figures are of a discarded epoch
                running = np.asarray(metrics.pop("running"))
                diverged |= running & (bad >= 0)
                metrics = {k: np.where(running, v, np.nan) for k, v in metrics.items()}
            elif (bad >= 0).any():
                replica_index = int(np.argmax(bad >= 0))
                raise TrainingDiverged(
                    f"training stopped: non-finite loss at epoch {epoch + 1}, step "
                    f"{int(bad[replica_index]) + 1} (replica {replica_index}); the last good "
                    "parameters are kept. Lower the learning rate or set clip_norm.",
                    FitResult(carry, history, keys),
                )
            history.record(metrics, seconds)
            if on_epoch_end is not None:
                on_epoch_end(epoch, carry, metrics)
            if callback is not None:
                callback(epoch, metrics)
            if tracked and bool(np.all(stopped)):
                break
            if shrink:
                chosen = compacted(stopped, active)
                if chosen is not None:
                    full = carry if active is None else _scatter(full, active, carry)
                    carry, active = _gather(full, chosen), chosen
                    if per_replica_data:
                        train, valid = _gather((every_train, every_valid), chosen)
        if active is not None:
            carry = _scatter(full, active, carry)
        if not tracked:
            return FitResult(carry, history, keys)
        history.diverged = diverged.tolist()
        return FitResult(self._best(carry, history, epoch + 1), history, keys)

    def _epochs(self, epochs: int | None, budget: Budget | None, per_epoch: int) -> int:
        if budget is not None and epochs is not None:
            raise InputError("give epochs or a budget of steps, not both")
        if budget is not None:
            if budget.patience is not None and self.monitor is None:
                raise InputError("early stopping follows a validation metric: set monitor")
            return budget.epochs(per_epoch)
        return check_positive_int("epochs", 20 if epochs is None else epochs)

    @staticmethod
    def _best(carry: TrackedState, history: History, last: int) -> TrainState:
        """Each replica's best variables; its best and last epochs recorded in ``history``."""
        tracker = jax.device_get(carry.tracker)
        stopped = np.asarray(tracker.stopped)
        history.best_epoch = (np.asarray(tracker.best_epoch) + 1).tolist()
        history.stop_epoch = np.where(stopped, np.asarray(tracker.stop_epoch) + 1, last).tolist()
        history.stopped_early = stopped.tolist()
        return TrainState(carry.tracker.best, carry.state.opt_state)

    def _check_data(self, dataset: Dataset, data_axis: int | None = None) -> None:
        if dataset.task != self.model.task:
            raise InputError(
                f"model {self.model.name!r} is trained on {self.model.task} targets, "
                f"the data set holds {dataset.task} targets"
            )
        X = dataset.train.X if data_axis is None else dataset.train.X[0]
        self.model.check_inputs(X)
        if len(X) < 1:
            raise InputError("the training split is empty")


def compacted(stopped: np.ndarray, active: np.ndarray | None) -> np.ndarray | None:
    """The replicas a shrunk program trains (:meth:`Trainer.fit`'s ``compact``), or ``None``
    to keep the one it has: once the running replicas fit in half of the program's, the
    running ones, padded with stopped ones (the first, by index) to a power of two.

    Args:
        stopped: ``[K]`` whether each replica has stopped.
        active: the replicas in the program now (``None``: all K).
    """
    members = np.arange(len(stopped)) if active is None else active
    running = members[~stopped[members]]
    target = 1 << max(len(running) - 1, 0).bit_length()
    if not len(running) or target > len(members) // 2:
        return None
    padding = members[stopped[members]][: target - len(running)]
    return np.sort(np.concatenate([running, padding]))


#: what a replica outside the program reports for an epoch: it did not train, it has stopped
_OUTSIDE = {"running": False, "stopped": True, "bad_step": -1}


def _widen_metrics(metrics: dict, active: np.ndarray, replicas: int) -> dict:
    """An epoch's metrics of the replicas ``active`` spread over all ``replicas``."""
    wide = {}
    for name, values in metrics.items():
        values = np.asarray(values)
        fill = _OUTSIDE.get(name, np.nan)
        dtype = values.dtype if name in _OUTSIDE else np.result_type(values.dtype, np.float32)
        out = np.full((replicas, *values.shape[1:]), fill, dtype)
        out[active] = values
        wide[name] = out
    return wide


def _gather(tree, index: np.ndarray):
    return jax.tree_util.tree_map(lambda v: v[index], tree)


def _scatter(full, index: np.ndarray, part):
    return jax.tree_util.tree_map(lambda f, p: f.at[index].set(p), full, part)


def _device_split(split: Split) -> Split:
    # Arrays already on devices (e.g. placed on a mesh) keep their placement.
    return Split(*(a if isinstance(a, jax.Array) else jnp.asarray(a) for a in (split.X, split.Y)))


def replica(tree, i: int):
    """Replica ``i`` of a replicated pytree."""
    return jax.tree_util.tree_map(lambda v: v[i], tree)
