"""Why eight vmapped replicas of W1 cost about eight times one on this CPU.

Times, interleaved in one process:
1. W1's whole training step: one replica; 8 replicas by ``vmap``; 8 replicas as 8 separate
   graphs in one ``jit`` (no batched ops at all);
2. one LSTM(20) layer over 50 steps, forward and gradient, per time step: 1 replica at batch 32,
   8 vmapped replicas at batch 32, and 1 replica at batch 256 (the same number of elements as
   8 x 32 with no replica axis).
If (2) shows 8 x 32 costing what 1 x 256 costs, the step is bound by per-element work, not by a
per-step overhead that batching replicas could amortise.
Writes ``benchmarks/results/replica_scaling.md`` (``--out``).

Run: ``python benchmarks/replica_scaling.py [--rounds 30]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from report import result_path, write_report

from jaxseq import cells
from jaxseq.bench import harness as bench
from jaxseq.bench.timing import time_interleaved
from jaxseq.recurrent import scan_cell
from jaxseq.train import init_state, make_optimizer, train_step

REPLICAS = 8


def train_steps(rounds: int) -> list[str]:
    spec = bench.WORKLOADS["W1"]
    model = bench.jaxseq_model(spec)
    X, Y = (jnp.asarray(a) for a in bench.random_data(spec))
    opt = make_optimizer(1e-3)

    step = lambda state: train_step(model, opt, state, X, Y, None)[0]  # the library's step
    init = lambda key: init_state(model, opt, key)

    def separate(states):
        outs = [step(jax.tree.map(lambda a, i=i: a[i], states)) for i in range(REPLICAS)]
        return jax.tree.map(lambda *a: jnp.stack(a), *outs)

    keys = jax.random.split(jax.random.PRNGKey(0), REPLICAS)
    one, many = jax.jit(init)(keys[0]), jax.jit(jax.vmap(init))(keys)
    single, vmapped, looped = jax.jit(step), jax.jit(jax.vmap(step)), jax.jit(separate)
    fns = {
        "1 replica": lambda: single(one),
        f"{REPLICAS} replicas, vmap": lambda: vmapped(many),
        f"{REPLICAS} replicas, separate graphs": lambda: looped(many),
    }
    times = time_interleaved(fns, rounds=rounds, warmup=2)
    base = times["1 replica"]
    return [
        f"| {k} | {np.median(v) * 1e3:.2f} | {np.median(v / base):.2f} |" for k, v in times.items()
    ]


def lstm_layer(rounds: int, steps: int = 50, units: int = 20) -> list[str]:
    cell = cells.lstm()

    def case(replicas, batch):
        keys = jax.random.split(jax.random.key(0), replicas)
        params = jax.vmap(lambda k: cell.init(k, units, units))(keys)
        x = jax.random.normal(jax.random.key(1), (replicas, batch, steps, units))
        run = lambda p, x: scan_cell(cell, p, x, hidden_size=units)[1]
        fwd = jax.jit(jax.vmap(run))
        grad = jax.jit(jax.vmap(jax.grad(lambda p, x: jnp.sum(run(p, x) ** 2))))
        return (lambda: fwd(params, x)), (lambda: grad(params, x))

    shapes = {
        "1 x batch 32": (1, 32),
        f"{REPLICAS} x batch 32": (REPLICAS, 32),
        "1 x batch 256": (1, 256),
    }
    fns = {}
    for label, shape in shapes.items():
        fwd, grad = case(*shape)
        fns[(label, "fwd")], fns[(label, "grad")] = fwd, grad
    times = time_interleaved(fns, rounds=rounds, warmup=2)
    return [
        f"| {label} | {np.median(times[(label, 'fwd')]) * 1e6 / steps:.1f} "
        f"| {np.median(times[(label, 'grad')]) * 1e6 / steps:.1f} |"
        for label in shapes
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--out", type=Path, default=result_path("replica_scaling.md"))
    args = parser.parse_args()
    steps = train_steps(args.rounds)
    layer = lstm_layer(args.rounds)
    write_report(
        args.out,
        "Replica scaling on this machine",
        "python benchmarks/replica_scaling.py",
        [
            "W1 training step (forward + backward + Adam):",
            "",
            "| run | ms | cost vs 1 replica |",
            "|---|---|---|",
            *steps,
            "",
            "One LSTM(20) layer over 50 steps, microseconds per time step:",
            "",
            "| replicas x batch | forward | gradient |",
            "|---|---|---|",
            *layer,
            "",
        ],
    )


if __name__ == "__main__":
    main()
