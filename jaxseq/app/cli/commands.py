"""The handlers of the ``jaxseq`` subcommands: each takes the parsed arguments, calls the
application's modules and prints or writes what the command promises.

A handler returns the exit status (0). A problem with the command line itself raises
:class:`CommandError`; a bad file, column or option raises :class:`jaxseq.errors.InputError`
from the modules; :func:`jaxseq.app.cli.main` prints either as one line and exits with status 2.
Modules are imported inside the handlers, so ``jaxseq --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


class CommandError(Exception):
    """A command-line problem: printed as one line, exit status 2."""


def _output(path: str) -> str:
    from jaxseq.app.io import check_output_file

    return str(check_output_file(path, "--out"))


def _figure(path: str) -> str:
    """The ``--plot`` path, refused (naming ``--plot``) when matplotlib cannot write it."""
    from jaxseq.app.plots import check_figure_path
    from jaxseq.errors import InputError

    try:
        return str(check_figure_path(path))
    except InputError as error:  # "figure PATH: ..." -> "--plot PATH: ..."
        message = str(error)
        raise InputError(f"--plot {message.removeprefix('figure ')}") from None


def _reporter(args, models, epochs):
    from jaxseq.app.progress import Reporter

    return Reporter(models, epochs, quiet=getattr(args, "quiet", False))


def _open_run(path: str, option: str):
    """``Run(path)``, its errors naming the option that gave the path (every one of them
    starts with the path: ``--resume PATH is a file, not a jaxseq run folder``)."""
    from jaxseq.app.runs import Run
    from jaxseq.errors import InputError

    try:
        return Run(path)
    except InputError as error:
        raise InputError(f"{option} {error}") from None


def head_of(args):
    """The probabilistic head the options ask for: quantile levels, a distribution or None."""
    return args.quantiles or args.distribution


# --------------------------------------------------------------------------- commands


def cmd_models(args) -> int:
    from jaxseq import models

    for name, task, mode, description in models.describe():
        print(f"{name:<24} {task:<11} {mode:<16} {description}")
    return 0


def cmd_train(args) -> int:
    from jaxseq.app import workflow

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
        run = _open_run(args.resume, "--resume")
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
            max_steps=args.max_steps,
            patience=args.patience,
            schedule=args.schedule,
            loss=args.loss,
            base=args.base,
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
            head=head_of(args),
        )
        out = args.out or f"runs/{args.model}"
    reporter = _reporter(args, [config.model], config.epochs)
    with reporter:
        run = workflow.train_run(config, out, resume=bool(args.resume), progress=reporter.epoch)
    summary = run.history()
    history = summary.get("metrics", {})
    if history and not args.quiet:
        key = "val_last_step_mse" if "val_last_step_mse" in history else "val_mse"
        last = [v for v in history[key][-1] if v == v]  # a stopped replica's epoch is NaN
        kept = ""
        if "best_epoch" in summary:
            kept = f"; each seed kept its best epoch ({', '.join(map(str, summary['best_epoch']))})"
        print(
            f"trained {config.model} on {Path(config.data).name}: {len(history[key])} epochs, "
            f"{config.seeds} seeds; last validation {key[4:]} (scaled) "
            f"{sum(last) / max(len(last), 1):.5f}{kept}; run saved in {out}"
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
    from jaxseq.app import candidates
    from jaxseq.app.runs import Run, write_json

    out = _output(args.out) if args.out else None
    run = Run(args.run)
    result = candidates.evaluate(
        run,
        args.data,
        season=args.season,
        stride=args.stride,
        refit_every=args.refit_every,
        classical=not args.no_classical,
        classical_budget=args.classical_budget,
    )
    s = result["settings"]
    print(
        f"{s['model']} on {', '.join(s['targets'])}, horizon {s['horizon']}, {s['seeds']} seeds, "
        f"season {s['season']}: errors in the data's units at every origin (stride "
        f"{s['stride']}); model: mean [min - max] over seeds; MASE scaled by the training "
        "part's seasonal naive MAE"
    )
    if s["trained_through_validation"]:
        print(
            f"note: {', '.join(s['trained_through_validation'])} retrained on the validation "
            "part too (compare's refit): its validation errors are in-sample"
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
        titles = {
            "calibrated": "calibrated on the calibration windows (the last validation ones)",
            "rolling": "calibrated on the latest errors known at each origin",
            "adaptive": "calibrated on the latest errors, the level adapted to the misses "
            "(as forecast)",
        }
        for key, title in titles.items():
            if key in block.get("quantiles", {}):
                print("\n".join(_quantile_table(block["quantiles"][key], title)))
        if block.get("masked_targets"):
            print(f"  ({block['masked_targets']} forecast values without an observed truth)")
        if "intervals" in block:
            head = block["intervals"]["headline"]
            print(f"\n80% intervals from point errors ({head}): coverage, width")
            for name, row in block["intervals"]["rows"].items():
                print(f"  {name:28s} {100 * row[head]['coverage']:5.1f}%  {row[head]['width']:.4g}")
    if out:
        write_json(Path(out), result)
        print(f"\nwrote {out}")
    return 0


def cmd_compare(args) -> int:
    from jaxseq.app import compare, compare_table

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} is a file; give a folder for the comparison")
    chosen = args.models if args.models else "all"
    if args.models == ["all"]:
        chosen = "all"
    names = compare.applicable(args.horizon) if chosen == "all" else chosen
    if args.id_column:
        return _compare_panel(args, chosen, names, out)
    if args.strategy != "compare":
        raise CommandError(
            f"--strategy {args.strategy} trains across the series of a long table: give --id-column"
        )
    with _reporter(args, names, args.epochs) as reporter:
        result = compare.compare(
            args.data,
            horizon=args.horizon,
            window=args.window,
            column=args.column,
            models=chosen,
            seeds=args.seeds,
            epochs=args.epochs,
            max_steps=args.max_steps,
            patience=args.patience,
            schedule=args.schedule,
            loss=args.loss,
            clip_norm=args.clip_norm,
            combine=not args.no_ensemble,
            refit=not args.no_refit,
            base=args.base,
            season=args.season,
            valid_size=args.valid_size,
            test_size=args.test_size,
            stride=args.stride,
            **({"normalize": args.normalize} if args.normalize else {}),
            batch_size=args.batch_size,
            time_column=args.time_column,
            fill=args.fill,
            covariates=args.covariates,
            future_covariates=args.future_covariates,
            calendar=args.calendar,
            head=head_of(args),
            classical=not args.no_classical,
            classical_budget=args.classical_budget,
            jobs=None if args.jobs == "auto" else args.jobs,
            out=out,
            progress=reporter,
        )
    if not args.quiet:
        print(compare_table.markdown(result))
    else:
        for name, why in result["settings"]["skipped"].items():
            print(f"note: {name} skipped: {why}")
    best, kind = result["settings"]["best"], result["settings"]["best_kind"]
    folder = ", best/" if result["settings"].get("best_folder") else ""
    print(
        f"best on validation: {best} ({kind}); wrote {out}/compare.json, compare.md, "
        f"forecasts.npz, compare.png{folder}"
    )
    return 0


def _compare_panel(args, chosen, names, out: Path) -> int:
    """``compare --id-column``: every series of a long table compared, a pick each
    (:class:`jaxseq.app.forecaster.Forecaster`), with ``leaderboard.csv`` and ``forecast.csv``
    (the picks' next ``horizon`` steps) beside the series' folders."""
    from jaxseq.app.forecaster import Forecaster

    if args.column and len(args.column) > 1:
        raise CommandError("--column names the one target column of the long table")
    per_series = args.strategy == "compare"
    options = {
        "epochs": args.epochs,
        "max_steps": args.max_steps,
        "patience": args.patience,
        "schedule": args.schedule,
        "loss": args.loss,
        "clip_norm": args.clip_norm,
        "combine": not args.no_ensemble if per_series or args.no_ensemble else None,
        "refit": not args.no_refit if per_series or args.no_refit else None,
        "base": args.base,
        "season": args.season,
        "valid_size": args.valid_size,
        "test_size": args.test_size,
        "stride": args.stride,
        "batch_size": args.batch_size,
        "fill": args.fill,
        "classical": not args.no_classical if per_series or args.no_classical else None,
        "classical_budget": args.classical_budget if per_series else None,
        "jobs": None if args.jobs == "auto" else args.jobs,
        **({"normalize": args.normalize} if args.normalize else {}),
    }
    with _reporter(args, names, args.epochs) as reporter:
        forecaster = Forecaster(
            chosen,
            horizon=args.horizon,
            window=args.window,
            seeds=args.seeds,
            quantiles=head_of(args),
            covariates=args.covariates,
            future_covariates=args.future_covariates,
            calendar=args.calendar,
            id_col=args.id_column,
            time_col=args.time_column or "ds",
            target_col=args.column[0] if args.column else "y",
            folder=out,
            progress=reporter,
            strategy=args.strategy,
            **options,
        ).fit(args.data)
    forecaster.save(out)
    board = forecaster.leaderboard()
    board.to_csv(out / "leaderboard.csv", index=False)
    forecaster.predict().to_csv(out / "forecast.csv", index=False)
    picks = board[board.picked]
    if not args.quiet:
        print(
            picks[[args.id_column, "model", "kind", "valid_mase", "test_mase"]].to_string(
                index=False
            )
        )
    folders = (
        "a folder per series (compare.json, best/)"
        if per_series
        else "a run folder per candidate (candidates.json)"
    )
    print(
        f"{len(picks)} series compared, a pick each; wrote {out}/leaderboard.csv, forecast.csv, "
        f"forecaster.json and {folders}"
    )
    return 0


def cmd_forecast(args) -> int:
    from jaxseq.app import candidates
    from jaxseq.app.io import write_csv
    from jaxseq.app.runs import Run

    out = _output(args.out or str(Path(args.run) / "forecast.csv"))
    if args.plot:
        _figure(args.plot)
    run = Run(args.run)
    forecast, series = candidates.forecast(
        run, args.data, args.steps, refit=not args.no_refit, retrain=args.retrain
    )
    header = ["step"]
    for t in forecast.targets:
        header += [f"{t}_mean", f"{t}_std", f"{t}_min", f"{t}_max"]
        header += [f"{t}_seed{k}" for k in range(forecast.per_seed.shape[0])]
        header += [f"{t}_q{level:g}" for level in forecast.levels if forecast.quantiles is not None]
    quantile_mean = forecast.quantile_mean  # seed-averaged quantiles, None for point forecasts
    rows = []
    for s in range(args.steps):
        row: list[int | str] = [s + 1]
        for j in range(len(forecast.targets)):
            row += [
                f"{forecast.mean[s, j]:.6g}",
                f"{forecast.std[s, j]:.6g}",
                f"{forecast.low[s, j]:.6g}",
                f"{forecast.high[s, j]:.6g}",
            ]
            row += [f"{v:.6g}" for v in forecast.per_seed[:, s, j]]
            if quantile_mean is not None:
                row += [f"{v:.6g}" for v in quantile_mean[s, j]]
        rows.append(row)
    write_csv(out, header, rows)
    print(f"wrote {args.steps} forecast step(s) of {', '.join(forecast.targets)} to {out}")
    if forecast.calibrated:
        print(
            "quantiles (_q columns): the seeds' average, conformally calibrated on the latest "
            f"{forecast.calibrated} windows with known values, the level adapted to the misses"
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
    time_column = run.config.time_column  # series.time is set only when read with one
    first = time_column if series.time is not None and time_column is not None else "row"
    header = [first, name, "filled"]
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
# `jaxseq panel`: one global model on many series (jaxseq.app.panel.training). Kept in this block.


def _check_local_budget(args) -> None:
    """``panel``'s local early-stopping options, refused before anything trains (the budget
    by :func:`jaxseq.app.panel.training.check_local_budget`, as ``fit_local`` checks it)."""
    from jaxseq.app.panel.training import check_local_budget

    if (args.local_patience or args.local_max_steps) and not args.local:
        raise CommandError(
            "--local-patience and --local-max-steps train the --local models: add --local"
        )
    check_local_budget(args.local_max_steps, args.local_patience)


def cmd_panel(args) -> int:
    import pandas as pd

    from jaxseq.app import io
    from jaxseq.app.panel import forecast as panel_forecast
    from jaxseq.app.panel import scores as panel_scores
    from jaxseq.app.panel import table as panel_table
    from jaxseq.app.panel import training as panel_training
    from jaxseq.app.runs import write_json

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} is a file; give a folder for the panel's results")
    _check_local_budget(args)
    if args.id_column:
        loaded = panel_table.load_panel(
            args.data,
            id_column=args.id_column,
            time_column=args.time_column,
            columns=args.column,
            fill=args.fill,
        )
    else:  # a wide file: every value column is a series of its own
        wide = io.load_series(args.data, args.column, time_column=args.time_column, fill=args.fill)
        loaded = panel_table.from_columns(wide)
    with _reporter(args, [args.model], args.epochs) as reporter:
        result = panel_training.fit_panel(
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
            head=head_of(args),
        )
        results = {"global model": result}
        choice = None
        if args.local:
            results["one model per series"] = panel_training.fit_local(
                result, max_steps=args.local_max_steps, patience=args.local_patience
            )
            choice, results["pick per series"] = panel_training.pick_per_series(dict(results))
    out.mkdir(parents=True, exist_ok=True)
    summary = result.to_json()
    if choice is not None:
        summary["local"] = results["one model per series"].to_json()
        summary["pick"] = {"choice": choice, **results["pick per series"].to_json()}
    write_json(out / "panel.json", summary)
    note = (
        ""
        if choice is None
        else "The pick per series: the global model or the series' own, by validation MASE "
        f"({sum(v == 'global model' for v in choice.values())} of {len(choice)} global)."
    )
    text = panel_scores.markdown(results, title=f"{Path(args.data).name}", note=note)
    (out / "panel.md").write_text(text)
    if choice is None:
        forecasts = panel_forecast.forecast_panel(result, args.steps)
    else:
        forecasts = panel_forecast.forecast_picked(
            {k: v for k, v in results.items() if k != "pick per series"}, choice, args.steps
        )
    pd.DataFrame(panel_forecast.forecast_records(forecasts, choice)).to_csv(
        out / "forecast.csv", index=False
    )
    if not args.quiet:
        print(text)
    for key, length in result.data.skipped.items():
        print(f"note: series {key!r} skipped ({length} steps, too short)", file=sys.stderr)
    print(f"wrote {out}/panel.json, panel.md and forecast.csv", file=sys.stderr)
    return 0
