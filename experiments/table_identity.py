"""Are two runs of the chapter's table the same, row by row and bit by bit?

Compares the ``results`` of two ``results.json`` files (``jaxseq experiments --out``): for each
model, every seed's value and the test mean, as stored (floats written by ``json``: equal text
is equal bits). Used to check a refactor of the pipeline changed no number.

Run: ``python experiments/table_identity.py NEW/results.json [--reference
experiments/results/results.json] [--out experiments/results/table_identity.md]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).parent


def rows(path: Path) -> dict[str, dict]:
    return {r["model"]: r for r in json.loads(path.read_text())["results"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("new")
    parser.add_argument("--reference", default=str(HERE / "results" / "results.json"))
    parser.add_argument("--label", default="", help="what the new run is (a commit)")
    parser.add_argument("--out", default=str(HERE / "results" / "table_identity.md"))
    args = parser.parse_args(argv)
    new, old = rows(Path(args.new)), rows(Path(args.reference))
    lines = [
        "# The chapter's table: a new run against the committed one",
        "",
        f"New run: {args.label or args.new}. Reference: `{Path(args.reference).name}` as "
        "committed. A row is identical when every seed's value and the test mean are equal as "
        "stored.",
        "",
        "| model | seeds | identical |",
        "|---|---|---|",
    ]
    same = 0
    for name in old:
        a, b = old[name], new.get(name)
        equal = b is not None and (a["values"], a.get("test_mean")) == (
            b["values"],
            b.get("test_mean"),
        )
        same += equal
        lines.append(f"| {name} | {len(a['values'])} | {'yes' if equal else '**no**'} |")
    lines += ["", f"{same} of {len(old)} rows identical; rows only in the new run: "
              f"{sorted(set(new) - set(old)) or 'none'}.", ""]  # fmt: skip
    Path(args.out).write_text("\n".join(lines))
    print(lines[-2])
    return 0 if same == len(old) and set(new) == set(old) else 1


if __name__ == "__main__":
    raise SystemExit(main())
