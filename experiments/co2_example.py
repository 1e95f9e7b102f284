"""A worked example on a real series: weekly CO2 at Mauna Loa, 1958-2001.

The data ship inside statsmodels (``statsmodels/datasets/co2/co2.csv``, no network), with 59
missing weeks, filled by linear interpolation. Several zoo models forecast the next 12 weeks from
the last 52, trained on the first 70% of the series, and are compared with the naive forecast
(the last week repeated) and the seasonal naive forecast (the same weeks a year earlier) on the
chronological validation and test parts, in ppm.

Run: ``make example`` (or ``python experiments/co2_example.py``); writes
``experiments/results/co2/`` (table, JSON, forecast figure).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

from jaxseq import plots, workflow

MODELS = ("linear_multi", "lstm_seq2vec", "gru_seq2seq", "wavenet", "encoder_decoder")


def co2_csv() -> Path:
    spec = importlib.util.find_spec("statsmodels.datasets.co2")
    if spec is None:
        sys.exit("co2_example: statsmodels is not installed; `make example` installs it")
    return Path(spec.origin).parent / "co2.csv"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="experiments/results/co2")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = co2_csv()
    rows, forecasts, start = {}, {}, time.perf_counter()
    for name in args.models.split(","):
        config = workflow.make_config(
            name,
            str(data),
            ["co2"],
            None,
            window=52,
            horizon=12,
            seeds=args.seeds,
            epochs=args.epochs,
            time_column="date",
            fill="interpolate",
        )
        t = time.perf_counter()
        run = workflow.train_run(config, out / "runs" / name, overwrite=True)
        seconds = time.perf_counter() - t
        result = workflow.evaluate_run(run, season=52)
        rows[name] = {split: block["metrics"] for split, block in result.items()}
        rows[name]["train_seconds"] = seconds
        forecast, series = workflow.forecast_run(run, None, 12)
        forecasts[name] = forecast
        print(
            f"{name}: {seconds:.0f} s, test RMSE {result['test']['metrics'][name]['rmse']['mean']:.3f} ppm",
            file=sys.stderr,
        )
    wall = time.perf_counter() - start
    table = markdown(rows, args, wall)
    (out / "table.md").write_text(table)
    (out / "results.json").write_text(json.dumps(rows, indent=1))
    best = min(rows, key=lambda n: rows[n]["valid"][n]["rmse"]["mean"])
    f = forecasts[best]
    plots.forecast_figure(
        series.values[:, 0],
        f.mean[:, 0],
        f.low[:, 0],
        f.high[:, 0],
        out / "forecast.png",
        context=156,
        title=f"CO2 at Mauna Loa: the 12 weeks after Dec 2001, {best} (seed range)",
    )
    print(table)
    return 0


def markdown(rows: dict, args, wall: float) -> str:
    lines = [
        "# Worked example: weekly CO2 at Mauna Loa (statsmodels), 12 weeks ahead from 52",
        "",
        f"RMSE and MAE in ppm over the 12 forecast weeks, chronological 70/20/10 split; model rows: "
        f"mean [min-max] over {args.seeds} seeds, {args.epochs} epochs. Whole run {wall / 60:.1f} min "
        "(`make example`).",
        "",
        "| forecast | valid RMSE | valid MAE | test RMSE | test MAE |",
        "|---|---|---|---|---|",
    ]

    def cell(s):
        return (
            f"{s['mean']:.3f}"
            if s["min"] == s["max"]
            else f"{s['mean']:.3f} [{s['min']:.3f}-{s['max']:.3f}]"
        )

    first = next(iter(rows))
    baselines = [k for k in rows[first]["valid"] if k != first]
    for name in [*rows, *baselines]:
        src = rows[name] if name in rows else rows[first]
        v, t = src["valid"][name], src["test"][name]
        lines.append(
            f"| {name} | {cell(v['rmse'])} | {cell(v['mae'])} | {cell(t['rmse'])} | {cell(t['mae'])} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
