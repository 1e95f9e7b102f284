"""Inference (forward pass) formulations of the fused recurrences, timed against Flax and PyTorch.

``python benchmarks/forward_speed.py W2 W4 ...``: for each workload of ``jaxseq bench``, the
forward pass of jaxseq under each variant of :data:`jaxseq.fused.FORWARD` (switches read when a
function is traced), interleaved with the Flax peer (and PyTorch when installed) in one
process. Ratio = median over rounds of variant time / the first variant's time (below 1:
faster). Also ``--vmap K``: the forward pass ``vmap``'d over K parameter replicas (the
evaluator). Prints the tables and writes them to ``benchmarks/results/forward_speed.md``
(``--out``).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from report import result_path, write_report

from jaxseq import fused
from jaxseq.bench import harness as bench
from jaxseq.bench import peers
from jaxseq.bench.timing import median_ratio, time_interleaved

VARIANTS = {
    "W1": {
        "old: fused gates, projected before when wide": dict(
            lstm_input="loop|before", lstm_gates="fused"
        ),
        "fused gates, in loop": dict(lstm_input="loop", lstm_gates="fused"),
        "fused gates, concat when wide": dict(lstm_input="loop|concat", lstm_gates="fused"),
        "split gates, in loop": dict(lstm_input="loop", lstm_gates="split"),
        "fused gates, concat when wide, unroll 2": dict(
            lstm_input="loop|concat", lstm_gates="fused", unroll=2
        ),
    },
    "W2": {
        "old: fused gates": dict(gru="fused"),
        "per-gate dots, in loop": dict(gru="split", gru_input="loop"),
        "per-gate dots, projected before (every layer)": dict(gru="split", gru_input="before"),
        "per-gate dots, z and r on [x, h] (every layer)": dict(gru="split", gru_input="concat"),
        "per-gate dots, auto (before while small, else in loop)": dict(
            gru="split", gru_input="auto", gru_wide="loop"
        ),
        "per-gate dots, auto (before while small, else concat)": dict(
            gru="split", gru_input="auto", gru_wide="concat"
        ),
    },
    "W3": {
        "old: projected before when wide": dict(rnn_input="loop|before"),
        "in loop": dict(rnn_input="loop"),
        "concat when wide": dict(rnn_input="loop|concat"),
        "concat always": dict(rnn_input="concat"),
    },
    "W4": {
        "old: fused gates, projected before when wide": dict(
            lstm_input="loop|before", lstm_gates="fused"
        ),
        "default (auto: split gates where fed in loop, concat when wide)": dict(
            lstm_input="loop|concat", lstm_gates="auto"
        ),
        "fused gates, in loop": dict(lstm_input="loop", lstm_gates="fused"),
        "split gates, in loop": dict(lstm_input="loop", lstm_gates="split"),
        "split gates, concat when wide": dict(lstm_input="loop|concat", lstm_gates="split"),
        "split gates, concat always": dict(lstm_input="concat", lstm_gates="split"),
        "fused gates, concat when wide": dict(lstm_input="loop|concat", lstm_gates="fused"),
        "fused gates, concat always": dict(lstm_input="concat", lstm_gates="fused"),
    },
    "W6": {
        "old: fused gates": dict(lstm_input="loop", lstm_gates="fused"),
        "fused gates, unroll 2": dict(lstm_input="loop", lstm_gates="fused", unroll=2),
        "fused gates, unroll 4": dict(lstm_input="loop", lstm_gates="fused", unroll=4),
        "fused gates, concat": dict(lstm_input="concat", lstm_gates="fused"),
    },
}


@contextlib.contextmanager
def forward_mode(**switches):
    saved = dict(fused.FORWARD)
    fused.FORWARD.update(switches)
    try:
        yield
    finally:
        fused.FORWARD.clear()
        fused.FORWARD.update(saved)


def forward_fn(spec, replicas: int):
    model = bench.jaxseq_model(spec)
    X = jnp.asarray(peers.random_data(spec)[0])
    keys = jax.random.split(jax.random.PRNGKey(0), replicas)
    if replicas == 1:
        variables = model.init(keys[0])
        f = jax.jit(lambda v: model.apply(v, X))
    else:
        variables = jax.vmap(model.init)(keys)
        f = jax.jit(jax.vmap(lambda v: model.apply(v, X)))
    return f, variables


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("workloads", nargs="*", default=list(VARIANTS))
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--vmap", type=int, default=1)
    parser.add_argument("--peers", default="flax,torch")
    parser.add_argument("--batch", type=int, default=None, help="override the workload's batch")
    parser.add_argument("--out", type=Path, default=result_path("forward_speed.md"))
    args = parser.parse_args(argv)
    sections = []
    for name in args.workloads:
        spec = bench.WORKLOADS[name]
        if args.batch:
            spec = spec._replace(batch=args.batch)
        runs = {}
        for label, switches in VARIANTS[name].items():
            with forward_mode(**switches):
                f, v = forward_fn(spec, args.vmap)
                ref = np.asarray(f(v))
            runs[label] = (f, v, ref)
        base = next(iter(runs))
        calls = {k: (lambda f=f, v=v: f(v)) for k, (f, v, _) in runs.items()}
        if args.vmap == 1:
            for peer in args.peers.split(","):
                try:
                    if peer == "flax":
                        c = peers.flax_contender(spec)
                    else:
                        from jaxseq.bench.peers_torch import torch_contender

                        c = torch_contender(spec)
                except Exception as error:  # noqa: BLE001
                    print(f"  {peer}: {error}")
                    continue
                calls[f"peer {peer}"] = c.forward
        times = time_interleaved(calls, rounds=args.rounds)
        sections += [
            f"{name} forward (vmap {args.vmap}): {spec.description}",
            "",
            "| variant | ms | cost vs old | max diff vs old |",
            "|---|---|---|---|",
        ]
        for k, ts in times.items():
            diff = f"{np.max(np.abs(runs[k][2] - runs[base][2])):.1e}" if k in runs else ""
            ratio = median_ratio(times, k, base)
            sections.append(f"| {k} | {np.median(ts) * 1e3:.3f} | {ratio:.2f}x | {diff} |")
        sections.append("")
    command = "python benchmarks/forward_speed.py " + " ".join(argv or sys.argv[1:])
    write_report(args.out, "Forward-pass formulations, measured", command.strip(), sections)


if __name__ == "__main__":
    main()
