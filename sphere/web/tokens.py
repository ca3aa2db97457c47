"""Token checks as the endpoints make them: the signature, and one spelling only.

itsdangerous writes a signature (and a timestamp) in unpadded base64, whose last character
carries bits that decoding drops: three other letters in that place decode to the same bytes,
so `Signer.unsign` accepts them. That forges nothing, but a token must have exactly one
spelling (one token, one link; "any altered byte is refused"), so every part after the id must
be written as base64 writes it. (Worth moving into sphere/mail/tokens.py; see the report.)
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

from sphere.errors import TokenError

if TYPE_CHECKING:
    from sphere.mail.tokens import Tokens


def _canonical(part: str) -> bool:
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        return False
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") == part


def _checked_spelling(token: str, purpose: str) -> None:
    parts = token.split(".")
    if len(parts) < 2 or not all(_canonical(part) for part in parts[1:]):
        raise TokenError(f"this {purpose} link is not valid")


def unsubscribe_id(tokens: Tokens, token: str) -> str:
    """The subscriber id of an unsubscribe token, or TokenError."""
    _checked_spelling(token, "unsubscribe")
    return tokens.check_unsubscribe(token)


def confirm_id(tokens: Tokens, token: str) -> str:
    """The subscriber id of a confirmation token still in date, or TokenError."""
    _checked_spelling(token, "confirmation")
    return tokens.check_confirm(token)


__all__ = ["confirm_id", "unsubscribe_id"]
