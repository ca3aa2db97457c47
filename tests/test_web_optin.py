"""Double opt-in's daily limit, with a clock the test moves (no sleeping): at most one
confirmation email per address in any 24 hours, and each address counted on its own.
(In process: the 24 hours need an injected clock, which a separate `sphere serve` cannot take;
tests/test_web.py sends the same requests over real HTTP.)
"""

from __future__ import annotations

import http.client
import io
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fixtures_project import Result
from fixtures_web import call_app

from sphere.mail.tokens import Tokens
from sphere.settings import load_settings
from sphere.store.blobs import Blob
from sphere.store.local import LocalStore
from sphere.subscribers.list import SubscriberList
from sphere.subscribers.members import Members
from sphere.web.app import Endpoints
from sphere.web.limits import Bucket, Limits, canonical_mailbox
from sphere.web.server import make_web_server
from sphere.web.sweep import sweep_web


class Clock:
    """A clock the test moves by hand (`sphere.clock.Clock`); sleeping is never needed here."""

    def __init__(self) -> None:
        self.time = 1_800_000_000.0

    def now(self) -> float:
        return self.time

    def monotonic(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.time += seconds


class Outbox:
    def __init__(self) -> None:
        self.to: list[str] = []

    def __call__(self, *, to: str, message: bytes) -> bool:
        self.to.append(to)
        return True


def subscribe(app: Endpoints, address: str) -> str:
    return call_app(app, "POST", "/subscribe", body=urlencode({"email": address}).encode())


def test_one_confirmation_per_address_per_day(project: Path) -> None:
    clock, outbox = Clock(), Outbox()
    subscribers = SubscriberList(LocalStore(project / "store"), key=lambda: b"k" * 32, clock=clock)
    app = Endpoints(
        load_settings(project), members=Members(subscribers), tokens=Tokens("s" * 40),
        mailer=outbox,
    )  # fmt: skip

    subscribe(app, "one@example.org")
    clock.time += 23.9 * 3600
    subscribe(app, "one@example.org")
    subscribe(app, "two@example.org")  # another address is not held back by the first
    assert outbox.to == ["one@example.org", "two@example.org"]

    clock.time += 0.2 * 3600  # 24.1 hours after the first email
    assert subscribe(app, "one@example.org") == "200 OK"
    assert outbox.to == ["one@example.org", "two@example.org", "one@example.org"]
    pending = {r.email: r.status for r in subscribers.all()}
    assert pending == {"one@example.org": "pending", "two@example.org": "pending"}


def test_an_erased_persons_unconfirmed_request_goes_once_its_link_expired(project: Path) -> None:
    clock, outbox = Clock(), Outbox()
    subscribers = SubscriberList(LocalStore(project / "store"), key=lambda: b"k" * 32, clock=clock)
    for address in ("gone@example.org", "also@example.org"):
        subscribers.add(address)
        subscribers.erase(address)
    app = Endpoints(
        load_settings(project), members=Members(subscribers), tokens=Tokens("s" * 40),
        mailer=outbox,
    )  # fmt: skip
    waiting = project / "store" / "web" / "pending"

    subscribe(app, "gone@example.org")
    assert len(list(waiting.glob("*.json"))) == 1
    clock.time += 8 * 86400  # past the confirmation link's 7 days
    subscribe(app, "also@example.org")

    (left,) = waiting.glob("*.json")
    assert b"also@example.org" in left.read_bytes()
    stored = b"".join(p.read_bytes() for p in (project / "store").rglob("*") if p.is_file())
    assert b"gone@example.org" not in stored


def app_with(
    project: Path, clock: Clock, outbox: Outbox, limits: Limits | None = None
) -> Endpoints:
    subscribers = SubscriberList(LocalStore(project / "store"), key=lambda: b"k" * 32, clock=clock)
    return Endpoints(
        load_settings(project), members=Members(subscribers), tokens=Tokens("s" * 40),
        mailer=outbox, limits=limits,
    )  # fmt: skip


def subscribe_from(app: Endpoints, address: str, ip: str) -> str:
    body = urlencode({"email": address}).encode()
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/subscribe", "QUERY_STRING": "",
        "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body), "REMOTE_ADDR": ip,
    }  # fmt: skip
    status: list[str] = []
    result = app(environ, lambda s, h: status.append(s))
    b"".join(result)
    result.close()  # type: ignore[attr-defined]
    return status[0]


def test_the_overall_limit_holds_whoever_asks(project: Path) -> None:
    """A crowd of clients, each within its own limit, still gets only the overall number."""
    clock, outbox = Clock(), Outbox()
    subscribers = SubscriberList(LocalStore(project / "store"), key=lambda: b"k" * 32, clock=clock)
    limits = Limits(subscribers.store, subscribers.hash, clock, overall=Bucket(3, 600.0))
    app = app_with(project, clock, outbox, limits)

    for n in range(6):
        assert subscribe_from(app, f"p{n}@example.org", f"198.51.100.{n}") == "200 OK"
    assert len(outbox.to) == 3
    clock.time += 600  # one more token
    subscribe_from(app, "late@example.org", "198.51.100.99")
    subscribe_from(app, "later@example.org", "198.51.100.98")
    assert outbox.to[3:] == ["late@example.org"]


def test_a_clients_limit_refills_and_ipv6_counts_by_its_64(project: Path) -> None:
    clock, outbox = Clock(), Outbox()
    app = app_with(project, clock, outbox)

    for n in range(7):  # one machine's /64: the same client whatever the last 64 bits
        subscribe_from(app, f"v6-{n}@example.org", f"2001:db8:1:2::{n + 1:x}")
    assert len(outbox.to) == 5
    subscribe_from(app, "other@example.org", "2001:db8:1:3::1")  # another network
    assert len(outbox.to) == 6
    clock.time += 720  # an hour's fifth: one more request for the first client
    subscribe_from(app, "v6-again@example.org", "2001:db8:1:2::99")
    subscribe_from(app, "v6-again2@example.org", "2001:db8:1:2::98")
    assert outbox.to[6:] == ["v6-again@example.org"]


@pytest.mark.parametrize(
    ("address", "mailbox"),
    [
        ("victim+news@gmail.com", "victim@gmail.com"),
        ("v.i.c.t.i.m@googlemail.com", "victim@gmail.com"),
        ("Ann.Lee+x@Example.org", "ann.lee@example.org"),  # dots matter outside Gmail
        ("+tagonly@example.org", "+tagonly@example.org"),  # no name before the tag: kept
    ],
)
def test_the_canonical_mailbox(address: str, mailbox: str) -> None:
    assert canonical_mailbox(address) == mailbox


def test_the_sweep_removes_what_has_done_its_job(project: Path) -> None:
    """An erased person's waiting request (address, name, IP) goes once its link has expired,
    without anyone else subscribing; so do old daily-limit marks and full buckets."""
    clock, outbox = Clock(), Outbox()
    subscribers = SubscriberList(LocalStore(project / "store"), key=lambda: b"k" * 32, clock=clock)
    subscribers.add("gone@example.org")
    subscribers.erase("gone@example.org")
    app = app_with(project, clock, outbox)
    subscribe_from(app, "gone@example.org", "192.0.2.1")
    web = project / "store" / "web"
    kept = sorted(p.relative_to(web).parts[0] for p in web.rglob("*.json"))
    assert kept == ["confirmations", "limits", "limits", "pending"]

    assert sweep_web(subscribers.store, now=clock.time + 10) == 0  # all still in use
    assert sweep_web(subscribers.store, now=clock.time + 8 * 86400) == 4
    stored = b"".join(p.read_bytes() for p in (project / "store").rglob("*") if p.is_file())
    assert b"gone@example.org" not in stored
    assert list(web.rglob("*.json")) == []


class GatedStore(LocalStore):
    """A real folder store whose reads of the subscriber list wait until the test opens the
    gate: it makes "the list is slow" certain instead of timing it."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.gate = threading.Event()

    def get(self, key: str) -> Blob | None:
        if key.startswith("subscribers/"):
            assert self.gate.wait(30)
        return super().get(key)

    def list(self, prefix: str = "") -> list[str]:
        if prefix.startswith("subscribers/"):
            assert self.gate.wait(30)
        return super().list(prefix)


def test_the_subscribe_answer_comes_before_the_list_is_read(project: Path) -> None:
    """The answer cannot depend on the list (nor its timing): it is sent whole before the
    list is read, for an address on the list as for a new one."""
    store = GatedStore(project / "store")
    store.gate.set()
    outbox = Outbox()
    subscribers = SubscriberList(store, key=lambda: b"k" * 32)
    subscribers.add("known@example.org")
    app = Endpoints(
        load_settings(project), members=Members(subscribers), tokens=Tokens("s" * 40),
        mailer=outbox,
    )  # fmt: skip
    server = make_web_server(app, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    store.gate.clear()  # from here on, reading the list waits for the test
    try:
        answers = []
        for address in ("known@example.org", "new@example.org"):
            connection = http.client.HTTPConnection(
                "127.0.0.1", server.server_address[1], timeout=5
            )
            connection.request(
                "POST", "/subscribe", urlencode({"email": address}),
                {"Content-Type": "application/x-www-form-urlencoded"},
            )  # fmt: skip
            response = connection.getresponse()  # (old code: a timeout here)
            answers.append((response.status, response.read()))
            connection.close()
        assert outbox.to == []  # nothing was looked up or sent yet
        assert answers[0] == answers[1] and answers[0][0] == 200
    finally:
        store.gate.set()  # now the work behind the answers goes on
        for _ in range(200):
            if outbox.to:
                break
            time.sleep(0.05)
        server.shutdown()
        server.server_close()
    assert outbox.to == ["new@example.org"]


def test_compact_sweeps_an_erased_persons_expired_request(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPHERE_STORE", str(project / "store"))
    store = LocalStore(project / "store")
    old = {"email": "gone@example.org", "name": "Gone", "at": time.time() - 8 * 86400}
    store.put("web/pending/old.json", json.dumps(old).encode())
    store.put("web/pending/new.json", json.dumps({**old, "at": time.time()}).encode())

    result = sphere("subscribers", "compact")

    assert result.status == 0
    assert (
        result.out.splitlines()[-1]
        == "removed 1 expired object the endpoints kept (docs/endpoints.md)"
    )
    assert store.list("web/pending/") == ["web/pending/new.json"]
