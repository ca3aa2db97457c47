"""Double opt-in's daily limit, with a clock the test moves (no sleeping): at most one
confirmation email per address in any 24 hours, and each address counted on its own.
(In process: the 24 hours need an injected clock, which a separate `sphere serve` cannot take;
tests/test_web.py sends the same requests over real HTTP.)
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fixtures_web import call_app

from sphere.mail.tokens import Tokens
from sphere.settings import load_settings
from sphere.store.local import LocalStore
from sphere.subscribers.list import SubscriberList
from sphere.subscribers.members import Members
from sphere.web.app import Endpoints


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
