"""Process-level settings of XLA's CPU backend and of the C allocator, tried on W1 and W4.

Each setting runs in its own process (XLA reads its flags once), timing jaxseq's and Flax's
training step interleaved, as ``jaxseq bench`` does. These are settings of the machine's
process, not of the library: a setting that helps both contenders alike leaves the ratio
alone. Writes ``benchmarks/results/xla_flags.md`` (``--out``).

Run: ``python benchmarks/xla_flags.py [--rounds 150]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from report import result_path, write_report

SETTINGS = {
    "default": {},
    "whole small loops compiled as one kernel (small_while_loop_byte_threshold=1e8)": {
        "XLA_FLAGS": "--xla_backend_extra_options=xla_cpu_small_while_loop_byte_threshold=100000000"
    },
    "no YNNPACK fusions (XLA's own dot emitter)": {
        "XLA_FLAGS": "--xla_cpu_experimental_ynn_fusion_type="
    },
    "single-threaded Eigen": {"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false"},
    "glibc malloc on transparent huge pages (GLIBC_TUNABLES=glibc.malloc.hugetlb=1)": {
        "GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"
    },
}


def child(workload: str, rounds: int) -> None:
    """One setting's measurement, in a process of its own: prints one JSON line."""
    import resource

    import jax

    from jaxseq.bench import harness as bench
    from jaxseq.bench.peers import flax_contender
    from jaxseq.bench.timing import median_ratio, time_interleaved

    spec = bench.WORKLOADS[workload]
    contenders = {"jaxseq": bench.jaxseq_contender(spec), "flax": flax_contender(spec)}
    states = {name: c.init_state for name, c in contenders.items()}

    def step(name):
        def call():
            states[name] = contenders[name].train_step(states[name])
            return states[name]

        return call

    calls = {name: step(name) for name in contenders}
    for call in calls.values():  # warm up apart: the page faults are counted over timed rounds
        for _ in range(2):
            jax.block_until_ready(call())
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    times = time_interleaved(calls, rounds=rounds, warmup=0)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / (2 * rounds)
    result = {name: float(np.median(t)) for name, t in times.items()}
    result.update(ratio=median_ratio(times, "flax", "jaxseq"), faults=faults)
    print(json.dumps(result))


def measure(workload: str, env: dict, rounds: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", workload, str(rounds)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--w4-rounds", type=int, default=6)
    parser.add_argument("--out", type=Path, default=result_path("xla_flags.md"))
    parser.add_argument("--child", nargs=2, metavar=("WORKLOAD", "ROUNDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    rows = [
        "| workload | setting | jaxseq ms | Flax ms | Flax / jaxseq | page faults per step |",
        "|---|---|---|---|---|---|",
    ]
    plan = [("W1", name, args.rounds) for name in SETTINGS]
    plan += [("W4", name, args.w4_rounds) for name in ("default", list(SETTINGS)[-1])]
    for workload, name, rounds in plan:
        r = measure(workload, SETTINGS[name], rounds)
        rows.append(
            f"| {workload} | {name} | {r['jaxseq'] * 1e3:.2f} | {r['flax'] * 1e3:.2f} | "
            f"{r['ratio']:.2f} | {r['faults']:.0f} |"
        )
        print(rows[-1], flush=True)
    write_report(
        args.out,
        "XLA CPU and allocator settings, measured",
        "python benchmarks/xla_flags.py",
        ["Training step (forward + backward + Adam), medians, interleaved per process.", "", *rows],
    )


if __name__ == "__main__":
    main()
