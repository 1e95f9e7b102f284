"""The ``jaxseq`` argument parser: every subcommand, its options and their checks.

Option values are checked as they are parsed (positive integers, sizes, names, quantile
levels), so a bad one is refused by argparse with one line naming the option, what it expects
and what came (``argument --window: expected a positive integer, got 0``). Each subcommand's
handler is in :mod:`jaxseq.app.cli.commands`.
"""

from __future__ import annotations

import argparse

from jaxseq import baselines, hybrid, models, stopping
from jaxseq import normalize as norm
from jaxseq.app.cli.commands import (
    cmd_bench,
    cmd_compare,
    cmd_evaluate,
    cmd_experiments,
    cmd_forecast,
    cmd_impute,
    cmd_models,
    cmd_panel,
    cmd_train,
)
from jaxseq.app.io import check_fill
from jaxseq.errors import InputError, check_positive_int

# --------------------------------------------------------------------------- option types


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


def _checked(check):
    """An option type that runs the library's own check of a setting, so that the command
    line refuses a bad value with the message every entry point gives
    (:mod:`jaxseq.app.settings`)."""

    def parse(text: str):
        try:
            return check(text)
        except InputError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def _count(name: str):
    """A positive integer setting, checked as :func:`jaxseq.errors.check_positive_int`
    checks ``name`` everywhere."""

    def check(text: str) -> int:
        try:
            value: int | str = int(text)
        except ValueError:
            value = text
        return check_positive_int(name, value)

    return _checked(check)


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


def _classical_seconds(text: str) -> float | None:
    """A classical model's budget in seconds, checked as :func:`jaxseq.baselines.check_budget`
    checks it everywhere (0: no limit)."""
    value: int | float | str = text
    for number in (int, float):
        try:
            value = number(text)
            break
        except ValueError:
            pass
    return baselines.check_budget(value)


def _classical_budget(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--classical-budget",
        type=_checked(_classical_seconds),
        default=baselines.CLASSICAL_BUDGET,
        metavar="SECONDS",
        help="seconds each classical model may take before it is skipped with a note "
        f"(default {baselines.CLASSICAL_BUDGET:g}; 0 runs it to the end)",
    )


def _names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected one or more comma-separated names")
    return names


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="jaxseq", description="Sequence models for time series in JAX/Flax (Geron ch. 15)."
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)

    _models_parser(sub)
    _train_parser(sub)
    _evaluate_parser(sub)
    _compare_parser(sub)
    _forecast_parser(sub)
    _impute_parser(sub)
    _experiments_parser(sub)
    _bench_parser(sub)
    _panel_parser(sub)
    return parser


def _models_parser(sub) -> None:
    p = sub.add_parser("models", help="list the model zoo, one line each")
    p.set_defaults(func=cmd_models)


def _train_parser(sub) -> None:
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
        "--window", type=_count("window"), default=50, help="input steps per example (default 50)"
    )
    p.add_argument(
        "--horizon",
        type=_count("horizon"),
        default=10,
        help="steps ahead (default 10; one-step models: 1)",
    )
    _budget_options(p)
    _base_option(p, "none")
    p.add_argument(
        "--seeds", type=_count("seeds"), default=5, help="replicas trained at once (default 5)"
    )
    p.add_argument("--batch-size", type=_count("batch_size"), default=32)
    p.add_argument(
        "--learning-rate",
        type=_positive_float,
        help="Adam learning rate (default: the model's, as in the chapter)",
    )
    p.add_argument(
        "--fill",
        type=_checked(check_fill),
        metavar="{interpolate,ffill,zero}",
        help="fill missing values instead of refusing them",
    )
    _protocol_options(p)
    _covariate_options(p)
    _head_options(p)
    p.add_argument("--out", help="run folder (default runs/MODEL)")
    p.add_argument(
        "--resume", metavar="RUN", help="continue an interrupted run to the end of its budget"
    )
    p.add_argument("--plot", help="also write the learning curves to this PNG")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_train)


def _evaluate_parser(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="validation and test errors of a run, in your units, against naive baselines",
    )
    p.add_argument("run", help="a run folder written by `jaxseq train`")
    p.add_argument("--data", help="the series (default: the file the run was trained on)")
    p.add_argument(
        "--season",
        type=_count("season"),
        help="season for MASE and seasonal naive (default: the run's, or the time column's "
        "frequency: weekly 52, monthly 12, ...; else 1)",
    )
    p.add_argument(
        "--stride", type=_count("stride"), help="steps between origins (default: the run's, 1)"
    )
    p.add_argument(
        "--refit-every",
        type=_positive_int,
        metavar="K",
        help="retrain the model, and refit every baseline, every K test origins on the data "
        "before them",
    )
    p.add_argument("--no-classical", action="store_true", help="skip AutoETS/ARIMA/Theta")
    _classical_budget(p)
    p.add_argument("--out", help="also write the result as JSON to this file")
    p.set_defaults(func=cmd_evaluate)


def _compare_parser(sub) -> None:
    p = sub.add_parser(
        "compare",
        help="train every applicable model on a series, score them against the baselines",
    )
    p.add_argument("--data", required=True, help="a CSV/Parquet file with a header, or .npy")
    p.add_argument("--column", help="the column to forecast (default: the first)")
    p.add_argument("--time-column", help="a column of dates/times (sorted, frequency inferred)")
    p.add_argument("--horizon", type=_count("horizon"), required=True, help="steps ahead")
    p.add_argument("--window", type=_count("window"), required=True, help="input steps")
    p.add_argument(
        "--models",
        type=_names,
        help="all (default: every applicable zoo model) or comma-separated zoo names",
    )
    p.add_argument("--seeds", type=_count("seeds"), default=3, help="replicas per model (3)")
    _budget_options(p)
    _base_option(p, None)
    p.add_argument(
        "--no-ensemble", action="store_true", help="do not rank an ensemble of the top candidates"
    )
    p.add_argument(
        "--no-refit",
        action="store_true",
        help="keep the ensemble's networks as trained on the training part (default: retrained "
        "on the training and validation parts for the epochs each replica kept)",
    )
    p.add_argument("--batch-size", type=_count("batch_size"), default=32)
    p.add_argument(
        "--fill",
        type=_checked(check_fill),
        metavar="{interpolate,ffill,zero}",
        help="fill missing values instead of refusing them",
    )
    _protocol_options(p, normalize=None)
    _covariate_options(p)
    _head_options(p)
    p.add_argument(
        "--id-column",
        help="the column of series ids: --data is a long table and every series is compared, "
        "a pick each (leaderboard.csv, forecast.csv; --column is the target, default y; "
        "--time-column default ds)",
    )
    p.add_argument(
        "--strategy",
        choices=("compare", "global", "global+local"),
        default="compare",
        help="with --id-column: compare every candidate on each series (default), or train "
        "each network once across the series (global), and also once per series, all at once "
        "(global+local); a pick per series either way",
    )
    p.add_argument("--no-classical", action="store_true", help="skip AutoETS/ARIMA/Theta")
    _classical_budget(p)
    p.add_argument("--jobs", type=_jobs, default="auto", help="worker processes (default auto)")
    p.add_argument("--out", default="compare", help="results folder (default ./compare)")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_compare)


def _forecast_parser(sub) -> None:
    p = sub.add_parser(
        "forecast", help="forecast the steps after the end of a series (CSV out, optional plot)"
    )
    p.add_argument("run", help="a run folder written by `jaxseq train` or `jaxseq compare`")
    p.add_argument("--data", help="the series to continue (default: the training file)")
    p.add_argument("--steps", type=_positive_int, default=10)
    p.add_argument(
        "--no-refit",
        action="store_true",
        help="a picked baseline, classical model or ensemble keeps the fit compare made (on "
        "the training part) instead of refitting on all the data",
    )
    p.add_argument(
        "--retrain",
        action="store_true",
        help="first retrain the networks (the run's, or the ensemble's) on all the data, each "
        "seed for the epochs it kept; takes as long as that training",
    )
    p.add_argument("--out", help="CSV to write (default RUN/forecast.csv)")
    p.add_argument("--plot", help="also draw history, forecast and the seed band to this PNG")
    p.set_defaults(func=cmd_forecast)


def _impute_parser(sub) -> None:
    p = sub.add_parser(
        "impute", help="fill the gaps (missing values) of a series with a trained run"
    )
    p.add_argument("run", help="a run folder trained on one column")
    p.add_argument("--data", help="the series with gaps (default: the training file)")
    p.add_argument("--out", help="CSV to write (default RUN/imputed.csv)")
    p.set_defaults(func=cmd_impute)


def _experiments_parser(sub) -> None:
    p = sub.add_parser(
        "experiments", help="reproduce the chapter's table (what `make experiments` runs)"
    )
    p.add_argument("--quick", action="store_true", help="a smoke run: 4 models, 2 epochs, 2 seeds")
    p.add_argument(
        "--models", type=_names, help="comma-separated zoo names (default: the chapter's table)"
    )
    p.add_argument("--epochs", type=_count("epochs"), help="epochs per model (default 20; quick 2)")
    p.add_argument("--seeds", type=_count("seeds"), help="replicas per model (default 5; quick 2)")
    p.add_argument("--batch-size", type=_count("batch_size"), default=32)
    p.add_argument(
        "--jobs",
        type=_jobs,
        default="auto",
        help="worker processes (default auto: 2 on a multi-core CPU, 1 on GPU/TPU)",
    )
    p.add_argument("--out", default="experiments/results", help="folder for results and figures")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_experiments)


def _bench_parser(sub) -> None:
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


def _levels(text: str) -> str | list[float] | None:
    """Quantile levels ``0.1,0.5,0.9`` (checked by :func:`jaxseq.distributions.get`), in the
    JSON form of :func:`jaxseq.distributions.spec_of` (which passes a head's name through)."""
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


def _base_option(p, default: str | None) -> None:
    """train and compare: a hybrid network over a classical model (jaxseq.hybrid)."""

    told = (
        default
        or f"{hybrid.DEFAULT} for point forecasts, plain networks where it cannot forecast the "
        "series"
    )
    p.add_argument(
        "--base",
        type=_checked(hybrid.check),
        metavar="{" + ",".join(hybrid.BASES) + "}",
        default=default,
        help="train the networks as hybrids: each reads this model's forecasts (fitted on the "
        f"training part) as known-future inputs and forecasts its residual (default {told}; "
        "none: plain networks)",
    )


def _budget_options(p) -> None:
    """Options shared by train and compare: how long each network trains (jaxseq.stopping)."""

    p.add_argument(
        "--max-steps",
        type=_count("max_steps"),
        help=f"optimizer steps per replica, in whole epochs (default {stopping.MAX_STEPS})",
    )
    p.add_argument(
        "--patience",
        type=_count("patience"),
        help="stop a replica after this many steps without a validation improvement, keeping "
        f"its best epoch (default {stopping.PATIENCE}; with --epochs alone: none)",
    )
    p.add_argument(
        "--epochs",
        type=_count("epochs"),
        help="train this many epochs instead of a budget of steps (each replica keeps its best "
        "epoch in compare)",
    )
    p.add_argument(
        "--schedule",
        type=_checked(lambda kind: stopping.Schedule(kind).kind),
        metavar="{" + ",".join(stopping.SCHEDULES) + "}",
        help=f"learning-rate schedule (default {stopping.SCHEDULE}): cosine decays over the "
        "budget after a warm-up; plateau halves the rate after half the patience without "
        "improvement",
    )
    p.add_argument(
        "--clip-norm", type=_positive_float, help="clip gradients to this global norm (default off)"
    )
    p.add_argument(
        "--loss",
        type=_checked(models.check_loss),
        metavar="{" + ",".join(models.POINT_LOSSES) + "}",
        help=f"a point network's training loss and the validation error that keeps its best "
        f"epoch (default {models.LOSS})",
    )


def _protocol_options(p, normalize: str | None = "window") -> None:
    """Options shared by train and compare: the normalisation (default ``normalize``; ``None``:
    the function's own, ``compare``'s) and where the parts lie."""
    p.add_argument(
        "--normalize",
        type=_checked(norm.check_mode),
        metavar="{window,series,none}",
        default=normalize,
        help="window: each input window in its own frame; series: the training part's mean "
        f"and std; none; auto: window where the validation part leaves the training "
        f"part's range, else series (default {normalize or 'auto, chosen on validation'})",
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
        "--stride", type=_count("stride"), default=1, help="steps between validation/test origins"
    )
    p.add_argument(
        "--season",
        type=_count("season"),
        help="season for MASE and seasonal naive (default from the time column, else 1)",
    )


# --------------------------------------------------------------------------- panel
# `jaxseq panel`: one global model on many series (jaxseq.app.panel.training).


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
    p.add_argument("--window", type=_count("window"), required=True, help="input steps")
    p.add_argument("--horizon", type=_count("horizon"), required=True, help="steps ahead")
    p.add_argument("--epochs", type=_count("epochs"), default=10)
    p.add_argument("--seeds", type=_count("seeds"), default=3, help="replicas trained at once")
    p.add_argument("--batch-size", type=_count("batch_size"), default=32)
    p.add_argument(
        "--fill",
        type=_checked(check_fill),
        metavar="{interpolate,ffill,zero}",
        help="fill missing values instead of refusing them",
    )
    p.add_argument(
        "--skip-short", action="store_true", help="leave out series too short (else refused)"
    )
    p.add_argument("--steps", type=_positive_int, help="steps to forecast (default the horizon)")
    p.add_argument(
        "--local",
        action="store_true",
        help="also train one model per series (series and seeds one vmapped axis) and pick, "
        "per series, it or the global model by validation MASE",
    )
    p.add_argument(
        "--local-patience",
        type=_count("patience"),
        help="the local models train until their own series' validation loss has not improved "
        "for this many optimizer steps, each keeping its best epoch (default: --epochs)",
    )
    p.add_argument(
        "--local-max-steps",
        type=_count("max_steps"),
        help="with --local-patience, at most this many steps (default 3000)",
    )
    _protocol_options(p)
    _head_options(p)
    p.add_argument("--out", default="panel", help="results folder (default ./panel)")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_panel)
