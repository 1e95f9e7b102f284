"""Batched orthogonal initialisers against XLA's CPU thread pool: which return, which hang.

Each case runs in a child process with a time limit (a hang is reported, not waited on):

- ``flax orthogonal``: ``jax.jit(jax.vmap(f))`` of ``m`` flax ``orthogonal()`` 20 x 60
  matrices for ``n`` keys, a batched LAPACK QR per matrix (what a recurrent model's
  initialisation is);
- ``Trainer.init``: 384 replicas of ``gru_seq2seq`` through :class:`jaxseq.train.Trainer`,
  which initialises its replicas one at a time inside the compiled program.

Run: ``python benchmarks/init_deadlock.py``; writes ``benchmarks/results/init_deadlock.md``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import jax

ORTHOGONAL = """
import sys, jax
import flax.linen as nn
n, m = int(sys.argv[1]), int(sys.argv[2])
init = nn.initializers.orthogonal()
f = jax.jit(jax.vmap(lambda key: [init(k, (20, 60)) for k in jax.random.split(key, m)]))
jax.block_until_ready(f(jax.random.split(jax.random.PRNGKey(0), n)))
print("ok")
"""
TRAINER = """
import jax
from jaxseq import models, train
model = models.get("gru_seq2seq", window=24, horizon=10)
jax.block_until_ready(train.Trainer(model).init(train.replica_keys(384)))
print("ok")
"""
SINGLE_EIGEN = {"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false"}
CASES = [
    ("flax orthogonal", "256 keys x 1 matrix", ORTHOGONAL, ["256", "1"], {}),
    ("flax orthogonal", "256 keys x 2 matrices", ORTHOGONAL, ["256", "2"], {}),
    (
        "flax orthogonal",
        "256 keys x 2, single-threaded Eigen",
        ORTHOGONAL,
        ["256", "2"],
        SINGLE_EIGEN,
    ),
    ("flax orthogonal", "128 keys x 8 matrices", ORTHOGONAL, ["128", "8"], {}),
    ("Trainer.init", "384 gru_seq2seq replicas", TRAINER, [], {}),
]
LIMIT = 30.0
TRIES = 3


def main() -> int:
    lines = [
        "# Batched orthogonal initialisers on XLA's CPU thread pool",
        "",
        f"`python benchmarks/init_deadlock.py`: jax {jax.__version__}, each case {TRIES} times, "
        f"each in a child process; a hang when it has not returned in {LIMIT:g} s (seconds "
        "include the child's start and compilation). The hang depends on thread timing.",
        "",
        "| program | case | try | outcome | seconds |",
        "|---|---|---|---|---|",
    ]
    for (program, case, code, args, env), k in ((c, k) for c in CASES for k in range(1, TRIES + 1)):
        start = time.perf_counter()
        try:
            done = subprocess.run(
                [sys.executable, "-c", code, *args],
                capture_output=True,
                text=True,
                timeout=LIMIT,
                env={**os.environ, **env},
            )
            outcome = "returned" if done.stdout.strip() == "ok" else f"failed ({done.returncode})"
        except subprocess.TimeoutExpired:
            outcome = "hung"
        seconds = time.perf_counter() - start
        lines.append(f"| {program} | {case} | {k} | {outcome} | {seconds:.1f} |")
        print(lines[-1], flush=True)
    out = Path(__file__).parent / "results" / "init_deadlock.md"
    out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
