"""Do the networks lose on test because they are frozen at the end of the training part?

For every network member of each benchmark series' picked ensemble (``best/members``), the
test MASE (mean over seeds) of ``jaxseq evaluate`` as ``compare`` scored it (trained once on
the training part) and with ``--refit-every H`` (retrained, with its stopping rule, on all data
before each block of ``H`` test origins; ``H`` the horizon), beside the classical models' test
MASE from the same commands (fitted on the training part and filtered forward; refitted on the
networks' schedule and data with ``--refit-every``). A diagnostic of
the validation-to-test drift in docs/forecasting.md; nothing is chosen from it.

Run: ``python experiments/refit_check.py [--results experiments/results/benchmark]
[--series a,b]``; writes ``refit_check.md`` and ``.json`` into the folder. Needs the run
folders ``make real-series`` leaves (not committed).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from benchmark_series import geometric_mean, write_study  # noqa: E402

from jaxseq import baselines  # noqa: E402
from jaxseq.app.cli import main as jaxseq  # noqa: E402


def test_mase(run: Path, refit: int | None) -> dict:
    """``{name: mean test MASE over seeds}`` of ``jaxseq evaluate run``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "evaluate.json"
        args = ["evaluate", str(run), "--out", str(out)]
        args += ["--refit-every", str(refit)] if refit else []
        if jaxseq(args) != 0:
            raise SystemExit(f"jaxseq evaluate {run} failed")
        result = json.loads(out.read_text())
    return {name: s["mase"]["mean"] for name, s in result["test"]["rows"].items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="experiments/results/benchmark")
    parser.add_argument("--series", help="comma-separated (default: every series with best/)")
    args = parser.parse_args(argv)
    results = Path(args.results)
    names = args.series.split(",") if args.series else None
    out: dict = {}
    for members in sorted(results.glob("*/best/members")):
        name = members.parent.parent.name
        if names and name not in names:
            continue
        horizon = json.loads((members.parent / "config.json").read_text())["horizon"]
        rows = {}
        for run in sorted(p for p in members.iterdir() if (p / "config.json").exists()):
            if json.loads((run / "config.json").read_text()).get("kind") != "network":
                continue
            once, refit = test_mase(run, None), test_mase(run, horizon)
            rows[run.name] = {"once": once[run.name], "refit": refit[run.name]}
            classical = {k: v for k, v in once.items() if k in baselines.CLASSICAL}
            classical_refit = {k: v for k, v in refit.items() if k in baselines.CLASSICAL}
        if rows:
            out[name] = {
                "horizon": horizon,
                "networks": rows,
                "classical": classical,
                "classical_refit": classical_refit,
            }
    lines = [
        "# Networks refit before each block of test origins",
        "",
        "Test MASE (mean over seeds) of each network member of the pick: trained once on the "
        "training part, and retrained on all data before every `horizon` test origins; the "
        "best classical model's test MASE fitted once on the training part, and refitted on "
        "the networks' schedule and data (`jaxseq evaluate --refit-every`).",
        "",
        "| series | network | once | refit | refit / once | best classical once | "
        "best classical refit | refit network / refit classical |",
        "|---|---|---|---|---|---|---|---|",
    ]
    ratios, against = [], []
    for name, d in out.items():
        best = min(d["classical"].items(), key=lambda kv: kv[1]) if d["classical"] else None
        refit = d.get("classical_refit") or {}
        best_refit = min(refit.items(), key=lambda kv: kv[1]) if refit else None
        for net, r in d["networks"].items():
            ratios.append(r["refit"] / r["once"])
            if best_refit:
                against.append(r["refit"] / best_refit[1])
            lines.append(
                f"| {name} | {net} | {r['once']:.3f} | {r['refit']:.3f} | "
                f"{r['refit'] / r['once']:.3f} | "
                + (f"{best[1]:.3f} ({best[0]}) | " if best else "- | ")
                + (
                    f"{best_refit[1]:.3f} ({best_refit[0]}) | {r['refit'] / best_refit[1]:.3f} |"
                    if best_refit
                    else "- | - |"
                )
            )
    if ratios:
        geo = geometric_mean(ratios)
        lines += ["", f"Geometric mean of refit / once over {len(ratios)} networks: {geo:.3f}."]
    if against:
        lines += [
            f"Refit network / best refit classical (chosen in hindsight): geometric mean "
            f"{geometric_mean(against):.3f}, below 1 for {sum(a < 1 for a in against)} of "
            f"{len(against)}."
        ]
    write_study(results, "refit_check", out, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
