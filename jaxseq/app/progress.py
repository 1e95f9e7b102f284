"""Progress display: a rich progress table on a terminal, plain log lines otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


def _fmt(metrics: dict) -> str:
    keys = ("loss", "val_mse", "val_last_step_mse")
    return "  ".join(f"{k} {metrics[k]:.5f}" for k in keys if k in metrics)


class Reporter:
    """Shows each model's epoch and losses.

    On a terminal: one rich progress bar per model (model, epoch x/N, loss, validation). When
    output is not a terminal (CI, a log file): one plain line per epoch, so logs stay readable.
    ``quiet`` shows nothing but errors.
    """

    def __init__(
        self, models: Sequence[str], epochs: int | None, *, quiet: bool = False, stream=None
    ):
        self.models = list(models)
        self.epochs = epochs
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.console = Console(file=self.stream)
        self.live = self.console.is_terminal and not quiet
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._start: dict[str, float] = {}  # when each model's first epoch ended

    def __enter__(self):
        if self.live:
            self._progress = Progress(
                TextColumn("{task.fields[model]:<22}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[losses]}"),
                TimeElapsedColumn(),
                console=self.console,
            )
            self._progress.__enter__()
            for name in self.models:
                self._tasks[name] = self._progress.add_task(
                    "", total=self.epochs, model=name, losses="waiting", start=False
                )
        return self

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.__exit__(*exc)
        return False

    def expect(self, epochs: int) -> None:
        """Set the epochs each model may run (a budget of steps, known once the data are);
        a model that stops early is shown done when it is."""
        self.epochs = epochs
        if self._progress is not None:
            for task in self._tasks.values():
                self._progress.update(task, total=epochs)

    def epoch(self, model: str, epoch: int, metrics: dict) -> None:
        """Called after each epoch with the epoch number (from 0) and mean metrics."""
        self._start.setdefault(model, time.perf_counter())
        if self.quiet:
            return
        if self._progress is not None:
            task = self._tasks[model]
            self._progress.start_task(task)
            self._progress.update(task, completed=epoch + 1, losses=_fmt(metrics))
        else:
            print(
                f"{model:<22} epoch {epoch + 1:>3}/{self.epochs or '?'}  {_fmt(metrics)}",
                file=self.stream,
                flush=True,
            )

    def stage(self, label: str, seconds: float) -> None:
        """A finished stage that is not a network's training (a baseline, the hybrid base,
        the ensemble, scoring): one line with its seconds."""
        if self.quiet:
            return
        line = f"{label:<22} done in {seconds:.1f} s"
        if self._progress is not None:
            self._progress.console.print(line)
        else:
            print(line, file=self.stream, flush=True)

    def done(self, model: str, record: dict) -> None:
        if self.quiet:
            return
        line = f"{model:<22} done in {record['train_seconds']:.0f} s"
        if self._progress is not None:
            task = self._tasks[model]
            # early stopping ends before the total: the bar ends where the model did
            done = next(t.completed for t in self._progress.tasks if t.id == task)
            self._progress.update(task, total=done, losses=line.split(None, 1)[1])
        else:
            print(line, file=self.stream, flush=True)
