"""Early stopping and learning-rate schedules: how long each replica trains, decided inside the
compiled program.

A training budget is a number of optimizer steps (:class:`Budget`), turned into whole epochs
for a data set (:meth:`Budget.epochs`). After every epoch each replica's validation score
``s_e`` (the ``monitor`` metric) updates its :class:`Tracker`::

    improved     = s_e < best                        -> best, best_epoch, best variables := e's
    significant  = s_e < reference * (1 - min_delta) -> reference := s_e, wait := 0
    otherwise                                           wait := wait + 1
    stop once wait >= patience (epochs), or once a step of the epoch was not finite

A stopped replica stops changing: its variables and optimiser state are those of the epoch it
stopped at, while the other replicas go on in the same compiled program (``vmap`` computes
every replica; a ``where`` keeps the stopped ones). At the end each replica hands back the
variables of its best epoch. A non-finite step (:func:`jaxseq.train.run_epoch` freezes the
state before it) stops that replica only; its best epoch stays its best.

Learning-rate schedules (:class:`Schedule`) multiply the replica's own rate: ``constant`` (1),
``cosine`` (a linear warm-up over the first ``warmup`` steps, then half a cosine down to
``floor`` at ``total_steps``; optax's ``warmup_cosine_decay_schedule``), and ``plateau``
(halve the rate each time a replica has waited ``plateau`` epochs without a significant
improvement: Keras' ``ReduceLROnPlateau`` on the validation score, applied here by the tracker).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxseq.errors import InputError, check_positive_int

Array = jax.Array

SCHEDULES = ("constant", "cosine", "plateau")

# The training budget of `jaxseq compare` and `jaxseq train` when no --epochs is given, chosen
# on the validation curves of the real-series benchmark (experiments/budget_choice.py,
# docs/forecasting.md "Training to convergence"): replayed on 6,000-step curves of every
# network on 8 series, no model's median replica reaches the budget and the kept validation
# loss is 1.027 times the long run's best (2,000 steps with patience 200: 1.043, 6 models at
# the budget). The schedule: constant; cosine and plateau gave validation MASE 1.017 and
# 1.013 times constant's (experiments/option_choice.py --option schedule).
MAX_STEPS = 3000
PATIENCE = 400
MIN_DELTA = 0.01
SCHEDULE = "constant"
#: what ``plateau`` multiplies the learning rate by
PLATEAU_FACTOR = 0.5


@dataclasses.dataclass(frozen=True)
class Budget:
    """At most ``max_steps`` optimizer steps; a replica stops early after ``patience`` steps
    without a relative improvement of its validation score by more than ``min_delta``
    (``patience=None``: it never stops early, it only keeps its best epoch)."""

    max_steps: int
    patience: int | None = None
    min_delta: float = 0.0

    def __post_init__(self):
        check_positive_int("max_steps", self.max_steps)
        if self.patience is not None:
            check_positive_int("patience", self.patience)
        if not (isinstance(self.min_delta, int | float) and 0 <= self.min_delta < 1):
            raise InputError(f"min_delta must be a number in [0, 1), got {self.min_delta!r}")

    def epochs(self, steps_per_epoch: int) -> int:
        """Whole epochs that hold the budget: ``ceil(max_steps / steps_per_epoch)``."""
        return math.ceil(self.max_steps / steps_per_epoch)

    def patience_epochs(self, steps_per_epoch: int) -> int | None:
        """The patience in epochs, at least one (``None``: no early stop)."""
        if self.patience is None:
            return None
        return max(1, math.ceil(self.patience / steps_per_epoch))


def steps_per_epoch(samples: int, batch_size: int) -> int:
    """Optimizer steps in one epoch: every full minibatch and the short last one."""
    return math.ceil(samples / batch_size)


@dataclasses.dataclass(frozen=True)
class Schedule:
    """A learning-rate multiplier of the optimizer step count (hashable, so trainers with the
    same schedule share one compiled epoch). ``plateau`` multiplies by 1 here; the tracker
    lowers the rate itself."""

    kind: str = "constant"
    total_steps: int = 1
    warmup: int = 0
    floor: float = 0.1

    def __post_init__(self):
        if self.kind not in SCHEDULES:
            raise InputError(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.kind!r}")

    def __call__(self, count: Array) -> Array:
        if self.kind != "cosine":
            return jnp.ones_like(count, jnp.float32)
        return optax.warmup_cosine_decay_schedule(
            init_value=0.0,
            peak_value=1.0,
            warmup_steps=min(self.warmup, self.total_steps - 1),
            decay_steps=max(self.total_steps, 2),
            end_value=self.floor,
        )(count)


def schedule_for(kind: str, max_steps: int) -> Schedule:
    """The schedule ``kind`` over a budget of ``max_steps``: cosine warms up over the first 5%."""
    return Schedule(kind, total_steps=max_steps, warmup=max_steps // 20)


class Tracker(NamedTuple):
    """One replica's early-stopping state (module docstring), carried between epochs."""

    best: dict  # the variables of the best epoch
    best_score: Array  # []
    best_epoch: Array  # [] int32, 0-based; -1 before the first epoch
    reference: Array  # [] the score of the last significant improvement
    wait: Array  # [] int32, epochs since it
    stopped: Array  # [] bool
    stop_epoch: Array  # [] int32, the epoch it stopped after; -1 while it runs


class Limits(NamedTuple):
    """Traced stopping settings (one compiled epoch serves every patience): ``patience`` and
    ``plateau`` in epochs (a huge number: never), ``min_delta`` relative."""

    patience: Array
    plateau: Array
    min_delta: Array


NEVER = 2**30


def limits(patience_epochs: int | None, min_delta: float, plateau: bool) -> Limits:
    """:class:`Limits` for a patience in epochs; ``plateau`` halves the rate after half of it
    (at least one epoch)."""
    patience = NEVER if patience_epochs is None else patience_epochs
    every = max(1, patience // 2) if plateau and patience_epochs is not None else NEVER
    return Limits(
        jnp.asarray(patience, jnp.int32),
        jnp.asarray(every, jnp.int32),
        jnp.asarray(min_delta, jnp.float32),
    )


def init_tracker(variables: dict) -> Tracker:
    """A fresh tracker for one replica: no best yet (its best variables are the initial ones)."""
    return Tracker(
        best=jax.tree_util.tree_map(jnp.copy, variables),
        best_score=jnp.asarray(jnp.inf, jnp.float32),
        best_epoch=jnp.asarray(-1, jnp.int32),
        reference=jnp.asarray(jnp.inf, jnp.float32),
        wait=jnp.asarray(0, jnp.int32),
        stopped=jnp.asarray(False),
        stop_epoch=jnp.asarray(-1, jnp.int32),
    )


def where(flag: Array, new, old):
    """``new`` where the scalar ``flag`` holds, else ``old``, leaf by leaf."""
    return jax.tree_util.tree_map(lambda a, b: jnp.where(flag, a, b), new, old)


def update(
    tracker: Tracker, score: Array, diverged: Array, epoch: Array, variables: dict, lim: Limits
) -> tuple[Tracker, Array]:
    """The tracker after an epoch of a running replica whose variables are now ``variables``
    and whose validation score is ``score``; also whether to lower its learning rate now
    (``plateau``). For a replica already stopped the tracker is returned unchanged."""
    running = ~tracker.stopped
    improved = running & (score < tracker.best_score)  # NaN is never an improvement
    significant = running & (score < tracker.reference * (1 - lim.min_delta))
    wait = jnp.where(significant, 0, tracker.wait + running.astype(jnp.int32))
    stop = running & ((wait >= lim.patience) | diverged)
    lower = running & ~stop & (wait > 0) & (wait % lim.plateau == 0)
    tracker = Tracker(
        best=where(improved, variables, tracker.best),
        best_score=jnp.where(improved, score, tracker.best_score),
        best_epoch=jnp.where(improved, epoch, tracker.best_epoch),
        reference=jnp.where(significant, score, tracker.reference),
        wait=wait,
        stopped=tracker.stopped | stop,
        stop_epoch=jnp.where(stop, epoch, tracker.stop_epoch),
    )
    return tracker, lower


class TrackedState(NamedTuple):
    """What an epoch carries when each replica keeps its best epoch and may stop early: its
    training state (:class:`jaxseq.train.TrainState`) and its :class:`Tracker`."""

    state: Any
    tracker: Tracker


def tracked(epoch: Callable, monitor: str, plateau: bool) -> Callable:
    """One replica's epoch ``(state, key, train, valid) -> (state, metrics)`` with early
    stopping: ``(TrackedState, key, epoch index, Limits, train, valid) -> (TrackedState,
    metrics)``. A stopped replica keeps its state; the tracker follows ``metrics[monitor]``
    (:func:`update`); ``plateau`` lowers the replica's rate (``opt_state.hyperparams``) when
    the tracker says so. The metrics add ``running`` (whether the replica trained this epoch)
    and ``stopped`` (whether it has stopped now)."""

    def run(carry: TrackedState, key, index, lim: Limits, train, valid):
        state, tracker = carry
        new, metrics = epoch(state, key, train, valid)
        running = ~tracker.stopped
        new = where(running, new, state)
        diverged = metrics["bad_step"] >= 0
        tracker, lower = update(tracker, metrics[monitor], diverged, index, new.variables, lim)
        if plateau:
            new = _scaled_rate(new, jnp.where(lower, PLATEAU_FACTOR, 1.0))
        metrics = {**metrics, "running": running, "stopped": tracker.stopped}
        return TrackedState(new, tracker), metrics

    return run


def _scaled_rate(state, factor: Array):
    """``state`` with its optimiser's learning rate (``inject_hyperparams``) times ``factor``."""
    hyper = dict(state.opt_state.hyperparams)
    hyper["learning_rate"] = hyper["learning_rate"] * factor
    return state._replace(opt_state=state.opt_state._replace(hyperparams=hyper))
