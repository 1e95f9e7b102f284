"""How much each family loses between the validation and the test part of a benchmark run.

Reads every ``compare.json`` of a results folder (``make real-series`` writes them) and, per
series, the median over the networks of ``test MASE / validation MASE`` (the forecast issued)
against the same median over the classical models (AutoETS, AutoARIMA, AutoTheta), and the
pick's test MAE over the best (in hindsight) and the median classical model's. A family whose
ratio is larger scores better on validation than it will on test, relative to the other, so
choosing on validation favours it. Nothing is trained or chosen here.

Run: ``python experiments/validation_drift.py [--results experiments/results/benchmark]``;
writes ``drift.md`` and ``drift.json`` into the folder.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from benchmark_series import geometric_mean, write_study  # noqa: E402

from jaxseq import baselines  # noqa: E402


def series_drift(result: dict) -> dict:
    rows = {r["model"]: r for r in result["rows"]}

    def ratio(row) -> float:
        return row["test"]["issued"]["mase"] / row["valid"]["issued"]["mase"]

    networks = [ratio(r) for r in result["rows"] if r["kind"] == "zoo"]
    classical = {m: rows[m] for m in baselines.CLASSICAL if m in rows}
    pick = rows[result["settings"]["best"]]["test"]["issued"]["mae"]
    test_mae = [r["test"]["issued"]["mae"] for r in classical.values()]
    return {
        "networks": float(np.median(networks)),
        "classical": float(np.median([ratio(r) for r in classical.values()])),
        "pick_over_best_classical": pick / min(test_mae),
        "pick_over_median_classical": pick / float(np.median(test_mae)),
    }


def markdown(out: dict) -> str:
    lines = [
        "# Validation-to-test drift by family",
        "",
        "Per series: the median over networks (and over AutoETS, AutoARIMA, AutoTheta) of test "
        "MASE / validation MASE of the forecast issued, and the pick's test MAE over the best "
        "(in hindsight) and the median classical model's.",
        "",
        "| series | networks: test / valid | classical: test / valid | networks / classical | "
        "pick / best classical | pick / median classical |",
        "|---|---|---|---|---|---|",
    ]
    for name, d in out.items():
        lines.append(
            f"| {name} | {d['networks']:.3f} | {d['classical']:.3f} | "
            f"{d['networks'] / d['classical']:.3f} | {d['pick_over_best_classical']:.3f} | "
            f"{d['pick_over_median_classical']:.3f} |"
        )
    keys = ("networks", "classical", "pick_over_best_classical", "pick_over_median_classical")
    geo = {k: geometric_mean(d[k] for d in out.values()) for k in keys}
    wins = sum(d["pick_over_median_classical"] <= 1 for d in out.values())
    lines.append(
        f"| geometric mean | {geo['networks']:.3f} | {geo['classical']:.3f} | "
        f"{geo['networks'] / geo['classical']:.3f} | {geo['pick_over_best_classical']:.3f} | "
        f"{geo['pick_over_median_classical']:.3f} |"
    )
    lines += ["", f"The pick matches or beats the median classical model on {wins} of {len(out)}."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="experiments/results/benchmark")
    args = parser.parse_args(argv)
    results = Path(args.results)
    out = {
        path.parent.name: series_drift(json.loads(path.read_text()))
        for path in sorted(results.glob("*/compare.json"))
    }
    if not out:
        parser.error(f"no compare.json under {results}: run experiments/real_series.py first")
    write_study(results, "drift", out, markdown(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
