"""The chapter's experiments: every model of its table trained over several seeds at once.

``run_experiments`` trains each model's replicas in one compiled program per epoch
(:class:`jaxseq.train.Trainer`), evaluates every replica on the validation and test splits
(:func:`jaxseq.evaluate.evaluate_replicas`), adds the baselines and the iterative forecast, and
writes ``results.json``, ``results.md`` and the figures. Models can run in several worker
processes (``jobs``): on a CPU the per-step work of these small models is latency-bound, so two
processes on two cores finish sooner than one; on an accelerator use one.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: Models of ``make experiments``, in the chapter's order: the table's #2-#17, the gated
#: WaveNet and the encoder-decoder. (#1, #6 and #7 are derived rows.)
CHAPTER_MODELS = (
    "linear",
    "simple_rnn",
    "deep_rnn",
    "deep_rnn_dense",
    "linear_multi",
    "rnn_multi",
    "rnn_seq2seq",
    "rnn_bn_seq2seq",
    "ln_rnn_seq2seq",
    "lstm_seq2seq",
    "gru_seq2seq",
    "conv_gru_seq2seq",
    "wavenet",
    "gated_wavenet",
    "encoder_decoder",
)
QUICK_MODELS = ("linear", "deep_rnn_dense", "lstm_seq2seq", "wavenet")

#: Relative cost of one epoch (measured here), used to start the longest runs first.
COST = {
    "lstm_seq2seq": 10,
    "gru_seq2seq": 9,
    "gated_wavenet": 9,
    "encoder_decoder": 7,
    "ln_rnn_seq2seq": 6,
    "conv_gru_seq2seq": 5,
    "wavenet": 5,
    "rnn_bn_seq2seq": 4,
    "rnn_seq2seq": 4,
    "rnn_multi": 3,
    "deep_rnn_dense": 3,
    "deep_rnn": 3,
}

#: The notebook's recorded figures of the derived rows.
NAIVE = {"reference": 1, "notebook": 0.0202, "spread": ("0.0202", "0.0202")}
ITERATIVE = {"reference": 6, "notebook": 0.0275, "spread": ("0.0273", "0.0285")}
NAIVE_MULTI = {"reference": 7, "notebook": 0.2570, "spread": ("0.2570", "0.2570")}


@dataclasses.dataclass
class Settings:
    """What to run. ``seeds`` replicas per model, ``epochs`` each, minibatches of ``batch_size``."""

    models: Sequence[str] = CHAPTER_MODELS
    seeds: int = 5
    epochs: int = 20
    batch_size: int = 32
    jobs: int = 1
    out: Path = Path("experiments/results")
    quick: bool = False

    def __post_init__(self):
        from jaxseq import models

        for name in self.models:  # refused here, before any worker starts
            models.check_name(name)


# --------------------------------------------------------------------------- one model


def train_model(name: str, seeds: int, epochs: int, batch_size: int, progress=None) -> dict:
    """Train ``seeds`` replicas of one zoo model on the chapter's data and evaluate them.

    Runs in the calling process (or a worker). ``progress(name, epoch, metrics)`` is called
    after every epoch, each metric averaged over the replicas. Returns plain data: metrics per replica, learning curves, timings and
    the predictions the figures need.
    """
    import jax

    from jaxseq import data, evaluate, models
    from jaxseq.app import workflow
    from jaxseq.train import Trainer

    model = models.get(name)
    dataset = data.chapter_data(model.task)
    trainer = Trainer(model, batch_size=batch_size)
    start = time.perf_counter()
    callback = workflow.epoch_callback(progress, name)
    result = trainer.fit(dataset, seeds=seeds, epochs=epochs, callback=callback)
    variables = result.state.variables
    jax.block_until_ready(variables)
    train_seconds = time.perf_counter() - start
    valid = evaluate.evaluate_replicas(model, variables, dataset.valid)
    test = evaluate.evaluate_replicas(model, variables, dataset.test)
    record: dict[str, Any] = {
        "model": name,
        "valid": {k: v.tolist() for k, v in valid.items()},
        "test": {k: v.tolist() for k, v in test.items()},
        "history": result.history.to_json(),
        "train_seconds": train_seconds,
        "compile_seconds": result.history.compile_seconds,
        "params": model.count_params(jax.tree_util.tree_map(lambda v: v[0], variables)),
        "figures": _figure_data(model, variables, dataset),
    }
    if name == "deep_rnn_dense":  # the chapter's #6: this model applied ten times
        multi = data.chapter_data("multi_step")
        forecasts = evaluate.forecast_iterative_replicas(model, variables, multi.valid.X, 10)
        test_forecasts = evaluate.forecast_iterative_replicas(model, variables, multi.test.X, 10)
        record["iterative"] = {
            "valid": [evaluate.mse_float64(f, multi.valid.Y) for f in forecasts],
            "test": [evaluate.mse_float64(f, multi.test.Y) for f in test_forecasts],
        }
        new = _new_series()
        record["figures"]["forecast_43"] = evaluate.forecast_iterative_replicas(
            model, variables, new[:, :50], 10
        )[0, 0].tolist()
    return record


def _new_series() -> np.ndarray:
    """The notebook's single seed-43 series for the ten-step forecast figure: ``[1, 60, 1]``."""
    from jaxseq import data

    return data.generate_time_series(1, 60, seed=43)


def _figure_data(model, variables, dataset) -> dict:
    """Replica 0's predictions for the figures (a few validation series, the seed-43 series)."""
    import jax

    from jaxseq import evaluate

    first = jax.tree_util.tree_map(lambda v: v[:1], variables)
    out = {"valid_pred": evaluate.predict_replicas(model, first, dataset.valid.X[:3])[0].tolist()}
    if model.task != "one_step":
        pred = evaluate.predict_replicas(model, first, _new_series()[:, :50])[0, 0]
        out["forecast_43"] = (pred[-1] if model.task == "seq2seq" else pred).tolist()
    return out


# --------------------------------------------------------------------------- running many


def _train_job(name: str, seeds: int, epochs: int, batch_size: int, progress) -> dict:
    return train_model(name, seeds, epochs, batch_size, progress)


def run_models(settings: Settings, on_progress: Callable, on_done: Callable) -> dict[str, dict]:
    """Train every model of ``settings``, in-process (``jobs == 1``) or in worker processes.

    ``on_progress(model, epoch, mean_metrics)`` after each epoch; ``on_done(model, record)``
    when a model finishes. Returns ``{model: record}``.
    """
    from jaxseq.parallel import run_jobs

    names = sorted(settings.models, key=lambda n: -COST.get(n, 1))
    kw = {"seeds": settings.seeds, "epochs": settings.epochs, "batch_size": settings.batch_size}
    jobs = [(name, {"name": name, **kw}) for name in names]
    return run_jobs(
        _train_job, jobs, workers=settings.jobs, on_progress=on_progress, on_done=on_done
    )


# --------------------------------------------------------------------------- results


def machine() -> dict:
    """Backend, device and host facts recorded beside every result."""
    import jax

    device = jax.devices()[0]
    return {
        "backend": jax.default_backend(),
        "device": getattr(device, "device_kind", str(device)),
        "device_count": jax.device_count(),
        "jax": jax.__version__,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def build_results(records: dict[str, dict], settings: Settings, host: dict) -> list[dict]:
    """One record per row of the table, in the chapter's order, with the fields of results.json."""
    from jaxseq import data, evaluate

    rows: list[dict] = []

    def row(name, reference, metric, values, **fields):
        rows.append(_row(settings, host, name, reference, metric, values, **fields))

    one = data.chapter_data("one_step")
    multi = data.chapter_data("multi_step")
    naive = evaluate.mse_float64(evaluate.naive_forecast(one.valid.X, 1), one.valid.Y)
    naive_test = evaluate.mse_float64(evaluate.naive_forecast(one.test.X, 1), one.test.Y)
    row(
        "naive",
        1,
        "mse",
        [naive],
        notebook=NAIVE["notebook"],
        spread=NAIVE["spread"],
        seeds=0,
        train_seconds=0.0,
        test=[naive_test],
    )
    lstsq = evaluate.linear_least_squares(one.train)
    row(
        "linear_least_squares",
        None,
        "mse",
        [evaluate.mse_float64(lstsq(one.valid.X), one.valid.Y)],
        notebook=None,
        spread=None,
        seeds=0,
        train_seconds=0.0,
        test=[evaluate.mse_float64(lstsq(one.test.X), one.test.Y)],
    )
    _model_rows(records, settings, row)
    naive10 = evaluate.mse_float64(evaluate.naive_forecast(multi.valid.X, 10), multi.valid.Y)
    row(
        "naive_multi",
        NAIVE_MULTI["reference"],
        "mse",
        [naive10],
        notebook=NAIVE_MULTI["notebook"],
        spread=NAIVE_MULTI["spread"],
        seeds=0,
        train_seconds=0.0,
        test=[evaluate.mse_float64(evaluate.naive_forecast(multi.test.X, 10), multi.test.Y)],
    )
    rows.sort(key=lambda r: (r["reference"] is None, r["reference"] or 99, r["model"]))
    return rows


def _model_rows(records: dict[str, dict], settings: Settings, row: Callable) -> None:
    """The trained models' rows (``row(name, reference, metric, values, **fields)`` each), and
    deep_rnn_dense's iterative ten-step row beside it."""
    from jaxseq import models

    for name in settings.models:
        if name not in records:
            continue
        rec = records[name]
        model = models.get(name)
        metric = model.metric
        extra = {"compile_seconds": rec["compile_seconds"], "params": rec["params"]}
        if metric == "last_step_mse":
            extra["all_steps_mse"] = float(np.mean(rec["valid"]["mse"]))
        row(
            name,
            model.reference,
            metric,
            rec["valid"][metric],
            notebook=model.notebook,
            spread=model.notebook_spread,
            seeds=settings.seeds,
            train_seconds=rec["train_seconds"],
            test=rec["test"][metric],
            extra=extra,
        )
        if name == "deep_rnn_dense" and "iterative" in rec:
            row(
                "deep_rnn_dense_iterative",
                ITERATIVE["reference"],
                "mse",
                rec["iterative"]["valid"],
                notebook=ITERATIVE["notebook"],
                spread=ITERATIVE["spread"],
                seeds=settings.seeds,
                train_seconds=0.0,
                test=rec["iterative"]["test"],
                extra={"note": "deep_rnn_dense applied 10 times, each prediction appended"},
            )


def _row(
    settings: Settings,
    host: dict,
    name: str,
    reference,
    metric: str,
    values,
    *,
    notebook,
    spread,
    seeds: int,
    train_seconds: float,
    test=None,
    extra: dict | None = None,
) -> dict:
    """One row of results.json: the seeds' ``values`` summarised beside the notebook's."""
    from jaxseq import evaluate

    stats = evaluate.summarize(values)
    rec = {
        "model": name,
        "reference": reference,
        "metric": metric,
        **stats,
        "seeds": seeds,
        "epochs": settings.epochs if seeds else 0,
        "notebook": notebook,
        "notebook_spread": list(spread) if spread else None,
        "train_seconds": train_seconds,
        "backend": host["backend"],
        "device": host["device"],
        "values": [float(v) for v in np.atleast_1d(values)],
    }
    if test is not None:
        rec["test_mean"] = float(np.mean(test))
    rec.update(extra or {})
    return rec


def verdict(rec: dict) -> str:
    """How jaxseq's mean compares with the notebook: within its spread, better, or worse."""
    spread = rec.get("notebook_spread")
    if rec.get("notebook") is None or not spread:
        return "-"
    # The notebook's figures are rounded: anything that rounds into the spread is within it.
    low, high = float(spread[0]) - _half_unit(spread[0]), float(spread[1]) + _half_unit(spread[1])
    if rec["mean"] < low:
        return "better"
    if rec["mean"] <= high:
        return "within"
    return "worse"


def _half_unit(recorded: str) -> float:
    """Half a unit in the last decimal place of a figure as it was recorded (``"0.0086"`` ->
    0.00005, ``"0.010"`` -> 0.0005): the text, because a float forgets trailing zeros."""
    if not isinstance(recorded, str):
        raise TypeError(f"a recorded figure must be its text (e.g. '0.010'), got {recorded!r}")
    decimals = len(recorded.split(".")[1]) if "." in recorded else 0
    return 0.5 * 10.0**-decimals


def markdown_table(rows: list[dict], host: dict, settings: Settings, wall_seconds: float) -> str:
    lines = [
        "# jaxseq: chapter 15 results",
        "",
        f"Validation MSE, mean ± std over {settings.seeds} seeds, {settings.epochs} epochs, "
        f"batch {settings.batch_size}; `{host['backend']}` ({host['device']}, {host['cpu_count']} cores), "
        f"jax {host['jax']}. Whole run: {wall_seconds / 60:.1f} min with {settings.jobs} worker(s).",
        "Seq2seq rows report the last-time-step MSE (the 10-step forecast made from the whole window).",
        "",
        "| # | model | metric | jaxseq mean ± std | min - max | notebook (spread) | vs notebook | test mean | train s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        nb = "-" if r["notebook"] is None else f"{r['notebook']:.4g}"
        if r.get("notebook_spread") and r["notebook"] is not None:
            nb += f" ({r['notebook_spread'][0]}-{r['notebook_spread'][1]})"
        ref = "" if r["reference"] is None else str(r["reference"])
        std = f" ± {r['std']:.2g}" if r["seeds"] else ""
        lines.append(
            f"| {ref} | {r['model']} | {r['metric']} | {r['mean']:.4g}{std} | "
            f"{r['min']:.4g} - {r['max']:.4g} | {nb} | {verdict(r)} | {r.get('test_mean', float('nan')):.4g} | "
            f"{r['train_seconds']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def write_results(records, settings: Settings, host: dict, wall_seconds: float) -> list[dict]:
    """Write results.json, results.md and the figures under ``settings.out``."""
    from jaxseq.app import plots

    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = build_results(records, settings, host)
    payload = {
        "settings": {
            "seeds": settings.seeds,
            "epochs": settings.epochs,
            "batch_size": settings.batch_size,
            "jobs": settings.jobs,
            "quick": settings.quick,
        },
        "machine": host,
        "wall_seconds": wall_seconds,
        "results": rows,
        "learning_curves": {n: r["history"]["metrics"] for n, r in records.items()},
    }
    (out / "results.json").write_text(json.dumps(payload, indent=1))
    (out / "results.md").write_text(markdown_table(rows, host, settings, wall_seconds))
    plots.experiment_figures(records, rows, out)
    return rows


def run_experiments(settings: Settings, reporter) -> list[dict]:
    """Train, evaluate and write everything; ``reporter`` shows progress (see :mod:`jaxseq.app.progress`)."""
    host = machine()
    start = time.perf_counter()
    with reporter:
        records = run_models(settings, reporter.epoch, reporter.done)
    wall = time.perf_counter() - start
    rows = write_results(records, settings, host, wall)
    print(
        f"wrote {settings.out}/results.json, results.md and figures in {wall / 60:.1f} min",
        file=sys.stderr,
    )
    return rows
