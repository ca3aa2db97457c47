"""One exception tree for the whole library, and the CLI's exit statuses.

The library raises these and never prints or exits; the CLI catches `SphereError` once and
prints `str(error)`, which is always a single line a user can act on.
"""

from __future__ import annotations

import re
from enum import IntEnum
from pathlib import Path


class ExitStatus(IntEnum):
    """Exit statuses of the `sphere` command (documented in docs/cli.md)."""

    OK = 0
    ERROR = 1  # a user's input is wrong: a broken issue, a bad setting, a bad CSV row
    USAGE = 2  # the command line itself is wrong (Typer/Click's own status)
    UNAVAILABLE = 3  # a backend (S3, SES, SMTP) could not be reached or refused access
    STOPPED = 4  # a send stopped cleanly (quota, pause, --max-time): run it again to resume
    INTERRUPTED = 130  # stopped by Ctrl-C (128 + SIGINT, as shells report it)


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
    """An issue's Markdown file or front matter is wrong.

    `key` names what is wrong (a front-matter key, or "body"), for `sphere check` to repair.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        key: str | None = None,
    ):
        super().__init__(message, path=path, line=line)
        self.key = key


class RenderError(LocatedError):
    """A template or the MJML it produced could not be rendered."""


class StoreError(SphereError):
    """The blob store (local folder or S3) refused or failed an operation."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or denies access."""

    exit_status = ExitStatus.UNAVAILABLE


class PreconditionFailed(StoreError):
    """A conditional write lost a race: the object changed, or already exists.

    The store has looked: what it holds now is not this write (a lost reply whose retry met
    this very write in place is a success, not this). The write may still have landed and
    been replaced since by a writer that read it, so a caller never deletes what only its own
    write would have pointed to on the strength of this alone.
    """


class WriteUncertain(StoreUnavailable):
    """A write whose outcome is unknown: the reply was lost and the store could not be asked.

    The write may have landed or may land yet. A caller must not delete or undo anything on
    the strength of it: it stops, and the next run reads the store as it is.
    """


class DamagedObject(StoreError):
    """An object in the store cannot be read (truncated, not UTF-8, not the expected shape).

    Nothing is changed: the object stays where it is for a person to look at.
    """

    def __init__(self, url: str, key: str, reason: str):
        super().__init__(
            f"{url.rstrip('/')}/{key}: damaged object ({reason}); nothing was changed: restore "
            "it from a backup or an earlier version (S3 versioning), or move it aside if it "
            "holds nothing you need, then run the command again"
        )
        self.key = key


class SendError(SphereError):
    """A message could not be built or handed to the transport."""


def display_path(path: Path) -> str:
    """Show a path relative to the working directory when it is below it, else as given;
    control characters escaped (a file's name is anyone's text, see `printable`)."""
    try:
        return printable(str(path.resolve().relative_to(Path.cwd().resolve())))
    except (ValueError, OSError):  # OSError: the working directory itself is gone
        return printable(str(path))


# What a terminal, a log or a Markdown summary would act on rather than show: C0 and C1
# controls (a newline starts a forged line, ESC rewrites the screen), DEL, the line and
# paragraph separators, and the bidirectional overrides and isolates ("Trojan Source").
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with every control character shown as an escape (`\\n`, `\\x1b`, `\\u202e`),
    for one line of text output that a file name or a message cannot break or disguise."""
    return _UNPRINTABLE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char)
    return named or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


class SubscriberError(LocatedError):
    """A subscriber command cannot be done as asked: a bad address, an unknown one, a bad CSV."""


# --- moved here from settings.py and preview/server.py (issue 7): every exception in one place


class SettingsErrors(SphereError):
    """Several settings are wrong; `str()` gives one line per problem."""

    def __init__(self, errors: list[SettingsError]):
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


class PreviewUnavailable(SphereError):
    """The preview server cannot listen where asked."""

    exit_status = ExitStatus.UNAVAILABLE


class Interrupted(SphereError):
    """The user pressed Ctrl-C; the message says what was done and whether rerunning is safe."""

    exit_status = ExitStatus.INTERRUPTED

    def __init__(self, message: str = "interrupted"):
        super().__init__(message)


# --- sending: tokens, transports, campaigns (sphere/mail/tokens.py, sphere/send/) -------------


class TokenError(SphereError):
    """A signed link token is malformed, forged, made for another purpose, or expired."""


class TransportError(SendError):
    """The transport is misconfigured or refused us as a whole (bad login, no such host)."""

    exit_status = ExitStatus.UNAVAILABLE


class SendStopped(SendError):
    """The send stopped cleanly before the end (quota, sending paused, time limit): resumable."""

    exit_status = ExitStatus.STOPPED


class CampaignBusy(SendError):
    """Another `sphere send` of the same issue holds the campaign's lease."""


# --- subscriber endpoints and feedback (issue 11: sphere/web/, sphere/feedback.py) ---------------


class EndpointUnavailable(SphereError):
    """`sphere serve` cannot listen where asked."""

    exit_status = ExitStatus.UNAVAILABLE


class FeedbackError(SphereError):
    """`sphere feedback sync` cannot read its queue as configured (no queue, wrong URL)."""


class FeedbackUnavailable(FeedbackError):
    """The feedback queue cannot be reached or denies access."""

    exit_status = ExitStatus.UNAVAILABLE


# --- deploying the archive and publishing (sphere/site/, sphere/publish.py) ---------------------


class DeployError(SphereError):
    """The archive cannot be deployed as asked (a foreign file in the way, a bad SPHERE_SITE)."""


class SiteUnavailable(DeployError):
    """SPHERE_SITE cannot be reached or denies access."""

    exit_status = ExitStatus.UNAVAILABLE


class OutputFolderError(SphereError):
    """A command was asked to replace a folder that Sphere did not make (or must never replace)."""


class BuildProblems(SphereError):
    """With `build --strict`: what `sphere check` calls an error, seen by the build."""


class WorkerDied(SphereError):
    """A process of the pool ended before finishing its tasks (killed, out of memory)."""


class NotConfirmed(SphereError):
    """A command that cannot be undone was neither confirmed on a terminal nor given `--yes`."""

    exit_status = ExitStatus.USAGE


class SubscriberRefused(SphereError):
    """`subscribers add` of an address the person unsubscribed, or had erased: only they can
    subscribe it again, so nothing was added (exit 1, so that a script notices)."""
