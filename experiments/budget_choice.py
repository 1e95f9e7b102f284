"""How long to train: choosing ``--max-steps`` and ``--patience`` on validation curves.

Every zoo network of ``compare`` trains on each benchmark series (``benchmark_series.py``) for
a long budget without stopping early, its validation curve recorded after every epoch (the
metric each replica keeps its best epoch by). A candidate setting ``(max_steps, patience)`` is
then replayed on those curves with the stopping rule of :mod:`jaxseq.stopping`: where each
replica would have stopped, and the best validation score it would have kept. Only validation
scores are read; the test parts are not touched.

The rule fixed before the run, the cheapest in mean optimizer steps whose kept validation
score is within 1% of the long run's best (geometric mean over series, models and seeds of
kept / best), selected nothing: the minimum of a noisy curve over more epochs is lower by
chance too, so no shorter run came within 1%. The default was then chosen among the settings
where no model's median replica is still improving at the budget (the convergence criterion):
the lowest kept / best, ties within 0.1% to the smaller budget (docs/forecasting.md).

Writes ``experiments/results/budget_choice/choice_NAME.json`` and ``.md`` (the long curves
in ``curves.json``, not committed: 10 MB). Run: ``python experiments/budget_choice.py
[--series a,b] [--long 6000] [--name short_series]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import benchmark_series  # noqa: E402

MAX_STEPS = (500, 1000, 2000, 3000, 4000)
PATIENCE = (50, 100, 200, 400, 800)
MIN_DELTA = (0.0, 0.001, 0.01)
OUT = Path("experiments/results/budget_choice")


def curves(name: str, spec, long: int, seeds: int, models=None) -> dict:
    """Every applicable network's validation curve ``[epochs, seeds]`` on one series after a
    ``long``-step run with no early stop, and its steps per epoch (models in worker
    processes, as ``compare`` trains them)."""
    from jaxseq.app import compare
    from jaxseq.parallel import default_jobs, run_jobs

    path = spec.write_csv(OUT / "data" / f"{name}.csv")
    jobs = [
        (model, {"path": str(path), "spec": spec, "model": model, "long": long, "seeds": seeds})
        for model in models or compare.applicable(spec.horizon)
    ]
    return run_jobs(curve_of, jobs, workers=default_jobs())


def curve_of(path: str, spec, model: str, long: int, seeds: int, progress=None) -> dict:
    """One network's long run (a worker's job)."""
    from jaxseq.app import workflow
    from jaxseq.app.io import load_series

    series = load_series(path, [spec.column], time_column="date", fill=spec.fill)
    config = workflow.make_config(
        model, path, [spec.column], None, **spec.settings, seeds=seeds, max_steps=long
    )
    config.patience = None  # no early stop: the whole curve
    ds = workflow.dataset_for(config, series)
    t = time.perf_counter()
    net, _, history = workflow.fit_state(config, ds, keep_best=True)
    seconds = round(time.perf_counter() - t, 1)
    print(
        f"{Path(path).stem} {model}: {len(history['epoch_seconds'])} epochs, {seconds} s",
        file=sys.stderr,
    )
    return {
        "curve": history["metrics"][workflow.selection_metric(net)],
        "steps_per_epoch": history["steps_per_epoch"],
        "seconds": seconds,
    }


def replay(curve: np.ndarray, per_epoch: int, max_steps: int, patience: int, min_delta=0.0):
    """The stopping rule on one replica's curve ``[epochs]``: ``(kept score, steps trained,
    whether the budget ran out first)``."""
    epochs = min(len(curve), int(np.ceil(max_steps / per_epoch)))
    wait_limit = max(1, int(np.ceil(patience / per_epoch)))
    best, reference, wait = np.inf, np.inf, 0
    for e in range(epochs):
        s = curve[e]
        best = min(best, s) if np.isfinite(s) else best
        if s < reference * (1 - min_delta):
            reference, wait = s, 0
        else:
            wait += 1
        if wait >= wait_limit:
            return best, (e + 1) * per_epoch, False
    return best, epochs * per_epoch, True


def evaluate(all_curves: dict) -> list[dict]:
    rows = []
    for max_steps, patience, min_delta in itertools.product(MAX_STEPS, PATIENCE, MIN_DELTA):
        if patience >= max_steps:
            continue
        ratios, steps, at_budget_median = [], [], 0
        for series in all_curves.values():
            for model in series.values():
                curve = np.asarray(model["curve"], np.float64)  # [epochs, seeds]
                long_best = np.nanmin(curve, axis=0)
                budget_hits = []
                for i in range(curve.shape[1]):
                    kept, used, hit = replay(
                        curve[:, i], model["steps_per_epoch"], max_steps, patience, min_delta
                    )
                    ratios.append(kept / long_best[i])
                    steps.append(used)
                    budget_hits.append(hit)
                at_budget_median += int(np.median(budget_hits) >= 0.5)
        rows.append(
            {
                "max_steps": max_steps,
                "patience": patience,
                "min_delta": min_delta,
                "kept_over_long_best": benchmark_series.geometric_mean(ratios),
                "worst_ratio": float(np.max(ratios)),
                "mean_steps": float(np.mean(steps)),
                "models_at_budget": at_budget_median,
            }
        )
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", help="comma-separated benchmark series (default all)")
    parser.add_argument("--long", type=int, default=4000, help="steps of the long run")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--models", help="comma-separated zoo models (default all applicable)")
    parser.add_argument(
        "--only-curves", action="store_true", help="train and store the curves, no table"
    )
    parser.add_argument("--name", default="all", help="the table's file: choice_NAME.md")
    args = parser.parse_args(argv)
    names = args.series.split(",") if args.series else list(benchmark_series.BENCHMARK)
    store = OUT / "curves.json"
    all_curves = json.loads(store.read_text()) if store.exists() else {}
    for name in names:
        if name in all_curves:
            continue
        spec = benchmark_series.BENCHMARK[name]
        models = args.models.split(",") if args.models else None
        all_curves[name] = curves(name, spec, args.long, args.seeds, models)
        store.write_text(json.dumps(all_curves))
    if args.only_curves:
        return 0
    rows = evaluate({n: all_curves[n] for n in names})
    (OUT / f"choice_{args.name}.json").write_text(json.dumps(rows, indent=1))
    lines = [
        "| max_steps | patience | min_delta | kept / long run's best (geo. mean) | worst | mean "
        "steps | models whose median replica hit the budget |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['max_steps']} | {r['patience']} | {r['min_delta']:g} | "
            f"{r['kept_over_long_best']:.4f} | "
            f"{r['worst_ratio']:.3f} | {r['mean_steps']:.0f} | {r['models_at_budget']} |"
        )
    (OUT / f"choice_{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
