"""What the CLI prints besides a command's own output: errors, and the library's log records.

Both go to standard error, compiler-style, one line each: `file:line: error: message`,
`error: message`, `warning: message`. The library logs (it never prints); the CLI installs the
one handler that shows those records, at a level set by `-v`/`-q`. Paths in a record are shown
as errors show them: relative to the working directory when below it (the project's root, run
from there), never as the absolute paths the library works with.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from sphere.errors import Interrupted, SphereError, display_path, printable

# -q: errors only; default: warnings; -v: what each step did; -vv: everything (HTTP requests).
LEVELS = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO, 2: logging.DEBUG}


def to_stderr(text: str, end: str = "\n") -> None:
    """Write `text` on standard error, after what the command has printed so far.

    In a pipe (CI's `2>&1`, `tee`) Python buffers standard output and not standard error, so
    a warning or an error would otherwise come out before the lines printed ahead of it.
    """
    with contextlib.suppress(OSError, ValueError):  # nobody reads stdout any more: say it anyway
        sys.stdout.flush()
    print(text, end=end, file=sys.stderr)


def print_error(error: SphereError) -> None:
    """Print `error` on standard error, each of its lines compiler-style."""
    for line in map(printable, str(error).rstrip("\n").split("\n")):  # a line per problem
        # Located errors read `file:line: error: ...`; the others get the same word.
        located = line.startswith("error:") or ": error: " in line
        plain = located or isinstance(error, Interrupted)
        to_stderr(line if plain else f"error: {line}")


class _Formatter(logging.Formatter):
    """`warning: message` (`error:` for errors; info and debug lines bare), paths shortened."""

    def __init__(self, *, tracebacks: bool):
        super().__init__()
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        record = logging.makeLogRecord(record.__dict__)  # other handlers keep the original
        if isinstance(record.args, tuple):
            record.args = tuple(
                display_path(arg) if isinstance(arg, Path) else arg for arg in record.args
            )
        message = printable(record.getMessage())  # a name or a message cannot forge a line
        if record.exc_info and record.exc_info[1] is not None:
            if self.tracebacks:
                message += "\n" + self.formatException(record.exc_info)
            else:
                error = record.exc_info[1]
                message += f": {type(error).__name__}: {error} (-vv or --debug: the traceback)"
        if record.levelno >= logging.ERROR:
            return f"error: {message}"
        if record.levelno >= logging.WARNING:
            return f"warning: {message}"
        return message


class _StandardError(logging.Handler):
    """Writes to `sys.stderr` as it is when a record comes (tests swap it per test)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            to_stderr(self.format(record))
        except Exception:  # noqa: BLE001 (logging must never take the command down)
            self.handleError(record)


def install_logging(verbosity: int, *, debug: bool = False) -> Callable[[], None]:
    """Show the `sphere` loggers' records at `verbosity` (-1 to 2); returns the undo.

    The handler sits on the `sphere` logger and records still propagate, so a host that
    configures logging itself (pytest, an application importing Sphere) keeps seeing them.
    """
    logger = logging.getLogger("sphere")
    level = LEVELS[max(-1, min(verbosity, 2))]
    handler = _StandardError(level)
    handler.setFormatter(_Formatter(tracebacks=debug or level <= logging.DEBUG))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)

    def uninstall() -> None:
        logger.removeHandler(handler)
        logger.setLevel(previous)

    return uninstall
