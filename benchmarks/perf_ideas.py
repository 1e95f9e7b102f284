"""What each speed idea gives on W1 (LSTM(20, seq) x2 -> per-step Dense(10), batch 32, 50 steps).

Every variant is timed in one process, interleaved (A B C ... A B C ...), and compared with
jaxseq's default by the median of per-round ratios (above 1: the default is faster):

- training step variants: autodiff instead of the hand-written backward pass (``cell.scan``
  removed); additionally the input projection inside the loop instead of one matmul before it;
  ``lax.scan`` ``unroll`` 2 and 4 (autodiff path, where it applies); no buffer donation;
  Adam per parameter array instead of on one flat vector (``optax.flatten``);
- a whole epoch of the chapter's data (7,000 series, 219 minibatches) as one compiled call
  against a Python loop of compiled steps;
- where the fused scans project a narrow input (``jaxseq.fused.IN_LOOP_MAX_FEATURES``): per
  step inside the loop (the default for up to 16 features) against one matmul before the loop,
  on W1 and on W6 (2,000 steps), training step and forward pass.
Writes ``benchmarks/results/perf_ideas.md`` (``--out``).

Run: ``python benchmarks/perf_ideas.py [--rounds 40]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from report import result_path, write_report

from jaxseq import cells, data, fused, models, train
from jaxseq.bench import harness as bench
from jaxseq.bench.timing import time_interleaved
from jaxseq.layers import Dense, Sequential, TimeDistributed
from jaxseq.recurrent import RNN


def w1_model(cell: cells.Cell, unroll: int = 1) -> models.Model:
    layers = [RNN(cell, 20, return_sequences=True, unroll=unroll) for _ in range(2)]
    module = Sequential([*layers, TimeDistributed(Dense(10))])
    return models.Model(
        name="W1", module=module, task="seq2seq", mode="seq2seq", dims=models.Dims(50, 1, 10, 1)
    )


def table(times: dict[str, np.ndarray], unit: float, label: str) -> list[str]:
    base = times[next(iter(times))]
    rows = [f"| variant | {label} | cost vs default |", "|---|---|---|"]
    for k, v in times.items():
        rows.append(f"| {k} | {np.median(v) * unit:.2f} | {np.median(v / base):.2f}x |")
    return rows


def step_variants(rounds: int) -> list[str]:
    lstm = cells.lstm()
    autodiff = lstm._replace(scan=None)
    in_loop = lstm._replace(scan=None, project=None, recur=None)
    # label: (cell, unroll, donate the state, Adam on one flat vector)
    variants = {
        "default: hand-written backward, input projection placed by width, donated state, "
        "Adam on one flat vector": (lstm, 1, True, True),
        "autodiff backward": (autodiff, 1, True, True),
        "autodiff, projection inside the loop": (in_loop, 1, True, True),
        "autodiff, unroll 2": (autodiff, 2, True, True),
        "autodiff, unroll 4": (autodiff, 4, True, True),
        "default without donation": (lstm, 1, False, True),
        "default with Adam per parameter array": (lstm, 1, True, False),
    }
    X, Y = (jnp.asarray(a) for a in bench.random_data(bench.WORKLOADS["W1"]))
    fns = {}
    for label, (cell, unroll, donate, flatten) in variants.items():
        model = w1_model(cell, unroll)
        optimizer = train.make_optimizer(1e-3, flatten=flatten)
        state = train.init_state(model, optimizer, jax.random.PRNGKey(0))
        step = lambda s, model=model, opt=optimizer: train.train_step(model, opt, s, X, Y, None)[0]
        compiled = jax.jit(step, donate_argnums=0 if donate else ())
        holder = {"state": state}

        def run(compiled=compiled, holder=holder):
            holder["state"] = compiled(holder["state"])
            return holder["state"]

        fns[label] = run
    return table(time_interleaved(fns, rounds=rounds, warmup=2), 1e3, "train step ms")


def epoch_variants(rounds: int) -> list[str]:
    dataset = data.chapter_data("seq2seq")
    split = jax.device_put(dataset.train)
    model = models.get("lstm_seq2seq")
    optimizer = train.make_optimizer(1e-3)
    start_state = train.init_state(model, optimizer, jax.random.PRNGKey(0))
    batch = 32
    n = split.X.shape[0]

    epoch = jax.jit(
        lambda s, k: train.run_epoch(model, optimizer, batch, s, k, split, None)[0],
        donate_argnums=0,
    )
    step = jax.jit(
        lambda s, x, y: train.train_step(model, optimizer, s, x, y, None)[0], donate_argnums=0
    )
    X, Y = np.asarray(split.X), np.asarray(split.Y)
    states = {"one": jax.tree.map(jnp.copy, start_state), "loop": start_state}
    rng = np.random.default_rng(0)

    def one_call():
        states["one"] = epoch(states["one"], jax.random.PRNGKey(1))
        return states["one"]

    def python_loop():
        perm = rng.permutation(n)
        s = states["loop"]
        for i in range(0, n, batch):  # the short last batch compiles once more, then is reused
            idx = perm[i : i + batch]
            s = step(s, X[idx], Y[idx])
        states["loop"] = s
        return s

    fns = {"one compiled call per epoch": one_call, "Python loop of compiled steps": python_loop}
    return table(time_interleaved(fns, rounds=rounds, warmup=2), 1e3, "epoch ms")


def setting_variants(rounds: int, attribute: str, settings: dict[str, int]) -> list[str]:
    """W1 and W6 (training step and forward) under values of a ``jaxseq.fused`` constant; the
    first setting is the default."""
    rows = []
    default = getattr(fused, attribute)
    for name, r in (("W1", rounds), ("W6", max(20, rounds // 2))):
        contenders = {}
        for label, value in settings.items():
            setattr(fused, attribute, value)  # read when the step is traced, just below
            contenders[label] = bench.jaxseq_contender(bench.WORKLOADS[name])
        setattr(fused, attribute, default)
        holders = {k: {"state": c.init_state} for k, c in contenders.items()}

        def train_fn(c, h):
            h["state"] = c.train_step(h["state"])
            return h["state"]

        train = {k: (lambda c=c, h=holders[k]: train_fn(c, h)) for k, c in contenders.items()}
        forward = {k: c.forward for k, c in contenders.items()}
        for what, fns in (("train step", train), ("forward", forward)):
            rows += table(time_interleaved(fns, rounds=r, warmup=2), 1e3, f"{name} {what} ms")
            rows.append("")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--epoch-rounds", type=int, default=6)
    parser.add_argument("--out", type=Path, default=result_path("perf_ideas.md"))
    args = parser.parse_args()
    steps = step_variants(args.rounds)
    epochs = epoch_variants(args.epoch_rounds)
    projection = setting_variants(
        args.rounds,
        "IN_LOOP_MAX_FEATURES",
        {
            "per step inside the loop (default)": fused.IN_LOOP_MAX_FEATURES,
            "before the loop": -1,
        },
    )
    write_report(
        args.out,
        "Speed ideas on W1, measured",
        "python benchmarks/perf_ideas.py",
        [
            "W1 training step (forward + backward + Adam):",
            "",
            *steps,
            "",
            "One epoch of the chapter's seq2seq data (lstm_seq2seq, 7,000 series, batch 32):",
            "",
            *epochs,
            "",
            "Where a narrow input (1 feature here) is projected, per step inside the loop or for "
            "all steps before it:",
            "",
            *projection,
        ],
    )


if __name__ == "__main__":
    main()
