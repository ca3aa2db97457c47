"""Sending welcomes: at confirm, from the endpoint (one), and from `sphere publish` (the rest).

The message is rendered once per process for each latest issue it links (a new issue's send
time changes it) and personalised per reader like an issue: their own unsubscribe link (and
List-Unsubscribe headers), their first name. Each welcome is claimed in the queue before the
transport sees it and its outcome recorded after (sphere.subscribers.welcomes), so none goes twice.

Nothing is sent, and every welcome stays queued, while `content/welcome.md` has check errors
(an image without alt text, unsafe HTML: what `sphere check` would stop an issue for), or
while a real transport would carry the placeholder postal address: the endpoint, `sphere
publish` and `sphere welcome` all pass through `Welcomer.send`.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from sphere.errors import ContentError, SendError, SphereError, TokenError, TransportError
from sphere.subscribers.welcomes import TO_SEND, WelcomeQueue

if TYPE_CHECKING:
    from sphere.mail.message import MessageTemplate
    from sphere.send.campaign import Person
    from sphere.send.transports import Transport
    from sphere.settings import Settings
    from sphere.welcome.message import Published

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

    def happened(self) -> bool:
        """Whether this round did something worth a line: sent, failed, refused, or found
        an outcome unknown or a welcome given up (each said once; `sphere status` keeps them)."""
        return any((self.sent, self.failed, self.refused, self.unknown, self.given_up))

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
        real: bool | None = None,
    ):
        """`real`: whether `transport` reaches people (default: SPHERE_TRANSPORT is not the
        outbox), so that the postal address must not be the placeholder."""
        from sphere.send.run import is_real

        self.settings = settings
        self.queue = queue
        self.transport = transport
        self.lookup = lookup
        self.real = is_real(settings) if real is None else real
        self._lock = threading.Lock()
        self._published: tuple[dt.date, Published] | None = None  # re-read once a day
        self._rendered: tuple[tuple[dt.date, str, str], MessageTemplate | None] | None = None

    def enabled(self) -> bool:
        """Whether a confirmation queues a welcome: `content/welcome.md` exists, not a draft."""
        from sphere.welcome.message import welcome_enabled

        return welcome_enabled(self.settings)

    def template(self) -> MessageTemplate | None:
        """The welcome as it is now, linking the newest issue whose send time has come;
        rendered when that changes. ContentError (nothing sent, all stays queued) when
        welcome.md has check errors; RenderError or ContentError when it does not render."""
        from sphere.welcome.message import latest_of, ready_issues, welcome_message

        now = self.settings.now()
        today = self.settings.today(now)
        with self._lock:
            if self._published is None or self._published[0] != today:
                self._published = (today, ready_issues(self.settings))
            latest = latest_of(self.settings, self._published[1], now)
            key = (today, str(latest["title"]), str(latest["url"]))
            if self._rendered is None or self._rendered[0] != key:
                refuse_broken(self.settings)
                self._rendered = (key, welcome_message(self.settings, latest=latest))
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
        if self.real:  # as an issue's send: never the placeholder postal address to people
            from sphere.send.run import refuse_placeholders

            refuse_placeholders(self.settings)
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
        """Send every welcome still due or failed (what the endpoint could not): only those
        pending are read (sphere.subscribers.welcomes), never every record ever written."""
        report = WelcomeReport()
        for subscriber_id in self.queue.pending():
            settled = self.queue.settle(subscriber_id)
            if settled is not None:
                report.unknown += settled == "unknown"  # found so this round: said once
                report.given_up += settled == "given up"
                continue
            state = self.send(subscriber_id)
            if state == "no welcome":
                break
            _count(report, state)
        return report


def refuse_broken(settings: Settings) -> None:
    """ContentError when `sphere check` finds errors in content/welcome.md: the welcome is
    held back (queued) until it is fixed, as publish's warning says (sphere.broken).

    One exception: with the archive itself on a local address (`base_url` at 127.0.0.1, as
    while trying the endpoints out), every archive link, `{{ latest.url }}` included, is
    "unreachable" (`link/placeholder`); that is the settings' doing, not the welcome's."""
    from urllib.parse import urlsplit

    from sphere.checks.findings import Level
    from sphere.checks.links import PLACEHOLDER_HOSTS, PLACEHOLDER_SUFFIXES
    from sphere.checks.welcome import check_welcome
    from sphere.welcome.message import welcome_path

    host = (urlsplit(settings.base_url).hostname or "").rstrip(".")
    local = host in PLACEHOLDER_HOSTS or host.endswith(PLACEHOLDER_SUFFIXES)
    errors = [
        f
        for f in check_welcome(settings)
        if f.level == Level.ERROR and not (local and f.rule == "link/placeholder")
    ]
    if errors:
        first = errors[0]
        raise ContentError(
            f"has {len(errors)} check error(s) (first: line {first.line}: {first.rule} "
            f"{first.message}); no welcome email goes out until it is fixed (they stay queued)",
            path=welcome_path(settings),
        )


_COUNTED = frozenset(field.name for field in fields(WelcomeReport))  # a state, by its name


def _count(report: WelcomeReport, state: str) -> None:
    """One more in the report's field of that name (`due` and `sending` have none)."""
    if state in _COUNTED:
        setattr(report, state, getattr(report, state) + 1)


def send_welcomes(settings: Settings, *, transport: Transport | None = None) -> WelcomeReport:
    """`sphere publish`'s round: every due welcome, through SPHERE_TRANSPORT (or `transport`)."""
    from sphere.send import seams
    from sphere.send.run import is_real

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

    real = transport is None and is_real(settings)  # an injected one: the caller's (tests)
    welcomer = Welcomer(settings, queue=queue, transport=open_once, lookup=lookup, real=real)
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
