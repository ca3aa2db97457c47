"""One exception tree for the whole library, and the CLI's exit statuses.

The library raises these and never prints or exits; the CLI catches `SphereError` once and
prints `str(error)`, which is always a single line a user can act on.
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path


class ExitStatus(IntEnum):
    """Exit statuses of the `sphere` command (documented in docs/cli.md)."""

    OK = 0
    ERROR = 1  # a user's input is wrong: a broken issue, a bad setting, a bad CSV row
    USAGE = 2  # the command line itself is wrong (Typer/Click's own status)
    UNAVAILABLE = 3  # a backend (S3, SES, SMTP) could not be reached or refused access


class SphereError(Exception):
    """Base of every error the library raises on purpose."""

    exit_status = ExitStatus.ERROR


class LocatedError(SphereError):
    """An error at a place in a file, printed compiler-style: `file:line: error: message`."""

    def __init__(self, message: str, *, path: Path | str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line

    def __reduce__(self) -> tuple[object, ...]:
        # Keep the place when the error crosses a process boundary (parallel rendering).
        return (type(self), (self.message,), self.__dict__)

    def __str__(self) -> str:
        if self.path is None:
            return f"error: {self.message}"
        where = display_path(self.path)
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: error: {self.message}"


class SettingsError(LocatedError):
    """A setting is missing or has the wrong shape."""


class ContentError(LocatedError):
    """An issue's Markdown file or front matter is wrong."""


class RenderError(LocatedError):
    """A template or the MJML it produced could not be rendered."""


class StoreError(SphereError):
    """The blob store (local folder or S3) refused or failed an operation."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or denies access."""

    exit_status = ExitStatus.UNAVAILABLE


class PreconditionFailed(StoreError):
    """A conditional write lost a race: the object changed, or already exists."""


class SendError(SphereError):
    """A message could not be built or handed to the transport."""


def display_path(path: Path) -> str:
    """Show a path relative to the working directory when it is below it, else as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):  # OSError: the working directory itself is gone
        return str(path)


class SubscriberError(LocatedError):
    """A subscriber command cannot be done as asked: a bad address, an unknown one, a bad CSV."""


class OutputFolderError(SphereError):
    """A command was asked to replace a folder that Sphere did not make (or must never replace)."""


class BuildProblems(SphereError):
    """With `build --strict`: what `sphere check` calls an error, seen by the build."""
