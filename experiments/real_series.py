"""`jaxseq compare` with its defaults on real series that ship inside installed packages.

Every series of a set (``experiments/benchmark_series.py``: ``benchmark``, the default, or
``holdout`` or ``statsmodels``) is written as a dated CSV (``OUT/data/NAME.csv``) and compared
with ``jaxseq compare``'s defaults and the series' own window, horizon and parts. The summary
(``OUT/summary.md``, ``OUT/summary.json``) sets the forecast ``compare`` picks, and its
ensemble, against seasonal naive and the best classical model on the test part (test MAE and
MASE of the forecast issued, the seeds' average), with the geometric means of the ratios over
the series, the test coverage of the pick's 80% interval (calibrated on the last validation
origins, ``jaxseq.app.backtest.point_intervals``), and how long the networks trained: each
model's median replica's kept and last optimizer step, and ``linear_multi`` (Adam) against
``linear_least_squares`` on validation.

Run: ``make real-series`` (or ``python experiments/real_series.py [--set holdout]
[--series co2,lynx]``). The best classical model is the one with the lowest *test* MAE among
statsforecast's AutoETS, AutoARIMA and AutoTheta: the bar a user who picked the right one of
them in hindsight would set.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import benchmark_series  # noqa: E402  (the settings file beside this script)
from benchmark_series import geometric_mean  # noqa: E402

CLASSICAL = ("auto_ets", "auto_arima", "auto_theta")
DEFAULT_OUT = {
    "benchmark": "experiments/results/benchmark",
    "holdout": "experiments/results/benchmark_holdout",
    "statsmodels": "experiments/results/real_series",
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="benchmark", choices=sorted(benchmark_series.SETS))
    parser.add_argument("--series", help="comma-separated names of the set (default all)")
    parser.add_argument("--out", help="results folder (default by set)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--models", default="all")
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="read a series' results from its compare.json in the results folder where there "
        "is one (its minutes: compare's own seconds) instead of running it again, and the "
        "scores of classical models its summary.json already holds instead of fitting them "
        "outside compare again",
    )
    parser.add_argument(
        "--quantiles",
        default=None,
        help="train every model with a quantile head at these levels (e.g. "
        "0.05,0.1,0.25,0.5,0.75,0.9,0.95) and report coverage and pinball loss",
    )
    args = parser.parse_args(argv)
    specs = benchmark_series.SETS[args.set]
    names = args.series.split(",") if args.series else list(specs)
    unknown = [n for n in names if n not in specs]
    if unknown:
        parser.error(f"unknown series {unknown}; the {args.set} set has {', '.join(specs)}")
    out = Path(args.out or DEFAULT_OUT[args.set] + ("_quantiles" if args.quantiles else ""))
    from jaxseq.app import compare, compare_table
    from jaxseq.app.progress import Reporter

    summary = {}
    earlier = out / "summary.json"
    previous = json.loads(earlier.read_text()) if args.reuse and earlier.exists() else {}
    for name in names:
        spec = specs[name]
        path = spec.write_csv(out / "data" / f"{name}.csv")
        models = (
            compare.applicable(spec.horizon) if args.models == "all" else args.models.split(",")
        )
        t = time.perf_counter()
        stored = out / name / "compare.json"
        if args.reuse and stored.exists():
            result = json.loads(stored.read_text())
            seconds = result["settings"]["seconds"]
        else:
            with Reporter(models, None, quiet=args.quiet) as rep:
                result = compare.compare(
                    str(path),
                    column=spec.column,
                    **spec.settings,
                    seeds=args.seeds,
                    models=args.models,
                    head=args.quantiles,
                    out=out / name,
                    progress=rep,
                )
            seconds = time.perf_counter() - t
        outside = classical_outside(
            path, spec, result, _known_classical(previous.get(name), result)
        )
        summary[name] = summarise(result, spec, seconds, outside)
        summary[name]["training"]["linear_multi_closed_form_valid_mae"] = closed_form_linear(
            path, spec, result
        )
        print(compare_table.markdown(result), file=sys.stderr)
    table = markdown(summary, args)
    if args.quantiles:
        table += quantile_markdown(summary)
    if set(names) == set(specs):  # the summary covers every series of the set
        (out / "summary.md").write_text(table)
        (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(table)
    return 0


# --------------------------------------------------------------------------- summary


def summarise(result: dict, spec, seconds: float, outside: dict | None = None) -> dict:
    """One series' line of the summary (module docstring); ``outside``: the test scores of
    classical models ``compare`` skipped for their time budget (:func:`classical_outside`)."""
    rows = {r["model"]: r for r in result["rows"]}
    s = result["settings"]

    def scores(name):
        issued = rows[name]["test"]["issued"]
        return {"mae": issued["mae"], "mase": issued["mase"]}

    classical = {k: scores(k) for k in CLASSICAL if k in rows} | (outside or {})
    best_classical = min(classical, key=lambda k: classical[k]["mae"]) if classical else None
    out = {
        "description": spec.description,
        "source": spec.source,
        "settings": {k: s[k] for k in ("length", "window", "horizon", "season", "frequency")},
        "test_windows": s["test"]["windows"],
        "valid_windows": s["valid"]["windows"],
        "seasonal_naive": scores("seasonal_naive"),
        "best_classical": {"name": best_classical, **classical[best_classical]}
        if best_classical
        else None,
        "classical": classical,
        "classical_outside_compare": sorted(outside or {}),
        "pick": {"name": s["best"], "kind": s["best_kind"], **scores(s["best"])},
        # the pick's test scores with its networks as trained once (before compare's refit)
        "pick_trained_once": {
            k: rows[s["best"]]["test_trained_once"]["issued"][k] for k in ("mae", "mase")
        }
        if "test_trained_once" in rows[s["best"]]
        else None,
        "ensemble": {**scores("ensemble"), "members": rows["ensemble"]["members"]}
        if "ensemble" in rows
        else None,
        "best_network_valid": _best_network(result),
        "training": _training(result),
        "seconds": round(seconds, 1),
        "skipped": s["skipped"],
    }
    if rows[s["best"]].get("quantiles"):
        out["quantiles"] = _quantile_summary(rows, s["best"])
    if rows[s["best"]].get("intervals"):
        out["intervals"] = {
            **s["intervals"],
            "pick": rows[s["best"]]["intervals"],
            "seasonal_naive": rows["seasonal_naive"].get("intervals"),
        }
    return out


def _known_classical(earlier: dict | None, result: dict) -> dict | None:
    """An earlier summary's classical scores of a series, if it was scored on the same
    length, window, horizon, season and test origins as ``result``; else ``None``."""
    if not earlier:
        return None
    s = result["settings"]
    same = {k: s[k] for k in ("length", "window", "horizon", "season")}
    was = {k: earlier["settings"].get(k) for k in same}
    if was != same or earlier.get("test_windows") != s["test"]["windows"]:
        return None
    return earlier.get("classical")


def classical_outside(path: Path, spec, result: dict, known: dict | None = None) -> dict:
    """The test scores of each classical model ``compare`` stopped at its time budget, fitted
    here without one (same training part, origins and scoring), so that the best classical
    model the pick is measured against is still the best of all three. ``known``: scores an
    earlier summary of the same series and settings holds (``--reuse``), taken as they are
    (a classical model's forecasts do not depend on the networks)."""
    from jaxseq import baselines
    from jaxseq.app import backtest, workflow
    from jaxseq.app.io import load_series

    s = result["settings"]
    over = [k for k in CLASSICAL if "budget" in s["skipped"].get(k, "")]
    known = known or {}
    reused = {k: known[k] for k in over if k in known}
    over = [k for k in over if k not in reused]
    if not over:
        return reused
    config = workflow.make_config(
        "linear_multi", str(path), [spec.column], None, **spec.settings, seeds=1, season=s["season"]
    )
    series = load_series(str(path), [spec.column], time_column="date", fill=spec.fill)
    protocol = workflow.protocol_for(config, len(series.values))
    values = np.asarray(series.values, np.float64)[:, :1]
    origins = protocol.origins("test")
    forecasts, skipped = baselines.classical(
        values, origins, spec.horizon, season=s["season"], fit_end=protocol.train_end, models=over
    )
    rows = backtest.score_at(
        config, series, protocol, "test", {k: f[None] for k, f in forecasts.items()}, s["season"]
    )
    return reused | {
        k: {"mae": r["issued"]["mae"], "mase": r["issued"]["mase"]} for k, r in rows.items()
    }


def _outside_markdown(summary: dict) -> list[str]:
    """A note on the classical models compare skipped for their budget and the summary fitted."""
    outside = {n: s["classical_outside_compare"] for n, s in summary.items()}
    outside = {n: names for n, names in outside.items() if names}
    if not outside:
        return []
    listed = "; ".join(f"{n}: {', '.join(names)}" for n, names in outside.items())
    return [
        "",
        f"Stopped at `compare`'s classical budget and fitted here without one, so that the best "
        f"classical model is still the best of all three (not in the minutes): {listed}.",
    ]


def _best_network(result: dict) -> dict | None:
    """The network ranked first on validation, with its test scores."""
    nets = [r for r in result["rows"] if r["kind"] == "zoo"]
    if not nets:
        return None
    r = nets[0]
    return {
        "name": r["model"],
        "mae": r["test"]["issued"]["mae"],
        "mase": r["test"]["issued"]["mase"],
    }


def _training(result: dict) -> dict:
    """Per network: its median replica's kept and last optimizer step against the budget,
    and the validation MAE of linear_multi (Adam) over linear_least_squares'."""
    s = result["settings"]
    rows = {r["model"]: r for r in result["rows"]}
    models = {}
    for name, r in rows.items():
        t = r.get("training")
        if not t or "stop_step" not in t:
            continue
        models[name] = {
            "best_step": float(np.median(t["best_step"])),
            "stop_step": float(np.median(t["stop_step"])),
            # the median replica trained to the end of the budget: its patience never ran out
            "at_budget": bool(np.median([not early for early in t["stopped_early"]]) >= 0.5),
        }
    linear = adam = None
    if "linear_multi" in rows:
        adam = rows["linear_multi"]["valid"]["issued"]["mae"]
        if "linear_least_squares" in rows:
            linear = adam / rows["linear_least_squares"]["valid"]["issued"]["mae"]
    return {
        "max_steps": s.get("max_steps"),
        "patience": s.get("patience"),
        "models": models,
        "linear_vs_least_squares_valid": linear,
        "linear_multi_valid_mae": adam,
    }


def closed_form_linear(path: Path, spec, result: dict) -> float | None:
    """The validation MAE of ``linear_multi`` solved exactly (the least-squares minimum of its
    own training loss, :func:`jaxseq.evaluate.solve_linear_head`): what Adam converges to.
    ``None`` when the comparison had no ``linear_multi``."""
    from jaxseq import evaluate
    from jaxseq.app import workflow
    from jaxseq.app.io import load_series

    if "linear_multi" not in {r["model"] for r in result["rows"]}:
        return None
    s = result["settings"]
    config = workflow.make_config(
        "linear_multi",
        str(path),
        [spec.column],
        None,
        **spec.settings,
        seeds=1,
        max_steps=1,
        season=s["season"],
        base=s["base"],
    )
    series = load_series(str(path), [spec.column], time_column="date", fill=spec.fill)
    ds = workflow.dataset_for(config, series)
    model = workflow.build_model(config)
    solved = evaluate.solve_linear_head(model, ds.train)
    one = {"params": {"head": {k: v[None] for k, v in solved["params"]["head"].items()}}}
    pred = workflow.predict_units(model, one, ds.scaler, config, ds.valid.X)[0]
    values = np.asarray(series.values, np.float64)[:, :1]
    truth = workflow.truth_at(values, ds.origins("valid"), spec.horizon, [0])
    return float(np.mean(np.abs(pred - truth)))


def markdown(summary: dict, args) -> str:
    lines = [
        f"# `jaxseq compare` on real series: the {args.set} set",
        "",
        f"`compare`'s defaults ({args.seeds} seeds; every applicable zoo model, the baselines "
        "and statsforecast's classical models, and their ensemble, ranked together on "
        "validation). Test MAE and MASE of the forecast issued (the seeds' average). *Best "
        "classical*: the lowest test MAE of AutoETS, AutoARIMA and AutoTheta (chosen in "
        "hindsight). Ratios below 1: the pick is better.",
        "",
        "| series | length, window, horizon, season | test origins | seasonal naive MAE | best "
        "classical MAE | pick | pick MAE (MASE) | pick / s.naive | pick / classical | pick, "
        "networks trained once: MAE | trained once / classical | minutes |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    ratios = {"snaive": [], "classical": [], "once": []}
    wins = 0
    for name, s in summary.items():
        st, cl, pick = s["settings"], s["best_classical"], s["pick"]
        ens = s.get("pick_trained_once")
        vs_sn = pick["mae"] / s["seasonal_naive"]["mae"]
        ratios["snaive"].append(vs_sn)
        vs_cl = ens_cl = "-"
        if cl:
            ratios["classical"].append(pick["mae"] / cl["mae"])
            wins += pick["mae"] <= cl["mae"]
            vs_cl = f"{pick['mae'] / cl['mae']:.2f}"
            if ens:
                ratios["once"].append(ens["mae"] / cl["mae"])
                ens_cl = f"{ens['mae'] / cl['mae']:.2f}"
        lines.append(
            f"| {name} | {st['length']}, {st['window']}, {st['horizon']}, {st['season']} | "
            f"{s['test_windows']} | {s['seasonal_naive']['mae']:.4g} | "
            + (f"{cl['mae']:.4g} ({cl['name']}) | " if cl else "- | ")
            + f"{pick['name']} ({pick['kind']}) | {pick['mae']:.4g} ({pick['mase']:.3f}) | "
            f"{vs_sn:.2f} | {vs_cl} | "
            + (f"{ens['mae']:.4g} | {ens_cl} | " if ens else "- | - | ")
            + f"{s['seconds'] / 60:.1f} |"
        )
    n = len(summary)
    lines += [
        "",
        f"Geometric mean over {n} series: pick / seasonal naive "
        f"{geometric_mean(ratios['snaive']):.3f}"
        + (
            f", pick / best classical {geometric_mean(ratios['classical']):.3f} (the pick matches "
            f"or beats it on {wins} of {len(ratios['classical'])})"
            if ratios["classical"]
            else ""
        )
        + (
            f", pick with its networks trained once / best classical "
            f"{geometric_mean(ratios['once']):.3f} ({len(ratios['once'])} series)"
            if ratios["once"]
            else ""
        )
        + f". Pick worse than seasonal naive on {sum(r > 1 for r in ratios['snaive'])}. "
        f"Total {sum(s['seconds'] for s in summary.values()) / 60:.1f} minutes.",
        *_outside_markdown(summary),
        "",
        *interval_markdown(summary),
        *training_markdown(summary),
    ]
    return "\n".join(lines) + "\n"


def interval_markdown(summary: dict) -> list[str]:
    """The pick's 80% intervals from its point errors on the calibration windows
    (``jaxseq.app.backtest.point_intervals``): test coverage and width, per calibration."""
    have = {n: s["intervals"] for n, s in summary.items() if s.get("intervals")}
    if not have:
        return []
    headline = next(iter(have.values()))["headline"]
    lines = [
        "## Intervals",
        "",
        "The pick's 80% interval on the test part: its absolute errors on the last validation "
        "origins (which chose no epoch, model or weight) conformalized per horizon step, "
        "*static* (those offsets alone), *rolling* (each test window on the latest as many "
        "errors known at its origin) and *adaptive* (rolling, the level moved by the misses). "
        f"The method reported, {headline}, and the target (70-90%) were fixed before the run.",
        "",
        "| series | calibration windows | static | rolling | adaptive | width (rolling) | "
        "seasonal naive (rolling) |",
        "|---|---|---|---|---|---|---|",
    ]
    inside = 0
    for name, i in have.items():
        p, sn = i["pick"], i.get("seasonal_naive") or {}
        cov = {m: f"{100 * p[m]['coverage']:.1f}%" for m in ("calibrated", "rolling", "adaptive")}
        inside += 0.7 <= p[headline]["coverage"] <= 0.9
        lines.append(
            f"| {name} | {i['windows']} | {cov['calibrated']} | {cov['rolling']} | "
            f"{cov['adaptive']} | {p['rolling']['width']:.4g} | "
            + (f"{100 * sn['rolling']['coverage']:.1f}% |" if sn else "- |")
        )
    lines += [
        "",
        f"{headline.capitalize()} coverage within 70-90% on {inside} of {len(have)} series.",
        "",
    ]
    return lines


def training_markdown(summary: dict) -> list[str]:
    """How long the networks trained: per series, the models whose median replica ran to the
    end of the budget, and linear_multi's validation MAE over least squares'."""
    lines = [
        "## Training to convergence",
        "",
        "Per series: the models whose median replica was still improving when the budget ran "
        "out (its last epoch reached max_steps), the median kept (best) step over models, and "
        "the validation MAE of `linear_multi` trained by Adam over that of the same model "
        "solved exactly (the least-squares minimum of its own training loss, in its frame: "
        "window normalisation, hybrid base; `jaxseq.evaluate.solve_linear_head`) and over "
        "`linear_least_squares` (least squares on the raw window, another model).",
        "",
        "| series | budget (steps), patience | models at the budget | median kept step | "
        "linear_multi: Adam / closed form (valid MAE) | Adam / least squares on raw windows |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in summary.items():
        t = s["training"]
        at = [m for m, v in t["models"].items() if v["at_budget"]]
        kept = [v["best_step"] for v in t["models"].values()]
        linear = t["linear_vs_least_squares_valid"]
        closed = t.get("linear_multi_closed_form_valid_mae")
        adam = t.get("linear_multi_valid_mae")
        lines.append(
            f"| {name} | {t['max_steps']}, {t['patience']} | {', '.join(at) or 'none'} | "
            f"{np.median(kept) if kept else float('nan'):.0f} | "
            + (f"{adam / closed:.3f} | " if closed and adam else "- | ")
            + (f"{linear:.3f} |" if linear is not None else "- |")
        )
    return lines


def _quantile_summary(rows: dict, best: str) -> dict:
    """The picked model's and seasonal naive's test pinball loss and 80% interval: raw,
    conformally calibrated on the validation windows (static), on the latest errors (rolling)
    and on the latest errors with the level adapted to the misses (adaptive)."""

    def scores(row, part):
        q = row["quantiles"][part]
        i80 = next(i for i in q["intervals"] if abs(i["nominal"] - 0.8) < 1e-9)
        return {
            "scaled_pinball": q["scaled_pinball"],
            "coverage_80": i80["coverage"],
            "width_80": i80["width"],
        }

    return {
        who: {
            part: scores(rows[name], part)
            for part in ("test", "test_calibrated", "test_rolling", "test_adaptive")
        }
        for who, name in (("picked", best), ("seasonal_naive", "seasonal_naive"))
    }


def quantile_markdown(summary: dict) -> str:
    lines = [
        "",
        "## Intervals: the pick (ranked by validation scaled pinball) against seasonal "
        "naive with its empirical error quantiles",
        "",
        "Test part, the forecast issued (the seeds' average, calibrated as a whole). *Static*: "
        "each forecast's intervals conformalized on its own validation errors; *rolling*: each "
        "test window's intervals conformalized on the latest errors known at its origin, as "
        "many windows as the validation part has; *adaptive*: rolling, the level moved by the "
        "misses seen so far (step 0.05; `jaxseq.calibration.rolling`). "
        "The target is 80% coverage between 70% and 90%. *Ratio*: the pick's scaled "
        "pinball over seasonal naive's, adaptive and raw.",
        "",
        "| series | pick | 80% coverage raw | static | rolling | adaptive | seasonal naive "
        "adaptive | scaled pinball, adaptive | seasonal naive's | ratio | ratio raw |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in summary.items():
        q = s.get("quantiles")
        if not q:
            continue
        p, b = q["picked"], q["seasonal_naive"]
        pa, ba = p["test_adaptive"], b["test_adaptive"]
        lines.append(
            f"| {name} | {s['pick']['name']} | {100 * p['test']['coverage_80']:.1f}% | "
            f"{100 * p['test_calibrated']['coverage_80']:.1f}% | "
            f"{100 * p['test_rolling']['coverage_80']:.1f}% | "
            f"{100 * pa['coverage_80']:.1f}% | {100 * ba['coverage_80']:.1f}% | "
            f"{pa['scaled_pinball']:.3f} | {ba['scaled_pinball']:.3f} | "
            f"{pa['scaled_pinball'] / ba['scaled_pinball']:.2f} | "
            f"{p['test']['scaled_pinball'] / b['test']['scaled_pinball']:.2f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    raise SystemExit(main())
