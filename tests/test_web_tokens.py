"""Tokens as the endpoints check them, over thousands of seeded cases.

A valid token works only for its subscriber and its purpose; any altered character, a swapped
purpose, another subscriber's id or an expired confirmation is refused, and nothing is written.
The many cases go to the WSGI app in this process (thousands of HTTP round trips would add
minutes and nothing more: tests/test_web.py covers the same refusals over real HTTP).
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fixtures_clock import ManualClock
from fixtures_project import snapshot
from fixtures_send import add_subscribers
from fixtures_web import call_app

from sphere.errors import TokenError
from sphere.mail.tokens import CONFIRM_DAYS, Tokens
from sphere.settings import load_settings
from sphere.subscribers.members import Members
from sphere.web.app import Endpoints

SECRET = "property-test-secret-0123456789abcdefghij"
ALPHABET = string.ascii_letters + string.digits + "-_"
CASES = 3000


def unsubscribe_id(tokens: Tokens, token: str) -> str:
    return tokens.check_unsubscribe(token)


def confirm_id(tokens: Tokens, token: str) -> str:
    return tokens.check_confirm(token)


def random_ids(rng: random.Random, count: int) -> list[str]:
    return ["".join(rng.choices(ALPHABET, k=rng.randint(8, 40))) for _ in range(count)]


def altered(rng: random.Random, token: str) -> Iterator[str]:
    """Every kind of small change: a character replaced (each place), removed, added."""
    place = rng.randrange(len(token))
    yield (
        token[:place]
        + rng.choice([c for c in ALPHABET + "." if c != token[place]])
        + token[place + 1 :]
    )
    last = len(token) - 1  # the last character: where base64 hides bits that decoding drops
    for other in ALPHABET:
        if other != token[last]:
            yield token[:last] + other
    yield token[:place] + token[place + 1 :]
    yield token[:place] + rng.choice(ALPHABET) + token[place:]


def refused(check: object, tokens: Tokens, token: str) -> bool:
    try:
        check(tokens, token)  # type: ignore[operator]
    except TokenError:
        return True
    return False


def test_a_token_works_only_for_its_subscriber_and_purpose() -> None:
    rng = random.Random(11)
    tokens = Tokens(SECRET)
    ids = random_ids(rng, CASES)
    for index, subscriber_id in enumerate(ids):
        unsubscribe, confirm = tokens.unsubscribe(subscriber_id), tokens.confirm(subscriber_id)
        assert unsubscribe_id(tokens, unsubscribe) == subscriber_id
        assert confirm_id(tokens, confirm) == subscriber_id
        assert refused(confirm_id, tokens, unsubscribe), "an unsubscribe token confirmed"
        assert refused(unsubscribe_id, tokens, confirm), "a confirm token unsubscribed"
        other = ids[index - 1]
        if other != subscriber_id:  # another subscriber's id with this one's signature
            assert refused(unsubscribe_id, tokens, other + unsubscribe[len(subscriber_id) :])
            assert refused(confirm_id, tokens, other + confirm[len(subscriber_id) :])


def test_any_altered_character_is_refused() -> None:
    rng = random.Random(12)
    tokens = Tokens(SECRET)
    checked = 0
    for subscriber_id in random_ids(rng, CASES // 3):
        for token, check in (
            (tokens.unsubscribe(subscriber_id), unsubscribe_id),
            (tokens.confirm(subscriber_id), confirm_id),
        ):
            for bad in altered(rng, token):
                assert refused(check, tokens, bad), f"{token!r} altered to {bad!r} was accepted"
                checked += 1
    assert checked > 100_000


def test_a_token_signed_with_another_secret_is_refused() -> None:
    rng = random.Random(13)
    ours, theirs = Tokens(SECRET), Tokens(SECRET + "-not")
    for subscriber_id in random_ids(rng, CASES):
        assert refused(unsubscribe_id, ours, theirs.unsubscribe(subscriber_id))
        assert refused(confirm_id, ours, theirs.confirm(subscriber_id))


def test_confirm_tokens_expire_and_unsubscribe_tokens_never_do() -> None:
    rng = random.Random(14)
    for subscriber_id in random_ids(rng, CASES // 10):
        made = 1_800_000_000.0 + rng.randrange(10**7)
        age = rng.uniform(0, 30 * 365) * 86400
        then, later = (
            Tokens(SECRET, clock=ManualClock(made)),
            Tokens(SECRET, clock=ManualClock(made + age)),
        )
        confirm, unsubscribe = then.confirm(subscriber_id), then.unsubscribe(subscriber_id)
        assert unsubscribe_id(later, unsubscribe) == subscriber_id
        if age > CONFIRM_DAYS * 86400 + 1:
            assert refused(confirm_id, later, confirm)
        elif age < CONFIRM_DAYS * 86400 - 1:
            assert confirm_id(later, confirm) == subscriber_id


# --- through the app: nothing is written ---------------------------------------------------


class Nobody:
    """A mailer that keeps what it is given (no confirmation should be sent here at all)."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def __call__(self, *, to: str, message: bytes) -> bool:
        self.sent.append(message)
        return True


def call(app: Endpoints, method: str, path: str, query: str, body: bytes = b"") -> str:
    return call_app(app, method, path, query, body)


@pytest.fixture
def app(project: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Endpoints, Nobody, dict[str, str]]:
    monkeypatch.setenv("SPHERE_STORE", str(project / "store"))
    monkeypatch.setenv("SPHERE_SECRET", SECRET)
    settings = load_settings(project)
    ids = add_subscribers(settings, [(f"p{n}@example.org", "") for n in range(40)])
    mailer = Nobody()
    endpoints = Endpoints(
        settings, members=Members.open(settings), tokens=Tokens(SECRET), mailer=mailer
    )
    return endpoints, mailer, ids


def test_bad_tokens_posted_to_the_app_write_nothing(
    app: tuple[Endpoints, Nobody, dict[str, str]], project: Path
) -> None:
    endpoints, mailer, ids = app
    rng = random.Random(15)
    tokens = Tokens(SECRET)
    before = snapshot(project / "store")
    statuses = set()
    for subscriber_id in rng.sample(sorted(ids.values()), 20):
        good = tokens.unsubscribe(subscriber_id)
        for bad in [*altered(rng, good), tokens.confirm(subscriber_id)]:
            query = "t=" + quote(bad, safe="")
            statuses.add(
                call(endpoints, "POST", "/unsubscribe", query, b"List-Unsubscribe=One-Click")
            )
            statuses.add(call(endpoints, "POST", "/confirm", "", ("t=" + quote(bad)).encode()))
            statuses.add(call(endpoints, "POST", "/subscribe", "", ("t=" + quote(bad)).encode()))
    assert statuses == {"400 Bad Request", "200 OK"}  # (subscribe answers 200 to everything)
    assert snapshot(project / "store") == before
    assert mailer.sent == []
