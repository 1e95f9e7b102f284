"""Which classical models join the candidates: chosen on validation windows alone.

``compare`` ranks AutoETS, AutoARIMA and AutoTheta beside the networks and baselines. This
study asks whether more of statsforecast's models in the pool (AutoCES, complex exponential
smoothing; MSTL, a seasonal-trend decomposition with an AutoETS trend) give the ensemble a
better forecast. It reads the shifted comparisons of ``experiments/refit_choice.py`` (each
benchmark series cut at the end of its validation part, the last validation-length steps a
stand-in test part), fits each extra model once on the training part exactly as ``compare``
fits its classical models (:func:`jaxseq.baselines.fit_forward`'s protocol: fit on
``series[:train_end]``, ``forward`` from every origin), adds its forecasts to the pool, and
lets compare's rules choose on the ranking windows and be scored on the stand-in test part.
Test parts of the benchmark are not read.

The decision rule, fixed before the run: a pool replaces the current one as the default if
compare's pick (the best single candidate or the top-k (3-5) combination, whichever ranks
first) has a geometric mean of stand-in test MASE over the current pool's at most 0.99 and is
lower on at least half of the series.

Run: ``python experiments/classical_choice.py``. Writes ``classical_choice.md`` and ``.json``
into ``experiments/results/choice_refit``.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from benchmark_series import geometric_mean, write_study  # noqa: E402
from ensemble_choice import RULES, load, mase  # noqa: E402

from jaxseq import ensemble  # noqa: E402
from jaxseq.app import runs, workflow  # noqa: E402

RESULTS = Path("experiments/results/choice_refit")
EXTRA = ("auto_ces", "mstl")
POOLS = {
    "current": (),
    "+ auto_ces": ("auto_ces",),
    "+ mstl": ("mstl",),
    "+ auto_ces + mstl": ("auto_ces", "mstl"),
}
RULE = "pick: single or top-k (3-5)"


def make(name: str, season: int):
    from statsforecast.models import MSTL, AutoCES, AutoETS

    if name == "auto_ces":
        return AutoCES(season_length=season)
    if season > 1:
        return MSTL(season_length=season, trend_forecaster=AutoETS(model="ZZN"))
    return AutoETS(model="ZZN")  # no season to decompose: the trend model alone


def extra_forecasts(folder: Path) -> dict:
    """``{split: {name: [1, windows, horizon, targets]}}`` of every extra model, fitted once
    on the comparison's training part, forecast from its validation and test origins."""
    config = runs._parse_config(json.loads((folder / "best/config.json").read_text()), folder)
    data_path = folder.parent / "data" / f"{folder.name}.csv"
    series = workflow.load_for(config, str(data_path))
    values = np.asarray(series.values, np.float64)[:, config.target_indices]
    protocol = workflow.protocol_for(config, len(values))
    saved = np.load(folder / "forecasts.npz")
    out = {"valid": {}, "test": {}, "seconds": {}}
    for name in EXTRA:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for split in ("valid", "test"):
                origins = saved[f"{split}_origins"]
                columns = []
                for j in range(values.shape[1]):
                    model = make(name, config.season).fit(values[: protocol.train_end, j])
                    rows = [
                        model.forward(y=values[:o, j], h=config.horizon)["mean"] for o in origins
                    ]
                    columns.append(np.asarray(rows, np.float64))
                out[split][name] = np.stack(columns, axis=-1)[None]
        out["seconds"][name] = time.perf_counter() - start
    return out


def study() -> dict:
    results = {}
    for folder in sorted(p.parent for p in RESULTS.glob("*/forecasts.npz")):
        d, t = load(folder, "valid"), load(folder, "test")
        test = {k: v for k, v in t["valid"].items() if k in d["valid"]}
        extra = extra_forecasts(folder)
        classical = min(
            mase(test[c], t["truth"], d["scale"]) for c in ("auto_ets", "auto_arima", "auto_theta")
        )
        row = {"seconds": extra["seconds"], "alone": {}, "pools": {}}
        for name in EXTRA:
            row["alone"][name] = {
                "valid": mase(extra["valid"][name], d["truth"], d["scale"]),
                "test": mase(extra["test"][name], t["truth"], d["scale"]),
            }
        for pool, names in POOLS.items():
            valid = d["valid"] | {n: extra["valid"][n] for n in names}
            test_pool = test | {n: extra["test"][n] for n in names}
            chosen = RULES[RULE](valid, d["truth"], d["scale"])
            score = mase(ensemble.combine(test_pool, chosen.as_dict()), t["truth"], d["scale"])
            row["pools"][pool] = {
                "test_mase": score,
                "vs_best_classical": score / classical,
                "members": chosen.as_dict(),
            }
        results[folder.name] = row
        print(
            folder.name,
            {p: round(r["test_mase"], 4) for p, r in row["pools"].items()},
            file=sys.stderr,
            flush=True,
        )
    return results


def markdown(results: dict) -> str:
    pools = list(POOLS)
    lines = [
        "# More classical models in the pool, chosen on validation",
        "",
        "The shifted comparisons of `experiments/refit_choice.py` (each series cut at the end of its "
        f"validation part). Rule: compare's pick ({RULE}), chosen on the ranking windows, scored on "
        "the stand-in test part (MASE of the forecast issued). Each extra model fitted once on the "
        "training part and forecast from every origin, as compare's classical models are. "
        "Validation windows only; the benchmark's test parts not read.",
        "",
        "| series | "
        + " | ".join(f"{p}: MASE" for p in pools)
        + " | "
        + " | ".join(f"{n} alone: valid / test MASE" for n in EXTRA)
        + " |",
        "|---|" + "---|" * (len(pools) + len(EXTRA)),
    ]
    for name, row in results.items():
        cells = [f"{row['pools'][p]['test_mase']:.3f}" for p in pools]
        cells += [f"{row['alone'][n]['valid']:.3f} / {row['alone'][n]['test']:.3f}" for n in EXTRA]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| pool | geometric mean over the current pool | lower on | over the best classical "
        "in hindsight | matches or beats it on |",
        "|---|---|---|---|---|",
    ]
    for pool in pools:
        ratios = [
            r["pools"][pool]["test_mase"] / r["pools"]["current"]["test_mase"]
            for r in results.values()
        ]
        vs = [r["pools"][pool]["vs_best_classical"] for r in results.values()]
        lines.append(
            f"| {pool} | {geometric_mean(ratios):.3f} | {sum(x < 1 for x in ratios)} of "
            f"{len(ratios)} | {geometric_mean(vs):.3f} | {sum(x <= 1 for x in vs)} of {len(vs)} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    results = study()
    write_study(RESULTS, "classical_choice", results, markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
