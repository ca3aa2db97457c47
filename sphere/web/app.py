"""The WSGI application behind the subscriber endpoints (see docs/endpoints.md).

    GET  /unsubscribe?t=TOKEN   a page with a button; changes nothing (mail scanners follow links)
    POST /unsubscribe?t=TOKEN   unsubscribes; also the RFC 8058 one-click POST from mail clients
    GET  /subscribe             the subscribe form on a page of its own
    POST /subscribe             starts double opt-in; the same answer whatever was submitted
    GET  /confirm?t=TOKEN       a page with a button; changes nothing
    POST /confirm               confirms (token in the form)

Repeating any POST is harmless. A bad, tampered or expired token gets a friendly page and
changes nothing. The app never redirects, so it cannot be made an open redirect, and builds
every URL from settings, never from the Host header.

A subscribe POST is answered before its work is done: the page is the same for everyone, and
the work (looking the address up, the limits, the pending record, the email) runs when the
server closes the answer (the WSGI iterable's `close()`), after `sphere serve` has sent it
whole. So the time to the answer says nothing of the list. Where the adapter waits for
`close()` before it answers (apig-wsgi on Lambda), `answer_floor` pads every subscribe answer
to the same time instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from sphere.errors import SphereError, TokenError
from sphere.web.optin import OptIn, Request
from sphere.web.pages import Pages, security_headers

if TYPE_CHECKING:
    from sphere.mail.tokens import Tokens
    from sphere.settings import Settings
    from sphere.subscribers.members import Members
    from sphere.web.limits import Limits
    from sphere.web.optin import Mailer
    from sphere.welcome.deliver import Welcomer

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024  # a form of an address, a name and two hidden fields is far smaller
StartResponse = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Answer:
    """A page to send back: status line and body (headers are added by the app)."""

    status: str
    body: bytes
    allow: str = ""
    after: Callable[[], object] | None = None  # work done once the answer is sent
    label: str = "subscribe"  # what `after` is, for the log
    padded: bool = True  # whether the answer waits for `answer_floor` (subscribe: see above)


class _ThenWork:
    """A WSGI body that does `work` when the server closes it: after the answer is sent
    (`sphere serve`), and padded to `floor` seconds from `started` (for Lambda)."""

    def __init__(
        self, body: bytes, work: Callable[[], object], started: float, floor: float, label: str
    ):
        self.body, self.work, self.started, self.floor = body, work, started, floor
        self.label = label

    def __iter__(self) -> Iterator[bytes]:
        yield self.body

    def close(self) -> None:
        try:
            outcome = self.work()
            log.info("%s: %s", self.label, outcome)
        except Exception as error:  # noqa: BLE001 (the answer is gone: log, never a traceback)
            log.error("%s failed after its answer: %s", self.label, type(error).__name__)
        finally:
            rest = self.started + self.floor - time.monotonic()
            if rest > 0:
                time.sleep(rest)


class TooLarge(Exception):
    """The request's body is larger than MAX_BODY."""


class Incomplete(Exception):
    """The client stopped sending its body (the server's read timed out)."""


class Endpoints:
    """The WSGI app: `Endpoints(settings, members=..., tokens=..., mailer=...)`."""

    def __init__(
        self,
        settings: Settings,
        *,
        members: Members,
        tokens: Tokens,
        mailer: Mailer,
        limits: Limits | None = None,
        answer_floor: float = 0.0,
        welcomer: Welcomer | None = None,
    ):
        from sphere.web.limits import Limits
        from sphere.web.sweep import Sweeper

        self.settings = settings
        self.members = members
        self.tokens = tokens
        self.pages = Pages(settings)
        store = members.subscribers.store
        limits = limits or Limits(store, members.subscribers.hash, members.clock)
        self.optin = OptIn(settings, members, tokens, self.pages.env, mailer, limits)
        self.sweeper = Sweeper(store, members.clock)
        self.answer_floor = answer_floor
        self.welcomer = welcomer  # None: no welcome email (sphere.welcome)
        self.prefix = urlsplit(settings.endpoint_url).path.rstrip("/")
        self.headers = security_headers(settings)
        self.routes: dict[str, dict[str, Callable[[dict[str, Any]], Answer]]] = {
            "/unsubscribe": {"GET": self.unsubscribe_page, "POST": self.unsubscribe},
            "/subscribe": {"GET": self.subscribe_page, "POST": self.subscribe},
            "/confirm": {"GET": self.confirm_page, "POST": self.confirm},
        }

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        started = time.monotonic()
        answer = self.answer(environ, "GET" if method == "HEAD" else method)
        headers = [("Content-Type", "text/html; charset=utf-8"), *self.headers]
        headers.append(("Content-Length", str(len(answer.body))))
        if answer.allow:
            headers.append(("Allow", answer.allow))
        start_response(answer.status, headers)
        if answer.after is not None:
            floor = self.answer_floor if answer.padded else 0.0
            return _ThenWork(answer.body, answer.after, started, floor, answer.label)
        return [b""] if method == "HEAD" else [answer.body]

    def answer(self, environ: dict[str, Any], method: str) -> Answer:
        path = environ.get("PATH_INFO", "") or "/"
        if self.prefix and path.startswith(self.prefix + "/"):
            path = path[len(self.prefix) :]  # served under the endpoint URL's own path
        handlers = self.routes.get(path.rstrip("/") or "/")
        if handlers is None:
            return self.page("404 Not Found", "not-found")
        handler = handlers.get(method)
        if handler is None:
            allow = ", ".join([*handlers, "HEAD"] if "GET" in handlers else handlers)
            return Answer("405 Method Not Allowed", self.pages.render("not-found"), allow)
        try:
            return handler(environ)
        except TooLarge:
            return self.page("413 Content Too Large", "invalid", purpose="form")
        except Incomplete:
            return self.page("408 Request Timeout", "invalid", purpose="form")
        except SphereError as error:  # the store or the mail is down: say so, change nothing
            log.error("%s %s failed: %s", method, path, type(error).__name__)
            return self.page("503 Service Unavailable", "unavailable")

    def page(self, status: str, name: str, **context: Any) -> Answer:
        return Answer(status, self.pages.render(name, **context))

    # --- unsubscribe -----------------------------------------------------------------------

    def unsubscribe_page(self, environ: dict[str, Any]) -> Answer:
        token = _query(environ).get("t", "")
        try:
            self.tokens.check_unsubscribe(token)
        except TokenError:
            return self.page("400 Bad Request", "invalid", purpose="unsubscribe")
        return self.page("200 OK", "unsubscribe", token=token)

    def unsubscribe(self, environ: dict[str, Any]) -> Answer:
        """Unsubscribe the token's subscriber; the RFC 8058 one-click POST lands here too.

        The token is in the URL (one-click clients post to the List-Unsubscribe URL as it
        is, with the body `List-Unsubscribe=One-Click`, whatever its encoding).
        """
        form = _form(environ)
        token = _query(environ).get("t") or form.get("t", "")
        try:
            subscriber_id, issue = self.tokens.unsubscribe_origin(token)
        except TokenError:
            return self.page("400 Bad Request", "invalid", purpose="unsubscribe")
        record = self.members.by_id(subscriber_id)
        if record is None:  # never "you are unsubscribed" for someone it did not act on
            log.info("unsubscribe: no subscriber has this id")
            why = "this link's address is not on the list (it may have been erased)"
            return self.page("404 Not Found", "invalid", purpose="unsubscribe", why=why)
        changed = self.members.set_status(record, "unsubscribed")
        if changed:
            self._count_against(issue, subscriber_id)
        log.info("unsubscribe: %s", "done" if changed else "nothing to change")
        return self.page("200 OK", "unsubscribed", token=token)

    def _count_against(self, issue: str, subscriber_id: str) -> None:
        """Count the unsubscribe against the issue whose link it was (sphere.issue_feedback).

        The reader is unsubscribed already: a store that refuses this write (a role without
        it, an outage) costs a count, never the unsubscribe's answer.
        """
        from sphere.issue_feedback import record_unsubscribe

        try:
            record_unsubscribe(self.members.subscribers.store, issue, subscriber_id,
                               at=self.members.now())  # fmt: skip
        except SphereError as error:
            log.warning("unsubscribe: not counted against its issue (%s)", type(error).__name__)

    # --- subscribe -------------------------------------------------------------------------

    def subscribe_page(self, _environ: dict[str, Any]) -> Answer:
        return self.page("200 OK", "subscribe")

    def subscribe(self, environ: dict[str, Any]) -> Answer:
        """Start double opt-in. Every submission gets the very same page, at once: the work
        is done after the answer is sent (see the module's docstring)."""
        form = _form(environ)
        ip = str(environ.get("REMOTE_ADDR", ""))
        if form.get("t"):  # the unsubscribed page's "subscribe again" button
            token = form["t"]
            work: Callable[[], object] = lambda: self._resubscribe(token, ip)  # noqa: E731
        elif _undeliverable(form.get("email", "")[:320]):
            # Said plainly: it is about how the address is written, not whether it is listed.
            log.info("subscribe: undeliverable")
            return self.page("400 Bad Request", "subscribe", problem=UNDELIVERABLE)
        else:
            request = self._request(form, ip)
            work = lambda: self.optin.request(request)  # noqa: E731
        return Answer("200 OK", self.pages.render("subscribe-sent"), after=self._then(work))

    def _then(self, work: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            outcome = work()
            self.sweeper.maybe()  # an erased person's expired request goes, whoever asks
            return outcome

        return run

    def _request(self, form: dict[str, str], ip: str) -> Request:
        from sphere.subscribers.model import clean_name, normalise_email

        try:
            address = normalise_email(form.get("email", "")[:320])
        except ValueError:
            address = ""
        try:
            name = clean_name(form.get("name", "")[:400])
        except ValueError:
            name = ""  # markup or control characters: keep the address, drop the name
        page = form.get("page", "")
        if not page.startswith(self.settings.base_url) or len(page) > 500:
            page = ""  # only our own archive's pages are recorded as the form's source
        return Request(address, name, form.get("website", ""), page, ip)

    def _resubscribe(self, token: str, ip: str) -> str:
        try:
            record = self.members.by_id(self.tokens.check_unsubscribe(token))
        except TokenError:
            return "invalid"
        return "invalid" if record is None else self.optin.resubscribe(record, ip=ip)

    # --- confirm ---------------------------------------------------------------------------

    def confirm_page(self, environ: dict[str, Any]) -> Answer:
        token = _query(environ).get("t", "")
        try:
            self.tokens.check_confirm(token)
        except TokenError as error:
            return self.page("400 Bad Request", "invalid", purpose="confirm", why=str(error))
        return self.page("200 OK", "confirm", token=token)

    def confirm(self, environ: dict[str, Any]) -> Answer:
        token = _form(environ).get("t") or _query(environ).get("t", "")
        try:
            subscriber_id = self.tokens.check_confirm(token)
        except TokenError as error:
            return self.page("400 Bad Request", "invalid", purpose="confirm", why=str(error))
        record = self.members.by_id(subscriber_id)
        if record is None:
            why = "this confirmation link is not valid any more"
            return self.page("400 Bad Request", "invalid", purpose="confirm", why=why)
        if record.status == "subscribed":  # a second click: nothing to do, nothing to send
            return self.page("200 OK", "confirmed")
        # NOTE: queued before the confirmation, so no crash between them leaves a confirmed
        # reader without a welcome; a queued one for someone not (yet) subscribed is not sent.
        welcomer = self.welcomer if self.welcomer is not None and self.welcomer.enabled() else None
        if welcomer is not None:
            welcomer.queue.enqueue(record.id)  # False when queued before: sent once, ever
        evidence = dict(record.consent_evidence or {}) if record.status == "pending" else {}
        evidence.update(confirmed_at=self.members.now())
        evidence["confirm_ip"] = str(environ.get("REMOTE_ADDR", ""))
        source = record.consent_source if record.status == "pending" else "confirm link"
        self.members.confirm(record, source=source, evidence=evidence)
        log.info("confirm: done")
        if welcomer is None:
            return self.page("200 OK", "confirmed")
        # Sent after the page: a slow or failing transport neither delays nor undoes the
        # confirmation, and what fails stays queued for `sphere publish`.
        return Answer(
            "200 OK", self.pages.render("confirmed"), after=lambda: welcomer.send(record.id),
            label="welcome", padded=False,
        )  # fmt: skip


UNDELIVERABLE = (
    "That address has letters before the @ that are not plain ASCII (such as é): our mail "
    "service cannot deliver to it. Please use another address."
)


def _undeliverable(text: str) -> bool:
    """A valid address that no send could reach (sphere.subscribers.model.deliverable_email)."""
    from sphere.subscribers.model import deliverable_email, normalise_email

    try:
        normalise_email(text)
    except ValueError:
        return False  # not an address at all: the usual page, as for every other request
    try:
        deliverable_email(text)
    except ValueError:
        return True
    return False


def _query(environ: dict[str, Any]) -> dict[str, str]:
    """The query string's fields, first value of each."""
    return _first(parse_qs(environ.get("QUERY_STRING", ""), max_num_fields=20))


def _form(environ: dict[str, Any]) -> dict[str, str]:
    """An urlencoded body's fields (first value each); {} for any other body."""
    kind = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        raise TooLarge
    try:
        body = environ["wsgi.input"].read(length) if length > 0 else b""
    except OSError:  # TimeoutError: `sphere serve`'s read timeout
        raise Incomplete from None
    if len(body) < length:  # the reads were cut at the request's deadline
        raise Incomplete
    if kind != "application/x-www-form-urlencoded":
        return {}  # a one-click POST in multipart/form-data: the token is in the URL
    text = body.decode("utf-8", "replace")
    return _first(parse_qs(text, max_num_fields=20))


def _first(fields: dict[str, list[str]]) -> dict[str, str]:
    return {key: values[0] for key, values in fields.items() if values}


__all__ = ["MAX_BODY", "Endpoints"]
