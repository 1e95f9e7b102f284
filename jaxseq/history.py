"""What training gives back: learning curves (:class:`History`), the fit's result
(:class:`FitResult`) and the error of a fit that met a non-finite loss
(:class:`TrainingDiverged`). :class:`jaxseq.train.Trainer` fills them."""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import numpy as np


@dataclasses.dataclass
class History:
    """Learning curves: one array ``[epochs, replicas]`` per metric (NaN for a replica after it
    stopped), plus wall times; with a monitor, each replica's best and last epoch (1-based)."""

    metrics: dict[str, list[np.ndarray]] = dataclasses.field(default_factory=dict)
    epoch_seconds: list[float] = dataclasses.field(default_factory=list)
    compile_seconds: float = 0.0
    steps_per_epoch: int = 0
    #: per replica: the epoch whose variables it kept (1-based)
    best_epoch: list[int] | None = None
    #: per replica: the last epoch it trained (1-based; the budget's last epoch if it never
    #: stopped early)
    stop_epoch: list[int] | None = None
    #: per replica: whether it stopped early (patience ran out, or a step was not finite)
    stopped_early: list[bool] | None = None
    #: per replica: whether a step went non-finite (it stopped there)
    diverged: list[bool] | None = None

    def record(self, metrics: dict[str, np.ndarray], seconds: float) -> None:
        for name, value in metrics.items():
            self.metrics.setdefault(name, []).append(np.asarray(value))
        self.epoch_seconds.append(seconds)

    def curve(self, name: str) -> np.ndarray:
        """``[epochs, replicas]``."""
        return np.stack(self.metrics[name])

    def to_json(self) -> dict:
        out: dict[str, Any] = {
            "metrics": {k: self.curve(k).tolist() for k in self.metrics},
            "epoch_seconds": self.epoch_seconds,
            "compile_seconds": self.compile_seconds,
            "steps_per_epoch": self.steps_per_epoch,
        }
        for name in ("best_epoch", "stop_epoch", "stopped_early", "diverged"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


class FitResult(NamedTuple):
    """The trained replicated state ``[K, ...]``, its learning curves and the replica keys."""

    state: Any
    history: History
    keys: jax.Array


class TrainingDiverged(RuntimeError):
    """Training met a non-finite loss. ``result`` holds the last good state and the history."""

    def __init__(self, message: str, result):
        super().__init__(message)
        self.result = result
