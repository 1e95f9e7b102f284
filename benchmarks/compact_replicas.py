"""Early stopping with many replicas: the program shrunk to the running ones, or not.

``Trainer.fit(..., compact=True)`` shrinks the compiled program to the replicas still training
once they fit in half of it (``jaxseq.train.compacted``); without it every replica is computed
until the last one stops. The workload is one small model per data set, many at once
(``per_replica_data``, as ``fit_local`` trains one model per series): ``--sets`` data sets of
40 training and 40 validation windows drawn from the chapter's multi-step series, three seeds
each, early stopping on each replica's own validation loss (``--max-steps``, ``--patience``).
Settings fixed before the run. Each round times both, alternating which goes first (A B, B A,
...), in one process; the first round includes each program's compilation (the shrunk
programs too), later rounds reuse them. Reported: seconds per round, the median ratio over the
warm rounds, and the largest difference between the two runs' kept variables.

Run: ``python benchmarks/compact_replicas.py [--models linear_multi,rnn_multi] [--rounds 3]``;
writes ``benchmarks/results/compact_replicas.{md,json}``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import jax
import numpy as np

from jaxseq import data, models, stopping, train

OUT = Path("benchmarks/results")


def stacked_sets(sets: int, windows: int = 40, seed: int = 0) -> data.Dataset:
    """``sets`` data sets of ``windows`` training and validation windows each, stacked on a
    first axis (``per_replica_data``), drawn without replacement from the chapter's series."""
    source = data.chapter_data("multi_step", n_series=4 * windows * 8)
    rng = np.random.default_rng(seed)

    def split(name: str) -> data.Split:
        part = getattr(source, name)
        picks = [rng.permutation(len(part.X))[:windows] for _ in range(sets)]
        return data.Split(
            np.stack([part.X[p] for p in picks]), np.stack([part.Y[p] for p in picks])
        )

    return dataclasses.replace(source, train=split("train"), valid=split("valid"))


def run(trainer, dataset, keys, budget, compact: bool):
    start = time.perf_counter()
    result = trainer.fit(dataset, seeds=keys, budget=budget, per_replica_data=True, compact=compact)
    jax.block_until_ready(result.state)
    return time.perf_counter() - start, result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="linear_multi,rnn_multi")
    parser.add_argument("--sets", type=int, default=128)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-steps", type=int, default=600)
    parser.add_argument("--patience", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    dataset = stacked_sets(args.sets)
    keys = train.replica_keys(np.tile(np.arange(args.seeds), args.sets))
    dataset = dataclasses.replace(
        dataset,
        train=data.Split(
            *(np.repeat(a, args.seeds, axis=0) for a in (dataset.train.X, dataset.train.Y))
        ),
        valid=data.Split(
            *(np.repeat(a, args.seeds, axis=0) for a in (dataset.valid.X, dataset.valid.Y))
        ),
    )
    budget = stopping.Budget(max_steps=args.max_steps, patience=args.patience)
    report = {"settings": vars(args), "models": {}}
    for name in args.models.split(","):
        model = models.get(name, window=dataset.window, horizon=dataset.horizon)
        trainer = train.Trainer(model, batch_size=32, monitor="val_mse")
        rounds = []
        for r in range(args.rounds):
            order = (False, True) if r % 2 == 0 else (True, False)
            times, results = {}, {}
            for compact in order:
                times[compact], results[compact] = run(trainer, dataset, keys, budget, compact)
            diff = max(
                float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
                for a, b in zip(
                    jax.tree.leaves(results[True].state.variables),
                    jax.tree.leaves(results[False].state.variables),
                    strict=True,
                )
            )
            stops = np.asarray(results[False].history.stop_epoch)
            same = results[True].history.stop_epoch == results[False].history.stop_epoch
            rounds.append(
                {
                    "full": times[False],
                    "compact": times[True],
                    "ratio": times[False] / times[True],
                    "max_abs_diff": diff,
                    "same_stops": bool(same),
                    "stop_epochs": [int(stops.min()), int(np.median(stops)), int(stops.max())],
                }
            )
            print(name, rounds[-1], flush=True)
        warm = [r["ratio"] for r in rounds[1:]] or [rounds[0]["ratio"]]
        report["models"][name] = {"rounds": rounds, "median_warm_ratio": float(np.median(warm))}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "compact_replicas.json").write_text(json.dumps(report, indent=1) + "\n")
    (OUT / "compact_replicas.md").write_text(markdown(report))
    print(markdown(report))
    return 0


def markdown(report: dict) -> str:
    s = report["settings"]
    lines = [
        "# Early stopping with many replicas: the program shrunk to the running ones",
        "",
        f"`python benchmarks/compact_replicas.py --models {s['models']} --sets {s['sets']} "
        f"--seeds {s['seeds']} --max-steps {s['max_steps']} --patience {s['patience']} "
        f"--rounds {s['rounds']}`: {s['sets']} data sets x {s['seeds']} seeds = "
        f"{s['sets'] * s['seeds']} replicas, each on its own data set, early stopping. Round 1 "
        "includes compilation.",
        "",
        "| model | round | full program (s) | shrunk (s) | full / shrunk | epochs stopped at "
        "(min, median, max) | same stops | largest variable difference |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, m in report["models"].items():
        for i, r in enumerate(m["rounds"], 1):
            lines.append(
                f"| {name} | {i} | {r['full']:.1f} | {r['compact']:.1f} | {r['ratio']:.2f} | "
                f"{', '.join(map(str, r['stop_epochs']))} | {r['same_stops']} | "
                f"{r['max_abs_diff']:.1e} |"
            )
    lines.append("")
    for name, m in report["models"].items():
        lines.append(
            f"- {name}: median full / shrunk over the warm rounds {m['median_warm_ratio']:.2f}"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
