"""Jobs in worker processes, with progress reported back: what `make experiments` and
`jaxseq compare` use to train several models at once.

On a CPU a small recurrent network keeps about one core busy, so two models trained in two
processes finish in little more than the time of one. Workers are started with ``spawn`` (a
fresh interpreter: JAX must not be forked), so a job is a module-level function and its
arguments must pickle.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from collections.abc import Callable, Sequence


def default_jobs() -> int:
    """Worker processes for the default backend: up to 2 on a multi-core CPU, 1 on a GPU or
    TPU (one process already owns the accelerator)."""
    import jax

    return min(2, os.cpu_count() or 1) if jax.default_backend() == "cpu" else 1


def _call(fn: Callable, name: str, kwargs: dict, queue):
    def progress(model, epoch, metrics):
        queue.put((model, epoch, metrics))

    return fn(progress=progress, **kwargs)


def run_jobs(
    fn: Callable,
    jobs: Sequence[tuple[str, dict]],
    *,
    workers: int,
    on_progress: Callable | None = None,
    on_done: Callable | None = None,
) -> dict:
    """Run ``fn(progress=..., **kwargs)`` for each ``(name, kwargs)`` of ``jobs``.

    In-process when ``workers <= 1`` (in the given order), else in ``workers`` spawned
    processes. ``on_progress(model, epoch, metrics)`` relays the ``progress`` calls of the jobs;
    ``on_done(name, result)`` follows each job. Returns ``{name: result}``.
    """
    on_progress = on_progress or (lambda *a: None)
    on_done = on_done or (lambda *a: None)
    results: dict = {}
    if workers <= 1 or len(jobs) <= 1:
        for name, kwargs in jobs:
            results[name] = fn(progress=on_progress, **kwargs)
            on_done(name, results[name])
        return results
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        queue = manager.Queue()
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = {pool.submit(_call, fn, name, kw, queue): name for name, kw in jobs}
            pending = set(futures)
            while pending:
                done, pending = concurrent.futures.wait(pending, timeout=0.2)
                _drain(queue, on_progress)
                for future in done:
                    name = futures[future]
                    results[name] = future.result()
                    on_done(name, results[name])
            _drain(queue, on_progress)
    return results


def _drain(queue, on_progress):
    while not queue.empty():
        on_progress(*queue.get())
