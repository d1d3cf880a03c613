"""Exit codes, and how each way a command can end maps to one, in one place (docs/exit-codes.md).

Exit 1 is only ever a verdict (``verify``, ``reproduce``, and ``data validate``'s own check); anything
hubrerank did not expect is exit 3 with a one-line message, so a crash never reads as a FAIL or as the
user's mistake.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
import tempfile
import traceback
from collections.abc import Sequence
from contextvars import ContextVar
from datetime import datetime, timezone
from enum import IntEnum
from pathlib import Path

import click

from hubrerank import __version__
from hubrerank.errors import HubrerankError

DEBUG_ENV = "HUBRERANK_DEBUG"
_TRUE = {"1", "true", "t", "yes", "y", "on"}  # what click reads as true for a boolean flag's envvar
# --debug, as this invocation set it: the internal-error handler runs after click's context is gone
_debug: ContextVar[bool] = ContextVar("hubrerank_debug", default=False)


class ExitCode(IntEnum):
    """The process exit codes of every ``hubrerank`` command."""

    OK = 0  # success; for verify and reproduce, the verdict PASS
    FAIL = 1  # the verdict FAIL: verify or reproduce measured a claim out of tolerance
    BAD_INPUT = 2  # the input or environment is wrong (every HubrerankError, usage errors), or nothing
    # could be checked (the verdict ERROR)
    INTERNAL = 3  # an unexpected exception: a bug in hubrerank
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it


def reset_debug() -> None:
    """Start an invocation with --debug as $HUBRERANK_DEBUG says, until the option itself is parsed."""
    _debug.set(os.environ.get(DEBUG_ENV, "").strip().lower() in _TRUE)


def remember_debug(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    """Click callback of the global --debug flag (its value already includes $HUBRERANK_DEBUG)."""
    _debug.set(value)
    return value


def report_error(error: BaseException) -> ExitCode:
    """Print the one-line message for an error the user can act on, and return its exit code."""
    if isinstance(error, HubrerankError):
        click.echo(f"Error: {error}", err=True)
        return ExitCode.BAD_INPUT
    if isinstance(error, click.ClickException):
        error.show()  # a usage error, with click's own wording; a plain ClickException would exit 1
        return ExitCode.BAD_INPUT
    click.echo("Interrupted.", err=True)  # KeyboardInterrupt, or click.Abort from a prompt
    return ExitCode.INTERRUPTED


def report_internal_error(error: BaseException, args: Sequence[str] | None) -> ExitCode:
    """Print one line naming the unexpected ``error`` and where its traceback went; return INTERNAL.

    ``args`` are the command's arguments (None: the process' own), recorded in the log file.
    With --debug (or $HUBRERANK_DEBUG=1) the traceback is printed instead of written to a log file
    under ``$HUBRERANK_HOME/logs/``; it is printed too when that file cannot be written.
    """
    lines = str(error).strip().splitlines()
    name = type(error).__name__ + (f": {lines[0]}" if lines else "")
    summary = f"Error: internal error ({name}); this is a bug in hubrerank."
    trace = "".join(traceback.format_exception(error))
    if _debug.get():
        click.echo(trace, err=True, nl=False)
        click.echo(summary, err=True)
        return ExitCode.INTERNAL
    try:
        path = _write_log(trace, sys.argv[1:] if args is None else args)
    except OSError as log_error:
        click.echo(trace, err=True, nl=False)
        click.echo(f"{summary} The traceback above could not be written to a log file: {log_error}", err=True)
    else:
        click.echo(f"{summary} Traceback: {path}", err=True)
    return ExitCode.INTERNAL


def _write_log(trace: str, argv: Sequence[str]) -> Path:
    """Write the traceback with what is needed to report the bug; return the new file's path."""
    from hubrerank.endpoint import hubrerank_home

    folder = hubrerank_home() / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(timezone.utc)
    descriptor, name = tempfile.mkstemp(
        prefix=f"internal-error-{now:%Y%m%dT%H%M%SZ}-", suffix=".log", dir=folder, text=True
    )
    with os.fdopen(descriptor, "w", encoding="utf-8") as log:
        log.write(
            f"command: {shlex.join(['hubrerank', *argv])}\n"
            f"time: {now.isoformat()}\n"
            f"hubrerank {__version__}, Python {platform.python_version()}, {platform.platform()}\n"
            f"working directory: {os.getcwd()}\n\n{trace}"
        )
    return Path(name)
