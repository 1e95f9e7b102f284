"""The front door for Python users: :class:`Forecaster`, exported as ``jaxseq.Forecaster``.

Shaped like Nixtla's ``NeuralForecast`` and darts' models: ``fit`` on a long table
(``unique_id, ds, y`` and covariate columns; :mod:`jaxseq.app.long_table`), then ``predict``,
``cross_validation`` and ``leaderboard``, each a ``DataFrame``; ``save`` and
:func:`load`. What it keeps from jaxseq: every candidate (networks with K seeds trained at
once, baselines, classical models, their ensemble) ranked on validation, the pick per series,
the seeds' spread and conformal intervals.

With ``strategy="compare"`` (the default) each series is compared by
:func:`jaxseq.app.compare.compare` (one pipeline: the same checks, numbers and files as
``jaxseq compare``) into a folder of its own under the forecaster's folder; ``predict``
forecasts from its pick's run folder (``best/``) as ``jaxseq forecast`` does,
``cross_validation`` reads the forecasts every candidate made at every origin
(``forecasts.npz``). With ``strategy="global"`` each network is trained once across the
panel, with ``"global+local"`` also once per series, all series at once, and the pick per
series is among them (:mod:`jaxseq.app.panel.fit`, as ``jaxseq panel --local``). Nothing here
computes a forecast or a score of its own.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from jaxseq.app import long_table
from jaxseq.app.long_table import ID, TARGET, TIME
from jaxseq.app.panel import fit as panel_fit
from jaxseq.app.panel.fit import STRATEGIES, PanelFit
from jaxseq.errors import InputError, check_positive_int

#: ``compare``'s options a Forecaster passes on as they are
OPTIONS = (
    "epochs",
    "max_steps",
    "patience",
    "schedule",
    "loss",
    "clip_norm",
    "season",
    "valid_size",
    "test_size",
    "stride",
    "normalize",
    "batch_size",
    "fill",
    "classical",
    "classical_budget",
    "combine",
    "refit",
    "base",
    "jobs",
)
#: what :meth:`Forecaster.save` writes beside the series' folders
MANIFEST = "forecaster.json"
#: the parts :meth:`Forecaster.cross_validation` can read
PARTS = ("valid", "calibrate", "test")


class Forecaster:
    """Compare every candidate on each series and forecast with the pick.

    Args:
        models: ``"all"`` (every zoo model that forecasts ``horizon`` steps at once) or a list
            of zoo names, cells or models (as :func:`jaxseq.app.compare.compare` takes them).
        horizon, window: steps forecast and steps read.
        seeds: replicas per network, trained at once (the spread in :meth:`leaderboard`).
        quantiles: quantile levels (e.g. ``(0.1, 0.5, 0.9)``), ``"normal"`` or
            ``"student_t"``: every network trains a probabilistic head; default point
            forecasts, each with a conformal 80% interval.
        covariates, future_covariates, calendar: past-observed and known-future covariate
            columns of the table, and calendar features (``True``: the frequency's).
        id_col, time_col, target_col: the long table's column names.
        folder: where the series' results are written (default a temporary folder; keep
            them with :meth:`save`).
        progress: a :class:`jaxseq.app.progress.Reporter` (or anything with ``epoch`` and
            ``done``), called for every series.
        strategy: ``"compare"`` (every candidate compared on each series on its own),
            ``"global"`` (each of ``models``, zoo names, trained once on every series) or
            ``"global+local"`` (also one model per series, series and seeds one ``vmap``'d
            axis); the pick per series is by validation MASE. The panel strategies take the
            options ``epochs``, ``batch_size``, ``normalize``, ``valid_size``, ``test_size``,
            ``stride``, ``season``, ``fill`` and past ``covariates``.
        **options: any of :data:`OPTIONS`, as ``jaxseq compare`` takes them (``max_steps``,
            ``patience``, ``normalize``, ``classical``, ``combine``, ``base``, ...).
    """

    def __init__(
        self,
        models="all",
        *,
        horizon: int,
        window: int,
        seeds: int = 3,
        quantiles=None,
        covariates=None,
        future_covariates=None,
        calendar=None,
        id_col: str = ID,
        time_col: str = TIME,
        target_col: str = TARGET,
        folder: str | Path | None = None,
        progress=None,
        strategy: str = "compare",
        **options,
    ):
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise InputError(
                f"Forecaster takes no option {', '.join(map(repr, unknown))}; options are: "
                f"{', '.join(OPTIONS)}"
            )
        if strategy not in STRATEGIES:
            raise InputError(f"strategy must be one of {', '.join(STRATEGIES)}; got {strategy!r}")
        from jaxseq.app.settings import check_settings

        self.settings = {
            "strategy": strategy,
            "models": models if isinstance(models, str) else list(models),
            "horizon": check_positive_int("horizon", horizon),
            "window": check_positive_int("window", window),
            "seeds": check_positive_int("seeds", seeds),
            "head": list(quantiles) if isinstance(quantiles, list | tuple) else quantiles,
            "covariates": list(covariates or []),
            "future_covariates": list(future_covariates or []),
            "calendar": calendar,
            **options,
        }
        check_settings(**{k: v for k, v in self.settings.items() if k in CHECKED})
        if strategy != "compare":
            panel_fit.check_settings(self.settings)
        self.columns = {"id_col": id_col, "time_col": time_col, "target_col": target_col}
        self.folder = Path(folder) if folder is not None else None
        self.progress = progress
        self._series: dict[str, str] = {}  # id -> its folder's name
        self._panel: PanelFit | None = None  # the fit of a panel strategy

    # ------------------------------------------------------------------ fitting

    def fit(self, df) -> Forecaster:
        """Compare the candidates on every series of ``df`` (a long table, or anything
        :func:`jaxseq.app.long_table.to_long` converts); returns the forecaster."""
        from jaxseq.app.compare import compare

        long = long_table.to_long(df, **self.columns)
        self._check_columns(long)
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="jaxseq-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.settings["strategy"] != "compare":
            self._panel = PanelFit.fit(long, self.columns, self.settings, self.progress)
            self._series = {key: key for key in self._panel.panel.ids}
            return self
        series = {}
        for k, (key, frame) in enumerate(long_table.series_frames(long, self.columns["id_col"])):
            name = f"{k:05d}"
            try:
                compare(
                    frame,
                    column=self.columns["target_col"],
                    time_column=self.columns["time_col"],
                    covariates=self.settings["covariates"] or None,
                    future_covariates=self.settings["future_covariates"] or None,
                    out=self.folder / name,
                    progress=self.progress,
                    **{k: v for k, v in self.settings.items() if k in PASSED},
                )
            except InputError as error:
                raise InputError(f"series {key!r}: {error}") from None
            series[key] = name
        self._series = series
        return self

    @property
    def ids(self) -> list[str]:
        """The series fitted, in the order of the table."""
        return list(self._series)

    # ------------------------------------------------------------------ results

    def leaderboard(self) -> pd.DataFrame:
        """Every candidate of every series, ranked on validation as ``compare`` ranks them:
        ``unique_id, rank, model, kind, picked``, the validation and test errors of the
        forecast issued (the seeds' average), the seeds' own test MASE (mean, min, max) and
        the test coverage and mean width of the 80% interval (calibrated as ``compare``
        reports it: rolling conformal; empty for a probabilistic comparison, whose
        quantile scores are in :meth:`results`)."""
        if self._panel is not None:
            return self._panel.leaderboard(self.columns["id_col"])
        rows = []
        for key in self._fitted():
            result = self._result(key)
            best = result["settings"]["best"]
            headline = (result["settings"].get("intervals") or {}).get("headline")
            for rank, row in enumerate(result["rows"], 1):
                seeds = row["test"]["mase"]
                interval = row.get("intervals", {}).get(headline, {})
                rows.append(
                    {
                        self.columns["id_col"]: key,
                        "rank": rank,
                        "model": row["model"],
                        "kind": row["kind"],
                        "picked": row["model"] == best,
                        "valid_mase": row["valid"]["issued"]["mase"],
                        "test_mase": row["test"]["issued"]["mase"],
                        "test_mae": row["test"]["issued"]["mae"],
                        "test_rmse": row["test"]["issued"]["rmse"],
                        "test_smape": row["test"]["issued"]["smape"],
                        "seeds_test_mase_mean": seeds["mean"],
                        "seeds_test_mase_min": seeds["min"],
                        "seeds_test_mase_max": seeds["max"],
                        "test_coverage_80": interval.get("coverage"),
                        "test_width_80": interval.get("width"),
                    }
                )
        return pd.DataFrame(rows)

    def predict(
        self, h: int | None = None, future_df=None, *, retrain: bool = False
    ) -> pd.DataFrame:
        """The ``h`` values (default the horizon) after the end of every series, from its
        pick: ``unique_id, ds, model, forecast`` and the interval's quantile columns
        (``forecast-q-0.1``, ...). ``future_df``: the known-future covariates of the ``h``
        steps (a long table without ``y``) for a forecaster with ``future_covariates``.
        ``retrain``: a picked network (or the ensemble's) is first retrained on all of its
        series, each seed for the epochs it kept (``jaxseq forecast --retrain``; the
        per-series strategy only)."""
        from jaxseq.app import candidates
        from jaxseq.app.runs import Run

        steps = check_positive_int("h", h if h is not None else self.settings["horizon"])
        future = self._future_frames(future_df)
        if self._panel is not None:
            if retrain:
                raise InputError(
                    f"retrain=True retrains the per-series picks; strategy "
                    f"{self.settings['strategy']!r} forecasts with its panel models as trained"
                )
            return self._panel.predict(steps, self.columns)
        frames = []
        for key in self._fitted():
            folder = self._folder_of(key)
            data = self._data_path(folder, future.get(key))
            forecast, series = candidates.forecast(
                Run(folder / "best"), str(data), steps, retrain=retrain
            )
            best = self._result(key)["settings"]["best"]
            frames.append(
                long_table.forecast_frame(key, series, best, forecast, steps, self.columns)
            )
        return pd.concat(frames, ignore_index=True)

    def cross_validation(self, df=None, part: str = "test") -> pd.DataFrame:
        """Every candidate's forecast (the seeds' average) from every origin of ``part``
        (``"test"``, ``"valid"`` or ``"calibrate"``; the reach-back protocol of ``compare``):
        ``unique_id, ds, cutoff, y`` and one column per candidate. ``cutoff`` is the last time
        the forecast knew; ``y`` is NaN where the truth was missing. Given ``df``, fits first."""
        if part not in PARTS:
            raise InputError(f"part must be one of {', '.join(PARTS)}; got {part!r}")
        if df is not None:
            self.fit(df)
        if self._panel is not None:
            return self._panel.cross_validation(part, self.columns)
        from jaxseq.app.compare import FORECASTS
        from jaxseq.app.io import load_series

        frames = []
        for key in self._fitted():
            folder = self._folder_of(key)
            series = load_series(
                folder / "series.csv", time_column=self.columns["time_col"], allow_missing=True
            )
            times = np.asarray(long_table.series_times(series), dtype=object)
            with np.load(folder / FORECASTS) as arrays:
                origins = arrays[f"{part}_origins"]
                horizon = arrays[f"{part}_truth"].shape[1]
                at = origins[:, None] + np.arange(horizon)[None]
                frame = pd.DataFrame(
                    {
                        self.columns["id_col"]: key,
                        self.columns["time_col"]: times[at].ravel(),
                        "cutoff": np.repeat(times[origins - 1], horizon),
                        "y": arrays[f"{part}_truth"][..., 0].ravel(),
                    }
                )
                prefix = f"{part}/"
                for name in arrays.files:
                    if name.startswith(prefix) and not name.endswith("/quantiles"):
                        frame[name[len(prefix) :]] = arrays[name].mean(0)[..., 0].ravel()
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def results(self, key: str) -> dict:
        """What ``compare.json`` holds for one series (settings, every row)."""
        if key not in self._series:
            raise InputError(f"no series {key!r}; series are: {', '.join(self._series)}")
        if self._panel is not None:
            return self._panel.results_of(key)
        return self._result(key)

    # ------------------------------------------------------------------ saving

    def save(self, path: str | Path) -> Path:
        """Every series' results and run folders under ``path`` (a new or empty folder, or the
        forecaster's own), and ``forecaster.json``; :func:`load` reads them back."""
        self._fitted()
        assert self.folder is not None
        path = Path(path)
        here = path.exists() and path.resolve() == self.folder.resolve()
        if not here:
            if path.exists() and (not path.is_dir() or any(path.iterdir())):
                raise InputError(f"{path} exists and is not an empty folder; save to a new one")
            shutil.copytree(self.folder, path, dirs_exist_ok=True)
        if self._panel is not None:
            self._panel.save(path, self.columns)
        settings = {k: v for k, v in self.settings.items() if _serialisable(v)}
        manifest = {"settings": settings, "columns": self.columns, "series": self._series}
        (path / MANIFEST).write_text(json.dumps(manifest, indent=1))
        return path

    # ------------------------------------------------------------------ helpers

    def _fitted(self) -> list[str]:
        if not self._series or self.folder is None:
            raise InputError("the forecaster is not fitted: call fit(df) first")
        return list(self._series)

    def _folder_of(self, key: str) -> Path:
        """The folder ``compare`` wrote series ``key``'s results to."""
        assert self.folder is not None, "only fitted series have folders"
        return self.folder / self._series[key]

    def _result(self, key: str) -> dict:
        return json.loads((self._folder_of(key) / "compare.json").read_text())

    def _check_columns(self, long: pd.DataFrame) -> None:
        wanted = self.settings["covariates"] + self.settings["future_covariates"]
        missing = [c for c in wanted if c not in long.columns]
        if missing:
            raise InputError(
                f"covariate column(s) {', '.join(missing)} not in the table; columns are "
                f"{', '.join(map(str, long.columns))}"
            )

    def _future_frames(self, future_df) -> dict[str, pd.DataFrame]:
        if future_df is None:
            return {}
        if not self.settings["future_covariates"]:
            raise InputError("future_df holds known-future covariates; this forecaster has none")
        id_col = self.columns["id_col"]
        long = future_df.copy()
        if id_col not in long.columns:
            long.insert(0, id_col, long_table.SINGLE)
        long[id_col] = long[id_col].astype(str)
        frames = dict(long_table.series_frames(long, id_col))
        unknown = sorted(set(frames) - set(self._series))
        if unknown:
            raise InputError(f"future_df holds series not fitted: {', '.join(unknown)}")
        return frames

    def _data_path(self, folder: Path, future: pd.DataFrame | None) -> Path:
        """The series the pick forecasts after: as fitted, with the future covariates' rows
        appended (their target empty) when given."""
        path = folder / "series.csv"
        if future is None:
            return path
        fitted = pd.read_csv(path)
        future = future.assign(**{self.columns["target_col"]: np.nan})
        joined = pd.concat([fitted, future[[c for c in fitted.columns if c in future]]])
        out = folder / "series_with_future.csv"
        joined.to_csv(out, index=False)
        return out


#: settings :func:`jaxseq.app.compare.check_settings` checks at construction
CHECKED = (
    "horizon",
    "window",
    "seeds",
    "normalize",
    "stride",
    "batch_size",
    "season",
    "fill",
    "base",
    "head",
    "epochs",
    "max_steps",
    "patience",
    "schedule",
    "loss",
    "clip_norm",
    "classical_budget",
)
#: settings passed to :func:`jaxseq.app.compare.compare` (the rest are the table's columns)
PASSED = ("models", "horizon", "window", "seeds", "head", "calendar", *OPTIONS)


def load(path: str | Path) -> Forecaster:
    """A forecaster saved by :meth:`Forecaster.save`, ready to predict and report."""
    path = Path(path)
    manifest_path = path / MANIFEST
    if not manifest_path.exists():
        raise InputError(f"{path} holds no {MANIFEST}: not a saved Forecaster")
    manifest = json.loads(manifest_path.read_text())
    settings = dict(manifest["settings"])
    fixed = {
        k: settings.pop(k)
        for k in (
            "horizon",
            "window",
            "seeds",
            "covariates",
            "future_covariates",
            "calendar",
            "head",
            "models",
            "strategy",
        )
        if k in settings
    }
    forecaster = Forecaster(
        fixed.get("models", "all"),
        horizon=fixed["horizon"],
        window=fixed["window"],
        seeds=fixed.get("seeds", 3),
        quantiles=fixed.get("head"),
        covariates=fixed.get("covariates"),
        future_covariates=fixed.get("future_covariates"),
        calendar=fixed.get("calendar"),
        folder=path,
        strategy=fixed.get("strategy", "compare"),
        **manifest["columns"],
        **settings,
    )
    forecaster._series = dict(manifest["series"])
    if forecaster.settings["strategy"] != "compare":
        forecaster._panel = PanelFit.load(path, forecaster.columns)
    return forecaster


def _serialisable(value) -> bool:
    try:
        json.dumps(value)
    except TypeError:
        return False
    return True
