"""The ``jaxseq`` command line: thin wrappers over the library's modules.

Every subcommand has ``--help``. Bad input (a file, a column, an option) ends the command with
exit status 2 and one readable line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from jaxseq.errors import InputError


class CommandError(Exception):
    """A command-line problem: printed as one line, exit status 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``jaxseq train: error: ...``) and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _size(text: str) -> int | float:
    """Steps (an integer) or a share of the series (a number in (0, 1))."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number of steps or a fraction below 1, got {text!r}"
        ) from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of steps or a fraction in (0, 1), got {text}"
        )
    return value


def _jobs(text: str) -> int | str:
    return text if text == "auto" else _positive_int(text)


def _names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected one or more comma-separated names")
    return names


def _output(path: str) -> str:
    from jaxseq.app.io import check_output_file

    return str(check_output_file(path, "--out"))


def _figure(path: str) -> str:
    from jaxseq.app.plots import check_figure_path

    return str(check_figure_path(path))


def _reporter(args, models, epochs):
    from jaxseq.app.progress import Reporter

    return Reporter(models, epochs, quiet=getattr(args, "quiet", False))


# --------------------------------------------------------------------------- commands


def cmd_models(args) -> int:
    from jaxseq import models

    for name, task, mode, description in models.describe():
        print(f"{name:<24} {task:<11} {mode:<16} {description}")
    return 0


def cmd_train(args) -> int:
    from jaxseq.app import workflow
    from jaxseq.app.runs import Run

    if args.plot:
        _figure(args.plot)
    if args.resume:
        given = [
            f"--{k.replace('_', '-')}"
            for k in (
                "model",
                "data",
                "column",
                "target",
                "covariates",
                "future_covariates",
                "calendar",
                "out",
            )
            if getattr(args, k) is not None
        ]
        if given:
            raise CommandError(
                f"--resume takes every setting from the run; drop {', '.join(given)}"
            )
        run = Run(args.resume)
        config = run.config
        out = args.resume
    else:
        missing = [opt for opt, v in (("--model", args.model), ("--data", args.data)) if v is None]
        if missing:
            raise CommandError(f"{' and '.join(missing)} required (or --resume RUN)")
        config = workflow.make_config(
            args.model,
            args.data,
            args.column,
            args.target,
            window=args.window,
            horizon=args.horizon,
            seeds=args.seeds,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            clip_norm=args.clip_norm,
            time_column=args.time_column,
            fill=args.fill,
            normalize=args.normalize,
            valid_size=args.valid_size,
            test_size=args.test_size,
            stride=args.stride,
            season=args.season,
            past_covariates=args.covariates,
            future_covariates=args.future_covariates,
            calendar=args.calendar,
            head=_head(args),
        )
        out = args.out or f"runs/{args.model}"
    reporter = _reporter(args, [config.model], config.epochs)
    with reporter:
        run = workflow.train_run(config, out, resume=bool(args.resume), progress=reporter.epoch)
    history = run.history().get("metrics", {})
    if history and not args.quiet:
        key = "val_last_step_mse" if "val_last_step_mse" in history else "val_mse"
        last = history[key][-1]
        print(
            f"trained {config.model} on {Path(config.data).name}: {len(history[key])} epochs, "
            f"{config.seeds} seeds; final validation {key[4:]} (scaled) "
            f"{sum(last) / len(last):.5f}; run saved in {out}"
        )
    if args.plot and history:
        from jaxseq.app import plots

        plots.run_learning_curves(history, args.plot, config.model)
    return 0


def _cell(m: dict) -> str:
    if m["min"] == m["max"]:
        return f"{m['mean']:.4g}"
    return f"{m['mean']:.4g} [{m['min']:.4g}-{m['max']:.4g}]"


def _table(rows: dict) -> list[str]:
    lines = [f"  {'forecast':<22} {'MASE':>22} {'RMSE':>22} {'MAE':>22} {'sMAPE':>22}"]
    for name, m in rows.items():
        cells = "".join(f" {_cell(m[k]):>22}" for k in ("mase", "rmse", "mae", "smape"))
        lines.append(f"  {name:<22}{cells}")
    return lines


def _quantile_table(rows: dict, title: str) -> list[str]:
    """Pinball loss, CRPS approximation and each central interval's coverage and width."""
    first = next(iter(rows.values()))
    spans = [f"{100 * i['nominal']:g}%" for i in first["intervals"]]
    head = "".join(f" {span + ' cover, width':>24}" for span in spans)
    lines = [f"  {title + ':':<22} {'scaled pinball':>16} {'CRPS approx.':>14}{head}"]
    for name, q in rows.items():
        cells = "".join(
            " " + f"{100 * i['coverage']:.1f}%, {i['width']:.4g}".rjust(24) for i in q["intervals"]
        )
        scores = f"{q['scaled_pinball']:>16.4g} {q['crps_approx']:>14.4g}"
        lines.append(f"  {name:<22} {scores}{cells}")
    return lines


def cmd_evaluate(args) -> int:
    from jaxseq.app import workflow
    from jaxseq.app.runs import Run, write_json

    out = _output(args.out) if args.out else None
    run = Run(args.run)
    result = workflow.evaluate_run(
        run,
        args.data,
        season=args.season,
        stride=args.stride,
        refit_every=args.refit_every,
        classical=not args.no_classical,
    )
    s = result["settings"]
    print(
        f"{s['model']} on {', '.join(s['targets'])}, horizon {s['horizon']}, {s['seeds']} seeds, "
        f"season {s['season']}: errors in the data's units at every origin (stride "
        f"{s['stride']}); model: mean [min - max] over seeds; MASE scaled by the training "
        "part's seasonal naive MAE"
    )
    for split in ("valid", "test"):
        block = result[split]
        first, last = block["origins"]
        print(f"\n{split} ({block['windows']} origins, steps {first}-{last})")
        print("\n".join(_table(block["rows"])))
        for name, why in block["skipped"].items():
            print(f"  ({name} skipped: {why})")
        if "quantiles" in block:
            print("\n".join(_quantile_table(block["quantiles"]["rows"], "quantiles")))
        if "calibrated" in block.get("quantiles", {}):
            title = "calibrated on the validation windows"
            print("\n".join(_quantile_table(block["quantiles"]["calibrated"], title)))
    if out:
        write_json(Path(out), result)
        print(f"\nwrote {out}")
    return 0


def cmd_compare(args) -> int:
    from jaxseq.app import compare

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} is a file; give a folder for the comparison")
    chosen = args.models if args.models else "all"
    if args.models == ["all"]:
        chosen = "all"
    names = compare.applicable(args.horizon) if chosen == "all" else chosen
    with _reporter(args, names, args.epochs) as reporter:
        result = compare.compare(
            args.data,
            horizon=args.horizon,
            window=args.window,
            column=args.column,
            models=chosen,
            seeds=args.seeds,
            epochs=args.epochs,
            season=args.season,
            valid_size=args.valid_size,
            test_size=args.test_size,
            stride=args.stride,
            normalize=args.normalize,
            batch_size=args.batch_size,
            time_column=args.time_column,
            fill=args.fill,
            covariates=args.covariates,
            future_covariates=args.future_covariates,
            calendar=args.calendar,
            head=_head(args),
            classical=not args.no_classical,
            jobs=None if args.jobs == "auto" else args.jobs,
            out=out,
            progress=reporter,
        )
    if not args.quiet:
        print(compare.markdown(result))
    best = result["settings"]["best"]
    print(f"best on validation: {best}; wrote {out}/compare.json, compare.md, compare.png, best/")
    return 0


def cmd_forecast(args) -> int:
    from jaxseq.app import forecasting
    from jaxseq.app.io import write_csv
    from jaxseq.app.runs import Run

    out = _output(args.out or str(Path(args.run) / "forecast.csv"))
    if args.plot:
        _figure(args.plot)
    run = Run(args.run)
    forecast, series = forecasting.forecast_run(run, args.data, args.steps)
    header = ["step"]
    for t in forecast.targets:
        header += [f"{t}_mean", f"{t}_std", f"{t}_min", f"{t}_max"]
        header += [f"{t}_seed{k}" for k in range(forecast.per_seed.shape[0])]
        header += [f"{t}_q{level:g}" for level in forecast.levels if forecast.quantiles is not None]
    rows = []
    for s in range(args.steps):
        row = [s + 1]
        for j in range(len(forecast.targets)):
            row += [
                f"{forecast.mean[s, j]:.6g}",
                f"{forecast.std[s, j]:.6g}",
                f"{forecast.low[s, j]:.6g}",
                f"{forecast.high[s, j]:.6g}",
            ]
            row += [f"{v:.6g}" for v in forecast.per_seed[:, s, j]]
            if forecast.quantiles is not None:  # seed-averaged quantiles
                row += [f"{v:.6g}" for v in forecast.quantile_mean[s, j]]
        rows.append(row)
    write_csv(out, header, rows)
    print(f"wrote {args.steps} forecast step(s) of {', '.join(forecast.targets)} to {out}")
    if forecast.calibrated:
        print(
            f"quantiles (_q columns) conformally calibrated on {forecast.calibrated} validation "
            "windows"
        )
    if args.plot:
        from jaxseq.app import plots

        col = run.config.target_indices[0]
        plots.forecast_figure(
            series.values[:, col],
            forecast.mean[:, 0],
            forecast.low[:, 0],
            forecast.high[:, 0],
            args.plot,
            title=f"{run.config.model}: next {args.steps} steps of {forecast.targets[0]}",
            intervals=_bands(forecast),
        )
        print(f"wrote {args.plot}")
    return 0


def _bands(forecast) -> list:
    """The first target's central intervals ``(nominal, low, high)`` of a probabilistic
    forecast (none for point forecasts)."""
    from jaxseq import metrics

    if forecast.quantiles is None:
        return []
    q, levels = forecast.quantile_mean[:, 0], list(forecast.levels)
    return [
        (nominal, q[:, levels.index(lo)], q[:, levels.index(hi)])
        for nominal, lo, hi in metrics.intervals(levels)
    ]


def cmd_impute(args) -> int:
    from jaxseq.app import forecasting
    from jaxseq.app.io import write_csv
    from jaxseq.app.runs import Run

    out = _output(args.out or str(Path(args.run) / "imputed.csv"))
    run = Run(args.run)
    values, filled, series = forecasting.impute_run(run, args.data)
    name = run.config.targets[0]
    header = ([run.config.time_column] if series.time is not None else ["row"]) + [name, "filled"]
    labels = series.time_labels()
    rows = [[label, f"{v:.6g}", int(f)] for label, v, f in zip(labels, values, filled, strict=True)]
    write_csv(out, header, rows)
    print(f"filled {int(filled.sum())} missing value(s) of {name}; wrote {out}")
    return 0


def cmd_experiments(args) -> int:
    from jaxseq.app import experiments

    if args.quick:
        chosen = list(experiments.QUICK_MODELS)
        epochs, seeds = args.epochs or 2, args.seeds or 2
    else:
        chosen = list(experiments.CHAPTER_MODELS)
        epochs, seeds = args.epochs or 20, args.seeds or 5
    if args.models:
        chosen = args.models
    jobs = args.jobs
    if jobs == "auto":
        import jax

        jobs = min(2, os.cpu_count() or 1) if jax.default_backend() == "cpu" else 1
    settings = experiments.Settings(
        models=chosen,
        seeds=seeds,
        epochs=epochs,
        batch_size=args.batch_size,
        jobs=jobs,
        out=Path(args.out),
        quick=args.quick,
    )
    experiments.run_experiments(settings, _reporter(args, chosen, epochs))
    if not args.quiet:
        print((Path(args.out) / "results.md").read_text())
    return 0


def cmd_bench(args) -> int:
    from jaxseq.bench import harness as bench

    names = args.workloads or list(bench.DEFAULT_WORKLOADS)
    result = bench.run_bench(
        names,
        peers=args.peers,
        rounds=args.rounds,
        budget=args.budget,
        dtype=args.dtype,
        out=Path(args.out),
        devices=args.devices,
        update=args.update,
        log=lambda s: print(s, file=sys.stderr),
    )
    print(bench.markdown(result))
    return 0


# --------------------------------------------------------------------------- panel
# `jaxseq panel`: one global model on many series (jaxseq.app.global_model). Kept in this block.


def cmd_panel(args) -> int:
    import pandas as pd

    from jaxseq.app import global_model, io, panel
    from jaxseq.app.runs import write_json

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} is a file; give a folder for the panel's results")
    if args.id_column:
        loaded = panel.load_panel(
            args.data,
            id_column=args.id_column,
            time_column=args.time_column,
            columns=args.column,
            fill=args.fill,
        )
    else:  # a wide file: every value column is a series of its own
        wide = io.load_series(args.data, args.column, time_column=args.time_column, fill=args.fill)
        loaded = panel.from_columns(wide)
    with _reporter(args, [args.model], args.epochs) as reporter:
        result = global_model.fit_panel(
            loaded,
            model=args.model,
            window=args.window,
            horizon=args.horizon,
            seeds=args.seeds,
            epochs=args.epochs,
            skip_short=args.skip_short,
            season=args.season,
            progress=reporter.epoch,
            batch_size=args.batch_size,
            normalize=args.normalize,
            valid_size=args.valid_size,
            test_size=args.test_size,
            stride=args.stride,
            targets=args.target,
            head=_head(args),
        )
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "panel.json", result.to_json())
    text = global_model.markdown({"global model": result}, title=f"{Path(args.data).name}")
    (out / "panel.md").write_text(text)
    forecasts = global_model.forecast_panel(result, args.steps)
    pd.DataFrame(global_model.forecast_rows(forecasts)).to_csv(out / "forecast.csv", index=False)
    if not args.quiet:
        print(text)
    for key, length in result.data.skipped.items():
        print(f"note: series {key!r} skipped ({length} steps, too short)", file=sys.stderr)
    print(f"wrote {out}/panel.json, panel.md and forecast.csv", file=sys.stderr)
    return 0


def _panel_parser(sub) -> None:
    p = sub.add_parser(
        "panel", help="train one global model on many series (long format with --id-column)"
    )
    p.add_argument("--data", required=True, help="a CSV/Parquet file with a header")
    p.add_argument(
        "--id-column",
        help="the column of series ids (long format); without it every value column is a series",
    )
    p.add_argument("--time-column", help="a column of dates/times (sorted within each series)")
    p.add_argument("--column", type=_names, help="value column(s), comma-separated (default all)")
    p.add_argument("--target", type=_names, help="column(s) to forecast (default the first)")
    p.add_argument("--model", required=True, help="zoo name (see `jaxseq models`)")
    p.add_argument("--window", type=_positive_int, required=True, help="input steps")
    p.add_argument("--horizon", type=_positive_int, required=True, help="steps ahead")
    p.add_argument("--epochs", type=_positive_int, default=10)
    p.add_argument("--seeds", type=_positive_int, default=3, help="replicas trained at once")
    p.add_argument("--batch-size", type=_positive_int, default=32)
    p.add_argument(
        "--fill",
        choices=("interpolate", "ffill", "zero"),
        help="fill missing values instead of refusing them",
    )
    p.add_argument(
        "--skip-short", action="store_true", help="leave out series too short (else refused)"
    )
    p.add_argument("--steps", type=_positive_int, help="steps to forecast (default the horizon)")
    _protocol_options(p)
    _head_options(p)
    p.add_argument("--out", default="panel", help="results folder (default ./panel)")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_panel)


# --------------------------------------------------------------------------- end of panel


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="jaxseq", description="Sequence models for time series in JAX/Flax (Geron ch. 15)."
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)

    p = sub.add_parser("models", help="list the model zoo, one line each")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("train", help="train a zoo model on your series (CSV or .npy)")
    p.add_argument("--model", help="zoo name (see `jaxseq models`)")
    p.add_argument("--data", help="a CSV with a header row, or a .npy array")
    p.add_argument(
        "--column",
        type=_names,
        help="input column(s), comma-separated (default: all but --time-column)",
    )
    p.add_argument(
        "--target", type=_names, help="column(s) to forecast (default: the first input column)"
    )
    p.add_argument(
        "--time-column", help="a column of time labels (kept for outputs, not a feature)"
    )
    p.add_argument(
        "--window", type=_positive_int, default=50, help="input steps per example (default 50)"
    )
    p.add_argument(
        "--horizon",
        type=_positive_int,
        default=10,
        help="steps ahead (default 10; one-step models: 1)",
    )
    p.add_argument("--epochs", type=_positive_int, default=20)
    p.add_argument(
        "--seeds", type=_positive_int, default=5, help="replicas trained at once (default 5)"
    )
    p.add_argument("--batch-size", type=_positive_int, default=32)
    p.add_argument(
        "--learning-rate",
        type=_positive_float,
        help="Adam learning rate (default: the model's, as in the chapter)",
    )
    p.add_argument(
        "--clip-norm", type=_positive_float, help="clip gradients to this global norm (default off)"
    )
    p.add_argument(
        "--fill",
        choices=("interpolate", "ffill", "zero"),
        help="fill missing values instead of refusing them",
    )
    _protocol_options(p)
    _covariate_options(p)
    _head_options(p)
    p.add_argument("--out", help="run folder (default runs/MODEL)")
    p.add_argument(
        "--resume", metavar="RUN", help="continue an interrupted run to its configured epochs"
    )
    p.add_argument("--plot", help="also write the learning curves to this PNG")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "evaluate",
        help="validation and test errors of a run, in your units, against naive baselines",
    )
    p.add_argument("run", help="a run folder written by `jaxseq train`")
    p.add_argument("--data", help="the series (default: the file the run was trained on)")
    p.add_argument(
        "--season",
        type=_positive_int,
        help="season for MASE and seasonal naive (default: the run's, or the time column's "
        "frequency: weekly 52, monthly 12, ...; else 1)",
    )
    p.add_argument(
        "--stride", type=_positive_int, help="steps between origins (default: the run's, 1)"
    )
    p.add_argument(
        "--refit-every",
        type=_positive_int,
        metavar="K",
        help="retrain the model every K test origins on the data before them",
    )
    p.add_argument("--no-classical", action="store_true", help="skip AutoETS/ARIMA/Theta")
    p.add_argument("--out", help="also write the result as JSON to this file")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "compare",
        help="train every applicable model on a series, score them against the baselines",
    )
    p.add_argument("--data", required=True, help="a CSV/Parquet file with a header, or .npy")
    p.add_argument("--column", help="the column to forecast (default: the first)")
    p.add_argument("--time-column", help="a column of dates/times (sorted, frequency inferred)")
    p.add_argument("--horizon", type=_positive_int, required=True, help="steps ahead")
    p.add_argument("--window", type=_positive_int, required=True, help="input steps")
    p.add_argument(
        "--models",
        type=_names,
        help="all (default: every applicable zoo model) or comma-separated zoo names",
    )
    p.add_argument("--seeds", type=_positive_int, default=3, help="replicas per model (3)")
    p.add_argument("--epochs", type=_positive_int, default=30, help="epochs per model (30)")
    p.add_argument("--batch-size", type=_positive_int, default=32)
    p.add_argument(
        "--fill",
        choices=("interpolate", "ffill", "zero"),
        help="fill missing values instead of refusing them",
    )
    _protocol_options(p)
    _covariate_options(p)
    _head_options(p)
    p.add_argument("--no-classical", action="store_true", help="skip AutoETS/ARIMA/Theta")
    p.add_argument("--jobs", type=_jobs, default="auto", help="worker processes (default auto)")
    p.add_argument("--out", default="compare", help="results folder (default ./compare)")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser(
        "forecast", help="forecast the steps after the end of a series (CSV out, optional plot)"
    )
    p.add_argument("run", help="a run folder written by `jaxseq train`")
    p.add_argument("--data", help="the series to continue (default: the training file)")
    p.add_argument("--steps", type=_positive_int, default=10)
    p.add_argument("--out", help="CSV to write (default RUN/forecast.csv)")
    p.add_argument("--plot", help="also draw history, forecast and the seed band to this PNG")
    p.set_defaults(func=cmd_forecast)

    p = sub.add_parser(
        "impute", help="fill the gaps (missing values) of a series with a trained run"
    )
    p.add_argument("run", help="a run folder trained on one column")
    p.add_argument("--data", help="the series with gaps (default: the training file)")
    p.add_argument("--out", help="CSV to write (default RUN/imputed.csv)")
    p.set_defaults(func=cmd_impute)

    p = sub.add_parser(
        "experiments", help="reproduce the chapter's table (what `make experiments` runs)"
    )
    p.add_argument("--quick", action="store_true", help="a smoke run: 4 models, 2 epochs, 2 seeds")
    p.add_argument(
        "--models", type=_names, help="comma-separated zoo names (default: the chapter's table)"
    )
    p.add_argument("--epochs", type=_positive_int, help="epochs per model (default 20; quick 2)")
    p.add_argument("--seeds", type=_positive_int, help="replicas per model (default 5; quick 2)")
    p.add_argument("--batch-size", type=_positive_int, default=32)
    p.add_argument(
        "--jobs",
        type=_jobs,
        default="auto",
        help="worker processes (default auto: 2 on a multi-core CPU, 1 on GPU/TPU)",
    )
    p.add_argument("--out", default="experiments/results", help="folder for results and figures")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_experiments)

    p = sub.add_parser(
        "bench", help="time training steps against Flax and Keras (what `make bench` runs)"
    )
    p.add_argument(
        "--workloads",
        type=_names,
        help="comma-separated: W1..W6, S8, E1, B1, P1 (default all)",
    )
    p.add_argument(
        "--update",
        action="store_true",
        help="re-measure these workloads and keep the other entries of --out's bench.json",
    )
    p.add_argument(
        "--peers",
        type=_names,
        help="peers to time: flax, keras, torch, or none (default: those installed)",
    )
    p.add_argument("--rounds", type=_positive_int, default=60, help="timed rounds per workload")
    p.add_argument(
        "--budget", type=_positive_float, default=20.0, help="seconds of timing per workload"
    )
    p.add_argument(
        "--dtype",
        choices=("float32", "bfloat16"),
        default="float32",
        help="compute dtype (bfloat16: parameters stay float32)",
    )
    p.add_argument(
        "--devices", action="store_true", help="also measure throughput against the device count"
    )
    p.add_argument("--out", default="experiments/results")
    p.set_defaults(func=cmd_bench)
    _panel_parser(sub)
    return parser


def _covariate_options(p) -> None:
    """Options shared by train and compare: covariates beside the target (jaxseq.app.covariates)."""
    p.add_argument(
        "--covariates",
        type=_names,
        help="past-observed covariate columns, comma-separated (known up to the forecast origin)",
    )
    p.add_argument(
        "--future-covariates",
        type=_names,
        help="known-future covariate columns (known for the horizon too; to forecast, end the "
        "file with horizon rows whose target is empty and these filled)",
    )
    p.add_argument(
        "--calendar",
        nargs="?",
        const=True,
        type=_names,
        metavar="FEATURES",
        help="calendar sine/cosine features of --time-column (alone: the frequency's defaults; "
        "or names: month,day_of_week,hour,...)",
    )


def _levels(text: str) -> list[float]:
    """Quantile levels ``0.1,0.5,0.9`` (checked by :func:`jaxseq.distributions.get`)."""
    from jaxseq import distributions
    from jaxseq.errors import InputError

    try:
        return distributions.spec_of(distributions.get(text))
    except InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _head_options(p) -> None:
    """Options shared by train and compare: a probabilistic head (one of the two)."""
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--quantiles",
        type=_levels,
        metavar="LEVELS",
        help="forecast these quantiles (comma-separated, e.g. 0.1,0.5,0.9; 0.5 is added), "
        "trained with the pinball loss",
    )
    group.add_argument(
        "--distribution",
        choices=("normal", "student_t"),
        help="forecast a normal or Student-t distribution, trained by negative log-likelihood",
    )


def _head(args):
    return args.quantiles or args.distribution


def _protocol_options(p) -> None:
    """Options shared by train and compare: the normalisation and where the parts lie."""
    p.add_argument(
        "--normalize",
        choices=("window", "series", "none"),
        default="window",
        help="window: each input window in its own frame (default); series: the training "
        "part's mean and std; none",
    )
    p.add_argument(
        "--valid-size",
        type=_size,
        default=0.2,
        help="validation targets: steps (an integer) or a share below 1 (default 0.2)",
    )
    p.add_argument(
        "--test-size",
        type=_size,
        default=0.1,
        help="test targets: steps (an integer) or a share below 1 (default 0.1)",
    )
    p.add_argument(
        "--stride", type=_positive_int, default=1, help="steps between validation/test origins"
    )
    p.add_argument(
        "--season",
        type=_positive_int,
        help="season for MASE and seasonal naive (default from the time column, else 1)",
    )


class _Notes:
    """Collects what the loader reports (rows sorted, gaps, labels that are not dates), to
    print as ``note:`` lines once a command has succeeded (a failure stays one line)."""

    def __enter__(self):
        import logging

        self.lines: list[str] = []
        self.log = logging.getLogger("jaxseq")
        self.handler = logging.Handler()
        self.handler.emit = lambda record: self.lines.append(record.getMessage())
        self.level = self.log.level
        self.log.addHandler(self.handler)
        self.log.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc):
        self.log.removeHandler(self.handler)
        self.log.setLevel(self.level)
        return False

    def show(self) -> None:
        for line in dict.fromkeys(self.lines):  # each once, in order
            print(f"note: {line}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from jaxseq.app.runs import install_stop_handlers, restore_handlers

    previous = install_stop_handlers()  # SIGTERM stops like Ctrl-C, never mid-checkpoint
    try:
        with _Notes() as notes:
            code = args.func(args)
        notes.show()
        return code
    except (CommandError, InputError) as error:
        print(f"jaxseq {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"jaxseq {args.command}: interrupted; the last checkpoint is kept", file=sys.stderr)
        return 130
    finally:
        restore_handlers(previous)
