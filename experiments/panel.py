"""One global model on many series (:mod:`jaxseq.app.panel.training`), on two panels.

* **chapter**: the chapter's 10,000 synthetic series (``data.generate_time_series(10000, 80,
  seed=42)``) as a panel: each series has its own protocol (window 50, horizon 10, the last 10
  steps for test and the 10 before for validation, so one training window per series, as the
  chapter's split has one example per series), its own scaler, window normalisation inside
  the model; one ``lstm_seq2seq`` on all of them, against seasonal naive (season 1: naive).
* **macrodata**: the 12 quarterly US macro series of statsmodels' ``macrodata`` (1959-2009,
  203 quarters) as a panel by column (``panel_table.from_columns``), window 16, horizon 4, 20
  validation and 20 test quarters, season 4; the global model against seasonal naive and
  against one model per series (same settings and seeds, :func:`panel_training.fit_local`).
* both panels again with a quantile head (0.1, 0.5, 0.9): the global model's 80% interval on
  the test part, raw and calibrated on every series' validation windows at once.

Writes ``panel.md``, ``panel.json`` (aggregates; macrodata per series) and
``chapter_per_series.csv`` (test MASE of each of the 10,000 series) to the output folder.

Run: ``python experiments/panel.py [OUT]`` (default ``experiments/results/panel/``); a few
minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from jaxseq import data
from jaxseq.app import io
from jaxseq.app.panel import scores as panel_scores
from jaxseq.app.panel import table as panel_table
from jaxseq.app.panel import training as panel_training

QUANTILES = (0.1, 0.5, 0.9)
MACRO_COLUMNS = (
    "realgdp",
    "realcons",
    "realinv",
    "realgovt",
    "realdpi",
    "cpi",
    "m1",
    "tbilrate",
    "unemp",
    "pop",
    "infl",
    "realint",
)


def macro_panel() -> panel_table.Panel:
    """statsmodels' macrodata, one series per column, on its quarterly dates."""
    import statsmodels.api as sm

    frame = sm.datasets.macrodata.load_pandas().data
    dates = [
        f"{int(y)}-{3 * int(q) - 2:02d}-01" for y, q in zip(frame.year, frame.quarter, strict=True)
    ]
    wide = pd.DataFrame({"date": dates, **{c: frame[c].values for c in MACRO_COLUMNS}})
    return panel_table.from_columns(io.load_series(wide, list(MACRO_COLUMNS), time_column="date"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="experiments/results/panel")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--chapter-epochs", type=int, default=10)
    parser.add_argument("--macro-epochs", type=int, default=30)
    parser.add_argument("--model", default="lstm_seq2seq")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    def fit(the_panel, *, window, horizon, held_out, epochs, head=None):
        return panel_training.fit_panel(
            the_panel,
            model=args.model,
            window=window,
            horizon=horizon,
            valid_size=held_out,
            test_size=held_out,
            seeds=args.seeds,
            epochs=epochs,
            head=head,
        )

    chapter_panel = panel_table.from_arrays(data.generate_time_series(10_000, 80, seed=42))
    chapter_settings = dict(window=50, horizon=10, held_out=10, epochs=args.chapter_epochs)
    macro_settings = dict(window=16, horizon=4, held_out=20, epochs=args.macro_epochs)

    print("chapter: 10,000 series", flush=True)
    chapter = fit(chapter_panel, **chapter_settings)
    print("macrodata: 12 series, global then one model per series", flush=True)
    macro = fit(macro_panel(), **macro_settings)
    local = panel_training.fit_local(macro)
    print("both panels again with a quantile head: raw and calibrated intervals", flush=True)
    chapter_q = fit(chapter_panel, **chapter_settings, head=QUANTILES)
    macro_q = fit(macro_panel(), **macro_settings, head=QUANTILES)

    text = panel_scores.markdown(
        {"global model": chapter},
        title="The chapter's 10,000 series, one global model",
        note=f"{args.chapter_epochs} epochs (the chapter trains 20) to keep the run short.",
    )
    text += "\n" + panel_scores.markdown(
        {"global model": macro, "one model per series": local},
        title="statsmodels macrodata (12 quarterly series), global against local",
    ).replace("# ", "## ", 1)
    calibrated = (
        f"A quantile head ({', '.join(map(str, QUANTILES))}); test_calibrated: the test part "
        "after conformal calibration on the validation windows of every series, pooled, each "
        "score divided by its series' scale (`panel_scores.panel_offsets`)."
    )
    for label, result in (("The chapter's series", chapter_q), ("macrodata", macro_q)):
        text += "\n" + panel_scores.markdown(
            {"global model, quantile head": result},
            title=f"{label}: intervals of one global model",
            note=calibrated,
        ).replace("# ", "## ", 1)
    text += f"\nWhole run {time.perf_counter() - started:.0f} s (`python experiments/panel.py`).\n"
    (out / "panel.md").write_text(text)
    payload = {
        "chapter": chapter.to_json(per_series=False),
        "macrodata": {"global": macro.to_json(), "local": local.to_json()},
        "quantiles": {
            "chapter": chapter_q.to_json(per_series=False),
            "macrodata": macro_q.to_json(per_series=False),
        },
    }
    (out / "panel.json").write_text(json.dumps(payload, indent=1))
    per_series = chapter.scores["per_series"]
    pd.DataFrame(
        {
            "id": list(per_series),
            "model_mase": [v["test"]["model"]["mase"]["mean"] for v in per_series.values()],
            "seasonal_naive_mase": [
                v["test"]["seasonal_naive"]["mase"]["mean"] for v in per_series.values()
            ],
        }
    ).to_csv(out / "chapter_per_series.csv", index=False, float_format="%.5g")
    print(text)


if __name__ == "__main__":
    main()
