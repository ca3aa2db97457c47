"""Sending welcomes: at confirm, from the endpoint (one), and from `sphere publish` (the rest).

The message is rendered once a day per process (the latest issue can change at midnight) and
personalised per reader like an issue: their own unsubscribe link (and List-Unsubscribe
headers), their first name. Each welcome is claimed in the queue before the transport sees it
and its outcome recorded after (sphere.welcome.queue), so none goes twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sphere.errors import SendError, SphereError, TokenError, TransportError
from sphere.welcome.queue import MAX_TRIES, TO_SEND, WelcomeQueue

if TYPE_CHECKING:
    from sphere.mail.message import MessageTemplate
    from sphere.send.campaign import Person
    from sphere.send.transports import Transport
    from sphere.settings import Settings

log = logging.getLogger(__name__)

GONE = frozenset({"unsubscribed", "bounced", "complained"})


@dataclass
class WelcomeReport:
    """What one round of sending welcomes did."""

    sent: int = 0
    failed: int = 0  # to try again at the next round
    refused: int = 0  # the address refused for good
    unknown: int = 0  # handed over with no answer: never sent again
    skipped: int = 0  # left the list first
    waiting: int = 0  # queued, not confirmed yet (their confirmation is still being written)
    given_up: int = 0  # failed MAX_TRIES times

    def line(self) -> str:
        return (
            f"welcome emails: {self.sent} sent, {self.failed} failed (tried again next time), "
            f"{self.refused} refused, {self.unknown} unknown, {self.given_up} given up"
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Welcomer:
    """Sends one subscriber's welcome, or every due one; thread-safe (`sphere serve`)."""

    def __init__(
        self,
        settings: Settings,
        *,
        queue: WelcomeQueue,
        transport: Callable[[], Transport],
        lookup: Callable[[str], Person | None],
    ):
        self.settings = settings
        self.queue = queue
        self.transport = transport
        self.lookup = lookup
        self._lock = threading.Lock()
        self._rendered: tuple[dt.date, MessageTemplate | None] | None = None

    def enabled(self) -> bool:
        """Whether there is a welcome to send (`content/welcome.md` exists)."""
        from sphere.welcome.message import welcome_path

        return welcome_path(self.settings).is_file()

    def template(self) -> MessageTemplate | None:
        """Today's welcome, rendered on first use (RenderError or ContentError if broken)."""
        from sphere.welcome.message import welcome_message

        today = self.settings.today()
        with self._lock:
            if self._rendered is None or self._rendered[0] != today:
                self._rendered = (today, welcome_message(self.settings, today=today))
            return self._rendered[1]

    def send(self, subscriber_id: str) -> str:
        """Send the subscriber's welcome if it is due; the state it ends in (or why not)."""
        person = self.lookup(subscriber_id)
        if person is None or person.status in GONE:
            self.queue.skip(subscriber_id)
            return "skipped"
        if person.status != "subscribed":
            return "waiting"
        if self.queue.state(subscriber_id) not in TO_SEND:  # before rendering: one read
            return "not due"
        template = self.template()
        if template is None:
            return "no welcome"
        claim = self.queue.claim(subscriber_id)
        if claim is None:
            return "not due"
        state, detail, message_id = self._deliver(template, person)
        self.queue.finish(claim, state, detail=detail, message_id=message_id)
        if state != "sent":
            log.warning("a welcome email was not sent (%s): %s", state, detail)
        return state

    def _deliver(self, template: MessageTemplate, person: Person) -> tuple[str, str, str]:
        """(state, detail, message id) of handing the welcome to the transport."""
        from sphere.mail.personalise import Personaliser, envelope_address
        from sphere.send.outcome import Kind, redact

        personaliser = Personaliser.from_settings(self.settings)
        try:
            recipient = personaliser.recipient(
                subscriber_id=person.id, address=person.email, name=person.name
            )
            message = template.render(recipient, clock=self.settings.clock)
            to = envelope_address(person.email)
        except (SendError, TokenError, UnicodeError) as error:
            return "refused", redact(str(error)), ""
        try:
            outcome = self.transport().send(
                sender=self.settings.sender_address, to=to, message=message, recipient=person.id
            )
        except TransportError as error:
            return "failed", redact(str(error)), ""
        # Anything else: the message may have gone, so it is never sent again.
        except Exception as error:  # noqa: BLE001
            return "unknown", type(error).__name__, ""
        states = {Kind.ACCEPTED: "sent", Kind.FAILED: "refused", Kind.UNKNOWN: "unknown"}
        return states.get(outcome.kind, "failed"), redact(outcome.detail), outcome.message_id

    def send_due(self) -> WelcomeReport:
        """Send every welcome still due or failed (what the endpoint could not)."""
        report = WelcomeReport()
        for subscriber_id, record in sorted(self.queue.records().items()):
            if record["state"] not in TO_SEND:
                report.unknown += record["state"] in ("unknown", "sending")
                continue
            if record.get("tries", 0) >= MAX_TRIES:
                report.given_up += 1
                continue
            state = self.send(subscriber_id)
            if state == "no welcome":
                break
            _count(report, state)
        return report


def _count(report: WelcomeReport, state: str) -> None:
    field = {"sent": "sent", "failed": "failed", "refused": "refused", "unknown": "unknown",
             "skipped": "skipped", "waiting": "waiting"}.get(state)  # fmt: skip
    if field is not None:
        setattr(report, field, getattr(report, field) + 1)


def send_welcomes(settings: Settings, *, transport: Transport | None = None) -> WelcomeReport:
    """`sphere publish`'s round: every due welcome, through SPHERE_TRANSPORT (or `transport`)."""
    from sphere.send import seams

    queue = WelcomeQueue(seams.open_store(settings), clock=settings.clock)
    opened: list[Transport] = []

    def open_once() -> Transport:
        if transport is not None:
            return transport
        if not opened:
            from sphere.send.transports import open_transport

            opened.append(open_transport(settings))
            opened[0].check()
        return opened[0]

    people: dict[str, Person] = {}

    def lookup(subscriber_id: str) -> Person | None:
        if not people:  # read once, and only when a welcome is due
            people.update(seams.people(settings))
        return people.get(subscriber_id)

    welcomer = Welcomer(settings, queue=queue, transport=open_once, lookup=lookup)
    if not welcomer.enabled():
        return WelcomeReport()
    try:
        return welcomer.send_due()
    finally:
        for each in opened:
            each.close()


def welcome_round(settings: Settings, transport: Transport | None) -> WelcomeReport | None:
    """Publish's round of `send_welcomes`: a failure is logged and stops no issue, since the
    welcomes stay queued for the next run."""
    try:
        return send_welcomes(settings, transport=transport)
    except SphereError as error:
        log.warning("welcome emails were not sent (they stay queued): %s", error)
        return None


__all__ = ["WelcomeReport", "Welcomer", "send_welcomes", "welcome_round"]
