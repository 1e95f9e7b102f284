"""How long the notebook's own single-seed Keras run of the chapter's models takes on this machine.

The chapter's trained models (#2-#5, #8-#17 of the reference table) built as the notebook builds
them, one seed each, 20 epochs, batch 32, Adam (epsilon 1e-7), ``model.fit`` as the notebook calls
it; the figure to beat for ``make experiments`` (all models x 5 seeds). Either Keras stack:

- ``--stack tf_keras``: Keras 2 on TensorFlow, the book's stack (``pip install tensorflow tf_keras``);
- ``--stack keras``: Keras 3, on the backend ``KERAS_BACKEND`` names (default jax).

Data: jaxseq.data.chapter_data (the notebook's generator bit for bit). Writes
``benchmarks/results/keras_timing_<stack>.json`` (``--out``) and prints a table.

Run: ``python benchmarks/keras_timing.py --stack tf_keras [--models linear,lstm_seq2seq]``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from report import result_path

from jaxseq import data, models
from jaxseq.bench import workloads as bench_workloads

#: The notebook's trained models: the zoo's entries with a recorded notebook figure, each
#: with its task and learning rate from the zoo's registry (the chapter's settings).
MODELS = tuple(name for name in models.names() if models.get(name).notebook is not None)


def import_keras(stack: str):
    if stack == "tf_keras":
        import tf_keras as keras
    else:
        os.environ.setdefault("KERAS_BACKEND", "jax")
        import keras
    return keras


def run(keras, name: str, epochs: int, datasets: dict) -> dict:
    entry = models.get(name)
    task, lr = entry.task, entry.learning_rate
    ds = datasets[task]
    # targets aligned with the model's outputs (conv_gru_seq2seq's strided steps)
    Xt, Xv = ds.train.X, ds.valid.X
    Yt, Yv = (np.asarray(entry.targets(Y)) for Y in (ds.train.Y, ds.valid.Y))
    keras.utils.set_random_seed(42)
    start = time.perf_counter()
    model = bench_workloads.keras_chapter_model(keras, name)
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(learning_rate=lr, epsilon=1e-7))
    model.fit(Xt, Yt, epochs=epochs, batch_size=32, validation_data=(Xv, Yv), verbose=0)
    seconds = time.perf_counter() - start
    pred = model.predict(Xv, verbose=0)
    err = (pred[:, -1] - Yv[:, -1]) if task == "seq2seq" else (pred - Yv.reshape(pred.shape))
    return {"model": name, "seconds": seconds, "valid": float(np.mean(np.square(err)))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", choices=["tf_keras", "keras"], default="tf_keras")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="default benchmarks/results/keras_timing_<stack>.json",
    )
    args = parser.parse_args()
    names = args.models.split(",")
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(MODELS)}")
    keras = import_keras(args.stack)
    datasets = {task: data.chapter_data(task) for task in {models.get(n).task for n in names}}
    rows = []
    for name in names:
        rows.append(run(keras, name, args.epochs, datasets))
        print(f"{name:<20} {rows[-1]['seconds']:7.1f} s  valid {rows[-1]['valid']:.5f}", flush=True)
    total = sum(r["seconds"] for r in rows)
    version = getattr(keras, "__version__", "?")
    print(f"total {total:.0f} s ({total / 60:.1f} min), {args.stack} {version}, one seed")
    out = args.out or result_path(f"keras_timing_{args.stack}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {"stack": args.stack, "version": version, "epochs": args.epochs, "seeds": 1}
    out.write_text(json.dumps({**record, "total_seconds": total, "models": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
