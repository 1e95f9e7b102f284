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
    from jaxseq.io import check_output_file

    return str(check_output_file(path, "--out"))


def _figure(path: str) -> str:
    from jaxseq.plots import check_figure_path

    return str(check_figure_path(path))


def _reporter(args, models, epochs):
    from jaxseq.progress import Reporter

    return Reporter(models, epochs, quiet=getattr(args, "quiet", False))


# --------------------------------------------------------------------------- commands


def cmd_models(args) -> int:
    from jaxseq import models

    for name, task, mode, description in models.describe():
        print(f"{name:<24} {task:<11} {mode:<16} {description}")
    return 0


def cmd_train(args) -> int:
    from jaxseq import workflow
    from jaxseq.runs import Run

    if args.plot:
        _figure(args.plot)
    if args.resume:
        given = [
            f"--{k.replace('_', '-')}"
            for k in ("model", "data", "column", "target", "out")
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
        from jaxseq import plots

        plots.run_learning_curves(history, args.plot, config.model)
    return 0


def cmd_evaluate(args) -> int:
    from jaxseq import workflow
    from jaxseq.runs import Run

    run = Run(args.run)
    result = workflow.evaluate_run(run, args.data, season=args.season)
    targets = ", ".join(run.config.targets)
    print(
        f"{run.config.model} on {targets}, horizon {run.config.horizon}, {run.config.seeds} seeds "
        "(errors in the data's units; model: mean [min - max] over seeds)"
    )
    for split, block in result.items():
        print(f"\n{split} ({block['windows']} windows)")
        print(f"  {'forecast':<24} {'RMSE':>24} {'MAE':>24}")
        for name, m in block["metrics"].items():

            def cell(s):
                if s["min"] == s["max"]:
                    return f"{s['mean']:.4g}"
                return f"{s['mean']:.4g} [{s['min']:.4g}-{s['max']:.4g}]"

            print(f"  {name:<24} {cell(m['rmse']):>24} {cell(m['mae']):>24}")
    return 0


def cmd_forecast(args) -> int:
    from jaxseq import workflow
    from jaxseq.io import write_csv
    from jaxseq.runs import Run

    out = _output(args.out or str(Path(args.run) / "forecast.csv"))
    if args.plot:
        _figure(args.plot)
    run = Run(args.run)
    forecast, series = workflow.forecast_run(run, args.data, args.steps)
    header = ["step"]
    for t in forecast.targets:
        header += [f"{t}_mean", f"{t}_std", f"{t}_min", f"{t}_max"]
        header += [f"{t}_seed{k}" for k in range(forecast.per_seed.shape[0])]
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
        rows.append(row)
    write_csv(out, header, rows)
    print(f"wrote {args.steps} forecast step(s) of {', '.join(forecast.targets)} to {out}")
    if args.plot:
        from jaxseq import plots

        col = run.config.target_indices[0]
        plots.forecast_figure(
            series.values[:, col],
            forecast.mean[:, 0],
            forecast.low[:, 0],
            forecast.high[:, 0],
            args.plot,
            title=f"{run.config.model}: next {args.steps} steps of {forecast.targets[0]}",
        )
        print(f"wrote {args.plot}")
    return 0


def cmd_impute(args) -> int:
    from jaxseq import workflow
    from jaxseq.io import write_csv
    from jaxseq.runs import Run

    out = _output(args.out or str(Path(args.run) / "imputed.csv"))
    run = Run(args.run)
    values, filled, series = workflow.impute_run(run, args.data)
    name = run.config.targets[0]
    header = ([run.config.time_column] if series.time is not None else ["row"]) + [name, "filled"]
    labels = series.time if series.time is not None else range(1, len(values) + 1)
    rows = [[label, f"{v:.6g}", int(f)] for label, v, f in zip(labels, values, filled, strict=True)]
    write_csv(out, header, rows)
    print(f"filled {int(filled.sum())} missing value(s) of {name}; wrote {out}")
    return 0


def cmd_experiments(args) -> int:
    from jaxseq import experiments

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
    from jaxseq import bench

    names = args.workloads or list(bench.WORKLOADS) + ["S8"]
    result = bench.run_bench(
        names,
        peers=args.peers,
        rounds=args.rounds,
        budget=args.budget,
        dtype=args.dtype,
        out=Path(args.out),
        devices=args.devices,
        log=lambda s: print(s, file=sys.stderr),
    )
    print(bench.markdown(result))
    return 0


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
        help="also compare with the seasonal naive forecast of this period",
    )
    p.set_defaults(func=cmd_evaluate)

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
    p.add_argument("--workloads", type=_names, help="comma-separated: W1..W6, S8 (default all)")
    p.add_argument(
        "--peers",
        type=_names,
        help="peers to time: flax, keras, or none (default: those installed)",
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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from jaxseq.runs import install_stop_handlers, restore_handlers

    previous = install_stop_handlers()  # SIGTERM stops like Ctrl-C, never mid-checkpoint
    try:
        return args.func(args)
    except (CommandError, InputError) as error:
        print(f"jaxseq {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"jaxseq {args.command}: interrupted; the last checkpoint is kept", file=sys.stderr)
        return 130
    finally:
        restore_handlers(previous)
