"""The transports behind one small Protocol, and `open_transport`, which picks one.

`SPHERE_TRANSPORT` names it: `outbox:FOLDER` (one .eml per recipient, the local default),
`smtp://user:pass@host:port` or `smtps://...` (sphere/send/smtp.py), or `ses` (Amazon SES v2,
sphere/send/ses.py). Each returns an `Outcome` for every message and raises only for what
stops the whole run before it starts (a refused login, a host that does not exist).

Transports are used from several worker threads at once: each keeps what is not thread-safe
(an SMTP connection) per thread.
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sphere.errors import SendError, TransportError
from sphere.private import private_folder, write_private
from sphere.send.outcome import Outcome


@dataclass(frozen=True, slots=True)
class Limits:
    """What the mail service allows this account (SES reports it; others say nothing)."""

    max_rate: float  # messages per second
    max_24h: int
    sent_24h: int

    @property
    def left_24h(self) -> int:
        return max(0, self.max_24h - self.sent_24h)


if TYPE_CHECKING:
    from sphere.settings import Settings


class Transport(Protocol):
    """Hands finished messages to a mail system."""

    description: str  # where mail goes, for messages: never a password

    def check(self) -> None:
        """Connect (and log in) once before the first message; TransportError if it cannot."""
        ...

    def send(self, *, sender: str, to: str, message: bytes, recipient: str = "") -> Outcome:
        """Hand over one message for one envelope recipient (both ASCII addresses).

        `recipient`: the subscriber's opaque id, for a service that can tag the message with
        it (SES: its events then name the recipient, and settle a crash's unknowns).
        """
        ...

    def close(self) -> None:
        """Release connections; the transport may not be used afterwards."""
        ...

    def limits(self) -> Limits | None:
        """The account's sending rate and 24-hour quota, when the service reports them."""
        ...


class OutboxTransport:
    """Writes each message to FOLDER as its own .eml file: to look at, never to deliver.

    Files are written to a temporary name and renamed into place, so a crash never leaves
    half a message that looks whole. They hold addresses and working links: files are 0600
    in a 0700 folder (sphere/private.py).
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.description = f"the outbox folder {folder}"
        self._counter = itertools.count()
        self._prefix = secrets.token_hex(4)

    def check(self) -> None:
        try:
            private_folder(self.folder)
        except OSError as error:
            reason = error.strerror
            raise TransportError(f"cannot create the outbox {self.folder}: {reason}") from None

    def send(self, *, sender: str, to: str, message: bytes, recipient: str = "") -> Outcome:  # noqa: ARG002 (Transport's keywords)
        name = f"{self._prefix}-{next(self._counter):07d}.eml"
        try:
            write_private(self.folder / name, message)
        except OSError as error:
            return Outcome.stop(f"cannot write to the outbox {self.folder}: {error.strerror}")
        return Outcome.accepted(name)

    def forget(self, mentions: re.Pattern[str]) -> int:
        """Remove the messages (and interrupted writes) that name a person being erased: an
        outbox message holds their address and a working unsubscribe link. How many."""
        removed = 0
        for path in sorted(self.folder.glob("*.eml")) + sorted(self.folder.glob(".*.eml.tmp-*")):
            try:
                if mentions.search(path.read_bytes().decode("utf-8", "replace")):
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    def close(self) -> None:
        pass

    def limits(self) -> Limits | None:
        return None


class NullTransport:
    """Accepts every message and keeps none: for `--dry-run` and the benchmarks."""

    description = "nowhere (dry run)"

    def __init__(self) -> None:
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self.sent = 0

    def check(self) -> None:
        pass

    def send(self, *, sender: str, to: str, message: bytes, recipient: str = "") -> Outcome:  # noqa: ARG002 (Transport's keywords)
        with self._lock:
            self.sent += 1
        return Outcome.accepted(f"null-{next(self._counter)}")

    def close(self) -> None:
        pass

    def limits(self) -> Limits | None:
        return None


def open_transport(settings: Settings, *, campaign: str = "") -> Transport:
    """The transport SPHERE_TRANSPORT names (`campaign` tags SES messages when configured)."""
    spec = settings.transport
    if spec.startswith("outbox:"):
        folder = spec.removeprefix("outbox:").strip()
        if not folder:
            raise SendError("SPHERE_TRANSPORT=outbox: needs a folder, e.g. outbox:.sphere/outbox")
        return OutboxTransport(settings.root / folder)
    if spec.startswith(("smtp://", "smtps://")):
        from sphere.send.smtp import SmtpTransport

        return SmtpTransport(spec)
    if spec == "ses":
        from sphere.send.seams import ses_client
        from sphere.send.ses import SesTransport

        return SesTransport(
            ses_client(),
            configuration_set=settings.ses_configuration_set,
            tags={"campaign": campaign} if campaign else {},
        )
    scheme = spec.split("://", 1)[0] if "://" in spec else spec.split(":", 1)[0]
    raise SendError(
        f"SPHERE_TRANSPORT={scheme!r} is not a transport: use outbox:FOLDER, "
        "smtp://user:password@host:port, smtps://... or ses"
    )


__all__ = ["Limits", "NullTransport", "OutboxTransport", "Transport", "open_transport"]


def outboxes(settings: Settings) -> list[OutboxTransport]:
    """The outbox folders that may hold messages: the default one, and SPHERE_TRANSPORT's."""
    specs = {"outbox:.sphere/outbox", settings.transport}
    folders = {
        settings.root / spec.removeprefix("outbox:").strip()
        for spec in specs
        if spec.startswith("outbox:") and spec.removeprefix("outbox:").strip()
    }
    return [OutboxTransport(folder) for folder in sorted(folders) if folder.is_dir()]
