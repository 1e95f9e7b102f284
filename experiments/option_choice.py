"""Choosing one of ``compare``'s training options on validation: the hybrid base, the
learning-rate schedule, the normalisation, the training loss, the batch size.

On each benchmark series (``benchmark_series.py``), a few networks of different kinds train
with ``compare``'s defaults and one option set to each of its values (``--option base``:
plain, ``none``, and hybrids over each base model, :mod:`jaxseq.hybrid`; ``--option
schedule``: constant, cosine, plateau; ``--option normalize``: window, series, none;
``--option loss``: mse, mae; ``--option batch_size``: 32, 16, 64; ``--option clip_norm``:
none, 1.0). The
validation MASE of each network's issued forecast
(the seeds' average) is compared with that under the first value; another value becomes
``compare``'s default only if it lowers the networks' validation error on the benchmark
(geometric mean over series and models of its MASE over the first value's below 1), the rule
fixed before the run. Test scores are not read.

Run: ``python experiments/option_choice.py --option base --values none,auto_ets`` (or
``--option schedule --values constant,cosine,plateau``); ``--pooled FOLDER ...`` gives the
geometric mean over the series of several finished studies. Writes ``scores.json`` and
``choice.md`` into ``experiments/results/choice_OPTION`` (or ``--out``); values already in its
``scores.json`` are not run again.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import benchmark_series  # noqa: E402
from benchmark_series import geometric_mean  # noqa: E402

MODELS = ("linear_multi", "gru_seq2seq", "wavenet", "encoder_decoder")
VALUES = {
    "base": ("none", "seasonal_naive", "auto_ets", "auto_theta"),
    "schedule": ("constant", "cosine", "plateau"),
    "loss": ("mse", "mae"),
    "normalize": ("window", "series", "none"),
    "batch_size": ("32", "16", "64"),
    "clip_norm": ("none", "1.0"),
}
#: options whose values are counts (given and stored as text, passed as integers)
COUNTS = ("batch_size",)


def _value(option: str, value: str):
    """A value as ``compare`` takes it (values are given and stored as text)."""
    if option in COUNTS:
        return int(value)
    if option == "clip_norm":
        return None if value == "none" else float(value)
    return value


def run(out: Path, name: str, spec, option: str, value: str, models) -> dict:
    """Each network's validation MASE (forecast issued) with ``option=value``."""
    from jaxseq.app import compare

    path = spec.write_csv(out / "data" / f"{name}.csv")
    result = compare.compare(
        str(path),
        column=spec.column,
        **spec.settings,
        models=list(models),
        classical=False,
        combine=False,
        **{option: _value(option, value)},
    )
    return {r["model"]: r["valid"]["issued"]["mase"] for r in result["rows"] if r["kind"] == "zoo"}


def markdown(scores: dict, option: str, values) -> str:
    lines = [
        f"# `{option}` on validation",
        "",
        f"Validation MASE of each network's forecast issued with `{option}` set to a value, "
        f"over its MASE with `{values[0]}` (below 1: better). Geometric mean over the "
        "networks per series, and over everything in the last row.",
        "",
        "| series | " + " | ".join(values[1:]) + " |",
        "|---|" + "---|" * (len(values) - 1),
    ]
    every: dict[str, list] = {b: [] for b in values[1:]}
    for name, per_base in scores.items():
        plain = per_base[values[0]]
        cells = []
        for b in every:
            ratios = [per_base[b][m] / plain[m] for m in plain if m in per_base.get(b, {})]
            every[b] += ratios
            cells.append(f"{geometric_mean(ratios):.3f}" if ratios else "-")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append(
        "| all | "
        + " | ".join(f"{geometric_mean(r):.3f}" if r else "-" for r in every.values())
        + " |"
    )
    return "\n".join(lines) + "\n"


def pooled(folders, values) -> dict[str, float]:
    """The geometric mean, over every series and network of several studies' ``scores.json``,
    of each value's validation MASE over the first value's."""
    ratios: dict[str, list] = {v: [] for v in values[1:]}
    for folder in folders:
        for per_value in json.loads((Path(folder) / "scores.json").read_text()).values():
            if not all(v in per_value for v in values):
                continue
            first = per_value[values[0]]
            for v in ratios:
                ratios[v] += [per_value[v][m] / first[m] for m in first if m in per_value[v]]
    return {v: geometric_mean(r) for v, r in ratios.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--option", choices=sorted(VALUES), required=True)
    parser.add_argument("--values", help="comma-separated, the reference first (default all)")
    parser.add_argument("--set", default="benchmark", choices=sorted(benchmark_series.SETS))
    parser.add_argument("--series", help="comma-separated series of the set (default all)")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--out", help="results folder (default experiments/results/choice_OPTION)")
    parser.add_argument(
        "--pooled",
        nargs="+",
        metavar="FOLDER",
        help="print the geometric mean over several finished studies' series and stop",
    )
    args = parser.parse_args(argv)
    if args.pooled:
        values = args.values.split(",") if args.values else list(VALUES[args.option])
        for value, mean in pooled(args.pooled, values).items():
            print(f"{value} / {values[0]}: {mean:.3f} over {', '.join(args.pooled)}")
        return 0
    specs = benchmark_series.SETS[args.set]
    names = args.series.split(",") if args.series else list(specs)
    values = args.values.split(",") if args.values else list(VALUES[args.option])
    out = Path(args.out or f"experiments/results/choice_{args.option}")
    store = out / "scores.json"
    scores = json.loads(store.read_text()) if store.exists() else {}
    for name in names:
        for value in values:
            if value in scores.get(name, {}):
                continue
            spec = specs[name]
            models = args.models.split(",")
            scores.setdefault(name, {})[value] = run(out, name, spec, args.option, value, models)
            store.parent.mkdir(parents=True, exist_ok=True)
            store.write_text(json.dumps(scores, indent=1))
            print(f"{name} {value}: {scores[name][value]}", file=sys.stderr)
    table = markdown(
        {n: scores[n] for n in names if len(scores[n]) == len(values)}, args.option, values
    )
    (out / "choice.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
