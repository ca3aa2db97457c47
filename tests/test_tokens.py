"""Signed link tokens: bound to a purpose and a subscriber, unsubscribe forever, confirm for days."""

from __future__ import annotations

import pytest
from fixtures_clock import ManualClock

from sphere.errors import TokenError
from sphere.mail.tokens import CONFIRM_DAYS, Tokens

SECRET = "a-long-random-test-secret-0123456789"
ALICE = "Q2x1ZS1hbGljZS0wMDAx"
BOB = "Ym9iLWJvYi1ib2ItMDAwMg"


def test_an_unsubscribe_token_names_its_subscriber_and_no_other() -> None:
    tokens = Tokens(SECRET)
    alice, bob = tokens.unsubscribe(ALICE), tokens.unsubscribe(BOB)
    assert tokens.check_unsubscribe(alice) == ALICE
    assert tokens.check_unsubscribe(bob) == BOB
    assert alice != bob


def test_an_unsubscribe_token_never_expires() -> None:
    clock = ManualClock(1_800_000_000.0)
    token = Tokens(SECRET, clock=clock).unsubscribe(ALICE)
    clock.time += 20 * 365 * 86400
    assert Tokens(SECRET, clock=clock).check_unsubscribe(token) == ALICE


def test_a_confirm_token_expires_after_its_days() -> None:
    clock = ManualClock(1_800_000_000.0)
    tokens = Tokens(SECRET, clock=clock)
    token = tokens.confirm(ALICE)
    clock.time += CONFIRM_DAYS * 86400 - 60
    assert tokens.check_confirm(token) == ALICE
    clock.time += 120
    with pytest.raises(TokenError, match=r"^this confirmation link has expired: subscribe again$"):
        tokens.check_confirm(token)


def test_a_token_made_for_one_purpose_is_refused_for_the_other() -> None:
    tokens = Tokens(SECRET)
    with pytest.raises(TokenError, match=r"^this confirmation link is not valid$"):
        tokens.check_confirm(tokens.unsubscribe(ALICE))
    with pytest.raises(TokenError, match=r"^this unsubscribe link is not valid$"):
        tokens.check_unsubscribe(tokens.confirm(ALICE))


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: t.replace(ALICE, BOB),  # someone else's id, the same signature
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # a changed signature
        lambda t: ALICE,  # no signature at all
        lambda t: "",
        lambda t: "é" + t,
    ],
)
def test_a_tampered_token_is_refused(forge: object) -> None:
    tokens = Tokens(SECRET)
    with pytest.raises(TokenError, match=r"^this unsubscribe link is not valid$"):
        tokens.check_unsubscribe(forge(tokens.unsubscribe(ALICE)))  # type: ignore[operator]


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = Tokens("another-secret-entirely-0123456789").unsubscribe(ALICE)
    with pytest.raises(TokenError):
        Tokens(SECRET).check_unsubscribe(token)


def test_an_address_is_never_put_in_a_token() -> None:
    with pytest.raises(TokenError, match="not an opaque subscriber id"):
        Tokens(SECRET).unsubscribe("alice@example.org")


def test_no_secret_no_tokens() -> None:
    with pytest.raises(TokenError, match="SPHERE_SECRET is empty"):
        Tokens("")


@pytest.mark.parametrize("purpose", ["unsubscribe", "confirm"])
def test_a_token_has_one_spelling(purpose: str) -> None:
    # base64's last letter carries bits that decoding drops: other letters there give the same
    # signature bytes, and itsdangerous alone would take them. Every caller must refuse them.
    import base64

    tokens = Tokens(SECRET)
    token = getattr(tokens, purpose)(ALICE)
    check = getattr(tokens, f"check_{purpose}")
    head, signature = token.rsplit(".", 1)
    same_bytes = [
        head + "." + signature[:-1] + letter
        for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        if letter != signature[-1]
        and base64.urlsafe_b64decode(signature[:-1] + letter + "=" * (-len(signature) % 4))
        == base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    ]
    assert len(same_bytes) == 3  # what the check is for: three other spellings, same bytes
    assert check(token) == ALICE
    for spelling in same_bytes:
        with pytest.raises(
            TokenError, match=r"^this (unsubscribe|confirmation) link is not valid$"
        ):
            check(spelling)
