"""Memory and time of one training gradient over a long sequence, with and without
rematerialising the scan in chunks (``remat_chunk``).

Model: one recurrent layer of 64 units over T steps (batch 16, 1 feature) -> per-step Dense(1),
MSE loss. Memory is XLA's own buffer plan for the compiled gradient
(``compiled.memory_analysis().temp_size_in_bytes``: the temporaries alive at the peak, inputs and
parameters excluded); time is the median of interleaved runs.
Writes ``benchmarks/results/remat_memory.md`` (``--out``).

Run: ``python benchmarks/remat_memory.py [--steps 10000] [--chunks 100,500]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from report import result_path

from jaxseq import cells
from jaxseq.bench.timing import median_ratio, time_interleaved
from jaxseq.recurrent import RNN

CELLS = {
    "LSTM": cells.lstm,
    "GRU (reset after)": cells.gru,
    "GRU (reset before)": lambda: cells.gru(reset_after=False),
}


class LongModel(nn.Module):
    """``[batch, time, 1]`` -> RNN(64, sequences) -> per-step Dense(1)."""

    cell: cells.Cell
    chunk: int | None

    @nn.compact
    def __call__(self, x):
        h = RNN(self.cell, 64, return_sequences=True, remat_chunk=self.chunk)(x)
        return nn.Dense(1)(h)


def compiled_gradient(cell, chunk, x, y):
    model = LongModel(cell, chunk)
    params = model.init(jax.random.key(0), x[:, :2])
    loss = lambda p: jnp.mean((model.apply(p, x) - y) ** 2)
    return jax.jit(jax.grad(loss)).lower(params).compile(), params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--chunks", default="100,500")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=result_path("remat_memory.md"))
    args = parser.parse_args()
    chunks = [None] + [int(c) for c in args.chunks.split(",")]
    x = jax.random.normal(jax.random.key(1), (16, args.steps, 1))
    y = jnp.roll(x, -1, axis=1)

    rows = []
    for name, make in CELLS.items():
        cell = make()
        runs = {c: compiled_gradient(cell, c, x, y) for c in chunks}
        times = time_interleaved(
            {c: (lambda fn=fn, params=params: fn(params)) for c, (fn, params) in runs.items()},
            rounds=args.rounds,
        )
        base_mem = runs[None][0].memory_analysis().temp_size_in_bytes
        for c, (fn, _) in runs.items():
            mem = fn.memory_analysis().temp_size_in_bytes
            ratio = median_ratio(times, c, None)
            rows.append(
                f"| {name} | {c or 'off'} | {mem / 2**20:.1f} | {base_mem / mem:.1f}x "
                f"| {np.median(times[c]) * 1e3:.0f} | {ratio:.2f} |"
            )
            print(rows[-1], flush=True)

    table = "\n".join(
        [
            f"# Rematerialised scan: one gradient over {args.steps:,} steps",
            "",
            f"`python benchmarks/remat_memory.py --steps {args.steps}` on "
            f"{jax.devices()[0].device_kind}, jax {jax.__version__}. Batch 16, RNN(64) -> "
            "per-step Dense(1). Memory: XLA's temporaries at the peak of the compiled gradient.",
            "",
            "| cell | remat_chunk | temp MiB | saving | gradient ms | time vs off |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
