"""Shared by the measurement scripts in experiments/: interleaved timing and the markdown report."""

from __future__ import annotations

import time
from pathlib import Path

import jax
import numpy as np


def interleave(fns: dict, rounds: int, warmup: int = 2) -> dict:
    """Seconds per call of each ``fn()``, timed A B C A B C ... after ``warmup`` calls each
    (the first compiles). Interleaving spreads the noise of a shared machine over all contenders."""
    for fn in fns.values():
        for _ in range(warmup):
            jax.block_until_ready(fn())
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            start = time.perf_counter()
            jax.block_until_ready(fn())
            times[k].append(time.perf_counter() - start)
    return {k: np.asarray(v) for k, v in times.items()}


def write_report(out: Path, title: str, command: str, sections: list[str]) -> str:
    """Print and write a markdown report: title, the command and machine, then ``sections``."""
    text = "\n".join(
        [
            f"# {title}",
            "",
            f"`{command}` on {jax.devices()[0].device_kind}, jax {jax.__version__}; medians of "
            "interleaved runs, ratios = median of per-round ratios.",
            "",
            *sections,
            "",
        ]
    )
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return text
