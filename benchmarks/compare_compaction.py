"""Does ``compare`` gain from shrinking its programs as replicas stop, on a long series?

``Trainer.fit(compact=True)`` narrows the compiled program to the replicas still training once
they fit in half of it (``docs/performance.md``, section 7). ``compare`` trains three replicas
per network, so at most one more program is compiled (three to one, once two have stopped);
whether the epochs saved pay for that compilation depends on how far apart the replicas stop
and what a program costs to compile. Asked here on the benchmark's half-hourly electricity
series (4,032 steps, window 336, horizon 48: ``compare``'s longest), each network trained as
``compare`` trains it (its defaults, the hybrid over AutoTheta, 3 seeds, one process), full
and compacted interleaved (A B A B ...): seconds of each (compilation included), the median
ratio, each replica's stop step in both, and the largest difference between the two runs'
forecasts (a replica's figures agree to float rounding at the epoch the program shrinks; the
rounding can grow over later epochs into a different run, as between two machines).

Run: ``python benchmarks/compare_compaction.py [--models rnn_seq2seq,gru_vec2seq --rounds 2]``;
writes ``benchmarks/results/compare_compaction.md``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "experiments"))
from report import result_path, write_report  # noqa: E402


def _setup(name: str):
    """``compare``'s shared configuration, series, protocol and hybrid base on one series."""
    import benchmark_series

    from jaxseq.app import compare, workflow

    spec = benchmark_series.BENCHMARK[name]
    path = spec.write_csv(Path(tempfile.mkdtemp()) / f"{name}.csv")
    settings = spec.settings
    series, common, protocol = compare._series_and_settings(
        str(path),
        column=spec.column,
        time_column=settings["time_column"],
        fill=settings["fill"],
        covariates=None,
        future_covariates=None,
        calendar=None,
        settings={
            "horizon": spec.horizon,
            "window": spec.window,
            "seeds": 3,
            "batch_size": 32,
            "normalize": "auto",
            "base": None,
            "budget": workflow.budget_options(None, None, None, None),
            "valid_size": spec.valid_size,
            "test_size": spec.test_size,
            "stride": 1,
            "season": None,
            "head": None,
            "loss": None,
        },
    )
    common, base, _ = compare._hybrid_base(common, series, protocol, None)
    return common, series, protocol, base


def _divergence(full: dict, compacted: dict) -> str:
    """Where the two runs' validation curves first differ: the epoch, the largest relative
    difference over replicas there and one epoch later, and that replica's two values then."""
    key = next(k for k in full["metrics"] if k.startswith("val_"))
    a, b = (np.asarray(h["metrics"][key], float) for h in (full, compacted))
    epochs = min(len(a), len(b))
    relative = np.abs(a[:epochs] - b[:epochs]) / np.abs(a[:epochs])  # NaN once stopped
    differ = np.flatnonzero(np.nan_to_num(relative).max(axis=1) > 0)
    if not len(differ):
        return "none"
    e = int(differ[0])
    later = min(e + 1, epochs - 1)
    r = int(np.nanargmax(relative[later]))
    return (
        f"{e + 1}: {np.nanmax(relative[e]):.1g}, {relative[later, r]:.2g} "
        f"({a[later, r]:.3g} / {b[later, r]:.3g}, {key})"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", default="taylor")
    parser.add_argument("--models", default="rnn_seq2seq,gru_vec2seq")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", default=str(result_path("compare_compaction.md")))
    args = parser.parse_args(argv)
    from jaxseq.app import compare

    common, series, protocol, base = _setup(args.series)
    lines = [
        f"{args.series}: {len(series.values):,} steps, window {common.window}, horizon "
        f"{common.horizon}, {common.seeds} seeds, hybrid over {common.base}, up to "
        f"{common.max_steps} steps with a patience of {common.patience}. Seconds of training "
        "(the first epoch's compilation and the shrunk program's included), full / compacted "
        "interleaved; ratio above 1: compacting is faster.",
        "",
        "| model | full s | compacted s | median ratio full / compacted | each replica's stop "
        "step, full / compacted | largest forecast difference | validation error where the runs "
        "first differ: epoch, relative difference then and one epoch later, full / compacted |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in args.models.split(","):
        config = compare._network_config(common, name)
        seconds: dict[bool, list[float]] = {False: [], True: []}
        last: dict[bool, dict] = {}
        for _ in range(args.rounds):
            for compact in (False, True):
                start = time.perf_counter()
                last[compact] = compare.train_and_forecast(
                    config, series, protocol, base=base, compact=compact
                )
                seconds[compact].append(time.perf_counter() - start)
                print(name, compact, f"{seconds[compact][-1]:.1f} s", flush=True)
        ratio = float(np.median(np.divide(seconds[False], seconds[True])))
        stops = {
            compact: ", ".join(
                str(int(e) * int(last[compact]["history"]["steps_per_epoch"]))
                for e in last[compact]["history"]["stop_epoch"]
            )
            for compact in last
        }
        difference = max(
            float(np.max(np.abs(last[True]["forecasts"][k] - last[False]["forecasts"][k])))
            for k in last[True]["forecasts"]
        )
        lines.append(
            f"| {name} | {np.median(seconds[False]):.1f} | {np.median(seconds[True]):.1f} | "
            f"{ratio:.2f} | {stops[False]} / {stops[True]} | {difference:.3g} | "
            f"{_divergence(last[False]['history'], last[True]['history'])} |"
        )
    write_report(
        Path(args.out),
        "compare: programs that shrink as replicas stop",
        f"python benchmarks/compare_compaction.py --series {args.series} --models {args.models} "
        f"--rounds {args.rounds}",
        lines,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
