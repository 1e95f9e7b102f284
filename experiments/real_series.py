"""`jaxseq compare` on real series that ship inside statsmodels (no network).

Each series is written as a dated CSV (``experiments/results/real_series/data/NAME.csv``) and
compared with ``jaxseq compare``'s defaults (3 seeds, 30 epochs, window normalisation, every
applicable zoo model, the baselines, statsforecast's classical models when installed). The
summary (``summary.md``, ``summary.json``) sets each series' models against seasonal naive and
the best classical baseline on the test part.

Run: ``make real-series`` (or ``python experiments/real_series.py [--series co2,nile]``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

CLASSICAL = ("auto_ets", "auto_arima", "auto_theta")


def _co2() -> pd.DataFrame:
    import statsmodels.api as sm

    frame = sm.datasets.co2.load_pandas().data
    return pd.DataFrame({"date": frame.index.strftime("%Y-%m-%d"), "co2": frame["co2"].values})


def _elnino() -> pd.DataFrame:
    import statsmodels.api as sm

    wide = sm.datasets.elnino.load_pandas().data
    long = wide.melt(id_vars="YEAR", var_name="month", value_name="temperature")
    months = {m: i for i, m in enumerate(wide.columns[1:], 1)}
    long["date"] = [
        f"{int(y)}-{months[m]:02d}-01" for y, m in zip(long.YEAR, long.month, strict=True)
    ]
    return long.sort_values("date")[["date", "temperature"]]


def _sunspots() -> pd.DataFrame:
    import statsmodels.api as sm

    frame = sm.datasets.sunspots.load_pandas().data
    return pd.DataFrame(
        {"date": [f"{int(y)}" for y in frame.YEAR], "sunspots": frame.SUNACTIVITY.values}
    )


def _nile() -> pd.DataFrame:
    import statsmodels.api as sm

    frame = sm.datasets.nile.load_pandas().data
    return pd.DataFrame({"date": [f"{int(y)}" for y in frame.year], "volume": frame.volume})


def _gdp() -> pd.DataFrame:
    import statsmodels.api as sm

    frame = sm.datasets.macrodata.load_pandas().data
    dates = [
        f"{int(y)}-{3 * int(q) - 2:02d}-01" for y, q in zip(frame.year, frame.quarter, strict=True)
    ]
    return pd.DataFrame({"date": dates, "realgdp": frame.realgdp.values})


#: name -> (loader, column, window, horizon, test size, description)
SERIES = {
    "co2": (_co2, "co2", 104, 13, 0.1, "weekly CO2 at Mauna Loa, ppm (59 gaps interpolated)"),
    "elnino": (_elnino, "temperature", 36, 12, 0.1, "monthly sea surface temperature, El Nino"),
    "sunspots": (_sunspots, "sunspots", 30, 5, 0.1, "yearly sunspot activity"),
    "nile": (_nile, "volume", 20, 3, 10, "yearly Nile flow at Aswan"),
    "gdp": (_gdp, "realgdp", 16, 4, 0.1, "quarterly US real GDP"),
}


def write_csv(name: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.csv"
    SERIES[name][0]().to_csv(path, index=False)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", default=",".join(SERIES))
    parser.add_argument(
        "--out",
        default=None,
        help="default experiments/results/real_series"
        " (with --quantiles: experiments/results/real_series_quantiles)",
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--models", default="all")
    parser.add_argument("--normalize", default="window")
    parser.add_argument(
        "--quantiles",
        default=None,
        help="train every model with a quantile head at these levels (e.g. "
        "0.05,0.1,0.25,0.5,0.75,0.9,0.95) and report coverage and pinball loss",
    )
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = "experiments/results/real_series" + ("_quantiles" if args.quantiles else "")
    from jaxseq.app import compare
    from jaxseq.app.progress import Reporter

    out = Path(args.out)
    summary = {}
    for name in args.series.split(","):
        _, column, window, horizon, test_size, description = SERIES[name]
        path = write_csv(name, out / "data")
        names = compare.applicable(horizon) if args.models == "all" else args.models.split(",")
        t = time.perf_counter()
        with Reporter(names, args.epochs) as reporter:
            result = compare.compare(
                str(path),
                column=column,
                time_column="date",
                fill="interpolate",
                horizon=horizon,
                window=window,
                test_size=test_size,
                seeds=args.seeds,
                epochs=args.epochs,
                models=args.models,
                normalize=args.normalize,
                head=args.quantiles,
                out=out / name,
                progress=reporter,
            )
        summary[name] = _summarise(result, description, time.perf_counter() - t)
        print(compare.markdown(result), file=sys.stderr)
    table = markdown(summary, args) + (quantile_markdown(summary) if args.quantiles else "")
    if set(args.series.split(",")) == set(SERIES):  # the summary covers every series
        (out / "summary.md").write_text(table)
        (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(table)
    return 0


def _summarise(result: dict, description: str, seconds: float) -> dict:
    rows = {r["model"]: r for r in result["rows"]}
    snaive = rows["seasonal_naive"]["test"]["mase"]["mean"]
    classical = {k: rows[k]["test"]["mase"]["mean"] for k in CLASSICAL if k in rows}
    best = result["settings"]["best"]
    recurrent = {
        r["model"]: r["test"]["mase"]["mean"]
        for r in result["rows"]
        if r["kind"] != "baseline" and _recurrent(r["model"])
    }
    return {
        "description": description,
        "settings": {k: result["settings"][k] for k in ("length", "window", "horizon", "season")},
        "test_windows": result["settings"]["test"]["windows"],
        "seasonal_naive": snaive,
        "best_classical": min(classical.items(), key=lambda kv: kv[1]) if classical else None,
        "picked": best,
        "picked_test_mase": rows[best]["test"]["mase"]["mean"],
        "worst_recurrent": max(recurrent.items(), key=lambda kv: kv[1]) if recurrent else None,
        "seconds": round(seconds, 1),
        **({"quantiles": _quantile_summary(rows, best)} if rows[best].get("quantiles") else {}),
    }


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


def _recurrent(name: str) -> bool:
    from jaxseq import models

    return models.get(name).mode in ("seq2vec", "seq2seq", "vec2seq", "encoder_decoder")


def markdown(summary: dict, args) -> str:
    lines = [
        "# `jaxseq compare` on real series (statsmodels' data sets)",
        "",
        f"Test MASE (mean over {args.seeds} seeds; {args.epochs} epochs; normalize="
        f"{args.normalize}). *Picked*: the model ranked first on validation. Ratios below 1: "
        "better than the reference.",
        "",
        "| series | length, window, horizon, season | test origins | seasonal naive | best "
        "classical | picked model | picked / s.naive | picked / classical | worst recurrent "
        "/ s.naive | minutes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in summary.items():
        st = s["settings"]
        cl = s["best_classical"]
        worst = s["worst_recurrent"]
        cl_cell = f"{cl[1]:.3f} ({cl[0]})" if cl else "-"
        vs_cl = f"{s['picked_test_mase'] / cl[1]:.2f}" if cl else "-"
        worst_cell = f"{worst[1] / s['seasonal_naive']:.2f} ({worst[0]})" if worst else "-"
        lines.append(
            f"| {name} | {st['length']}, {st['window']}, {st['horizon']}, {st['season']} | "
            f"{s['test_windows']} | {s['seasonal_naive']:.3f} | {cl_cell} | {s['picked']} "
            f"({s['picked_test_mase']:.3f}) | {s['picked_test_mase'] / s['seasonal_naive']:.2f} | "
            f"{vs_cl} | {worst_cell} | {s['seconds'] / 60:.1f} |"
        )
    return "\n".join(lines) + "\n"


def quantile_markdown(summary: dict) -> str:
    lines = [
        "",
        "## Intervals: the picked model (ranked by validation scaled pinball) against seasonal "
        "naive with its empirical error quantiles",
        "",
        "Test part, the forecast issued (the seeds' average, calibrated as a whole). *Static*: "
        "each forecast's intervals conformalized on its own validation errors; *rolling*: each "
        "test window's intervals conformalized on the latest errors known at its origin, as "
        "many windows as the validation part has; *adaptive*: rolling, the level moved by the "
        "misses seen so far (step 0.05; `jaxseq.calibration.rolling`). "
        "The target is 80% coverage between 70% and 90%. *Ratio*: the picked model's scaled "
        "pinball over seasonal naive's, adaptive and raw.",
        "",
        "| series | picked | 80% coverage raw | static | rolling | adaptive | seasonal naive "
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
            f"| {name} | {s['picked']} | {100 * p['test']['coverage_80']:.1f}% | "
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
