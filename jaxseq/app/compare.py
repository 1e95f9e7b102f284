"""Compare every applicable model on one series, against the baselines, and keep the best.

``jaxseq.app.compare(data, horizon=..., window=...)`` (and ``jaxseq compare``) trains every zoo
model that can forecast the horizon, and any user model or cell given beside them, each with K
seeds at once (``vmap``), models in worker processes where the machine has the cores. Every
model and every baseline is scored at the same validation and test origins (rolling origin,
inputs reaching back, :class:`jaxseq.data.Protocol`) in the data's units: MAE, RMSE, MASE and
sMAPE with their spread over seeds. Models are ranked by validation MASE; the test part is
only read to report. Each replica keeps its parameters from the epoch of its lowest
validation error.

Written to ``out``: ``compare.json`` (settings and rows), ``compare.md`` (the table),
``forecasts.npz`` (every model's forecasts and quantiles at every origin, with the truth, for
studies without retraining), ``compare.png`` (every model's error with its seed range; the
best model's test forecasts against the truth) and ``best/``, the best zoo model's run folder,
ready for ``jaxseq forecast``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import flax.linen as nn
import jax
import numpy as np

from jaxseq import cells, data, metrics
from jaxseq import distributions as dist
from jaxseq import models as zoo
from jaxseq.app import covariates as covariates_
from jaxseq.app import workflow
from jaxseq.app.io import Series, load_series, write_csv
from jaxseq.app.runs import Run, RunConfig, write_json
from jaxseq.errors import InputError, check_positive_int

METRICS = ("mae", "rmse", "mase", "smape")


@dataclasses.dataclass(frozen=True)
class UserModel:
    """A user's entry in a comparison: ``name`` and ``build(dims) -> flax module`` whose output
    is ``[batch, horizon * targets]`` (a ``multi_step`` model), or a finished
    :class:`jaxseq.zoo.Model`."""

    name: str
    build: Callable[[zoo.Dims], nn.Module] | None = None
    model: zoo.Model | None = None


def applicable(horizon: int) -> list[str]:
    """Zoo models that forecast ``horizon`` steps at once (one-step models only for 1)."""
    return [n for n in zoo.names() if horizon == 1 or zoo.get(n).task != "one_step"]


def compare(
    source,
    *,
    horizon: int,
    window: int,
    column: str | None = None,
    models: Sequence | str = "all",
    seeds: int = 3,
    epochs: int = 30,
    season: int | None = None,
    valid_size: int | float = 0.2,
    test_size: int | float = 0.1,
    stride: int = 1,
    normalize: str = "window",
    batch_size: int = 32,
    time_column: str | None = None,
    fill: str | None = None,
    classical: bool = True,
    head=None,
    covariates: Sequence[str] | None = None,
    future_covariates: Sequence[str] | None = None,
    calendar: bool | str | Sequence[str] | None = None,
    jobs: int | None = None,
    out: str | Path | None = None,
    progress=None,
) -> dict:
    """Train and score every model; returns what ``compare.json`` holds.

    Args:
        source: a CSV/Parquet/.npy path, a pandas Series or DataFrame, or an array.
        horizon, window: steps forecast and steps read.
        column: the column to forecast (default the first).
        models: ``"all"`` (every applicable zoo model), or a list of zoo names,
            :class:`jaxseq.cells.Cell` objects (each built as two recurrent layers of 20 units
            and a dense head), :class:`UserModel` entries or :class:`jaxseq.zoo.Model`
            objects built for this window and horizon.
        seeds: replicas per model, trained at once.
        season: for MASE and the seasonal baselines (default from the time column's
            frequency, else 1).
        classical: also score statsforecast's AutoETS, AutoARIMA and AutoTheta when installed.
        head: a probabilistic head for every model (quantile levels such as
            ``(0.1, 0.5, 0.9)``, ``"normal"`` or ``"student_t"``;
            :func:`jaxseq.distributions.get`). Models then train on the head's loss, keep the
            epoch of their lowest validation loss, and are ranked by validation scaled pinball
            loss; every row also reports the pinball loss, the CRPS approximation, each central
            interval's coverage and width, raw and conformally calibrated on the validation
            windows, beside the seasonal naive quantile baseline.
        covariates, future_covariates, calendar: past-observed and known-future covariate
            columns and calendar features (``True`` for the frequency's defaults, or names),
            inputs of every model beside ``column`` (:mod:`jaxseq.app.covariates`).
        jobs: worker processes (default 2 on a multi-core CPU, 1 on an accelerator).
        out: folder for the results (nothing is written without it).
        progress: a :class:`jaxseq.app.progress.Reporter` (or anything with ``epoch`` and ``done``).
    """
    from jaxseq.parallel import default_jobs, run_jobs

    horizon = check_positive_int("horizon", horizon)
    window = check_positive_int("window", window)
    with_covariates = bool(covariates or future_covariates or calendar)
    if with_covariates:  # the header: every column, missing values kept (trailing future rows)
        series = load_series(source, time_column=time_column, allow_missing=True)
    else:
        series = load_series(
            source, [column] if column else None, time_column=time_column, fill=fill
        )
    if column is None and series.values.shape[1] > 1 and not with_covariates:
        series = dataclasses.replace(
            series, values=series.values[:, :1], columns=series.columns[:1]
        )
    entries = _entries(models, horizon)
    zoo_names = [e for e in entries if isinstance(e, str)]
    base = RunConfig(
        model="",
        data=_data_path(source),
        columns=list(series.columns),
        targets=[series.columns[0]],
        window=window,
        horizon=horizon,
        task="multi_step",
        seeds=check_positive_int("seeds", seeds),
        epochs=check_positive_int("epochs", epochs),
        batch_size=check_positive_int("batch_size", batch_size),
        time_column=time_column,
        fill=fill,
        normalize=normalize,
        valid_size=valid_size,
        test_size=test_size,
        stride=check_positive_int("stride", stride),
        season=season,
        head=dist.spec_of(dist.get(head)),
    )
    if with_covariates:
        columns, targets, past, future, features = covariates_.resolve(
            series, None, [column] if column else None, covariates, future_covariates, calendar
        )
        base = dataclasses.replace(
            base,
            columns=columns,
            targets=targets,
            covariates=past,
            future_covariates=future,
            calendar=features,
        )
        series = workflow.load_for(base, source)
    protocol = workflow.protocol_for(base, len(series.values))
    season = workflow.season_for(base, series, season)
    metrics.mase_scale(series.values[: protocol.train_end, :1].astype(np.float64), season)
    out = Path(out) if out is not None else None
    if out is not None and out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder for the comparison")

    configs = {
        name: dataclasses.replace(base, model=name, task=zoo.get(name).task) for name in zoo_names
    }
    start = time.perf_counter()
    jobs_list = [
        (name, {"config": configs[name], "series": series, "protocol": protocol})
        for name in zoo_names
    ]
    on_progress = progress.epoch if progress is not None else None
    on_done = progress.done if progress is not None else None
    workers = default_jobs() if jobs is None else check_positive_int("jobs", jobs)
    records = run_jobs(
        train_and_forecast, jobs_list, workers=workers, on_progress=on_progress, on_done=on_done
    )
    for entry in entries:
        if isinstance(entry, str):
            continue
        config = dataclasses.replace(base, model=entry.name)
        records[entry.name] = train_and_forecast(
            config, series, protocol, progress=on_progress, model=_user_model(entry, base)
        )
        records[entry.name]["kind"] = "user"
        if on_done is not None:
            on_done(entry.name, records[entry.name])
    forecasts, quantiles = (
        {
            split: {name: r[what][split] for name, r in records.items() if r[what]}
            for split in ("valid", "test")
        }
        for what in ("forecasts", "quantiles")
    )
    scored = workflow.score_splits(
        base,
        series,
        protocol,
        forecasts,
        season=season,
        classical=classical,
        quantiles=quantiles if base.head is not None else None,
        levels=_levels(base),
    )
    result = _result(base, series, protocol, season, records, scored, time.perf_counter() - start)
    if out is not None:
        write_outputs(result, records, configs, series, protocol, out, source, base)
    return result


def train_and_forecast(
    config: RunConfig,
    series: Series,
    protocol: data.Protocol,
    progress: Callable | None = None,
    model: zoo.Model | None = None,
) -> dict:
    """Train one model's seeds (keeping each one's best validation epoch) and forecast every
    validation and test origin in the data's units. Plain data out, for a worker process.
    The windows are the run's (:func:`jaxseq.app.workflow.dataset_for`: covariates included)."""
    ds = workflow.dataset_for(config, series, protocol=protocol)
    scaler = ds.scaler
    assert scaler is not None, "dataset_for always fits a scaler when given none"
    t = time.perf_counter()
    model, state, history = workflow.fit_state(
        config, ds, progress=progress, keep_best=True, model=model
    )
    jax.block_until_ready(state)
    seconds = time.perf_counter() - t
    forecasts = {
        name: workflow.predict_units(model, state.variables, scaler, config, ds.split(name).X)
        for name in ("valid", "test")
    }
    quantiles = {
        name: workflow.predict_quantile_units(
            model, state.variables, scaler, config, ds.split(name).X
        )
        for name in ("valid", "test")
        if model.head is not None
    }
    return {
        "kind": "zoo",
        "forecasts": forecasts,
        "quantiles": quantiles,
        "state": jax.device_get(state),
        "history": history,
        "train_seconds": seconds,
        "scaler": scaler,
    }


def _entries(spec, horizon: int) -> list:
    if isinstance(spec, str):
        if spec == "all":
            return applicable(horizon)
        spec = [s.strip() for s in spec.split(",") if s.strip()]
    out, seen = [], set()
    for entry in spec:
        chosen: Sequence[str | UserModel]
        if isinstance(entry, str):
            if entry == "all":
                chosen = applicable(horizon)
            else:
                zoo.check_name(entry)
                if horizon > 1 and zoo.get(entry).task == "one_step":
                    raise InputError(
                        f"model {entry!r} forecasts one step; horizon {horizon} needs a "
                        f"multi-step or seq2seq model (see `jaxseq models`)"
                    )
                chosen = [entry]
        elif isinstance(entry, cells.Cell):
            chosen = [UserModel(f"user_{getattr(entry, 'name', 'cell')}", _cell_builder(entry))]
        elif isinstance(entry, zoo.Model):
            chosen = [UserModel(entry.name, model=entry)]
        elif isinstance(entry, UserModel):
            chosen = [entry]
        else:
            raise InputError(
                "models must be zoo names, jaxseq.cells.Cell objects, jaxseq.zoo.Model "
                f"objects or compare.UserModel entries; got {type(entry).__name__}"
            )
        for c in chosen:
            name = c if isinstance(c, str) else c.name
            if name in seen:
                raise InputError(f"model {name!r} is listed twice")
            seen.add(name)
            out.append(c)
    if not out:
        raise InputError("--models names no model")
    return out


def _cell_builder(cell: cells.Cell):
    from jaxseq.layers import Dense, Sequential
    from jaxseq.recurrent import RNN

    def build(d: zoo.Dims):
        return Sequential([RNN(cell, 20, return_sequences=True), RNN(cell, 20), Dense(d.outputs)])

    return build


def _user_model(entry: UserModel, config: RunConfig) -> zoo.Model:
    dims = zoo.Dims(config.window, config.features, config.horizon, 1, len(config.future_indices))
    head = dist.get(config.head)
    if entry.model is not None:
        model = entry.model
        if model.dims != dims or model.task != "multi_step":
            raise InputError(
                f"model {model.name!r} is built for {model.dims} ({model.task}); this comparison "
                f"needs {dims} with multi_step targets"
            )
        if model.head != head:
            raise InputError(
                f"model {model.name!r} has head {dist.spec_of(model.head)!r}; this comparison "
                f"trains every model with head {config.head!r}: build it with that head"
            )
        return model
    if entry.build is None:
        raise InputError(f"user model {entry.name!r} has neither a build function nor a model")
    return zoo.Model(
        name=entry.name,
        module=entry.build(dims._replace(n_targets=head.size if head else 1)),
        head=head,
        task="multi_step",
        mode="seq2vec",
        dims=dims,
        normalization=workflow.normalization(config),
        target_columns=(0,),
        description="a user's model",
    )


def _levels(config: RunConfig) -> tuple[float, ...]:
    """The quantile levels every model of the comparison reports."""
    head = dist.get(config.head)
    return tuple(getattr(head, "levels", dist.REPORT_LEVELS))


def _data_path(source) -> str:
    if isinstance(source, str | Path):
        return str(Path(source).absolute())
    return "<in memory>"


# --------------------------------------------------------------------------- results


def _result(config, series: Series, protocol, season, records, scored, seconds) -> dict:
    rows = []
    names = list(scored["valid"]["rows"])
    for name in names:
        kind = records[name]["kind"] if name in records else "baseline"
        row = {"model": name, "kind": kind}
        for split in ("valid", "test"):
            row[split] = scored[split]["rows"][name]
        if name in records:
            row["train_seconds"] = records[name]["train_seconds"]
            row["best_epoch"] = records[name]["history"].get("best_epoch")
        rows.append(row)
    probabilistic = "quantiles" in scored["valid"]
    if probabilistic:
        for row in rows:
            row["quantiles"] = _quantile_scores(scored, row["model"])
    rows.sort(key=lambda r: _rank_key(r, probabilistic))
    best = next((r["model"] for r in rows if r["kind"] != "baseline"), None)
    settings = {
        "data": config.data,
        "column": config.targets[0],
        "frequency": getattr(series, "frequency", None),
        "length": int(protocol.length),
        "window": config.window,
        "horizon": config.horizon,
        "season": int(season),
        "seeds": config.seeds,
        "epochs": config.epochs,
        "normalize": config.normalize,
        "valid": {
            "steps": protocol.valid_end - protocol.train_end,
            "windows": scored["valid"]["windows"],
        },
        "test": {
            "steps": protocol.length - protocol.valid_end,
            "windows": scored["test"]["windows"],
        },
        "stride": protocol.stride,
        "head": config.head,
        "levels": scored["valid"]["quantiles"]["levels"] if probabilistic else None,
        "ranked_by": "valid scaled_pinball" if probabilistic else "valid mase",
        "best": best,
        "skipped": scored["test"]["skipped"],
        "seconds": round(seconds, 1),
    }
    return {"settings": settings, "rows": rows}


def _quantile_scores(scored: dict, name: str) -> dict | None:
    """A row's probabilistic scores: validation, test, test after static calibration on the
    validation windows, after rolling calibration on the latest errors, and after adaptive
    rolling calibration."""
    if name not in scored["valid"]["quantiles"]["rows"]:
        return None  # a point baseline
    return {
        "valid": scored["valid"]["quantiles"]["rows"][name],
        "test": scored["test"]["quantiles"]["rows"][name],
        "test_calibrated": scored["test"]["quantiles"]["calibrated"][name],
        "test_rolling": scored["test"]["quantiles"]["rolling"][name],
        "test_adaptive": scored["test"]["quantiles"]["adaptive"][name],
    }


def _rank_key(row: dict, probabilistic: bool) -> tuple:
    """Probabilistic comparisons rank by validation scaled pinball (point baselines last, by
    MASE); point comparisons by validation MASE."""
    if not probabilistic:
        return (0, row["valid"]["mase"]["mean"])
    if row["quantiles"] is None:
        return (1, row["valid"]["mase"]["mean"])
    return (0, row["quantiles"]["valid"]["scaled_pinball"])


def markdown(result: dict) -> str:
    """The comparison as Markdown tables: point errors, and for a probabilistic comparison the
    quantile scores (:func:`quantile_markdown`)."""
    s = result["settings"]

    def cell(m):
        if m["min"] == m["max"]:
            return f"{m['mean']:.3f}"
        return f"{m['mean']:.3f} [{m['min']:.3f}-{m['max']:.3f}]"

    lines = [
        f"# {s['column']}: {s['horizon']} steps ahead from {s['window']}",
        "",
        f"{s['length']} steps ({s['frequency'] or 'no time column'}), season {s['season']}; "
        f"validation {s['valid']['steps']} steps ({s['valid']['windows']} origins), test "
        f"{s['test']['steps']} steps ({s['test']['windows']} origins), stride {s['stride']}. "
        f"Models: {s['seeds']} seeds, {s['epochs']} epochs, normalize={s['normalize']}; "
        f"mean [min-max] over seeds. Ranked by {s['ranked_by']}. "
        f"Whole comparison {s['seconds'] / 60:.1f} min.",
        "",
        "| rank | forecast | kind | valid MASE | test MASE | test RMSE | test MAE | test sMAPE |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(result["rows"], 1):
        v, t = r["valid"], r["test"]
        lines.append(
            f"| {i} | {r['model']} | {r['kind']} | {cell(v['mase'])} | {cell(t['mase'])} | "
            f"{cell(t['rmse'])} | {cell(t['mae'])} | {cell(t['smape'])} |"
        )
    if s["skipped"]:
        lines += ["", "Skipped: " + "; ".join(f"{k} ({v})" for k, v in s["skipped"].items())]
    if s.get("levels"):
        lines += ["", *quantile_markdown(result)]
    return "\n".join(lines) + "\n"


def quantile_markdown(result: dict) -> list[str]:
    """The probabilistic table: scaled pinball loss, CRPS approximation and the 80% interval's
    coverage and width on the test part, raw and calibrated, for every model with quantiles."""
    s = result["settings"]
    pairs = metrics.intervals(s["levels"])
    nominal = next((p[0] for p in pairs if abs(p[0] - 0.8) < 1e-9), pairs[0][0] if pairs else None)
    key = f"{100 * nominal:g}" if nominal else "no"
    lines = [
        f"Quantiles at levels {', '.join(f'{t:g}' for t in s['levels'])} (head {s['head']!r}; "
        "seasonal naive: its forecast plus the empirical quantiles of its in-sample errors). "
        "Scores of the seed-averaged quantiles; *static*: conformalized on the validation "
        "windows; *rolling*: each test window conformalized on the latest errors known at its "
        "origin; *adaptive*: rolling, its level moved by the misses seen so far "
        "(`jaxseq.calibration.rolling`). Ranked by validation scaled pinball.",
        "",
        f"| forecast | valid scaled pinball | test scaled pinball | test CRPS (approx.) | "
        f"test {key}% coverage | width | static scaled pinball | static {key}% coverage | "
        f"width | rolling scaled pinball | rolling {key}% coverage | width | adaptive scaled "
        f"pinball | adaptive {key}% coverage | width |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        q = r.get("quantiles")
        if q is None:
            continue
        cells = [
            f"| {r['model']} | {q['valid']['scaled_pinball']:.3f} | "
            f"{q['test']['scaled_pinball']:.3f} | {q['test']['crps_approx']:.4g} | "
        ]
        for part in ("test", "test_calibrated", "test_rolling", "test_adaptive"):
            i = _interval(q[part], nominal)
            pinball = "" if part == "test" else f"{q[part]['scaled_pinball']:.3f} | "
            cells.append(f"{pinball}{100 * i['coverage']:.1f}% | {i['width']:.4g} | ")
        lines.append("".join(cells).rstrip())
    return lines


def _interval(scores: dict, nominal: float | None) -> dict:
    if nominal is None:  # no pair of levels makes a central interval
        return {"coverage": float("nan"), "width": float("nan")}
    return next(i for i in scores["intervals"] if abs(i["nominal"] - nominal) < 1e-9)


#: Every model's forecasts at every validation and test origin (:func:`write_forecasts`).
FORECASTS = "forecasts.npz"


def write_forecasts(path: Path, records, series, protocol, config: RunConfig) -> None:
    """Every trained model's forecasts in the data's units, for backtest studies without
    retraining (another calibration, another metric): ``{split}_origins`` ``[windows]``,
    ``{split}_truth`` ``[windows, horizon, targets]``, ``{split}/{model}`` ``[seeds, windows,
    horizon, targets]`` and, with a probabilistic head, ``{split}/{model}/quantiles`` ``[seeds,
    windows, horizon, targets, L]``. float32 forecasts, compressed."""
    values = np.asarray(series.values, np.float64)[:, config.target_indices]
    arrays: dict[str, Any] = {}
    for split in ("valid", "test"):
        origins = protocol.origins(split)
        arrays[f"{split}_origins"] = origins
        arrays[f"{split}_truth"] = workflow.truth_at(
            values, origins, config.horizon, range(values.shape[1])
        )
        for name, record in records.items():
            arrays[f"{split}/{name}"] = np.asarray(record["forecasts"][split], np.float32)
            if record.get("quantiles"):
                quantiles = np.asarray(record["quantiles"][split], np.float32)
                arrays[f"{split}/{name}/quantiles"] = quantiles
    np.savez_compressed(path, **arrays)


def write_outputs(
    result, records, configs, series, protocol, out: Path, source, base: RunConfig
) -> None:
    """``compare.json``, ``compare.md``, ``forecasts.npz``, ``compare.png`` and the best zoo
    model's run folder."""
    from jaxseq.app import plots

    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "compare.json", result)
    (out / "compare.md").write_text(markdown(result))
    write_forecasts(out / FORECASTS, records, series, protocol, base)
    zoo_rows = [r for r in result["rows"] if r["kind"] == "zoo"]
    if zoo_rows:
        best = zoo_rows[0]["model"]
        config = configs[best]
        if config.data == "<in memory>":
            path = out / "series.csv"
            write_csv(path, list(series.columns), series.values.tolist())
            config = dataclasses.replace(config, data=str(path.absolute()), time_column=None)
        record = records[best]
        run_dir = out / "best"
        if (run_dir / "config.json").exists():
            import shutil

            shutil.rmtree(run_dir)
        run = Run.create(run_dir, config, record["scaler"])
        run.save(config.epochs, record["state"], record["history"])
        if config.head is not None:  # `jaxseq forecast best` then writes calibrated intervals
            workflow.calibrate_run(run, workflow.build_model(config), record["state"], series)
    best_any = result["settings"]["best"]
    origins = protocol.origins("test")
    truth = series.values[:, 0].astype(np.float64)
    plots.compare_figure(
        result,
        truth,
        origins,
        records[best_any]["forecasts"]["test"] if best_any else None,
        out / "compare.png",
        title=f"{result['settings']['column']}: {best_any}",
    )
