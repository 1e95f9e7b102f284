"""``jaxseq bench``: time training steps and forward passes on whatever device JAX finds.

Every workload is run by jaxseq and, when installed, by the peers a user would otherwise pick
(:mod:`jaxseq.bench.peers`: Flax linen ``nn.RNN``, Keras 3 on JAX; :mod:`jaxseq.bench.peers_torch`:
PyTorch, on cuDNN when JAX and PyTorch both see a GPU). E1 (the evaluator), B1 (a backtest)
and S8 (seeds at once) are in :mod:`jaxseq.bench.workloads`. Contenders are timed
*interleaved* in one process by :func:`jaxseq.bench.timing.time_interleaved` (each round runs
every contender once, in a fresh seeded order), so a slow spell of a shared machine hits them
alike; each figure is the median over many timed steps (``block_until_ready``) after
compilation, with its 10th-90th percentile spread, and each ratio is the median of the
per-round ratios. Compile time is reported apart.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxseq import cells, models
from jaxseq.app.experiments import machine
from jaxseq.bench import workloads as bench_workloads
from jaxseq.bench.peers import (
    Contender,
    WorkloadSpec,
    flax_contender,
    keras_available,
    keras_contender,
    random_data,
)
from jaxseq.bench.peers_torch import torch_available
from jaxseq.bench.timing import median_ratio, time_call, time_interleaved
from jaxseq.errors import InputError
from jaxseq.layers import Dense, Sequential, TimeDistributed
from jaxseq.recurrent import RNN
from jaxseq.train import cast_floating, init_state, make_optimizer, train_step

WORKLOADS = {
    "W1": WorkloadSpec(
        "W1",
        "LSTM(20, seq) x2 -> per-step Dense(10); batch 32, 50 steps, 1 feature",
        32,
        50,
        1,
        "lstm",
        20,
        10,
        True,
    ),
    "W2": WorkloadSpec(
        "W2",
        "GRU(20, seq) x2 -> per-step Dense(10); batch 32, 50 steps",
        32,
        50,
        1,
        "gru",
        20,
        10,
        True,
    ),
    "W3": WorkloadSpec(
        "W3",
        "SimpleRNN(20, seq) -> SimpleRNN(20) -> Dense(1); batch 32, 50 steps",
        32,
        50,
        1,
        "simple_rnn",
        20,
        1,
        False,
    ),
    "W4": WorkloadSpec(
        "W4",
        "LSTM(128, seq) x2 -> per-step Dense(8); batch 256, 100 steps, 8 features",
        256,
        100,
        8,
        "lstm",
        128,
        8,
        True,
    ),
    "W5": WorkloadSpec(
        "W5",
        "the chapter's WaveNet (8 causal Conv1D(20, 2), dilations 1..8 x2) -> Conv1D(10, 1)",
        32,
        50,
        1,
        "wavenet",
        20,
        10,
        True,
    ),
    "W6": WorkloadSpec(
        "W6",
        "LSTM(64, seq) over 2,000 steps -> per-step Dense(1); batch 16",
        16,
        2000,
        1,
        "lstm",
        64,
        1,
        True,
        layers=1,
    ),
}


def _torch_contender(spec, dtype="float32"):
    from jaxseq.bench.peers_torch import torch_contender

    return torch_contender(spec, dtype)


PEERS = {"flax": flax_contender, "keras": keras_contender, "torch": _torch_contender}
#: Everything ``jaxseq bench`` runs by default, in order.
DEFAULT_WORKLOADS = (*WORKLOADS, "S8", "E1", "B1", "P1")


def jaxseq_model(spec: WorkloadSpec) -> models.Model:
    """The workload as a jaxseq model (zoo models where the chapter has them)."""
    zoo = {"W1": "lstm_seq2seq", "W2": "gru_seq2seq", "W3": "deep_rnn_dense", "W5": "wavenet"}
    if spec.name in zoo:
        return models.get(zoo[spec.name])
    layers = [RNN(cells.lstm(), spec.units, return_sequences=True) for _ in range(spec.layers)]
    module = Sequential([*layers, TimeDistributed(Dense(spec.outputs))])
    dims = models.Dims(spec.time, spec.features, spec.outputs, 1)
    return models.Model(name=spec.name, module=module, task="seq2seq", mode="seq2seq", dims=dims)


def jaxseq_contender(
    spec: WorkloadSpec, *, replicas: int = 1, dtype=jnp.float32, vmap: bool | None = None
) -> Contender:
    """jaxseq's training step, :func:`jaxseq.train.train_step` (``replicas`` > 1, or ``vmap``:
    vmapped over independent replicas), and its forward pass.

    With ``dtype=bfloat16`` the model computes in bf16 while parameters, gradients and Adam stay
    in float32 (``train_step(..., compute_dtype=bfloat16)``: the casts are part of the
    differentiated function).
    """
    model = jaxseq_model(spec)
    X, Y = (jnp.asarray(a) for a in random_data(spec))
    opt = make_optimizer(1e-3)
    compute = None if dtype == jnp.float32 else dtype
    step = lambda state: train_step(model, opt, state, X, Y, None, compute_dtype=compute)[0]
    init = lambda key: init_state(model, opt, key)
    keys = jax.random.split(jax.random.PRNGKey(0), replicas)
    # The forward pass takes the variables alone (as the peers take their parameters), not the
    # whole training state: passing Adam's moments too costs dispatch time for nothing.
    apply = lambda variables: model.apply(cast_floating(variables, dtype), X.astype(dtype))
    if not (replicas > 1 if vmap is None else vmap):
        state = jax.jit(init)(keys[0])
        step_fn = jax.jit(step, donate_argnums=0)
        forward = jax.jit(apply)
    else:
        state = jax.jit(jax.vmap(init))(keys)
        step_fn = jax.jit(jax.vmap(step), donate_argnums=0)
        forward = jax.jit(jax.vmap(apply))
    fixed = jax.tree_util.tree_map(jnp.copy, state.variables)  # the train step donates `state`
    holder: dict[str, Any] = {}  # the state the timed call returns
    seconds = time_call(lambda: holder.setdefault("state", step_fn(state)))
    forward(fixed)
    return Contender(
        "jaxseq" if replicas == 1 and not vmap else f"jaxseq x{replicas}",
        step_fn,
        lambda: forward(fixed),
        holder["state"],
        seconds,
    )


def time_contenders(
    contenders: Sequence[Contender], *, rounds: int, budget: float, what: str = "train"
) -> dict[str, np.ndarray]:
    """Seconds per training step (``what="train"``) or forward pass (``"forward"``) of each
    contender, by :func:`jaxseq.bench.timing.time_interleaved` (3 warm-up calls each, at
    least 5 rounds, then until ``rounds`` or ``budget`` seconds). Each training step carries
    its contender's state from call to call, starting from ``init_state``."""
    states = {c.name: c.init_state for c in contenders}

    def call(c: Contender):
        if what == "forward":
            return c.forward

        def step():
            states[c.name] = c.train_step(states[c.name])
            return states[c.name]

        return step

    return time_interleaved(
        {c.name: call(c) for c in contenders},
        rounds=rounds,
        budget=budget,
        warmup=3,
        min_rounds=5,
    )


def _summary(seconds: np.ndarray, batch: int, replicas: int = 1) -> dict:
    ms = seconds * 1e3 / replicas
    return {
        "median_ms": float(np.median(ms)),
        "p10_ms": float(np.percentile(ms, 10)),
        "p90_ms": float(np.percentile(ms, 90)),
        "steps": int(len(ms)),
        "steps_per_second": float(1e3 / np.median(ms)),
        "sequences_per_second": float(batch * 1e3 / np.median(ms)),
    }


def run_workload(
    spec: WorkloadSpec, *, peers: Sequence[str], rounds: int, budget: float, dtype=jnp.float32
) -> dict:
    """Time jaxseq and the peers on one workload; ratios are peer / jaxseq (above 1: jaxseq faster)."""
    contenders = [jaxseq_contender(spec, dtype=dtype)]
    errors = {}
    for peer in peers:
        try:
            contenders.append(PEERS[peer](spec, jnp.dtype(dtype).name))
        except Exception as error:  # a peer that cannot build this workload is reported, not fatal
            errors[peer] = f"{type(error).__name__}: {error}"
    out: dict[str, Any] = {
        "workload": spec.name,
        "description": spec.description,
        "contenders": {},
        "peer_errors": errors,
    }
    for what in ("train", "forward"):
        times = time_contenders(contenders, rounds=rounds, budget=budget, what=what)
        for c in contenders:
            entry = out["contenders"].setdefault(c.name, {"compile_seconds": c.compile_seconds})
            entry[what] = _summary(times[c.name], spec.batch)
            if c is not contenders[0]:
                entry[what]["ratio_to_jaxseq"] = median_ratio(times, c.name, contenders[0].name)
    return out


def bf16_error(spec: WorkloadSpec) -> dict:
    """Forward-pass error of bf16 compute (float32 parameters) against float32."""
    model = jaxseq_model(spec)
    X, _ = random_data(spec)
    variables = model.init(jax.random.PRNGKey(0))
    f32 = np.asarray(model.apply(variables, jnp.asarray(X)), np.float64)
    bf16 = np.asarray(
        model.apply(cast_floating(variables, jnp.bfloat16), jnp.asarray(X, jnp.bfloat16)).astype(
            jnp.float32
        ),
        np.float64,
    )
    rel = np.sqrt(np.mean((bf16 - f32) ** 2) / np.mean(f32**2))
    return {"relative_rms_error": float(rel), "max_abs_error": float(np.max(np.abs(bf16 - f32)))}


def default_peers() -> list[str]:
    """The peers installed here: Flax always, Keras 3 and PyTorch when importable."""
    return (
        ["flax"]
        + (["keras"] if keras_available() else [])
        + (["torch"] if torch_available() else [])
    )


def run_bench(
    names: Sequence[str] = DEFAULT_WORKLOADS,
    *,
    peers: Sequence[str] | None = None,
    rounds: int = 60,
    budget: float = 20.0,
    dtype: str = "float32",
    out: Path | None = Path("experiments/results"),
    devices: bool = False,
    update: bool = False,
    log=print,
    sizes: dict | None = None,
) -> dict:
    """Run the suite; write ``bench.json``, ``bench.md`` and ``bench.png`` under ``out``.

    ``names``: workloads among ``W1``..``W6``, ``S8``, ``E1``, ``B1``, ``P1``; ``peers``: among
    ``flax``, ``keras`` and ``torch`` (``["none"]`` or empty: jaxseq alone; ``None``: those
    installed). ``sizes`` shrinks the workloads (tests): ``{"spec": {field: value}}`` replaces
    fields of every W spec, ``{"E1": {...}}``, ``{"B1": {...}}``, ``{"S8": {...}}``, ``{"P1": {...}}`` are keyword
    arguments of :mod:`jaxseq.bench.workloads`' runners.
    """
    known = list(DEFAULT_WORKLOADS)
    for name in names:
        if name not in known:
            raise InputError(f"unknown workload {name!r}; known: {', '.join(known)}")
    if peers is None:
        peers = default_peers()
    peers = [p for p in peers if p != "none"]
    for peer in peers:
        if peer not in PEERS:
            raise InputError(f"unknown peer {peer!r}; known: {', '.join(PEERS)}, none")
    if dtype not in ("float32", "bfloat16"):
        raise InputError(f"dtype must be 'float32' or 'bfloat16', got {dtype!r}")
    sizes = sizes or {}
    compute = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}[dtype]
    report = bench_workloads.device_report()
    log(bench_workloads.format_device(report))
    result: dict[str, Any] = {
        "machine": machine(),
        "device_report": report,
        "dtype": dtype,
        "peers": list(peers),
        "workloads": [],
    }
    spec_of = lambda name: WORKLOADS[name]._replace(**sizes.get("spec", {}))
    for name in names:
        if name == "S8":
            log("S8: W1 trained with K seeds at once by vmap, K = 1, 2, 4, 8")
            entry = bench_workloads.run_seeds_throughput(
                spec_of("W1"),
                jaxseq_contender,
                rounds=rounds,
                budget=budget,
                **sizes.get("S8", {}),
            )
        elif name == "E1":
            log("E1: the vmap'd evaluator against Keras 3 evaluate and one seed at a time")
            entry = bench_workloads.run_evaluator(
                with_keras="keras" in peers, log=log, **sizes.get("E1", {})
            )
        elif name == "B1":
            log("B1: a rolling-origin backtest, batched against a Python loop")
            entry = bench_workloads.run_backtest(**sizes.get("B1", {}))
        elif name == "P1":
            log("P1: one global model on the chapter's 10,000 series, 1 and 8 seeds at once")
            entry = bench_workloads.run_panel_throughput(
                rounds=max(3, rounds // 12), budget=budget * 3, **sizes.get("P1", {})
            )
        else:
            spec = spec_of(name)
            log(f"{name}: {spec.description}")
            heavy = spec.batch * spec.time * spec.units > 1_000_000
            entry = run_workload(
                spec,
                peers=peers,
                rounds=max(8, rounds // 4) if heavy else rounds,
                budget=budget,
                dtype=compute,
            )
            if dtype != "float32":
                entry["bf16_error"] = bf16_error(spec)
        result["workloads"].append(entry)
        log("  " + format_line(entry))
    if devices:
        from jaxseq.bench.scaling import throughput_by_devices

        log("throughput against the number of devices")
        result["devices"] = throughput_by_devices()
    if out is not None and update:
        result = merged(Path(out) / "bench.json", result)
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "bench.json").write_text(json.dumps(result, indent=1))
        (out / "bench.md").write_text(markdown(result))
        plot(result, out / "bench.png")
    return result


def merged(path: Path, result: dict) -> dict:
    """``result`` with the workloads of an earlier ``bench.json`` at ``path`` that it did not
    re-measure (``--update``), in :data:`DEFAULT_WORKLOADS` order. The earlier run must have
    used the same peers and dtype; each kept entry is marked ``"from_earlier_run": true``."""
    if not path.exists():
        return result
    earlier = json.loads(path.read_text())
    for key in ("dtype", "peers"):
        if earlier.get(key) != result[key]:
            raise InputError(
                f"--update: {path} was measured with {key} {earlier.get(key)!r}, this run with "
                f"{result[key]!r}; use the same --{key} or drop --update"
            )
    fresh = {w["workload"] for w in result["workloads"]}
    kept = [
        {**w, "from_earlier_run": True} for w in earlier["workloads"] if w["workload"] not in fresh
    ]
    order = {name: i for i, name in enumerate(DEFAULT_WORKLOADS)}
    workloads = sorted(kept + result["workloads"], key=lambda w: order.get(w["workload"], 99))
    return {**result, "workloads": workloads}


def format_line(entry: dict) -> str:
    """One progress line per workload."""
    if entry["workload"] == "E1":
        return ", ".join(f"{k} {v:.3f} s" for k, v in entry["seconds"].items())
    if entry["workload"] == "B1":
        return f"batched {entry['batched_ms']:.1f} ms, loop {entry['loop_ms']:.1f} ms"
    if entry["workload"] == "P1":
        return ", ".join(
            f"K={r['replicas']} {r['windows_per_second']:.0f} windows/s" for r in entry["panel"]
        )
    if "throughput" in entry:
        return ", ".join(f"K={r['replicas']} {r['speedup']:.2f}x" for r in entry["throughput"])
    parts = []
    for what in ("train", "forward"):
        cells = []
        for name, c in entry["contenders"].items():
            ratio = c[what].get("ratio_to_jaxseq")
            tail = f" ({ratio:.2f}x)" if ratio else ""
            cells.append(f"{name} {c[what]['median_ms']:.2f} ms{tail}")
        parts.append(f"{what}: " + ", ".join(cells))
    return "; ".join(parts)


def ratio_table(result: dict) -> list[str]:
    """Peer time / jaxseq time per workload and peer, training and forward."""
    rows = [w for w in result["workloads"] if "contenders" in w]
    peers = [p for p in result["peers"] if any(p in w["contenders"] for w in rows)]
    if not rows or not peers:
        return []
    head = (
        " | ".join(f"train {p}" for p in peers) + " | " + " | ".join(f"forward {p}" for p in peers)
    )
    lines = [
        "",
        "Ratios, peer time / jaxseq time (above 1: jaxseq faster):",
        "",
        f"| workload | jaxseq train ms | jaxseq forward ms | {head} |",
        "|---|---|---|" + "---|" * (2 * len(peers)),
    ]
    for w in rows:
        j = w["contenders"]["jaxseq"]
        cells = []
        for what in ("train", "forward"):
            for p in peers:
                c = w["contenders"].get(p)
                cells.append(f"{c[what]['ratio_to_jaxseq']:.2f}" if c else "-")
        lines.append(
            f"| {w['workload']} | {j['train']['median_ms']:.2f} | {j['forward']['median_ms']:.2f} | "
            + " | ".join(cells)
            + " |"
        )
    return lines


def markdown(result: dict) -> str:
    m = result["machine"]
    report = result.get("device_report")
    device = f"\n\nDevice: {bench_workloads.format_device(report)}." if report else ""
    lines = [
        "# jaxseq bench",
        "",
        f"`{m['backend']}` ({m['device']}, {m['device_count']} device(s), {m['cpu_count']} cores), "
        f"jax {m['jax']}, compute dtype {result['dtype']}. Median ms per step after compilation "
        "(10th-90th percentile); contenders interleaved in one process; ratio = median over rounds "
        "of peer time / jaxseq time (above 1: jaxseq is faster)." + device,
        *ratio_table(result),
        "",
        "| workload | contender | train step ms | ratio | forward ms | ratio | sequences/s (train) | compile s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for w in result["workloads"]:
        if "contenders" not in w:
            continue
        for name, c in w["contenders"].items():
            tr, fw = c["train"], c["forward"]
            r1 = f"{tr['ratio_to_jaxseq']:.2f}" if "ratio_to_jaxseq" in tr else "1"
            r2 = f"{fw['ratio_to_jaxseq']:.2f}" if "ratio_to_jaxseq" in fw else "1"
            lines.append(
                f"| {w['workload']} | {name} | {tr['median_ms']:.2f} ({tr['p10_ms']:.2f}-{tr['p90_ms']:.2f}) | {r1} | "
                f"{fw['median_ms']:.2f} | {r2} | {tr['sequences_per_second']:.0f} | {c['compile_seconds']:.1f} |"
            )
    lines += bench_workloads.markdown_sections(result)
    earlier = [w["workload"] for w in result["workloads"] if w.get("from_earlier_run")]
    if earlier:
        lines.append(
            f"\n{', '.join(earlier)}: from the earlier run this file held (`jaxseq bench "
            "--update` re-measured the others)."
        )
    for w in result["workloads"]:
        if "bf16_error" in w:
            e = w["bf16_error"]
            lines.append(
                f"\n{w['workload']} bf16 forward error vs float32: relative RMS "
                f"{e['relative_rms_error']:.2e}, max abs {e['max_abs_error']:.2e}."
            )
    if result.get("devices"):
        lines += [
            "",
            "Training throughput against the number of devices (lstm_seq2seq, replicas split over "
            "devices; on a CPU the devices are forced host devices sharing its cores):",
            "",
            "| devices | sequences/s |",
            "|---|---|",
            *(f"| {n} | {v:.0f} |" for n, v in result["devices"].items()),
        ]
    for w in result["workloads"]:
        for peer, err in w.get("peer_errors", {}).items():
            lines.append(f"\n{w['workload']}: {peer} not run ({err}).")
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [w for w in result["workloads"] if "contenders" in w]
    if not rows:
        return
    names = sorted({n for w in rows for n in w["contenders"]}, key=lambda n: (n != "jaxseq", n))
    fig, ax = plt.subplots(figsize=(8, 3.5))
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        xs = [i + k * width for i, w in enumerate(rows) if name in w["contenders"]]
        ys = [w["contenders"][name]["train"]["median_ms"] for w in rows if name in w["contenders"]]
        lo = [
            w["contenders"][name]["train"]["median_ms"] - w["contenders"][name]["train"]["p10_ms"]
            for w in rows
            if name in w["contenders"]
        ]
        hi = [
            w["contenders"][name]["train"]["p90_ms"] - w["contenders"][name]["train"]["median_ms"]
            for w in rows
            if name in w["contenders"]
        ]
        ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=name)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(rows))], [w["workload"] for w in rows])
    ax.set_yscale("log")
    ax.set_ylabel("ms per training step (median, p10-p90)")
    ax.set_title(
        f"training step time, {result['machine']['backend']} ({result['machine']['device']})"
    )
    ax.legend()
    ax.grid(True, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
