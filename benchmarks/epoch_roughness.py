"""How much does a network's validation error jump from one epoch to the next, with and
without gradient clipping?

On the benchmark's electricity series (``compare``'s longest windows, 336 steps), one network
trained as ``compare`` trains it (its defaults, the hybrid over AutoTheta, 3 seeds), with
the gradient unclipped and clipped to a global norm of 1: each replica's kept and last epoch,
its lowest validation error, and the median over epochs and replicas of the absolute change of
the log validation error from one epoch to the next (0.1: about 10% per epoch). Validation
only; one run of each.

Run: ``python benchmarks/epoch_roughness.py [--series taylor --model rnn_seq2seq]``; writes
``benchmarks/results/epoch_roughness.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from compare_compaction import _setup  # noqa: E402
from report import result_path, write_report  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", default="taylor")
    parser.add_argument("--model", default="rnn_seq2seq")
    parser.add_argument("--out", default=str(result_path("epoch_roughness.md")))
    args = parser.parse_args(argv)
    from jaxseq.app import compare

    common, series, protocol, base = _setup(args.series)
    lines = [
        f"{args.series}: {len(series.values):,} steps, window {common.window}, horizon "
        f"{common.horizon}; `{args.model}`, {common.seeds} seeds, hybrid over {common.base}.",
        "",
        "| clip norm | kept epoch | last epoch | lowest validation error | median abs. change of "
        "log validation error per epoch |",
        "|---|---|---|---|---|",
    ]
    for clip in (None, 1.0):
        config = dataclasses.replace(compare._network_config(common, args.model), clip_norm=clip)
        record = compare.train_and_forecast(config, series, protocol, base=base)
        history = record["history"]
        key = next(k for k in history["metrics"] if k.startswith("val_"))
        curve = np.asarray(history["metrics"][key], float)  # [epochs, replicas], NaN once stopped
        rough = float(np.nanmedian(np.abs(np.diff(np.log(curve), axis=0))))
        lines.append(
            f"| {clip or 'off'} | {history['best_epoch']} | {history['stop_epoch']} | "
            f"{', '.join(f'{v:.4f}' for v in np.nanmin(curve, 0))} ({key}) | {rough:.3f} |"
        )
    write_report(
        Path(args.out),
        "Epoch-to-epoch jumps of the validation error, with and without clipping",
        f"python benchmarks/epoch_roughness.py --series {args.series} --model {args.model}",
        lines,
        note="one run of each.",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
