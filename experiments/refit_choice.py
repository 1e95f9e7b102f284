"""Should ``compare`` retrain its chosen networks through the validation part? Chosen on
validation windows alone.

Each series is cut at the end of its validation part (its test part is never read) and
``compare`` runs on the cut series with its defaults, the last validation-length steps taken as
a test part and the same number before them as validation: the whole comparison shifted back
by one validation part. Its ensemble's networks are then scored on that stand-in test part
twice, as trained once on the (shifted) training part and retrained on the (shifted) training
and validation parts for the epochs each replica kept (``compare``'s ``refit``); the ensemble
is recombined with the same members and weights. The rule, fixed before the run: refitting
becomes ``compare``'s default if the geometric mean over series of the ensemble's refit /
trained-once MASE is below 1.

Run: ``python experiments/refit_choice.py [--set benchmark] [--series a,b] [--out DIR]``;
writes ``choice.md`` and ``choice.json`` (default ``experiments/results/choice_refit``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import benchmark_series  # noqa: E402
from benchmark_series import geometric_mean, write_study  # noqa: E402

from jaxseq import data  # noqa: E402

OUT = Path("experiments/results/choice_refit")


def shifted(spec, frame):
    """The series cut at the end of its validation part, and the part sizes that shift the
    comparison back by one validation part (validation and test both that long)."""
    protocol = data.make_protocol(
        len(frame),
        window=spec.window,
        horizon=spec.horizon,
        valid_size=spec.valid_size,
        test_size=spec.test_size,
    )
    valid = protocol.valid_end - protocol.train_end
    return frame.iloc[: protocol.valid_end], {"valid_size": valid, "test_size": valid}


def run_series(name: str, spec, out: Path) -> dict:
    from jaxseq.app import compare

    cut, sizes = shifted(spec, spec.load())
    path = out / "data" / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    cut.to_csv(path, index=False)
    settings = {**spec.settings, **sizes}
    began = time.perf_counter()
    result = compare.compare(str(path), column=spec.column, **settings, out=out / name)
    rows = {r["model"]: r for r in result["rows"]}
    ensemble = rows["ensemble"]
    refitted = result["settings"].get("refit", [])
    members = {
        m: {
            "refit": rows[m]["test"]["issued"]["mase"],
            "once": rows[m]["test_trained_once"]["issued"]["mase"],
            "epochs": rows[m]["refit"].get("epochs"),
        }
        for m in refitted
    }
    return {
        "length": len(cut),
        "valid_test_steps": sizes["valid_size"],
        "members": list(ensemble["members"]),
        "refitted": members,
        "ensemble_refit": ensemble["test"]["issued"]["mase"],
        "ensemble_once": (ensemble.get("test_trained_once") or ensemble["test"])["issued"]["mase"],
        "minutes": (time.perf_counter() - began) / 60,
    }


def markdown(results: dict) -> str:
    lines = [
        "# Refitting the ensemble's networks, chosen on validation windows",
        "",
        "Each series cut at the end of its validation part; `compare` (defaults) on the cut "
        "series with the last validation-length steps as a stand-in test part. MASE of the "
        "forecast issued on that part (original validation windows only), ensemble and each "
        "refitted network: trained once, and retrained through the shifted validation part for "
        "the epochs each replica kept.",
        "",
        "| series | steps (cut) | members | ensemble once | ensemble refit | refit / once "
        "| networks: refit / once |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        nets = ", ".join(f"{m} {v['refit'] / v['once']:.3f}" for m, v in r["refitted"].items())
        ratio = r["ensemble_refit"] / r["ensemble_once"]
        lines.append(
            f"| {name} | {r['length']} | {', '.join(r['members'])} | {r['ensemble_once']:.3f} "
            f"| {r['ensemble_refit']:.3f} | {ratio:.3f} | {nets or 'no network'} |"
        )
    ratios = [r["ensemble_refit"] / r["ensemble_once"] for r in results.values()]
    nets = [v["refit"] / v["once"] for r in results.values() for v in r["refitted"].values()]
    better = sum(x < 1 for x in ratios)
    lines += [
        "",
        f"Geometric mean over {len(ratios)} series: ensemble refit / once "
        f"{geometric_mean(ratios):.3f} (lower on {better}, higher on "
        f"{sum(x > 1 for x in ratios)}); over {len(nets)} refitted networks "
        f"{geometric_mean(nets) if nets else float('nan'):.3f}. Rule (fixed before the run): "
        "refit by default if the ensemble's geometric mean is below 1.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="benchmark", choices=sorted(benchmark_series.SETS))
    parser.add_argument("--series", help="comma-separated names of the set (default all)")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    specs = benchmark_series.SETS[args.set]
    names = args.series.split(",") if args.series else list(specs)
    out = Path(args.out)
    results = {}
    for name in names:
        results[name] = run_series(name, specs[name], out)
        print(name, results[name], file=sys.stderr, flush=True)
        write_study(out, "choice", results, markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
