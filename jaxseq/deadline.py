"""A wall-clock limit on a block of Python code: what stops a classical model's fit that would
take longer than the comparison can wait.

statsforecast's fits cannot be told to stop, and a thread cannot be killed, so the limit is a
``SIGALRM`` timer (:func:`signal.setitimer`): when it fires, :class:`OverBudget` is raised in
the running code at its next Python bytecode (statsforecast's searches return to Python
between candidate models, so this is within a fraction of a second). :class:`OverBudget` is a
:class:`BaseException`, so a library's ``except Exception`` around each candidate does not
swallow it.

The timer exists only on POSIX and only in a process's main thread (where ``compare`` runs its
baselines, in its own process or in a worker process). Elsewhere :func:`time_limit` runs the
block to its end and says so (``enforced`` is False), rather than failing.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass


class OverBudget(BaseException):
    """Raised inside a :func:`time_limit` block when its seconds have run out."""


@dataclass
class Limit:
    """What :func:`time_limit` yields: ``enforced`` is whether the timer could be set."""

    seconds: float | None
    enforced: bool


def can_enforce() -> bool:
    """Whether a limit can be enforced here: a POSIX timer, in the main thread."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[Limit]:
    """Raise :class:`OverBudget` in the block once ``seconds`` of wall time have passed.

    ``seconds`` of ``None`` means no limit. A timer or ``SIGALRM`` handler already set (by the
    caller's own code) is put back afterwards, the time it had left reduced by the block's.
    """
    if seconds is None or not can_enforce():
        yield Limit(seconds, False)
        return

    def expire(signum, frame):
        raise OverBudget(f"over its {seconds:g} s budget")

    previous = signal.signal(signal.SIGALRM, expire)
    delay, interval = signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield Limit(seconds, True)
    finally:
        left = signal.setitimer(signal.ITIMER_REAL, 0)[0]
        signal.signal(signal.SIGALRM, previous)
        if delay > 0:  # the caller's own timer, minus the time this block took
            used = float(seconds) - left
            signal.setitimer(signal.ITIMER_REAL, max(delay - used, 1e-6), interval)
