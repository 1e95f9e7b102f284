"""Process-level settings of XLA's CPU backend and of the C allocator, tried on W1 and W4.

Each setting runs in its own process (XLA reads its flags once), timing jaxseq's and Flax's
training step interleaved, as ``jaxseq bench`` does. These are settings of the machine's
process, not of the library: a setting that helps both contenders alike leaves the ratio
alone. Writes ``experiments/results/xla_flags.md``.

Run: ``python experiments/xla_flags.py [--rounds 150]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from timing import write_report

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

CHILD = """
import json, sys, time, resource
import jax, numpy as np
from jaxseq.bench import harness as bench
from jaxseq.bench.peers import flax_contender
spec = bench.WORKLOADS[sys.argv[1]]
rounds = int(sys.argv[2])
contenders = [bench.jaxseq_contender(spec), flax_contender(spec, bench._timer)]
states = [c.init_state for c in contenders]
for i, c in enumerate(contenders):
    for _ in range(2):
        states[i] = jax.block_until_ready(c.train_step(states[i]))
times = [[], []]
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(rounds):
    for i, c in enumerate(contenders):
        start = time.perf_counter()
        states[i] = jax.block_until_ready(c.train_step(states[i]))
        times[i].append(time.perf_counter() - start)
faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / (2 * rounds)
a, b = np.array(times[0]), np.array(times[1])
print(json.dumps({"jaxseq": float(np.median(a)), "flax": float(np.median(b)),
                  "ratio": float(np.median(b / a)), "faults": faults}))
"""


def measure(workload: str, env: dict, rounds: int) -> dict:
    full_env = {**os.environ, **env}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, workload, str(rounds)],
        env=full_env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--w4-rounds", type=int, default=6)
    parser.add_argument("--out", type=Path, default=Path("experiments/results/xla_flags.md"))
    args = parser.parse_args()
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
        "python experiments/xla_flags.py",
        ["Training step (forward + backward + Adam), medians, interleaved per process.", "", *rows],
    )


if __name__ == "__main__":
    main()
