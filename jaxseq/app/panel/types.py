"""The types a global model's modules share: a panel's windows (:class:`PanelData`) and a
trained global model with its forecasts and scores (:class:`PanelResult`). At the bottom of
the panel modules: :mod:`jaxseq.app.panel.training` builds them, :mod:`jaxseq.app.panel.scores`
and :mod:`jaxseq.app.panel.forecast` read them, and none of those import each other for them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from jaxseq import data, models
from jaxseq.app.runs import RunConfig
from jaxseq.errors import InputError
from jaxseq.train import TrainState

#: the parts whose windows a panel holds
SPLITS = ("train", "valid", "test")


@dataclasses.dataclass(frozen=True, eq=False)
class PanelData:
    """The windows of every kept series, concatenated series-major.

    ``dataset``: one :class:`jaxseq.data.Dataset` (scaled inputs ``X`` ``[n, window,
    features]``, no single scaler or protocol); ``ids``, ``values`` (each ``[time_i,
    features]`` in the data's units), ``protocols`` and ``scalers``: one per kept series, in
    panel order; ``offsets[split]`` ``[series + 1]``: the windows of series ``i`` in that split
    are rows ``offsets[i]:offsets[i + 1]``; ``skipped``: ``{id: length}`` of the series left
    out as too short (``skip_short=True``)."""

    dataset: data.Dataset
    ids: tuple[str, ...]
    values: tuple[np.ndarray, ...]
    protocols: tuple[data.Protocol, ...]
    scalers: tuple[data.Scaler, ...]
    offsets: dict[str, np.ndarray]
    skipped: dict[str, int]

    def series_index(self, split: str) -> np.ndarray:
        """``[windows]`` int: the position in ``ids`` of the series each window comes from."""
        return np.repeat(np.arange(len(self.ids)), np.diff(self.offsets[split]))

    def origins(self, split: str) -> np.ndarray:
        """``[windows]`` int: each window's forecast origin within its own series."""
        return np.concatenate([p.origins(split) for p in self.protocols])

    def rows(self, split: str, i: int) -> slice:
        """The rows of series ``i`` (a position in ``ids``) in a split."""
        return slice(int(self.offsets[split][i]), int(self.offsets[split][i + 1]))

    def frame(self, split: str, cols: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Each window's series scaling of the target columns: ``(mean, scale)`` ``[windows,
        targets]`` float64."""
        index = self.series_index(split)
        mean = np.stack([s.mean[list(cols)] for s in self.scalers])[index]
        scale = np.stack([s.scale[list(cols)] for s in self.scalers])[index]
        return mean, scale


@dataclasses.dataclass(eq=False)
class PanelResult:
    """A global model trained on a panel: the ``config``, the windows (``data``), the
    ``model``, its replicated ``state`` (``[seeds, ...]``; for :func:`fit_local` a tuple of one
    state per series), the learning curves, the ``season`` of MASE and the baseline, the
    forecasts ``{split: [seeds, windows, horizon, targets]}`` in each series' units and the
    ``scores`` of :func:`score_panel`."""

    config: RunConfig
    data: PanelData
    model: models.Model
    state: TrainState | tuple[TrainState, ...]
    history: object
    season: int
    forecasts: dict[str, np.ndarray]
    scores: dict
    seconds: float = 0.0

    def series_forecasts(self, key: str, split: str = "test") -> np.ndarray:
        """``[seeds, windows, horizon, targets]``: one series' forecasts of a split."""
        if key not in self.data.ids:
            raise InputError(f"no series {key!r} among the trained series")
        return self.forecasts[split][:, self.data.rows(split, self.data.ids.index(key))]

    def to_json(self, *, per_series: bool = True, per_step: bool = False) -> dict:
        """Settings, skipped series, aggregate scores and (optionally) per-series scores
        (means over seeds' summaries as :func:`jaxseq.metrics.score_seeds` gives them; their
        per-step lists only with ``per_step``)."""
        c = self.config
        out = {
            "settings": {
                "model": c.model,
                "targets": list(c.targets),
                "window": c.window,
                "horizon": c.horizon,
                "seeds": c.seeds,
                "epochs": c.epochs,
                "batch_size": c.batch_size,
                "normalize": c.normalize,
                "season": self.season,
                "series": len(self.data.ids),
                "train_windows": len(self.data.dataset.train),
            },
            "skipped": dict(self.data.skipped),
            "seconds": self.seconds,
            "aggregate": self.scores["aggregate"],
        }
        if "quantiles" in self.scores:
            q = self.scores["quantiles"]
            out["quantiles"] = {"levels": q["levels"], "aggregate": q["aggregate"]}
        if per_series:
            strip = (lambda row: row) if per_step else _without_per_step
            out["per_series"] = {
                key: {
                    split: {k: v if k == "windows" else strip(v) for k, v in block.items()}
                    for split, block in splits.items()
                }
                for key, splits in self.scores["per_series"].items()
            }
        return out


def _without_per_step(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "per_step"}
