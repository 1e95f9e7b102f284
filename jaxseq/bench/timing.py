"""The one timer of ``jaxseq bench`` and of the studies in ``benchmarks/``.

- :func:`time_call`: seconds for one call, until its outputs are ready (a step's first call:
  tracing, compilation and one run).
- :func:`time_interleaved`: seconds per call of several contenders, timed *interleaved*: each
  round calls every contender once, in an order drawn afresh each round (seeded), so a slow
  spell of a shared machine hits all of them alike and no contender always follows the same
  one (a framework that leaves worker threads spinning after its call, as PyTorch's OpenMP
  pool does, slows whoever runs next; a fixed order would charge that to one contender).

Every call is timed up to ``jax.block_until_ready`` of what it returns (objects that are not
JAX arrays pass through: a PyTorch contender synchronises inside its own call). Compare
contenders by the median of per-round ratios (:func:`median_ratio`), not by a ratio of medians.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping

import jax
import numpy as np


def time_call(fn: Callable[[], object]) -> float:
    """Seconds for ``fn()`` until its outputs are ready."""
    start = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - start


def time_interleaved(
    calls: Mapping[str, Callable[[], object]],
    *,
    rounds: int,
    budget: float = math.inf,
    warmup: int = 1,
    min_rounds: int = 3,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Seconds per call of each entry of ``calls``, timed interleaved.

    Each call is first run ``warmup`` times untimed (compilation, first-touch page faults).
    Then up to ``rounds`` rounds, each calling every entry once in a fresh order drawn from
    ``np.random.default_rng(seed)``; after ``min_rounds`` rounds the timing stops early once
    ``budget`` seconds have passed (default: no budget, all rounds).

    A contender that carries state from call to call (a training step that donates its
    buffers) keeps it in its own closure. Returns ``{name: seconds per round}``, one value per
    round, in round order, so per-round ratios line up.
    """
    for call in calls.values():
        for _ in range(warmup):
            jax.block_until_ready(call())
    names = list(calls)
    times: dict[str, list[float]] = {name: [] for name in names}
    order = np.random.default_rng(seed)
    start = time.perf_counter()
    for r in range(rounds):
        for k in order.permutation(len(names)):
            name = names[k]
            t = time.perf_counter()
            jax.block_until_ready(calls[name]())
            times[name].append(time.perf_counter() - t)
        if r + 1 >= min_rounds and time.perf_counter() - start > budget:
            break
    return {name: np.asarray(v) for name, v in times.items()}


def median_ratio(times: Mapping[str, np.ndarray], num: str, den: str) -> float:
    """The median over rounds of ``times[num] / times[den]`` (above 1: ``den`` is faster)."""
    n = min(len(times[num]), len(times[den]))
    return float(np.median(times[num][:n] / times[den][:n]))
