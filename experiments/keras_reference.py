"""The chapter's Keras models re-run with Keras 3 on this machine, several seeds: a reference for
rows where jaxseq's mean misses the notebook's recorded spread.

Same data (jaxseq.data.chapter_data, the notebook's generator bit for bit), same layers and
initialisers (Keras' own), Adam(1e-3, epsilon 1e-7), batch 32, 20 epochs, shuffled each epoch,
final-epoch weights. Writes ``experiments/results/keras_reference.json`` and prints a table.

Run: ``python experiments/keras_reference.py --models linear_multi,rnn_multi`` (needs keras).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

from jaxseq import data, models  # noqa: E402
from jaxseq.bench.workloads import keras_chapter_model  # noqa: E402


def build(name: str):
    """``(task, model)``: the notebook's Keras model, as ``benchmarks/keras_timing.py`` builds it."""
    return models.get(name).task, keras_chapter_model(keras, name)


def last_step_mse(y_true, y_pred):
    return keras.ops.mean(keras.ops.square(y_true[:, -1] - y_pred[:, -1]))


def run(name: str, seeds: int, epochs: int) -> dict:
    values, start = [], time.perf_counter()
    for seed in range(seeds):
        keras.utils.set_random_seed(seed)
        task, model = build(name)
        ds = data.chapter_data(task)
        Xt, Yt, Xv, Yv = ds.train.X, ds.train.Y, ds.valid.X, ds.valid.Y
        if name == "conv_gru_seq2seq":
            Yt, Yv = Yt[:, 3::2], Yv[:, 3::2]
        model.compile(loss="mse", optimizer=keras.optimizers.Adam(1e-3, epsilon=1e-7))
        model.fit(Xt, Yt, epochs=epochs, batch_size=32, verbose=0)
        pred = model.predict(Xv, verbose=0)
        err = (pred[:, -1] - Yv[:, -1]) if task == "seq2seq" else (pred - Yv)
        values.append(float(np.mean(np.square(err.astype(np.float64)))))
        print(f"{name} seed {seed}: {values[-1]:.5f}", flush=True)
    return {
        "model": name,
        "values": values,
        "mean": float(np.mean(values)),
        "std": float(np.std(values)),
        "min": float(np.min(values)),
        "max": float(np.max(values)),
        "seconds": time.perf_counter() - start,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="linear_multi,rnn_multi,conv_gru_seq2seq")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--out", default="experiments/results/keras_reference.json")
    args = parser.parse_args()
    rows = [run(name, args.seeds, args.epochs) for name in args.models.split(",")]
    Path(args.out).write_text(json.dumps(rows, indent=1))
    for r in rows:
        print(
            f"{r['model']:<20} Keras {r['keras']} ({r['backend']}): {r['mean']:.5f} ± {r['std']:.5f} "
            f"[{r['min']:.5f}-{r['max']:.5f}] over {len(r['values'])} seeds, {r['seconds']:.0f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
