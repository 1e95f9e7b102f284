"""AutoARIMA forecasts from every test origin: one Kalman-filter pass
(:func:`jaxseq.arima_origins.arima_forecasts`) against statsforecast's ``forward`` per origin,
as the series grows.

A half-hourly-like series (season 48: a daily cycle, a weekly one and noise) of 1,000, 2,000,
4,000 and 8,000 steps; one seasonal ARIMA fitted on the first 80% (statsforecast's ``ARIMA``
with a fixed order, so that every length fits the same model); forecasts of 48 steps from
every origin of the last 10% (100 to 800 origins, ``compare``'s test part). The one-pass time
is measured over every origin; ``forward`` on the first ``--forward-origins`` origins, scaled
to all of them (its cost per origin is one filter over the prefix), and the two checked equal
on those.

Run: ``python benchmarks/arima_origins_scaling.py``; writes
``benchmarks/results/arima_origins_scaling.md``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

LENGTHS = (1000, 2000, 4000, 8000)
HORIZON = 48


def series(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(n)
    return (
        100
        + 10 * np.sin(2 * np.pi * t / 48)
        + 4 * np.sin(2 * np.pi * t / 336)
        + np.cumsum(rng.normal(0, 0.3, n)) * 0.2
        + rng.normal(0, 1, n)
    )


def main(argv=None) -> int:
    from statsforecast.models import ARIMA

    from jaxseq import arima_origins

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forward-origins", type=int, default=10)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    rows = []
    for n in LENGTHS:
        y = series(n)
        fit_end = int(0.8 * n)
        origins = np.arange(int(0.9 * n), n - HORIZON + 1)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            model = ARIMA(order=(1, 0, 1), seasonal_order=(0, 1, 1), season_length=48)
            model.fit(y[:fit_end])
            start = time.perf_counter()
            one_pass = arima_origins.arima_forecasts(model, y, origins, HORIZON)
            one_pass_seconds = time.perf_counter() - start
            some = origins[: args.forward_origins]
            start = time.perf_counter()
            forward = np.array([model.forward(y=y[:o], h=HORIZON)["mean"] for o in some])
            forward_seconds = (time.perf_counter() - start) * len(origins) / len(some)
        np.testing.assert_allclose(one_pass[: len(some)], forward, rtol=1e-6, atol=1e-6)
        rows.append((n, len(origins), one_pass_seconds, forward_seconds))
        print(rows[-1], flush=True)
    lines = [
        "# AutoARIMA from every test origin: one pass against `forward` per origin",
        "",
        "Season 48, ARIMA(1,0,1)(0,1,1) fitted on the first 80%, 48-step forecasts from every "
        "origin of the last 10%; seconds on this machine's CPU (2 cores). `forward` timed on "
        f"its first {args.forward_origins} origins and scaled (equal to the one pass there, "
        "to 1e-6). `python benchmarks/arima_origins_scaling.py`.",
        "",
        "| steps | origins | one pass (s) | per step (us) | forward per origin (s, scaled) | forward / one pass |",
        "|---|---|---|---|---|---|",
    ]
    for n, k, one, fwd in rows:
        lines.append(
            f"| {n:,} | {k} | {one:.3f} | {1e6 * one / n:.1f} | {fwd:.1f} | {fwd / one:.0f}x |"
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "arima_origins_scaling.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
