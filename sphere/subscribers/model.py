"""A subscriber: the record, its statuses, and the rules for an address and a name.

Statuses are written here once; every other module (the fold, the CLI's `--status`, imports)
takes them from `Status` and `SUPPRESSED`.
"""

from __future__ import annotations

import functools
import re
import secrets
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """Where a subscriber stands. The last three are suppressions: never sent to again."""

    PENDING = "pending"
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


STATUSES: tuple[str, ...] = tuple(Status)
SUPPRESSED = frozenset({Status.UNSUBSCRIBED, Status.BOUNCED, Status.COMPLAINED})
METHODS = ("import", "cli", "form")  # how consent was given
COLUMNS = [
    "id", "email", "name", "status", "created", "updated",
    "consent_at", "consent_method", "consent_source", "consent_evidence",
]  # fmt: skip
FREE_TEXT = ("name", "consent_at", "consent_method", "consent_source", "consent_evidence")


@dataclass(slots=True)
class Subscriber:
    """One person on the list. `id` is opaque and random: it goes in links, the address never."""

    id: str
    email: str  # normalised: lower case, IDN domains in Unicode
    name: str
    status: str  # a Status
    created: str  # ISO 8601 UTC
    updated: str
    consent_at: str  # when consent was given (from the import's evidence when it has some)
    consent_method: str  # import | cli | form
    consent_source: str  # which file, which command, which page
    consent_evidence: dict[str, str] | None = None  # e.g. Mailchimp's OPTIN_TIME, CONFIRM_IP

    def row(self) -> list[Any]:
        """The record as a list of values in `COLUMNS` order (the snapshot's compact form)."""
        return [getattr(self, name) for name in COLUMNS]

    def as_dict(self) -> dict[str, Any]:
        """The record as a plain dict (for export and --json)."""
        return asdict(self)


def new_id() -> str:
    """An opaque subscriber id: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


# RFC 5322 dot-atom: for these plain ASCII local parts, email-validator's answer is known and
# only the domain needs its (slower) checks, which are cached per domain.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z!]|&#?\w+;")
# Characters that reorder or hide text on a terminal or a page: C0 and C1 controls (tab aside),
# DEL, and the bidirectional embeddings, overrides and isolates (a "Trojan Source" name).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


def normalise_email(text: str) -> str:
    """The address as the list keys it (validated, no DNS), or ValueError saying what is wrong."""
    from email_validator import EmailNotValidError, validate_email

    text = text.strip()
    local, at, domain = text.rpartition("@")
    try:
        if at and len(local) <= 64 and domain.isascii() and _DOT_ATOM.fullmatch(local):
            address = f"{local}@{_domain(domain.lower())}".lower()
            if len(address.encode()) <= 254:
                return address
        return str(validate_email(text, check_deliverability=False).normalized).lower()
    except EmailNotValidError as error:
        raise ValueError(f"invalid address {text!r}: {error}") from None


def deliverable_email(text: str) -> str:
    """`normalise_email`, refusing too an address whose part before the @ is not ASCII.

    Such an address (`josé@example.com`) needs SMTPUTF8 all the way: Amazon SES does not
    offer it, nor do most servers, so it would fail every send. It is refused where people
    join (add, import, the form); one already on the list can still be removed or erased.
    """
    address = normalise_email(text)
    if not address.rpartition("@")[0].isascii():
        raise ValueError(
            f"{address!r} has letters before the @ that are not plain ASCII (such as é): "
            "Amazon SES and most mail servers cannot deliver to it; use another address"
        )
    return address


@functools.lru_cache(maxsize=65536)
def _domain(domain: str) -> str:
    from email_validator import validate_email

    return str(validate_email("a@" + domain, check_deliverability=False).domain)


def clean_name(text: str | None) -> str:
    """A display name fit for an email header, a terminal and a web page, or ValueError."""
    name = text or ""
    if "\r" in name or "\n" in name:
        raise ValueError("the name contains a line break")
    if _CONTROL.search(name):
        raise ValueError("the name contains a control character")
    if _BIDI.search(name):
        raise ValueError("the name contains a bidirectional text override")
    name = " ".join(name.split())
    if _MARKUP.search(name):
        raise ValueError(f"the name contains HTML markup: {name!r}")
    if len(name) > 200:
        raise ValueError("the name is longer than 200 characters")
    return name
