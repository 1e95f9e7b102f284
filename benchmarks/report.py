"""Shared by the studies in benchmarks/: where their results go and the markdown report.

Timing itself is :mod:`jaxseq.bench.timing` (the one timer of the bench and the studies).
"""

from __future__ import annotations

from pathlib import Path

import jax

#: ``benchmarks/results/``, found from this file, whatever the current folder.
RESULTS = Path(__file__).resolve().parent / "results"


def result_path(name: str) -> Path:
    """The default output file ``benchmarks/results/<name>``."""
    return RESULTS / name


INTERLEAVED = "medians of interleaved runs, ratios = median of per-round ratios."


def write_report(
    out: Path, title: str, command: str, sections: list[str], note: str = INTERLEAVED
) -> str:
    """Print and write a markdown report: title, the command, machine and ``note``, then
    ``sections``."""
    text = "\n".join(
        [
            f"# {title}",
            "",
            f"`{command}` on {jax.devices()[0].device_kind}, jax {jax.__version__}; {note}",
            "",
            *sections,
            "",
        ]
    )
    print(text)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"wrote {out}")
    return text
