"""The ``jaxseq`` command line: thin wrappers over the library's modules.

Every subcommand has ``--help``. Bad input ends the command with exit status 2 and one readable
line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from jaxseq.errors import InputError


class CommandError(Exception):
    """A command-line problem: printed as one line, exit status 2."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _jobs(text: str) -> int | str:
    return text if text == "auto" else _positive_int(text)


def cmd_experiments(args) -> int:
    from jaxseq import experiments, models
    from jaxseq.progress import Reporter

    if args.quick:
        chosen = list(experiments.QUICK_MODELS)
        epochs, seeds = args.epochs or 2, args.seeds or 2
    else:
        chosen = list(experiments.CHAPTER_MODELS)
        epochs, seeds = args.epochs or 20, args.seeds or 5
    if args.models:
        chosen = [m.strip() for m in args.models.split(",") if m.strip()]
    known = set(models.names())
    for name in chosen:
        if name not in known:
            raise CommandError(f"unknown model {name!r}; known models: {', '.join(models.names())}")
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
    experiments.run_experiments(settings, Reporter(chosen, epochs, quiet=args.quiet))
    print((Path(args.out) / "results.md").read_text())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jaxseq", description="Sequence models for time series in JAX/Flax (Geron ch. 15)."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "experiments", help="reproduce the chapter's table (what `make experiments` runs)"
    )
    p.add_argument("--quick", action="store_true", help="a smoke run: 4 models, 2 epochs, 2 seeds")
    p.add_argument("--models", help="comma-separated zoo names (default: the chapter's table)")
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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (CommandError, InputError) as error:
        print(f"jaxseq {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"jaxseq {args.command}: interrupted", file=sys.stderr)
        return 130
