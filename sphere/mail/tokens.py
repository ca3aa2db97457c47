"""Signed, purpose-bound tokens that carry a subscriber's opaque id: never their address.

An unsubscribe link must work for as long as the message exists (years later, from an
archive), so its token never expires; a confirmation link is only good for a few days. Each
purpose signs with its own salt, so a token made for one is refused for the other: an
unsubscribe token pasted into `/confirm` cannot subscribe anyone.

Signing is itsdangerous's (HMAC-SHA256, keys derived per purpose, signatures compared in
constant time) rather than our own HMAC code. A token reads `ID.SIGNATURE`, or
`ID.TIMESTAMP.SIGNATURE` for a confirmation; all URL-safe.

An unsubscribe token may also say which issue's message it came in (`ID~SLUG.SIGNATURE`, the
slug signed with the id), so the unsubscribe is counted against that issue (sphere.outcome);
a token made before issues were named in it (`ID.SIGNATURE`) stays valid, counted against none.

A token has exactly one spelling. itsdangerous writes the signature and the timestamp in
unpadded base64, whose last character carries bits that decoding drops, so three other
letters in that place decode to the same bytes and `unsign` alone would accept them. That
forges nothing, but one token must be one link, and any altered character must be refused:
so every part after the id must read exactly as base64 writes it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from itsdangerous import BadSignature, SignatureExpired, Signer, TimestampSigner

from sphere.clock import SYSTEM, Clock
from sphere.errors import TokenError

UNSUBSCRIBE = "unsubscribe"
CONFIRM = "confirm"
CONFIRM_DAYS = 7  # how long a confirmation link works
_SALT = "sphere.token."
_ID = re.compile(r"[A-Za-z0-9_-]{8,64}\Z")  # what `subscribers.list.new_id` makes
ISSUE_MARK = "~"  # between the id and the issue's slug: in neither, and unreserved in URLs
_ISSUE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*\Z")  # a slug (sphere.content.issues)
MAX_ISSUE = 80  # characters of a slug a token carries; a longer one is left out


class Tokens:
    """Makes and checks tokens with one secret (SPHERE_SECRET); the clock is injectable."""

    def __init__(self, secret: str, *, clock: Clock = SYSTEM):
        if not secret:
            raise TokenError("SPHERE_SECRET is empty: it is needed to sign links")
        clocked = _clocked_signer(clock)
        self._unsubscribe = Signer(
            secret, salt=_SALT + UNSUBSCRIBE, key_derivation="hmac", digest_method=hashlib.sha256
        )
        self._confirm = clocked(
            secret, salt=_SALT + CONFIRM, key_derivation="hmac", digest_method=hashlib.sha256
        )

    def unsubscribe(self, subscriber_id: str, *, issue: str = "") -> str:
        """A token for the personal unsubscribe link; it never expires. With `issue` (the
        slug of the issue whose message carries it), the token names that issue too."""
        value = _checked(subscriber_id)
        if issue and len(issue) <= MAX_ISSUE and _ISSUE.match(issue):
            value += ISSUE_MARK + issue
        return self._unsubscribe.sign(value).decode("ascii")

    def confirm(self, subscriber_id: str) -> str:
        """A token for a double opt-in confirmation link; it expires after CONFIRM_DAYS."""
        return self._confirm.sign(_checked(subscriber_id)).decode("ascii")

    def check_unsubscribe(self, token: str) -> str:
        """The subscriber id an unsubscribe token was made for, or TokenError."""
        return self.unsubscribe_origin(token)[0]

    def unsubscribe_origin(self, token: str) -> tuple[str, str]:
        """(subscriber id, issue slug) of an unsubscribe token, the slug "" for a token that
        names no issue; or TokenError."""
        try:
            value = self._unsubscribe.unsign(_one_spelling(token)).decode("ascii")
        except (BadSignature, UnicodeError):
            raise TokenError("this unsubscribe link is not valid") from None
        subscriber_id, _, issue = value.partition(ISSUE_MARK)
        # Signed by us, so a slug; checked again all the same, since it becomes part of a key.
        return subscriber_id, issue if _ISSUE.match(issue) else ""

    def check_confirm(self, token: str, *, max_days: float = CONFIRM_DAYS) -> str:
        """The subscriber id a confirmation token was made for, or TokenError (also if old)."""
        try:
            value = self._confirm.unsign(_one_spelling(token), max_age=int(max_days * 86400))
            return value.decode("ascii")
        except SignatureExpired:
            raise TokenError("this confirmation link has expired: subscribe again") from None
        except (BadSignature, UnicodeError):
            raise TokenError("this confirmation link is not valid") from None


def _checked(subscriber_id: str) -> str:
    if not _ID.match(subscriber_id):
        raise TokenError(f"not an opaque subscriber id: {subscriber_id[:4]!r}…")
    return subscriber_id


def _one_spelling(token: str) -> str:
    """`token`, or BadSignature if a part after the id is not base64 as base64 writes it."""
    parts = token.split(".")
    if len(parts) < 2 or not all(_canonical(part) for part in parts[1:]):
        raise BadSignature("not the one spelling of a token")
    return token


def _canonical(part: str) -> bool:
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        return False
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") == part


def _clocked_signer(clock: Clock) -> type[TimestampSigner]:
    """A TimestampSigner whose "now" is `clock` (tests set a clock rather than sleep)."""

    class ClockedSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock.now())

    return ClockedSigner


def mask(token: str) -> str:
    """A token as logs show it: enough to tell two apart, too little to use."""
    return token[:6] + "…" if len(token) > 6 else "…"


__all__ = ["CONFIRM", "CONFIRM_DAYS", "UNSUBSCRIBE", "Tokens", "mask"]
