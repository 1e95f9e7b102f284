"""Global (and local) networks on a panel behind :class:`jaxseq.app.forecaster.Forecaster`.

``strategy="global"``: each model is trained once on every series
(:func:`jaxseq.app.panel.training.fit_panel`, its seeds at once); ``"global+local"``: each is
also trained once per series, the series and seeds one ``vmap``'d axis
(:func:`jaxseq.app.panel.training.fit_local`). Per series, the candidate whose forecast issued
has the lowest validation MASE is picked (:func:`jaxseq.app.panel.training.pick_per_series`) and
forecasts. The tables are those of the per-series strategy (``predict``, ``leaderboard``,
``cross_validation``); ``save`` writes the table, each candidate's state as an orbax
checkpoint in a run folder (:class:`jaxseq.app.runs.Run`) and its validation and test
forecasts, and :meth:`PanelFit.load` rebuilds the same candidates from them.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from pathlib import Path

import jax
import numpy as np
import pandas as pd

from jaxseq import data
from jaxseq.app import long_table, workflow
from jaxseq.app.panel import forecast as panel_forecast
from jaxseq.app.panel import training as panel_training
from jaxseq.app.panel.scores import SCORED, score_panel, truth_and_baseline
from jaxseq.app.panel.table import Panel, load_panel
from jaxseq.app.panel.types import PanelResult
from jaxseq.app.runs import Run, write_json
from jaxseq.errors import InputError
from jaxseq.train import TrainState, replica_keys

#: how a Forecaster fits a table: one ``compare`` per series, or networks across the panel
STRATEGIES = ("compare", "global", "global+local")
#: the Forecaster options a panel strategy takes (the rest belong to ``compare``)
OPTIONS = (
    "epochs",
    "batch_size",
    "normalize",
    "valid_size",
    "test_size",
    "stride",
    "season",
    "fill",
)
#: the label of a model's per-series candidate
LOCAL = " (local)"
TABLE = "table.csv"
CANDIDATES = "candidates.json"


@dataclasses.dataclass(eq=False)
class PanelFit:
    """The panel, every candidate (``{label: PanelResult}``: ``"gru_seq2seq"`` global,
    ``"gru_seq2seq (local)"`` one model per series) and the pick per series
    (``{id: label}``)."""

    panel: Panel
    results: dict[str, PanelResult]
    choice: dict[str, str]

    @classmethod
    def fit(cls, long: pd.DataFrame, columns: dict, settings: dict, progress=None) -> PanelFit:
        """Train every candidate on the long table ``long`` (``columns``: its id, time and
        target columns) with the Forecaster's ``settings``."""
        names = check_settings(settings)
        target = columns["target_col"]
        panel = load_panel(
            long,
            id_column=columns["id_col"],
            time_column=columns["time_col"],
            columns=[target, *settings["covariates"]],
            fill=settings.get("fill"),
        )
        options = {k: settings[k] for k in OPTIONS if settings.get(k) is not None and k != "fill"}
        results: dict[str, PanelResult] = {}
        for name in names:
            result = panel_training.fit_panel(
                panel,
                model=name,
                window=settings["window"],
                horizon=settings["horizon"],
                seeds=settings["seeds"],
                targets=[target],
                head=settings["head"],
                progress=None if progress is None else progress.epoch,
                **options,
            )
            results[name] = result
            if settings["strategy"] == "global+local":
                results[name + LOCAL] = panel_training.fit_local(result)
        choice, _ = panel_training.pick_per_series(results)
        return cls(panel, results, choice)

    # ------------------------------------------------------------------ tables

    def predict(self, steps: int, columns: dict) -> pd.DataFrame:
        """Each series' next ``steps`` values by its pick: ``unique_id, ds, model, forecast``
        (the seeds' average) and, for quantile models, ``forecast-q-<level>`` columns."""
        forecasts = panel_forecast.forecast_picked(self.results, self.choice, steps)
        frames = [
            long_table.forecast_frame(
                key, self.panel.get(key), self.choice[key], forecast, steps, columns
            )
            for key, forecast in forecasts.items()
        ]
        return pd.concat(frames, ignore_index=True)

    def leaderboard(self, id_col: str) -> pd.DataFrame:
        """Every candidate of every series, ranked by the validation MASE of its forecast
        issued (the seeds' average): the columns of the per-series leaderboard that a panel
        candidate has."""
        rows = []
        for key in self.panel.ids:
            ranked = sorted(self.results, key=functools.partial(self._score, key=key))
            for rank, label in enumerate(ranked, 1):
                scores = self.results[label].scores["per_series"][key]
                valid, test = scores["valid"]["model"], scores["test"]["model"]
                rows.append(
                    {
                        id_col: key,
                        "rank": rank,
                        "model": label,
                        "kind": "local network" if label.endswith(LOCAL) else "global network",
                        "picked": label == self.choice[key],
                        "valid_mase": valid["issued"]["mase"],
                        "test_mase": test["issued"]["mase"],
                        "test_mae": test["issued"]["mae"],
                        "test_rmse": test["issued"]["rmse"],
                        "test_smape": test["issued"]["smape"],
                        "seeds_test_mase_mean": test["mase"]["mean"],
                        "seeds_test_mase_min": test["mase"]["min"],
                        "seeds_test_mase_max": test["mase"]["max"],
                        "seasonal_naive_test_mase": scores["test"]["seasonal_naive"]["mase"][
                            "mean"
                        ],
                    }
                )
        return pd.DataFrame(rows)

    def cross_validation(self, part: str, columns: dict) -> pd.DataFrame:
        """Every candidate's forecast (the seeds' average) from every origin of ``part``
        (``"valid"`` or ``"test"``): ``unique_id, ds, cutoff, y`` and one column per
        candidate."""
        if part not in SCORED:
            raise InputError(
                f"a panel strategy forecasts from the origins of {' and '.join(SCORED)}; got "
                f"part={part!r}"
            )
        first = next(iter(self.results.values()))
        pdata, horizon = first.data, first.config.horizon
        truth, _ = truth_and_baseline(first.config, pdata, part, first.season)
        origins = pdata.origins(part)
        frames = []
        for i, key in enumerate(pdata.ids):
            rows = pdata.rows(part, i)
            times = np.asarray(long_table.series_times(self.panel.get(key)), dtype=object)
            at = origins[rows][:, None] + np.arange(horizon)[None]
            frame = pd.DataFrame(
                {
                    columns["id_col"]: key,
                    columns["time_col"]: times[at].ravel(),
                    "cutoff": np.repeat(times[origins[rows] - 1], horizon),
                    "y": truth[rows][..., 0].ravel(),
                }
            )
            for label, result in self.results.items():
                frame[label] = result.forecasts[part][:, rows].mean(0)[..., 0].ravel()
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def results_of(self, key: str) -> dict:
        """Series ``key``'s scores per candidate (:func:`jaxseq.app.panel.scores.score_panel`'s
        per-series rows) and its pick."""
        self.panel.get(key)  # an unknown id is refused by name
        return {
            "best": self.choice[key],
            "rows": {label: r.scores["per_series"][key] for label, r in self.results.items()},
        }

    def _score(self, label: str, key: str) -> float:
        return self.results[label].scores["per_series"][key]["valid"]["model"]["issued"]["mase"]

    # ------------------------------------------------------------------ files

    def save(self, path: Path, columns: dict) -> None:
        """The table (``table.csv``), and per candidate a run folder with its configuration,
        its state (orbax; a local candidate's states stacked over series) and its validation
        and test forecasts (``forecasts.npz``); ``candidates.json`` lists them."""
        self._table(columns).to_csv(path / TABLE, index=False)
        listed = {}
        for k, (label, result) in enumerate(self.results.items()):
            folder = f"{k:03d}-{re.sub(r'[^A-Za-z0-9_]+', '_', label).strip('_')}"
            run = Run.create(
                path / folder, result.config, data.Scaler.identity(len(result.config.columns))
            )
            local = not isinstance(result.state, TrainState)
            state = (
                jax.tree_util.tree_map(lambda *v: np.concatenate(v), *result.state)
                if local
                else result.state
            )
            run.save(1, state, {})
            np.savez(path / folder / "forecasts.npz", **result.forecasts)  # type: ignore[arg-type]
            listed[label] = {"folder": folder, "local": local, "season": result.season}
        write_json(path / CANDIDATES, {"candidates": listed, "choice": self.choice})

    @classmethod
    def load(cls, path: Path, columns: dict) -> PanelFit:
        """The candidates :meth:`save` wrote under ``path``."""
        manifest = json.loads((path / CANDIDATES).read_text())
        target = columns["target_col"]
        table = pd.read_csv(path / TABLE, dtype={columns["id_col"]: str})
        panel = load_panel(
            table,
            id_column=columns["id_col"],
            time_column=columns["time_col"],
            columns=[c for c in table.columns if c not in (columns["id_col"], columns["time_col"])],
        )
        if panel.columns[0] != target:
            raise InputError(f"{path / TABLE} does not start with the target column {target!r}")
        results = {}
        for label, entry in manifest["candidates"].items():
            run = Run(path / entry["folder"])
            config = run.config
            pdata = panel_training.panel_data(panel, config)
            model = workflow.build_model(config)
            trainer = workflow.make_trainer(config, model, len(pdata.dataset.train))
            replicas = config.seeds * (len(pdata.ids) if entry["local"] else 1)
            _, state = run.restore(jax.eval_shape(trainer.init, replica_keys(replicas)))
            if entry["local"]:
                seeds = config.seeds
                state = tuple(
                    jax.tree_util.tree_map(lambda v, i=i, k=seeds: v[i * k : (i + 1) * k], state)
                    for i in range(len(pdata.ids))
                )
            with np.load(path / entry["folder"] / "forecasts.npz") as arrays:
                forecasts = {s: arrays[s] for s in SCORED}
            season = entry["season"]
            scores = score_panel(config, pdata, forecasts, season)
            results[label] = PanelResult(config, pdata, model, state, {}, season, forecasts, scores)
        return cls(panel, results, dict(manifest["choice"]))

    def _table(self, columns: dict) -> pd.DataFrame:
        """The panel as the long table it was fitted on (target first, then covariates)."""
        frames = []
        for key, series in zip(self.panel.ids, self.panel.series, strict=True):
            frame = pd.DataFrame(np.asarray(series.values), columns=list(self.panel.columns))
            frame.insert(0, columns["time_col"], long_table.series_times(series))
            frame.insert(0, columns["id_col"], key)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)


def check_settings(settings: dict) -> list[str]:
    """Refuse what a panel strategy does not take (``compare``'s own options, known-future
    covariates, calendar features, models that are not zoo names); the zoo names to train."""
    from jaxseq import models
    from jaxseq.app.compare import applicable

    strategy = settings["strategy"]
    given = [k for k in ("future_covariates", "calendar") if settings.get(k)]
    given += [
        k for k, v in settings.items() if k not in _FIXED and k not in OPTIONS and v is not None
    ]
    if given:
        raise InputError(
            f"strategy {strategy!r} takes no {', '.join(given)}; it takes "
            f"{', '.join(OPTIONS)} (past covariates: covariates=)"
        )
    names = settings["models"]
    names = applicable(settings["horizon"]) if names == "all" else names
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise InputError(
            f"strategy {strategy!r} trains zoo models: give models as a list of zoo names "
            "(see jaxseq.models.names())"
        )
    unknown = [n for n in names if n not in models.names()]
    if unknown:
        raise InputError(
            f"no zoo model {', '.join(map(repr, unknown))}; zoo models are: {', '.join(models.names())}"
        )
    return list(names)


#: Forecaster settings every strategy has (not options)
_FIXED = (
    "strategy",
    "models",
    "horizon",
    "window",
    "seeds",
    "head",
    "covariates",
    "future_covariates",
    "calendar",
)
