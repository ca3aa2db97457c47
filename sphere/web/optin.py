"""Double opt-in: what a subscribe request does, and the confirmation email it sends.

The form's answer is the same page whatever happens here (a new address, a known one, an
unsubscribed one, nonsense, a bot filling the honeypot), and it is sent before any of this
work starts (sphere/web/app.py), so nobody can learn from it, nor from how long it took, who is
on the list. The work behind it differs: only a new or unsubscribed address gets a
confirmation email, at most one per mailbox per day, within the per-client and overall limits
(sphere/web/limits.py), and that email holds nothing the visitor typed (not even the name):
only our own words and the signed link, so the form cannot be used to send someone a message
of the visitor's choosing.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING, Protocol

from sphere.clock import utc
from sphere.mail.tokens import CONFIRM_DAYS
from sphere.render.urls import confirm_url
from sphere.web.limits import canonical_mailbox

if TYPE_CHECKING:
    import jinja2

    from sphere.mail.tokens import Tokens
    from sphere.send.transports import Transport
    from sphere.settings import Settings
    from sphere.subscribers.members import Members
    from sphere.subscribers.model import Subscriber
    from sphere.web.limits import Limits

log = logging.getLogger(__name__)

MAIL_EVERY = 24 * 3600.0  # at most one confirmation email per address in this many seconds
CONFIRM_TEMPLATE = "email/confirm.txt.j2"


class Mailer(Protocol):
    """Sends one finished message (a transport, opened when first needed)."""

    def __call__(self, *, to: str, message: bytes) -> bool: ...


@dataclass(frozen=True, slots=True)
class Request:
    """What a subscribe form sent, already cleaned; `trap` is the honeypot field's value."""

    address: str  # normalised, or "" when it was not a valid address
    name: str  # cleaned, or "" when it was not a fit name
    trap: str
    page: str  # the archive page the form was on ("" when it was not one of ours)
    ip: str


@dataclass
class OptIn:
    """Starts double opt-in for a form request or a re-subscribe button."""

    settings: Settings
    members: Members
    tokens: Tokens
    env: jinja2.Environment
    mailer: Mailer
    limits: Limits

    def request(self, request: Request) -> str:
        """Handle a subscribe request; returns what happened, for tests and counters only."""
        if request.trap:
            return "trap"
        if not request.address:
            return "invalid"
        if not self.limits.allow_client(request.ip):  # before the list: every request counts
            return "client-limited"
        record, erased = self.members.by_address(request.address)
        if record is not None and record.status in ("subscribed", "bounced", "complained"):
            return record.status
        evidence = {"requested_at": self.members.now(), "request_ip": request.ip}
        if request.page:
            evidence["request_page"] = request.page
        if not self.limits.allow_overall():
            return "overall-limited"
        # NOTE: keyed on the inbox, not the spelling: victim+1@, v.ictim@ are one mailbox.
        if not self.members.claim_mail(canonical_mailbox(request.address), every=MAIL_EVERY):
            return "throttled"
        source = request.page or "subscribe form"
        if record is not None:
            subscriber_id = record.id
        elif erased:  # erased at their wish: back only by confirming (docs/endpoints.md)
            self.members.sweep_waiting(older_than=CONFIRM_DAYS * 86400)
            subscriber_id = self.members.add_waiting(
                request.address, name=request.name, source=source, evidence=evidence
            )
        else:
            subscriber_id = self.members.add_pending(
                request.address, name=request.name, source=source, evidence=evidence
            )
        return "mailed" if self.send(request.address, subscriber_id) else "mail-failed"

    def resubscribe(self, record: Subscriber, *, ip: str) -> str:
        """The unsubscribed page's button: mail a confirmation to the record's own address."""
        page = self.settings.endpoint_url + "unsubscribe"
        return self.request(Request(record.email, "", "", page, ip))

    def send(self, address: str, subscriber_id: str) -> bool:
        """Send the confirmation email; False (and a warning without the address) if it failed."""
        link = confirm_url(self.settings, self.tokens.confirm(subscriber_id))
        text = self.env.get_template(CONFIRM_TEMPLATE).render(
            site={"name": self.settings.name, "tagline": self.settings.tagline},
            confirm_url=link,
            postal_address=self.settings.postal_address,
        )
        return self.mailer(to=address, message=confirmation_message(self.settings, address, text))


def confirmation_message(settings: Settings, address: str, text: str) -> bytes:
    """The confirmation email: plain text, from the newsletter, to the address alone."""
    from email import policy

    message = EmailMessage(policy=policy.SMTP)
    message["From"] = settings.sender
    message["To"] = address
    if settings.reply_to:
        message["Reply-To"] = settings.reply_to
    message["Subject"] = f"Confirm your subscription to {settings.name}"
    message["Date"] = format_datetime(utc(settings.clock))
    message["Message-ID"] = make_msgid(domain=settings.sender_address.rpartition("@")[2])
    message["Auto-Submitted"] = "auto-generated"
    # 7bit keeps the link whole and greppable; quoted-printable only when the text needs it
    message.set_content(text, charset="utf-8", cte="7bit" if text.isascii() else "quoted-printable")
    return message.as_bytes()


class TransportMailer:
    """A `Mailer` over the transport SPHERE_TRANSPORT names, opened on the first message."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._transport: Transport | None = None
        self._lock = threading.Lock()

    def __call__(self, *, to: str, message: bytes) -> bool:
        from sphere.mail.personalise import envelope_address
        from sphere.send.outcome import Kind, redact

        transport = self._open()
        outcome = transport.send(
            sender=self.settings.sender_address, to=envelope_address(to), message=message
        )
        if outcome.kind != Kind.ACCEPTED:
            log.warning("a confirmation email was not sent: %s", redact(outcome.detail))
        return outcome.kind == Kind.ACCEPTED

    def transport(self) -> Transport:
        """The transport, opened and checked on first use (shared with the welcome email)."""
        return self._open()

    def _open(self) -> Transport:
        with self._lock:
            if self._transport is None:
                from sphere.send.transports import open_transport

                transport = open_transport(self.settings)
                transport.check()
                self._transport = transport
            return self._transport


__all__ = ["MAIL_EVERY", "Mailer", "OptIn", "Request", "TransportMailer", "confirmation_message"]
