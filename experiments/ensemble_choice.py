"""How to combine: choosing the ensemble's rule on the validation part alone.

``compare`` writes every candidate's forecasts at every validation and test origin
(``forecasts.npz``). This study reads the benchmark's, splits each series' validation origins
in time into a first half (*selection*) and a second half (*check*), lets each rule choose its
combination on the selection half (:func:`jaxseq.ensemble.choose`, or the rule's own
choice), and scores it on the check half, where nothing was chosen. The rule with the lowest
check-half error over the series (geometric mean of its MASE over the best single candidate's
chosen on the selection half) becomes ``compare``'s default, fixed before any test part is
read. Test scores are not read.

Rules:

- ``single``: the best candidate alone;
- ``top-k``: the best ``k`` of all candidates, ``k`` and equal / inverse-error weights chosen
  on the selection half (``ks`` as given);
- ``families``: the best network, the best classical model and the best simple baseline
  (naive, seasonal naive, drift, least squares): every subset of them, equal or inverse
  weights, chosen on the selection half;
- ``net+classical``: the equal mean of the best network and the best classical model;
- ``top-3 nets + classical``: the mean of the best three networks, averaged equally with the
  best classical model;
- ``classical mean``: the equal mean of AutoETS, AutoARIMA and AutoTheta (nothing chosen);
- ``classical mean + nets(k)``: that mean and the mean of the best ``k`` networks, equal
  halves, ``k`` chosen (0 allowed, or at least 1);
- ``top-k (3-5) + classical mean``: the chosen top-k combination and the classical mean,
  equal halves.

Run on a benchmark whose networks stopped early on the first half of validation (``compare``'s
``stop_on``), the validation origins it reads are the second half, on which nothing chose an
epoch; the selection and check halves are then halves of that.

Run: ``python experiments/ensemble_choice.py [--results experiments/results/benchmark]``.
Writes ``ensemble_choice.md`` and ``.json`` into the results folder.

``--shifted``: read the comparisons of ``experiments/refit_choice.py`` instead (each series cut
at the end of its validation part, the last validation-length steps a stand-in test part):
each rule chooses on the comparison's ranking windows and is scored on its stand-in test part,
so the gap between the two is the one a real test part has (validation windows only; the
ensemble's networks there are refitted, the other networks as trained once). Writes
``ensemble_choice_shifted.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from benchmark_series import geometric_mean, write_study  # noqa: E402

from jaxseq import baselines, ensemble, metrics  # noqa: E402

SIMPLE = baselines.BASELINES
CLASSICAL = baselines.CLASSICAL


def load(folder: Path, part: str = "valid") -> dict:
    """``{name: [seeds, windows, horizon, targets]}`` forecasts at the ``part`` origins, the
    truth and the MASE scale of one comparison (its ``compare.json`` and ``forecasts.npz``)."""
    result = json.loads((folder / "compare.json").read_text())
    saved = np.load(folder / "forecasts.npz")
    forecasts = {
        key.split("/", 1)[1]: saved[key].astype(np.float64)
        for key in saved.files
        if key.startswith(f"{part}/") and not key.endswith("/quantiles")
    }
    forecasts.pop("ensemble", None)
    rows = {r["model"]: r for r in result["rows"]}
    # MASE = MAE / scale: the scale from any row's issued scores
    row = rows["naive"]["valid"]["issued"]
    scale = row["mae"] / row["mase"]
    truth = saved[f"{part}_truth"].astype(np.float64)
    return {"valid": forecasts, "truth": truth, "scale": [scale]}


def family(name: str) -> str:
    if name in CLASSICAL:
        return "classical"
    if name in SIMPLE:
        return "simple"
    return "network"


def mase(forecast, truth, scale) -> float:
    return metrics.score(ensemble.issued(forecast), truth, scale)["mase"]


def choose_families(valid, truth, scale) -> ensemble.Combination:
    """Every subset of {best network, best classical, best simple}, equal or inverse weights."""
    score = {n: mase(f, truth, scale) for n, f in valid.items()}
    best = {}
    for n in sorted(score, key=score.get):
        best.setdefault(family(n), n)
    options = []
    picks = list(best.values())
    for r in range(1, len(picks) + 1):
        for subset in itertools.combinations(picks, r):
            c = ensemble.choose({n: valid[n] for n in subset}, truth, scale, ks=(r,))
            options.append(c)
    return min(options, key=lambda c: (c.valid_mase, len(c.members)))


def fixed(valid, truth, scale, networks: int) -> ensemble.Combination:
    score = {n: mase(f, truth, scale) for n, f in valid.items()}
    nets = sorted((n for n in score if family(n) == "network"), key=score.get)[:networks]
    classical = sorted((n for n in score if family(n) == "classical"), key=score.get)[:1]
    weights = {n: 0.5 / len(nets) for n in nets}
    weights.update({n: 0.5 for n in classical})
    if not classical or not nets:
        weights = {n: 1 / len(nets or classical) for n in nets or classical}
    total = sum(weights.values())
    members = tuple(weights)
    return ensemble.Combination(members, tuple(weights[m] / total for m in members), "fixed", 0.0)


def nets_and_classical(valid, truth, scale) -> ensemble.Combination:
    """The mean of the best ``k`` networks (``k`` of 1, 2, 3, 5) and the best classical model,
    the two groups weighted equally or by inverse error: chosen on validation."""
    score = {n: mase(f, truth, scale) for n, f in valid.items()}
    nets = sorted((n for n in score if family(n) == "network"), key=score.get)
    classical = sorted((n for n in score if family(n) == "classical"), key=score.get)[:1]
    options = []
    for k in (1, 2, 3, 5):
        group = nets[:k]
        if not group or not classical:
            continue
        net_mean = np.mean([ensemble.issued(valid[n]) for n in group], axis=0)
        group_score = metrics.score(net_mean, truth, scale)["mase"]
        for how in ("equal", "inverse"):
            a = (
                0.5
                if how == "equal"
                else (1 / group_score) / (1 / group_score + 1 / score[classical[0]])
            )
            weights = {n: a / k for n in group} | {classical[0]: 1 - a}
            combined = mase(ensemble.combine(valid, weights), truth, scale)
            options.append(
                ensemble.Combination(tuple(weights), tuple(weights.values()), how, combined)
            )
    if not options:
        return ensemble.choose(valid, truth, scale, ks=(1,))
    return min(options, key=lambda c: c.valid_mase)


def classical_mean(valid, truth, scale) -> ensemble.Combination:
    """The equal mean of the classical models (AutoETS, AutoARIMA, AutoTheta): no choice."""
    members = tuple(n for n in CLASSICAL if n in valid)
    if not members:
        return ensemble.choose(valid, truth, scale, ks=(1,))
    weights = {n: 1 / len(members) for n in members}
    score = mase(ensemble.combine(valid, weights), truth, scale)
    return ensemble.Combination(members, tuple(weights.values()), "equal", score)


def classical_mean_and_nets(valid, truth, scale, ks=(0, 1, 2, 3, 5)) -> ensemble.Combination:
    """The classical mean as one half and the mean of the best ``k`` networks as the other
    (``k = 0``: the classical mean alone), ``k`` chosen on validation."""
    score = {n: mase(f, truth, scale) for n, f in valid.items()}
    nets = sorted((n for n in score if family(n) == "network"), key=score.get)
    classical = [n for n in CLASSICAL if n in valid]
    if not classical:
        return ensemble.choose(valid, truth, scale, ks=(1,))
    options = []
    for k in ks:
        group = nets[:k]
        share = 0.5 if group else 0.0
        weights = {n: (1 - share) / len(classical) for n in classical}
        weights |= {n: share / len(group) for n in group}
        combined = mase(ensemble.combine(valid, weights), truth, scale)
        options.append(
            ensemble.Combination(tuple(weights), tuple(weights.values()), "equal", combined)
        )
    return min(options, key=lambda c: (c.valid_mase, len(c.members)))


def top_k_with_classical(valid, truth, scale) -> ensemble.Combination:
    """The top-k (3-5) combination and the classical mean, equal halves."""
    top = ensemble.choose(valid, truth, scale, ks=(3, 4, 5)).as_dict()
    classical = [n for n in CLASSICAL if n in valid]
    weights = {n: 0.5 * w for n, w in top.items()}
    for n in classical:
        weights[n] = weights.get(n, 0.0) + 0.5 / len(classical)
    combined = mase(ensemble.combine(valid, weights), truth, scale)
    return ensemble.Combination(tuple(weights), tuple(weights.values()), "equal", combined)


def pick(ks):
    """compare's pick: the best single candidate or the top-k combination (``k`` in ``ks``),
    whichever has the lower validation MASE."""

    def rule(v, t, s):
        return min(
            ensemble.choose(v, t, s, ks=(1,)),
            ensemble.choose(v, t, s, ks=ks),
            key=lambda c: c.valid_mase,
        )

    return rule


RULES = {
    "single": lambda v, t, s: ensemble.choose(v, t, s, ks=(1,)),
    "top-k (1-5)": lambda v, t, s: ensemble.choose(v, t, s, ks=(1, 2, 3, 4, 5)),
    "top-k (1-10)": lambda v, t, s: ensemble.choose(v, t, s, ks=tuple(range(1, 11))),
    "top-k (2-5)": lambda v, t, s: ensemble.choose(v, t, s, ks=(2, 3, 4, 5)),
    "top-k (3-5)": lambda v, t, s: ensemble.choose(v, t, s, ks=(3, 4, 5)),
    "top-k (3-7)": lambda v, t, s: ensemble.choose(v, t, s, ks=(3, 4, 5, 6, 7)),
    "top-k (5-10)": lambda v, t, s: ensemble.choose(v, t, s, ks=tuple(range(5, 11))),
    "pick: single or top-k (3-5)": pick((3, 4, 5)),
    "families": choose_families,
    "net+classical": lambda v, t, s: fixed(v, t, s, 1),
    "top-3 nets + classical": lambda v, t, s: fixed(v, t, s, 3),
    "nets(k) + classical, chosen": nets_and_classical,
    "classical mean": classical_mean,
    "classical mean + nets(k), chosen": classical_mean_and_nets,
    "classical mean + nets(k>=1), chosen": lambda v, t, s: classical_mean_and_nets(
        v, t, s, ks=(1, 2, 3, 5)
    ),
    "top-k (3-5) + classical mean": top_k_with_classical,
}


def study(results: Path) -> dict:
    out = {}
    for folder in sorted(p.parent for p in results.glob("*/forecasts.npz")):
        d = load(folder)
        n = len(d["truth"])
        half = n // 2
        first = {k: v[:, :half] for k, v in d["valid"].items()}
        second = {k: v[:, half:] for k, v in d["valid"].items()}
        t1, t2 = d["truth"][:half], d["truth"][half:]
        single = RULES["single"](first, t1, d["scale"])
        reference = mase(ensemble.combine(second, single.as_dict()), t2, d["scale"])
        row = {}
        for rule, choose in RULES.items():
            c = choose(first, t1, d["scale"])
            check = mase(ensemble.combine(second, c.as_dict()), t2, d["scale"])
            row[rule] = {"check_mase": check, "ratio": check / reference, "members": c.as_dict()}
        out[folder.name] = row
    return out


def study_shifted(results: Path) -> dict:
    """Each rule chosen on a shifted comparison's ranking windows, scored on its stand-in
    test part, over the best single candidate chosen the same way (module docstring)."""
    out = {}
    for folder in sorted(p.parent for p in results.glob("*/forecasts.npz")):
        d, t = load(folder, "valid"), load(folder, "test")
        test = {k: v for k, v in t["valid"].items() if k in d["valid"]}
        single = RULES["single"](d["valid"], d["truth"], d["scale"])
        reference = mase(ensemble.combine(test, single.as_dict()), t["truth"], d["scale"])
        # the lowest stand-in test MASE of the classical models, chosen in hindsight
        classical = min(mase(test[c], t["truth"], d["scale"]) for c in CLASSICAL if c in test)
        row = {}
        for rule, choose in RULES.items():
            c = choose(d["valid"], d["truth"], d["scale"])
            check = mase(ensemble.combine(test, c.as_dict()), t["truth"], d["scale"])
            row[rule] = {
                "check_mase": check,
                "ratio": check / reference,
                "vs_best_classical": check / classical,
                "members": c.as_dict(),
            }
        out[folder.name] = row
    return out


def classical_markdown(out: dict) -> list[str]:
    """Per rule, its stand-in test MASE over the best classical model's in hindsight."""
    lines = [
        "",
        "Against the best classical model on the same stand-in test part (chosen in hindsight):",
        "",
        "| rule | geometric mean rule / best classical | series where the rule matches or beats it |",
        "|---|---|---|",
    ]
    for rule in RULES:
        ratios = [row[rule]["vs_best_classical"] for row in out.values()]
        wins = sum(r <= 1 for r in ratios)
        lines.append(f"| {rule} | {geometric_mean(ratios):.3f} | {wins} of {len(ratios)} |")
    return lines


SHIFTED = (
    "Each rule chooses on a shifted comparison's ranking windows (`experiments/refit_choice.py`: "
    "the series cut at the end of its validation part) and is scored on its stand-in test part "
    "(MASE of the forecast issued), over the best single candidate chosen the same way. "
    "Validation windows only; test parts not read."
)


def markdown(out: dict, note: str | None = None) -> str:
    rules = list(RULES)
    lines = [
        "# The ensemble's rule, chosen on validation",
        "",
        note
        or "Each rule chooses on the first half of a series' validation origins and is scored on "
        "the second half (MASE of the forecast issued), over the best single candidate chosen "
        "on the first half. Test parts not read.",
        "",
        "| series | " + " | ".join(rules) + " |",
        "|---|" + "---|" * len(rules),
    ]
    for name, row in out.items():
        lines.append(f"| {name} | " + " | ".join(f"{row[r]['ratio']:.3f}" for r in rules) + " |")
    geo = {r: geometric_mean(row[r]["ratio"] for row in out.values()) for r in rules}
    lines.append("| geometric mean | " + " | ".join(f"{geo[r]:.3f}" for r in rules) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=None)
    parser.add_argument("--shifted", action="store_true", help="module docstring")
    args = parser.parse_args(argv)
    if args.shifted:
        results = Path(args.results or "experiments/results/choice_refit")
        out = study_shifted(results)
        table = markdown(out, SHIFTED) + "\n".join(classical_markdown(out)) + "\n"
        write_study(results, "ensemble_choice_shifted", out, table)
        return 0
    results = Path(args.results or "experiments/results/benchmark")
    out = study(results)
    write_study(results, "ensemble_choice", out, markdown(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
