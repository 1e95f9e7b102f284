"""``normalize="auto"`` against ``"window"`` and ``"series"`` everywhere, on validation.

The rule (:func:`jaxseq.normalize.resolve_mode`, fixed before this was run): ``"window"`` where
more than a quarter of the values the early stopping reads after the training part (the
targets of the first half of the validation origins) lie outside the training part's range,
else ``"series"``. Read here: the networks' validation MASE under each fixed mode, from
``option_choice.py --option normalize --values window,series`` on the benchmark's short series
(``results/choice_normalize``) and on the tuning series (``--set tuning``,
``results/choice_normalize_tuning``). The rule becomes ``compare``'s default only if its
geometric mean over series (of the networks' geometric mean, over ``window``) is below both
fixed modes'. Test parts are not read.

Run: ``python experiments/normalize_auto_choice.py`` (writes ``results/choice_normalize_auto``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import benchmark_series  # noqa: E402
from benchmark_series import geometric_mean, write_study  # noqa: E402

RESULTS = Path(__file__).parent / "results"
SOURCES = {"choice_normalize": "benchmark", "choice_normalize_tuning": "tuning"}


def shares() -> dict:
    """Per series: its set, the rule's out-of-range share and choice, and the networks'
    validation MASE under series over window (geometric mean over networks)."""
    from jaxseq import normalize as norm
    from jaxseq.data import make_protocol

    rows = {}
    for folder, set_name in SOURCES.items():
        scores = json.loads((RESULTS / folder / "scores.json").read_text())
        specs = benchmark_series.SETS[set_name]
        for name, by_mode in scores.items():
            spec = specs[name]
            values = spec.load()[spec.column].to_numpy(float)
            protocol = make_protocol(
                len(values),
                window=spec.window,
                horizon=spec.horizon,
                valid_size=spec.valid_size,
                test_size=spec.test_size,
            ).halved()  # compare's: the networks stop early on the first half
            train = values[: protocol.train_end]
            valid = values[protocol.train_end : protocol.stopping_end()]
            window, series = by_mode["window"], by_mode["series"]
            rows[name] = {
                "set": set_name,
                "out_of_range": norm.out_of_range_share(train, valid),
                "auto": norm.resolve_mode("auto", train, valid),
                "series_over_window": geometric_mean(series[m] / window[m] for m in window),
            }
    return rows


def markdown(rows: dict, summary: dict) -> str:
    lines = [
        '# `normalize="auto"` on validation',
        "",
        "Networks' validation MASE (forecast issued; geometric mean over linear_multi, "
        "gru_seq2seq, wavenet, encoder_decoder) with `series` over `window`, and the mode "
        "the auto rule takes: `window` where more than 25% of the values the early stopping "
        "reads after the training part (the first half of the validation origins' targets) "
        "lie outside the training part's range. Test parts not read.",
        "",
        "| series | set | stopping targets outside training range | auto takes | series / window |",
        "|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['set']} | {r['out_of_range']:.0%} | {r['auto']} | "
            f"{r['series_over_window']:.3f} |"
        )
    lines += [
        "",
        f"Geometric mean over {len(rows)} series, over `window` everywhere: `series` "
        f"everywhere {summary['series']:.3f}, `auto` {summary['auto']:.3f} (window 1.000). "
        f"Default: `{summary['default']}`.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    rows = shares()
    ratio = {
        "series": geometric_mean(r["series_over_window"] for r in rows.values()),
        "auto": geometric_mean(
            r["series_over_window"] if r["auto"] == "series" else 1.0 for r in rows.values()
        ),
    }
    best = min(
        ("window", 1.0), ("series", ratio["series"]), ("auto", ratio["auto"]), key=lambda kv: kv[1]
    )
    summary = {**ratio, "window": 1.0, "default": best[0]}
    out = RESULTS / "choice_normalize_auto"
    out.mkdir(parents=True, exist_ok=True)
    write_study(out, "choice", {"series": rows, "summary": summary}, markdown(rows, summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
