"""One small model per series for many series at once, against a loop over the series,
statsforecast's AutoETS and one global model.

The panel: 1,000 of the chapter's synthetic series (two sines and noise,
:func:`jaxseq.data.generate_time_series`) of 200 steps; window 24, horizon 10, the last 20 and
the 20 before them the test and validation targets. Three models (``linear_multi``,
``gru_seq2seq``, ``wavenet``), three seeds each, 10 epochs, batch 32: per model, one global
model on every series (:func:`jaxseq.app.panel.training.fit_panel`), then one model per series
with the series a ``vmap``'d axis beside the seeds (:func:`panel_training.fit_local`, chunks of
``--chunk`` series, all of one shape) and the same models and steps in a loop, one series per compiled
program (``chunk=1``: the loop over series a user would otherwise write, on the first
``--loop-series`` series and scaled to the panel; the two are equal to float tolerance,
``tests/test_local_models.py``). AutoETS (non-seasonal, as the series have no calendar
season) is fitted on each series' training part and forecast from every test origin
(:func:`jaxseq.baselines.fit_forward`); its time is that of the fits and forecasts.

Accuracy: each series' test MASE (the seeds' mean; scaled by its training part's naive MAE),
its distribution over series (quartiles) per model and method.

Run: ``python experiments/local_models.py [--series N --loop-series M]``; writes
``results/local_models/local_models.{json,md}``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from benchmark_series import write_study  # noqa: E402

MODELS = ("linear_multi", "gru_seq2seq", "wavenet")
SETTINGS = {"window": 24, "horizon": 10, "valid_size": 20, "test_size": 20}


def series_mase(result, split: str = "test") -> np.ndarray:
    """``[series]``: each series' MASE on ``split``, the mean over seeds."""
    rows = result.scores["per_series"]
    return np.array([rows[key][split]["model"]["mase"]["mean"] for key in result.data.ids])


def auto_ets(result) -> tuple[np.ndarray, float]:
    """AutoETS's test MASE per series and the seconds its fits and forecasts took."""
    from jaxseq import baselines, metrics

    pdata, horizon = result.data, result.config.horizon
    out = []
    start = time.perf_counter()
    forecasts = []
    for values, protocol in zip(pdata.values, pdata.protocols, strict=True):
        y = np.asarray(values[:, 0], np.float64)
        origins = protocol.origins("test")
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            forecasts.append(
                baselines.fit_forward("auto_ets", 1, y, origins, horizon, protocol.train_end)
            )
    seconds = time.perf_counter() - start
    for values, protocol, pred in zip(pdata.values, pdata.protocols, forecasts, strict=True):
        y = np.asarray(values[:, 0], np.float64)
        origins = protocol.origins("test")
        truth = np.stack([y[o : o + horizon] for o in origins])
        scale = metrics.mase_scale(y[: protocol.train_end, None], 1)
        out.append(float(np.mean(np.abs(pred - truth)) / scale[0]))
    return np.asarray(out), seconds


#: where the timings of results written before the device was recorded ran
MACHINE = "this machine's CPU (2 cores)"


def device() -> str:
    """What the timings ran on, in words: the CPU's cores, or the accelerator JAX uses."""
    import os

    import jax

    if jax.default_backend() == "cpu":
        return f"this machine's CPU ({len(os.sched_getaffinity(0))} cores)"
    return f"{jax.device_count()} x {jax.devices()[0].device_kind} ({jax.default_backend()})"


def quartiles(values: np.ndarray) -> dict:
    q = np.percentile(values, [25, 50, 75])
    return {
        "q25": float(q[0]),
        "median": float(q[1]),
        "q75": float(q[2]),
        "mean": float(values.mean()),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--loop-series", type=int, default=50)
    parser.add_argument("--chunk", type=int, default=64, help="series per compiled program")
    parser.add_argument(
        "--local-patience",
        type=int,
        default=None,
        help="train the local models up to --local-max-steps optimizer steps, each replica "
        "stopping early on its own series' validation loss after this many steps without "
        "improvement (default: the global model's epochs)",
    )
    parser.add_argument("--local-max-steps", type=int, default=None)
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated zoo names")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "local_models"))
    args = parser.parse_args(argv)
    from jaxseq import data
    from jaxseq.app.panel import table as panel_table
    from jaxseq.app.panel import training as panel_training

    arrays = data.generate_time_series(args.series, args.steps, seed=7)[..., 0]
    whole = panel_table.from_arrays(list(arrays))
    first = panel_table.from_arrays(list(arrays[: args.loop_series]))
    common = {**SETTINGS, "seeds": args.seeds, "epochs": args.epochs}
    report: dict = {
        "settings": {
            **common,
            "series": args.series,
            "steps": args.steps,
            "chunk": args.chunk,
            "local_max_steps": args.local_max_steps,
            "local_patience": args.local_patience,
            "device": device(),
        }
    }
    candidates = {}
    names = args.models.split(",")
    report["settings"]["models"] = names
    for name in names:
        print(name, flush=True)
        start = time.perf_counter()
        glob = panel_training.fit_panel(whole, model=name, **common)
        glob_seconds = time.perf_counter() - start
        start = time.perf_counter()
        budget = {"max_steps": args.local_max_steps, "patience": args.local_patience}
        local = panel_training.fit_local(glob, chunk=args.chunk, **budget)
        local_seconds = time.perf_counter() - start
        small = panel_training.fit_panel(first, model=name, **common)
        start = time.perf_counter()
        panel_training.fit_local(small, chunk=1, **budget)
        loop_seconds = (time.perf_counter() - start) * args.series / args.loop_series
        report[name] = {
            "seconds": {
                "global": glob_seconds,
                "local_vmapped": local_seconds,
                "local_loop_scaled": loop_seconds,
                "loop_series_timed": args.loop_series,
            },
            "test_mase": {
                "global": quartiles(series_mase(glob)),
                "local": quartiles(series_mase(local)),
            },
            "valid_mase": {
                "global": quartiles(series_mase(glob, "valid")),
                "local": quartiles(series_mase(local, "valid")),
            },
        }
        print(report[name], flush=True)
        candidates[name] = glob
        candidates[name + " (local)"] = local
    choice, picked = panel_training.pick_per_series(candidates)
    report["pick_per_series"] = {
        "test_mase": quartiles(series_mase(picked)),
        "chosen": {label: sum(v == label for v in choice.values()) for label in candidates},
    }
    from jaxseq import baselines

    if baselines.available():  # the classical extra (a GPU image may lack it)
        ets, ets_seconds = auto_ets(glob)
        report["auto_ets"] = {"seconds": ets_seconds, "test_mase": quartiles(ets)}
    Path(args.out).mkdir(parents=True, exist_ok=True)
    write_study(Path(args.out), "local_models", report, markdown(report))
    return 0


def markdown(report: dict) -> str:
    s = report["settings"]
    lines = [
        "# One model per series, many series at once",
        "",
        f"{s['series']:,} of the chapter's synthetic series of {s['steps']} steps; window "
        f"{s['window']}, horizon {s['horizon']}, {s['valid_size']} validation and "
        f"{s['test_size']} test targets per series; {s['seeds']} seeds, {s['epochs']} epochs"
        + (
            f" (the global models; each local replica up to {s['local_max_steps'] or 'the default'}"
            f" steps, stopping early on its own series after {s['local_patience']} without "
            "improvement and keeping its best epoch). "
            if s.get("local_patience")
            else ". "
        )
        + f"Seconds on {s.get('device', MACHINE)}; the loop is timed on the "
        "first series and scaled to the panel. Test MASE per series (the seeds' mean), quartiles "
        "over series.",
        "",
        "| model | global model (s) | local, vmapped (s) | local, loop (s, scaled) | loop / vmapped | "
        "test MASE global (q25 / median / q75) | local (q25 / median / q75) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in s["models"]:
        r = report[name]
        t, m = r["seconds"], r["test_mase"]
        lines.append(
            f"| {name} | {t['global']:.1f} | {t['local_vmapped']:.1f} | "
            f"{t['local_loop_scaled']:.1f} | {t['local_loop_scaled'] / t['local_vmapped']:.1f}x | "
            + " | ".join(
                f"{m[k]['q25']:.3f} / {m[k]['median']:.3f} / {m[k]['q75']:.3f}"
                for k in ("global", "local")
            )
            + " |"
        )
    lines += [
        "",
        "Validation MASE (median over series), global / local: "
        + "; ".join(
            f"{name} {report[name]['valid_mase']['global']['median']:.3f} / "
            f"{report[name]['valid_mase']['local']['median']:.3f}"
            for name in s["models"]
            if "valid_mase" in report[name]
        )
        + ".",
    ]
    p = report["pick_per_series"]
    chosen = ", ".join(f"{label} {n}" for label, n in p["chosen"].items() if n)
    lines += [
        "",
        f"The pick per series among the {len(p['chosen'])} candidates (each model global and "
        "local) by validation MASE "
        "(`panel_training.pick_per_series`): test MASE "
        f"{p['test_mase']['q25']:.3f} / {p['test_mase']['median']:.3f} / "
        f"{p['test_mase']['q75']:.3f}; chosen: {chosen}.",
        "",
    ]
    e = report.get("auto_ets")
    lines += [
        (
            f"statsforecast AutoETS (non-seasonal), fitted per series and forecast from every "
            f"test origin: {e['seconds']:.1f} s; test MASE {e['test_mase']['q25']:.3f} / "
            f"{e['test_mase']['median']:.3f} / {e['test_mase']['q75']:.3f}."
            if e
            else "statsforecast is not installed here: no AutoETS row."
        ),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
