"""The ``jaxseq`` command line: thin wrappers over the library's modules.

Every subcommand has ``--help``. Bad input (a file, a column, an option) ends the command with
exit status 2 and one readable line on stderr, never a traceback.

:mod:`jaxseq.app.cli.parser` builds the argument parser (every option and its check),
:mod:`jaxseq.app.cli.commands` holds the handler of each subcommand, and :func:`main` (the
``jaxseq`` console script) runs one and turns its errors into that one line.
"""

from __future__ import annotations

import logging
import os
import sys

from jaxseq.app.cli.commands import CommandError
from jaxseq.app.cli.parser import ArgumentParser, build_parser
from jaxseq.errors import InputError

__all__ = ["ArgumentParser", "CommandError", "build_parser", "main"]


class _Notes(logging.Handler):
    """Collects what the loader reports (rows sorted, gaps, labels that are not dates), to
    print as ``note:`` lines once a command has succeeded (a failure stays one line)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.log = logging.getLogger("jaxseq")
        self.level_before = self.log.level

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def __enter__(self) -> _Notes:
        self.log.addHandler(self)
        self.log.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc) -> None:
        self.log.removeHandler(self)
        self.log.setLevel(self.level_before)

    def show(self) -> None:
        for line in dict.fromkeys(self.lines):  # each once, in order
            print(f"note: {line}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from jaxseq.app import compile_cache
    from jaxseq.app.runs import install_stop_handlers, restore_handlers

    compile_cache.enable()  # a second run on the same shapes compiles nothing new

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
    except BrokenPipeError:
        # The reader closed the pipe (`jaxseq models | head`): stop quietly, as a program killed
        # by SIGPIPE would, and keep Python from reporting the flush of stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    finally:
        restore_handlers(previous)
