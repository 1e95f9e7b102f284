"""The workloads of ``jaxseq bench`` that a user recognises, beside the layer stacks W1-W6.

- **E1**, the evaluator: every chapter model of ``make experiments``, 5 seeds each, scored on the
  chapter's 2,000 validation windows by jaxseq's ``vmap``'d evaluator
  (:func:`jaxseq.evaluate.evaluate_replicas`, all seeds in one compiled call), by jaxseq one
  seed at a time (one compiled program, called per seed) and by Keras 3 ``model.evaluate`` seed
  by seed with its defaults (batch 32). The models are the same: each seed is built in Keras
  (its own initialisers) and converted with :func:`jaxseq.interop.from_keras_sequential`, so
  the two report the same losses (checked). Timing does not depend on the weights' values, so
  the models are not trained first. Without Keras, jaxseq's own initialisations are scored.
- **B1**, a rolling-origin backtest: one model (``lstm_seq2seq``) forecasts 10 steps from each
  of 1,000 origins of one long series, as one batched forward pass (the windows are cut inside
  the compiled function) against a Python loop of single-window forecasts (one compiled
  program, called per origin, each forecast brought back to NumPy as a loop would).
- **P1**, a panel: one global model trained on the chapter's 10,000 series as a panel
  (:mod:`jaxseq.app.panel.training`), one seed and 8 seeds at once; training windows per second.
- **S8**, seeds at once: K replicas trained by ``vmap`` in one step against K single-replica
  steps run one after the other, K = 1, 2, 4, 8; throughput in sequences per second both ways.

Every workload is timed interleaved in one process by
:func:`jaxseq.bench.timing.time_interleaved` (every contender once per round, in a fresh
seeded order); each figure is a median over rounds, each ratio the median of per-round ratios.
``device_report`` describes the accelerator (or CPU) the numbers come from. Nothing here
assumes a CPU.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np

from jaxseq.app.experiments import CHAPTER_MODELS
from jaxseq.bench.peers import Contender, WorkloadSpec
from jaxseq.bench.timing import median_ratio, time_interleaved

#: The chapter's trained models with a Keras counterpart: ``make experiments``' models up to
#: the WaveNet (the gated WaveNet and the encoder-decoder are jaxseq's own additions).
E1_MODELS = CHAPTER_MODELS[: CHAPTER_MODELS.index("gated_wavenet")]
S8_REPLICAS = (1, 2, 4, 8)


# --------------------------------------------------------------------------- the device


def device_report() -> dict:
    """Backend, device kind, count and memory of the device JAX computes on.

    ``memory`` holds what ``Device.memory_stats()`` reports (GPUs and TPUs: bytes in use, the
    limit, the peak), ``None`` where the backend reports nothing (CPU).
    """
    device = jax.devices()[0]
    try:
        stats = device.memory_stats()
    except Exception:  # some backends raise instead of returning None
        stats = None
    keys = ("bytes_limit", "bytes_in_use", "peak_bytes_in_use", "bytes_reservable_limit")
    memory = {k: int(stats[k]) for k in keys if stats and k in stats} or None
    try:
        host_memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        host_memory = None
    cores: int | None
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    import jaxlib

    return {
        "backend": jax.default_backend(),
        "platform": device.platform,
        "device_kind": device.device_kind,
        "device_count": jax.device_count(),
        "memory": memory,
        "host_memory_bytes": host_memory,
        "host_cores": cores,
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
    }


def format_device(report: dict) -> str:
    """One line: ``backend gpu: 1 x NVIDIA H100 80GB HBM3, memory 79.2 GiB (0.0 GiB in use)``."""
    gib = lambda n: f"{n / 2**30:.1f} GiB"
    memory = report.get("memory")
    if memory and "bytes_limit" in memory:
        mem = f"memory {gib(memory['bytes_limit'])} ({gib(memory.get('bytes_in_use', 0))} in use)"
    else:
        host = report.get("host_memory_bytes")
        mem = "device memory not reported" + (f"; host memory {gib(host)}" if host else "")
    return (
        f"backend {report['backend']}: {report['device_count']} x {report['device_kind']}, "
        f"{mem}; {report['host_cores']} host cores; jax {report['jax']}"
    )


# --------------------------------------------------------------------------- S8


def run_seeds_throughput(
    spec: WorkloadSpec,
    contender: Callable[..., Contender],
    *,
    replicas: Sequence[int] = S8_REPLICAS,
    rounds: int = 30,
    budget: float = 20.0,
) -> dict:
    """S8: for each K, one ``vmap``'d step of K replicas against K single-replica steps.

    ``contender(spec, replicas=K, vmap=True)`` builds jaxseq's step (:func:`jaxseq.bench.harness.
    jaxseq_contender`). Sequences per second count every replica's minibatch.
    """
    single = contender(spec)
    state = {"one": single.init_state}  # the steps donate their state: carried from call to call
    rows = []
    for k in replicas:
        many = contender(spec, replicas=k, vmap=True)
        state["many"] = many.init_state

        def one_after_another(k=k, state=state):
            for _ in range(k):
                state["one"] = single.train_step(state["one"])
            return state["one"]

        def at_once(many=many, state=state):
            state["many"] = many.train_step(state["many"])
            return state["many"]

        times = time_interleaved(
            {"vmap": at_once, "sequential": one_after_another}, rounds=rounds, budget=budget
        )
        sequences = k * spec.batch
        rows.append(
            {
                "replicas": k,
                "vmap_ms": float(np.median(times["vmap"]) * 1e3),
                "sequential_ms": float(np.median(times["sequential"]) * 1e3),
                "vmap_sequences_per_second": float(sequences / np.median(times["vmap"])),
                "sequential_sequences_per_second": float(
                    sequences / np.median(times["sequential"])
                ),
                "speedup": median_ratio(times, "sequential", "vmap"),
                "rounds": int(len(times["vmap"])),
                "compile_seconds": many.compile_seconds,
            }
        )
    return {
        "workload": "S8",
        "description": f"{spec.name}: K seeds trained at once by vmap against K sequential runs",
        "throughput": rows,
    }


# --------------------------------------------------------------------------- E1


def keras_chapter_model(keras, name: str, window: int = 50):
    """The notebook's Keras model ``name`` (its layers and Keras' own initialisers)."""
    from jaxseq import interop

    L = keras.layers
    seq = dict(return_sequences=True)
    rnn2 = lambda layer: [layer(20, **seq), layer(20, **seq), L.TimeDistributed(L.Dense(10))]
    stacks = {
        "linear": lambda: [L.Flatten(), L.Dense(1)],
        "simple_rnn": lambda: [L.SimpleRNN(1)],
        "deep_rnn": lambda: [L.SimpleRNN(20, **seq), L.SimpleRNN(20, **seq), L.SimpleRNN(1)],
        "deep_rnn_dense": lambda: [L.SimpleRNN(20, **seq), L.SimpleRNN(20), L.Dense(1)],
        "linear_multi": lambda: [L.Flatten(), L.Dense(10)],
        "rnn_multi": lambda: [L.SimpleRNN(20, **seq), L.SimpleRNN(20), L.Dense(10)],
        "rnn_seq2seq": lambda: rnn2(L.SimpleRNN),
        "rnn_bn_seq2seq": lambda: [
            L.SimpleRNN(20, **seq),
            L.BatchNormalization(),
            L.SimpleRNN(20, **seq),
            L.BatchNormalization(),
            L.TimeDistributed(L.Dense(10)),
        ],
        "ln_rnn_seq2seq": lambda: rnn2(
            lambda units, **kw: L.RNN(interop.keras_layer_norm_cell(keras)(units), **kw)
        ),
        "lstm_seq2seq": lambda: rnn2(L.LSTM),
        "gru_seq2seq": lambda: rnn2(L.GRU),
        "conv_gru_seq2seq": lambda: [L.Conv1D(20, 4, strides=2, padding="valid"), *rnn2(L.GRU)],
        "wavenet": lambda: [
            *[
                L.Conv1D(20, 2, padding="causal", activation="relu", dilation_rate=rate)
                for rate in (1, 2, 4, 8) * 2
            ],
            L.Conv1D(10, 1),
        ],
    }
    return keras.Sequential([keras.Input((window, 1)), *stacks[name]()])


def _e1_models(name: str, seeds: int, keras):
    """``(model, [variables per seed], [keras model per seed] or None)``."""
    from jaxseq import interop, models

    model: models.Model | None = None
    if keras is None:
        model = models.get(name)
        return model, [model.init(jax.random.PRNGKey(s)) for s in range(seeds)], None
    built, variables = [], []
    for seed in range(seeds):
        keras.utils.set_random_seed(seed)
        km = keras_chapter_model(keras, name)
        model, v = interop.from_keras_sequential(km, name)
        built.append(km)
        variables.append(v)
    return model, variables, built


def _e1_contenders(names, seeds: int, windows, with_keras: bool, chunk, log):
    """E1's contenders, each called once (tracing and compilation): ``(calls, splits,
    agreement, compile_seconds)``, ``calls[way][model]`` a function scoring every seed."""
    from jaxseq import data, evaluate, models
    from jaxseq.train import evaluate_loss

    keras = None
    if with_keras:
        from jaxseq.bench.peers import import_keras, keras_available

        keras = import_keras() if keras_available() else None
    calls: dict[str, dict[str, Callable]] = {"vmap": {}, "one_seed_at_a_time": {}}
    if chunk:
        calls["vmap_chunked"] = {}
    if keras is not None:
        calls["keras_evaluate"] = {}
    splits, agreement, compile_seconds = {}, {}, dict.fromkeys(calls, 0.0)
    for name in names:
        task = models.get(name).task
        if task not in splits:
            valid = data.chapter_data(task).valid
            n = len(valid.X) if windows is None else windows
            splits[task] = SimpleNamespace(X=valid.X[:n], Y=valid.Y[:n])
        split = splits[task]
        model, variables, built = _e1_models(name, seeds, keras)
        stacked = jax.tree_util.tree_map(lambda *a: jnp.stack(a), *variables)
        X, Y = jnp.asarray(split.X), jnp.asarray(split.Y)
        one = jax.jit(lambda v, X, Y, model=model: evaluate_loss(model, v, X, Y))
        calls["vmap"][name] = lambda m=model, v=stacked, sp=split: evaluate.evaluate_replicas(
            m, v, sp
        )
        calls["one_seed_at_a_time"][name] = lambda one=one, vs=variables, X=X, Y=Y: [
            {k: np.asarray(x) for k, x in one(v, X, Y).items()} for v in vs
        ]
        if chunk:
            chunked = jax.jit(
                jax.vmap(
                    lambda v, X, Y, m=model: evaluate_loss(m, v, X, Y, batch_size=chunk),
                    in_axes=(0, None, None),
                )
            )
            calls["vmap_chunked"][name] = lambda f=chunked, v=stacked, X=X, Y=Y: {
                k: np.asarray(x) for k, x in f(v, X, Y).items()
            }
        if built is not None:
            Yk = np.asarray(model.targets(Y))
            for km in built:
                km.compile(loss="mse")
            calls["keras_evaluate"][name] = lambda b=built, Xk=split.X, Yk=Yk: [
                km.evaluate(Xk, Yk, verbose=0) for km in b
            ]
        for way, per_model in calls.items():  # first calls: tracing and compilation
            t = time.perf_counter()
            out = per_model[name]()
            compile_seconds[way] += time.perf_counter() - t
            if way == "vmap":
                mse = np.asarray(out["mse"], np.float64)
            elif way == "keras_evaluate":
                keras_mse = np.asarray(out, np.float64).reshape(len(built), -1)[:, 0]
                agreement[name] = float(np.max(np.abs(keras_mse - mse) / np.abs(mse)))
        log(f"  E1 {name}: {seeds} seeds ready")
    return calls, splits, agreement, compile_seconds


def run_evaluator(
    names: Sequence[str] = E1_MODELS,
    *,
    seeds: int = 5,
    windows: int | None = None,
    with_keras: bool = True,
    rounds: int = 3,
    budget: float = 120.0,
    chunk: int | None = 2048,
    log=print,
) -> dict:
    """E1: score ``seeds`` replicas of every model on the validation windows, three ways (four
    with ``chunk``: the same ``vmap``'d evaluation with the windows cut in chunks of ``chunk``,
    ``evaluate_loss(batch_size=chunk)``, beside the library's default,
    :func:`jaxseq.train.default_chunk`)."""
    from jaxseq.train import default_chunk

    calls, splits, agreement, compile_seconds = _e1_contenders(
        names, seeds, windows, with_keras, chunk, log
    )
    flat = {
        f"{way}/{name}": call
        for way, per_model in calls.items()
        for name, call in per_model.items()
    }
    times = time_interleaved(flat, rounds=rounds, budget=budget, warmup=0)
    n_rounds = min(len(t) for t in times.values())
    totals = {
        way: np.sum([times[f"{way}/{name}"][:n_rounds] for name in names], axis=0) for way in calls
    }
    out = {
        "workload": "E1",
        "description": (
            f"{len(names)} chapter models x {seeds} seeds scored on "
            f"{len(next(iter(splits.values())).X)} validation windows"
        ),
        "models": list(names),
        "seeds": seeds,
        "chunk": chunk,
        "library_chunk": default_chunk(),
        "seconds": {way: float(np.median(t)) for way, t in totals.items()},
        "compile_seconds": compile_seconds,
        "per_model_ms": {
            name: {way: float(np.median(times[f"{way}/{name}"]) * 1e3) for way in calls}
            for name in names
        },
        "rounds": n_rounds,
        "speedup": {
            way: float(np.median(totals[way] / totals["vmap"])) for way in calls if way != "vmap"
        },
    }
    if "keras_evaluate" in totals:  # Keras' time over each way's: the figure E1 is judged by
        out["keras_over"] = {
            way: float(np.median(totals["keras_evaluate"] / totals[way])) for way in calls
        }
    if agreement:
        out["keras_loss_max_relative_difference"] = max(agreement.values())
    return out


# --------------------------------------------------------------------------- B1


def backtest_series(length: int, seed: int = 0) -> np.ndarray:
    """One long series in the chapter's style: two sines and noise, ``[length]`` float32."""
    from jaxseq import data

    return data.generate_time_series(1, length, seed=seed)[0, :, 0].astype(np.float32)


def run_backtest(
    name: str = "lstm_seq2seq",
    *,
    origins: int = 1000,
    rounds: int = 10,
    budget: float = 30.0,
) -> dict:
    """B1: forecasts from ``origins`` consecutive origins, batched against a Python loop."""
    from jaxseq import models
    from jaxseq.train import predict

    model = models.get(name)
    window, horizon = model.dims.window, model.dims.horizon
    series = backtest_series(window + origins + horizon)
    variables = model.init(jax.random.PRNGKey(0))
    starts = np.arange(origins)  # origin o = start + window: forecasts series[o : o + horizon]

    def forecast(v, x):
        out = predict(model, v, x)  # the library's inference pass, chunked as evaluation is
        return out[:, -1] if model.task == "seq2seq" else out

    @jax.jit
    def batched(v, s):
        index = jnp.asarray(starts)[:, None] + jnp.arange(window)[None, :]
        return forecast(v, s[index][..., None])

    single = jax.jit(forecast)
    s = jnp.asarray(series)

    def loop():
        return np.stack(
            [
                np.asarray(single(variables, series[o : o + window][None, :, None]))[0]
                for o in starts
            ]
        )

    times = time_interleaved(
        {"batched": lambda: np.asarray(batched(variables, s)), "loop": loop},
        rounds=rounds,
        budget=budget,
    )
    diff = float(np.max(np.abs(np.asarray(batched(variables, s)) - loop())))
    return {
        "workload": "B1",
        "description": (
            f"{name}: {origins} rolling origins, {horizon}-step forecasts from {window}-step windows"
        ),
        "batched_ms": float(np.median(times["batched"]) * 1e3),
        "loop_ms": float(np.median(times["loop"]) * 1e3),
        "speedup": median_ratio(times, "loop", "batched"),
        "forecasts_per_second": float(origins / np.median(times["batched"])),
        "max_abs_difference": diff,
        "rounds": int(len(times["batched"])),
    }


# --------------------------------------------------------------------------- P1


def run_panel_throughput(
    name: str = "lstm_seq2seq",
    *,
    n_series: int = 10_000,
    length: int = 80,
    window: int = 50,
    horizon: int = 10,
    replicas: Sequence[int] = (1, 8),
    rounds: int = 5,
    budget: float = 60.0,
) -> dict:
    """P1: one training epoch of a global model over every window of the chapter's series as a
    panel (:func:`jaxseq.app.panel.training.panel_data`: each series its own protocol and scaler,
    10 validation and 10 test steps), one seed and K seeds at once by ``vmap``, interleaved.

    ``length`` 80 leaves one training window per series (origin 50, as the chapter's split);
    windows per second count every replica's training windows (the epoch without its
    validation pass)."""
    from jaxseq import data
    from jaxseq.app import workflow
    from jaxseq.app.panel import table as panel_table
    from jaxseq.app.panel import training as panel_training
    from jaxseq.train import replica_keys

    arrays = data.generate_time_series(n_series, length, seed=42)
    config = panel_training.panel_config(
        panel_table.from_arrays(arrays),
        name,
        window=window,
        horizon=horizon,
        valid_size=horizon,
        test_size=horizon,
    )
    pdata = panel_training.panel_data(panel_table.from_arrays(arrays), config)
    train = jax.device_put(pdata.dataset.train)
    trainer = workflow.make_trainer(config, workflow.build_model(config), len(train))
    epoch = trainer.epoch_fn()
    windows = len(pdata.dataset.train)
    state, calls, compile_seconds = {}, {}, {}
    for k in replicas:
        keys = replica_keys(k)
        t = time.perf_counter()
        state[k] = trainer.init(keys)
        state[k] = jax.block_until_ready(epoch(state[k], keys, train, None))[0]
        compile_seconds[k] = time.perf_counter() - t

        def one_epoch(k=k, keys=keys):
            state[k] = epoch(state[k], keys, train, None)[0]
            return state[k]

        calls[f"K={k}"] = one_epoch
    times = time_interleaved(calls, rounds=rounds, budget=budget, warmup=0)
    rows = [
        {
            "replicas": k,
            "epoch_seconds": float(np.median(times[f"K={k}"])),
            "windows_per_second": float(k * windows / np.median(times[f"K={k}"])),
            "rounds": int(len(times[f"K={k}"])),
            "compile_seconds": compile_seconds[k],
        }
        for k in replicas
    ]
    return {
        "workload": "P1",
        "description": (
            f"{name}, one global model on the chapter's {n_series:,} series as a panel "
            f"({windows:,} training windows of {window} steps, horizon {horizon}, batch "
            f"{config.batch_size})"
        ),
        "panel": rows,
    }


# --------------------------------------------------------------------------- report


def markdown_sections(result: dict) -> list[str]:
    """The E1, B1, P1 and S8 parts of ``bench.md``."""
    lines: list[str] = []
    for w in result["workloads"]:
        if w["workload"] == "E1":
            s, keras_over = w["seconds"], w.get("keras_over", {})
            labels = {
                "vmap": "jaxseq, vmap over seeds (`evaluate_replicas`)",
                "vmap_chunked": "jaxseq, vmap over seeds, windows in chunks of "
                f"{w.get('chunk')} (the accelerator default)",
                "one_seed_at_a_time": "jaxseq, one seed at a time",
                "keras_evaluate": "Keras 3 `model.evaluate`, seed by seed (batch 32)",
            }
            lines += [
                "",
                f"**E1** ({w['description']}), seconds for all of them, median of {w['rounds']} "
                "rounds (compilation apart); ratios are medians of per-round ratios:",
                "",
                "| way | seconds | this / vmap'd evaluator | Keras evaluate / this | first call s |",
                "|---|---|---|---|---|",
            ]
            for way, label in labels.items():
                if way not in s:
                    continue
                rel = "1" if way == "vmap" else f"{w['speedup'][way]:.2f}"
                k = f"{keras_over[way]:.2f}x" if way in keras_over else "-"
                lines.append(
                    f"| {label} | {s[way]:.3f} | {rel} | {k} | {w['compile_seconds'][way]:.1f} |"
                )
            if "keras_loss_max_relative_difference" in w:
                lines.append(
                    "\nSame models both sides (Keras-initialised, converted): largest relative "
                    f"difference of the losses {w['keras_loss_max_relative_difference']:.1e}."
                )
        elif w["workload"] == "B1":
            lines += [
                "",
                f"**B1** ({w['description']}): one batched forward pass {w['batched_ms']:.1f} ms "
                f"({w['forecasts_per_second']:.0f} forecasts/s), a Python loop of single "
                f"forecasts {w['loop_ms']:.1f} ms: batched is **{w['speedup']:.1f}x** faster "
                f"(median of {w['rounds']} rounds; largest difference {w['max_abs_difference']:.1e}).",
            ]
        elif w["workload"] == "P1":
            lines += [
                "",
                f"**P1** ({w['description']}): training windows per second, one epoch, median "
                "of interleaved rounds.",
                "",
                "| seeds at once | epoch s | windows/s (all seeds) | rounds | first epoch s |",
                "|---|---|---|---|---|",
            ]
            for r in w["panel"]:
                lines.append(
                    f"| {r['replicas']} | {r['epoch_seconds']:.2f} | "
                    f"{r['windows_per_second']:.0f} | {r['rounds']} | {r['compile_seconds']:.1f} |"
                )
        elif "throughput" in w:
            lines += [
                "",
                f"**S8** ({w['description']}): sequences per second, both ways.",
                "",
                "| K | vmap step ms | K sequential steps ms | vmap seq/s | sequential seq/s | "
                "vmap speedup |",
                "|---|---|---|---|---|---|",
            ]
            for r in w["throughput"]:
                lines.append(
                    f"| {r['replicas']} | {r['vmap_ms']:.2f} | {r['sequential_ms']:.2f} | "
                    f"{r['vmap_sequences_per_second']:.0f} | "
                    f"{r['sequential_sequences_per_second']:.0f} | {r['speedup']:.2f}x |"
                )
    return lines
