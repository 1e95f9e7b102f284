"""Which window normalisation: one model on one real series, one setting (3 seeds, 30 epochs).

Run: ``python experiments/normalization_choice.py nile lstm_seq2vec mean/std`` (a
``location/scale`` of :mod:`jaxseq.normalize`, or ``none``). Prints each seed's test MASE and
seasonal naive's on the same origins; the figures quoted in ``docs/real_series.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import real_series  # noqa: E402

from jaxseq import baselines, data, evaluate, metrics, models, normalize  # noqa: E402
from jaxseq.train import Trainer  # noqa: E402

SEASONS = {"co2": 52, "elnino": 12, "sunspots": 1, "nile": 1, "gdp": 4}


def main(name: str, model_name: str, spec: str) -> None:
    loader, column, window, horizon, test_size, _ = real_series.SERIES[name]
    values = loader()[column].astype(float).interpolate().to_numpy()[:, None]
    task = models.get(model_name).task
    ds = data.split_series(
        values, window=window, horizon=horizon, task=task, test_size=test_size, scale=True
    )
    norm = None
    if spec != "none":
        location, scale = spec.split("/")
        norm = normalize.Normalization(location=location, scale=scale)
    model = models.get(model_name, window=window, horizon=horizon, normalize=norm)
    result = Trainer(model).fit(ds, seeds=3, epochs=30)
    pred = evaluate.predict_replicas(model, result.state.variables, ds.test.X)
    pred = pred[:, :, -1] if task == "seq2seq" else pred
    pred = pred[..., None] * ds.scaler.scale[0] + ds.scaler.mean[0]
    origins, season = ds.origins("test"), SEASONS[name]
    truth = values[origins[:, None] + np.arange(horizon)]
    scale = metrics.mase_scale(values[: ds.protocol.train_end], season)
    snaive = baselines.seasonal_naive(values, origins, horizon, season=season)
    seeds = [metrics.score(p, truth, scale)["mase"] for p in pred]
    print(
        f"{name} {model_name} {spec}: test MASE {np.round(seeds, 3)}, seasonal naive "
        f"{metrics.score(snaive, truth, scale)['mase']:.3f}"
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])
