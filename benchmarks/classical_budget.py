"""A classical model past its budget: how soon ``compare``'s limit stops it.

The benchmark's electricity series (4,032 half-hourly steps, season 48), ``compare``'s
protocol (fit on the training part, forecasts from every test origin): each classical model
under a budget of ``--budget`` seconds (:func:`jaxseq.baselines.classical`), its wall time and
whether it was skipped. AutoARIMA's model search there took 578 s in the benchmark's run 6
(``experiments/results/benchmark/taylor/compare.json``, ``settings.stages``).

Run: ``python benchmarks/classical_budget.py [--budget 30]``; writes
``benchmarks/results/classical_budget.md``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from jaxseq import baselines

DATA = Path("experiments/results/benchmark/data/taylor.csv")
OUT = Path("benchmarks/results/classical_budget.md")
SEASON, HORIZON = 48, 48


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=30.0)
    args = parser.parse_args(argv)
    y = pd.read_csv(DATA).iloc[:, -1].to_numpy(np.float64)[:, None]
    test = len(y) // 10
    fit_end = len(y) - 3 * test  # training part: all but validation (20%) and test (10%)
    origins = np.arange(len(y) - test, len(y) - HORIZON + 1)
    lines = [
        "# A classical model past its budget",
        "",
        f"`python benchmarks/classical_budget.py --budget {args.budget:g}`: {len(y):,} "
        f"half-hourly steps, season {SEASON}, fitted on {fit_end:,}, {len(origins)} origins of "
        f"{HORIZON} steps.",
        "",
        "| model | wall (s) | result |",
        "|---|---|---|",
    ]
    for name in baselines.CLASSICAL:
        timings: dict[str, float] = {}
        start = time.perf_counter()
        _, skipped = baselines.classical(
            y,
            origins,
            HORIZON,
            season=SEASON,
            fit_end=fit_end,
            models=(name,),
            budget=args.budget,
            timings=timings,
        )
        wall = time.perf_counter() - start
        lines.append(f"| {name} | {wall:.1f} | {skipped.get(name, 'forecast')} |")
        print(lines[-1], flush=True)
    OUT.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
