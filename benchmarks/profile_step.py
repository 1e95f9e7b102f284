"""Where a benchmark step's time goes: XLA's CPU operations ranked by time per step.

Traces a few training steps (or forward passes) of a ``jaxseq bench`` workload with the JAX
profiler, XLA's per-operation trace events switched on, and prints, per contender, the
operations that took the most time per step and how many times each ran per step (an
operation inside the time loop runs once per time step). The profiler slows every operation
a little; use it to rank, not to time.

The trace is read with JAX's public ``jax.profiler.ProfileData`` (the ``.xplane.pb`` file that
``jax.profiler.start_trace`` writes). Prints the ranking and writes it to
``benchmarks/results/profile_<workload>_<what>.md`` (``--out``).

Run: ``python benchmarks/profile_step.py W4 [--what forward] [--steps 3] [--top 20]``.
"""

from __future__ import annotations

import argparse
import collections
import glob
import os
import tempfile
from pathlib import Path

# XLA reads its flags once, at backend start: set before JAX is imported.
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_cpu_enable_xprof_traceme=true"
).strip()

import jax  # noqa: E402
from report import result_path, write_report  # noqa: E402

from jaxseq.bench import harness as bench  # noqa: E402


def profile(contender, what: str, steps: int) -> tuple[collections.Counter, collections.Counter]:
    state = contender.init_state

    def run(state):
        if what == "train":
            return jax.block_until_ready(contender.train_step(state))
        jax.block_until_ready(contender.forward())
        return state

    for _ in range(3):
        state = run(state)
    with tempfile.TemporaryDirectory() as folder:
        jax.profiler.start_trace(folder)
        for _ in range(steps):
            state = run(state)
        jax.profiler.stop_trace()
        path = sorted(glob.glob(f"{folder}/**/*.xplane.pb", recursive=True))[-1]
        trace = jax.profiler.ProfileData.from_file(path)
    seconds, calls = collections.Counter(), collections.Counter()
    for plane in trace.planes:
        for line in plane.lines:
            if "Eigen" not in line.name and "PjRt" not in line.name:
                continue  # XLA's worker threads only
            for event in line.events:
                if event.name.startswith(("ThunkExecutor", "end: ", "SlinkyThreadPool")):
                    continue
                seconds[event.name] += event.duration_ns * 1e-9 / steps
                calls[event.name] += 1 / steps
    return seconds, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=sorted(bench.WORKLOADS))
    parser.add_argument("--what", choices=["train", "forward"], default="train")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--peers", default="flax", help="comma-separated peers, or 'none'")
    parser.add_argument(
        "--out", type=Path, default=None, help="default benchmarks/results/profile_W_WHAT.md"
    )
    args = parser.parse_args()
    spec = bench.WORKLOADS[args.workload]
    contenders = [bench.jaxseq_contender(spec)]
    peers = [] if args.peers == "none" else args.peers.split(",")
    contenders += [bench.PEERS[p](spec) for p in peers]
    sections = []
    for contender in contenders:
        seconds, calls = profile(contender, args.what, args.steps)
        sections += [
            f"{contender.name}: {args.workload} {args.what}, ms per step (runs per step)",
            "",
            "| ms per step | runs per step | XLA operation |",
            "|---|---|---|",
            *(
                f"| {s * 1e3:.2f} | {calls[name]:.0f} | `{name}` |"
                for name, s in seconds.most_common(args.top)
            ),
            "",
        ]
    out = args.out or result_path(f"profile_{args.workload}_{args.what}.md")
    command = f"python benchmarks/profile_step.py {args.workload} --what {args.what}"
    note = "operations ranked under the JAX profiler, which slows each a little (rank, not time)."
    write_report(out, "Where a step's time goes, per XLA operation", command, sections, note)


if __name__ == "__main__":
    main()
