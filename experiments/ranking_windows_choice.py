"""More ranking windows: the calibration windows ranked on too, chosen on validation alone.

On a short series ``compare`` ranks and combines its candidates on a handful of validation
windows (5 on UK gas), keeping the last quarter of validation for the intervals'
calibration. This study asks whether ranking on both (twice the windows, at the price of
intervals calibrated on windows that also chose) gives a better pick. It reads the shifted
comparisons of ``experiments/refit_choice.py`` (each series cut at the end of its validation
part, the last validation-length steps a stand-in test part): each rule of
``experiments/ensemble_choice.py`` chooses on the ranking windows, or on the ranking and
calibration windows together, and is scored on the stand-in test part, over the best
classical model there in hindsight. Test parts of the benchmark are not read.

Decision rule, fixed before the run: rank on both if compare's rule (top-k 3-5) has a lower
geometric mean that way and matches or beats the best classical model on as many series.

Run: ``python experiments/ranking_windows_choice.py``; writes ``ranking_windows_choice.md``
and ``.json`` into ``experiments/results/choice_refit``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from benchmark_series import geometric_mean, write_study  # noqa: E402
from ensemble_choice import CLASSICAL, RULES, load, mase  # noqa: E402

from jaxseq import ensemble  # noqa: E402

RESULTS = Path("experiments/results/choice_refit")
CHOSEN = ("single", "top-k (2-5)", "top-k (3-5)", "pick: single or top-k (3-5)")
MODES = ("ranking windows", "ranking + calibration windows")


def study() -> dict:
    out = {}
    for folder in sorted(p.parent for p in RESULTS.glob("*/forecasts.npz")):
        d, c, t = load(folder, "valid"), load(folder, "calibrate"), load(folder, "test")
        names = [k for k in d["valid"] if k in c["valid"] and k in t["valid"]]
        pools = {
            MODES[0]: ({k: d["valid"][k] for k in names}, d["truth"]),
            MODES[1]: (
                {k: np.concatenate([d["valid"][k], c["valid"][k]], axis=1) for k in names},
                np.concatenate([d["truth"], c["truth"]], axis=0),
            ),
        }
        best = min(mase(t["valid"][k], t["truth"], d["scale"]) for k in CLASSICAL)
        row = {"windows": [len(d["truth"]), len(c["truth"])]}
        for rule in CHOSEN:
            for mode, (valid, truth) in pools.items():
                chosen = RULES[rule](valid, truth, d["scale"])
                score = mase(ensemble.combine(t["valid"], chosen.as_dict()), t["truth"], d["scale"])
                row[f"{rule}: {mode}"] = score / best
        out[folder.name] = row
    return out


def markdown(out: dict) -> str:
    keys = [f"{r}: {m}" for r in CHOSEN for m in MODES]
    lines = [
        "# Ranking on the calibration windows too, chosen on validation",
        "",
        "Shifted comparisons (`experiments/refit_choice.py`); each rule chooses on the ranking "
        "windows alone or on the ranking and calibration windows together and is scored on the "
        "stand-in test part: MASE over the best classical model's there (in hindsight). "
        "Validation windows only.",
        "",
        "| series | windows (ranking, calibration) | " + " | ".join(keys) + " |",
        "|---|---|" + "---|" * len(keys),
    ]
    for name, row in out.items():
        cells = " | ".join(f"{row[k]:.3f}" for k in keys)
        lines.append(f"| {name} | {row['windows'][0]}, {row['windows'][1]} | {cells} |")
    geo = " | ".join(f"{geometric_mean(r[k] for r in out.values()):.3f}" for k in keys)
    wins = " | ".join(f"{sum(r[k] <= 1 for r in out.values())} of {len(out)}" for k in keys)
    lines += [f"| geometric mean | | {geo} |", f"| matches or beats it | | {wins} |"]
    return "\n".join(lines) + "\n"


def main() -> int:
    out = study()
    write_study(RESULTS, "ranking_windows_choice", out, markdown(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
