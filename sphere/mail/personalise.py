"""Per-recipient values: the personal unsubscribe link and mailto, made from a subscriber's id,
and the first name an issue's `{{ reader.first_name }}` greets them by.

The link carries a signed token of the subscriber's opaque id (`sphere.mail.tokens`), so no
address ever appears in a URL; the mailto identifies the reader the same way, in its subject.
The headers that carry them (`List-Unsubscribe`, with `List-Unsubscribe-Post` and `List-Id`
beside it) are written once per message by `MessageTemplate.render`.

The first name is the first word of the subscriber's `name` ("Ada Lovelace" -> "Ada"), or the
`greeting_fallback` setting ("there") when they gave none. It is made here, per recipient, from
the record the send just read, and lives only in that recipient's `Recipient`: nothing shared
between the send's threads holds it, and it is never logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from sphere.errors import TokenError
from sphere.mail.message import MAX_FIRST_NAME, Recipient, one_line
from sphere.mail.tokens import Tokens

if TYPE_CHECKING:
    from sphere.settings import Settings

# The outbox only writes files for the author to look at, so it may sign with a fixed key when
# SPHERE_SECRET is unset; every transport that reaches people needs the real secret.
LOCAL_ONLY_SECRET = "sphere-local-outbox-only-not-secret"  # noqa: S105 (public by design)


@dataclass(frozen=True, slots=True)
class Personaliser:
    """Turns (id, address, name) into a `Recipient` with their own signed links."""

    endpoint_url: str  # ends in "/"
    unsubscribe_mailto: str  # a bare address
    tokens: Tokens
    issue: str = ""  # the slug the tokens name, so an unsubscribe counts against its issue
    greeting_fallback: str = "there"  # the first name of a reader who gave no name

    @classmethod
    def from_settings(cls, settings: Settings, *, issue: str = "") -> Personaliser:
        return cls(
            settings.endpoint_url, offered_mailto(settings), tokens_for(settings), issue,
            settings.greeting_fallback,
        )  # fmt: skip

    def recipient(self, *, subscriber_id: str, address: str, name: str = "") -> Recipient:
        """The recipient with their unsubscribe URL and mailto filled in."""
        token = self.tokens.unsubscribe(subscriber_id, issue=self.issue)
        return Recipient(
            address=address,
            name=name,
            first_name=first_name(name) or self.greeting_fallback,
            unsubscribe_url=self.unsubscribe_url(token),
            unsubscribe_mailto=self.mailto(token),
        )

    def unsubscribe_url(self, token: str) -> str:
        """The one-click (RFC 8058) unsubscribe link for a token."""
        return f"{self.endpoint_url}unsubscribe?t={token}"

    def mailto(self, token: str) -> str:
        """A mailto: that unsubscribes whoever sends it, identified by the token alone; ""
        when no mailbox is offered."""
        if not self.unsubscribe_mailto:
            return ""
        return f"mailto:{self.unsubscribe_mailto}?subject={quote('unsubscribe ' + token)}"


def first_name(name: str) -> str:
    """The first word of a subscriber's name ("" when there is none): how they are greeted.

    The first word, not a guess at which word is the given name: "Dr Jane Smith" is greeted
    as "Dr". Control characters count as spaces (a name cannot break the text part's lines).
    """
    words = one_line(name).split()
    return words[0][:MAX_FIRST_NAME] if words else ""


def offered_mailto(settings: Settings) -> str:
    """The unsubscribe mailbox List-Unsubscribe offers, or "" for none.

    Only where something reads it: SES receiving puts the mail for `unsubscribe_mailto` into
    the feedback queue (docs/aws.md), which `sphere feedback sync` reads. Without
    `feedback_queue_url` nobody would, and a request sent there would go unheard.
    """
    return settings.unsubscribe_mailto if settings.feedback_queue_url else ""


def tokens_for(settings: Settings) -> Tokens:
    """Tokens signed with SPHERE_SECRET (with the outbox only, a fixed local key if unset)."""
    if settings.secret:
        return Tokens(settings.secret, clock=settings.clock)
    if settings.transport.startswith("outbox:"):
        return Tokens(LOCAL_ONLY_SECRET, clock=settings.clock)
    raise TokenError(
        f"SPHERE_SECRET is empty but SPHERE_TRANSPORT={settings.transport.split(':', 1)[0]} "
        "reaches real people: set SPHERE_SECRET to a long random value (the same everywhere "
        "links are checked)"
    )


def envelope_address(address: str) -> str:
    """The address as SMTP's RCPT TO and SES's Destination take it: an IDN domain in ASCII."""
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain if domain.isascii() else domain.encode('idna').decode('ascii')}"


__all__ = [
    "LOCAL_ONLY_SECRET",
    "Personaliser",
    "envelope_address",
    "first_name",
    "offered_mailto",
    "tokens_for",
]
