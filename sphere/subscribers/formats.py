"""The CSV formats an import reads (Mailchimp, Substack, plain) and each row's status.

A format is recognised from the header; each row's status is decided from its own cells (a
Mailchimp "all contacts" export holds subscribed, unsubscribed and cleaned rows in one file),
and a row whose cells do not decide it raises `Undecided`, naming the column: the import then
refuses the whole file rather than guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sphere.errors import SubscriberError
from sphere.subscribers.model import Status

# Mailchimp's consent evidence, kept with each subscriber it came with.
_MAILCHIMP_EVIDENCE = ("OPTIN_TIME", "OPTIN_IP", "CONFIRM_TIME", "CONFIRM_IP", "LAST_CHANGED")
# A row's own status in Mailchimp's exports, strongest first (cleaned: it cannot be delivered).
_MAILCHIMP_MARKS = (("CLEAN_TIME", Status.BOUNCED), ("UNSUB_TIME", Status.UNSUBSCRIBED))
_SUBSTACK_MARKERS = {"active_subscription", "email_disabled", "subscription_created_at", "plan"}
EMAIL_COLUMNS = ("email", "email address", "e-mail", "email_address", "mail")


@dataclass(slots=True)
class Row:
    """One subscriber as the file gives it, before validation."""

    line: int
    email: str
    name: str = ""
    status: str = Status.SUBSCRIBED  # decided from the row's own cells (each format's `decide`)
    consent_at: str = ""
    evidence: dict[str, str] | None = None
    why: str = ""  # the cells that decided the status, for --dry-run's examples


@dataclass(frozen=True, slots=True)
class Format:
    """A kind of CSV file: its name (in reports and consent records) and how to read a row."""

    name: str
    row: Callable[[list[str], int], Row]


class Undecided(ValueError):
    """A row whose status its cells do not settle: the whole file is refused, naming the column."""

    def __init__(self, column: str, value: str, expected: str) -> None:
        super().__init__(
            f"cannot tell this row's status from {column} {value!r}: expected {expected}"
        )
        self.column = column


def detect(path: Path, header: list[str], names: list[str]) -> Format:
    """The file's format from its header (`names`: the header's cells, lower case), or
    SubscriberError when it has no email column or a status column Sphere cannot read."""
    columns = {name: index for index, name in reversed(list(enumerate(names)))}
    if "email address" in columns:
        _refuse_nonsubscribed(path)
        return _mailchimp(header, columns)
    email = next((columns[n] for n in EMAIL_COLUMNS if n in columns), None)
    if email is None:
        shown = ", ".join(repr(name) for name in header[:8])
        raise SubscriberError(
            f"no email column: expected 'email' (a plain file), 'Email Address' (Mailchimp) or "
            f"'email' (Substack); found {shown}",
            path=path,
            line=1,
        )
    stated = _stated(header, columns)
    if _SUBSTACK_MARKERS & set(columns):
        return _substack(columns, email, stated)
    _refuse_unread_status(path, header, columns)
    return plain(
        [
            email,
            columns.get("name", -1),
            columns.get("first name", columns.get("first_name", -1)),
            columns.get("last name", columns.get("last_name", -1)),
        ],
        stated,
    )


def cell(cells: list[str], index: int) -> str:
    return cells[index].strip() if 0 <= index < len(cells) else ""


# --- each row's status ---------------------------------------------------------------------------

Decide = Callable[[list[str]], tuple[str, str]]  # a row's cells -> (status, the cells that said so)

# A generic status column (ConvertKit, beehiiv, Buttondown and hand-made files), its words.
_STATUS_COLUMNS = ("status", "member_status", "subscriber_status", "subscription_status")
_STATUS_WORDS = {
    **dict.fromkeys(("subscribed", "active", "confirmed", "regular"), Status.SUBSCRIBED),
    **dict.fromkeys(
        ("unsubscribed", "inactive", "cancelled", "canceled", "opted out", "opted-out"),
        Status.UNSUBSCRIBED,
    ),
    **dict.fromkeys(("bounced", "cleaned", "undeliverable"), Status.BOUNCED),
    **dict.fromkeys(("complained", "spam", "spam complaint"), Status.COMPLAINED),
    **dict.fromkeys(("pending", "unconfirmed", "unactivated"), Status.PENDING),
}
_WORDS_SHOWN = "subscribed, unsubscribed, bounced (or cleaned), complained or pending"
# Column names that speak of a status a plain file's reader would otherwise ignore.
_STATUS_LIKE = re.compile(r"unsub|bounce|clean|complain|suppress|status|disabled|opt.?out|spam")


def _stated(header: list[str], columns: dict[str, int]) -> Decide | None:
    """The file's status column read strictly (an unknown word or an empty cell is Undecided),
    or None without one."""
    index = next((columns[n] for n in _STATUS_COLUMNS if n in columns), None)
    if index is None:
        return None
    column = header[index].strip()

    def decide(cells: list[str]) -> tuple[str, str]:
        value = cell(cells, index)
        status = _STATUS_WORDS.get(value.lower())
        if status is None:
            raise Undecided(column, value, _WORDS_SHOWN)
        return status, f"{column} {value}"

    return decide


def _refuse_unread_status(path: Path, header: list[str], columns: dict[str, int]) -> None:
    """A plain file with a status-like column Sphere does not read (`unsubscribed_at`, ...)
    is refused: importing it would subscribe everyone in it."""
    read = {*EMAIL_COLUMNS, *_STATUS_COLUMNS}
    for name, index in columns.items():
        if name not in read and _STATUS_LIKE.search(name):
            raise SubscriberError(
                f"cannot tell the rows' status: Sphere does not read the column "
                f"{header[index].strip()!r}; give the file a 'status' column ({_WORDS_SHOWN}), "
                "or take the rows that are not subscribed out of it",
                path=path,
                line=1,
            )


def _refuse_nonsubscribed(path: Path) -> None:
    """Mailchimp's export of non-subscribed contacts (`nonsubscribed_...csv`: people who never
    joined the list, such as shop customers) has the subscribed export's columns, so its rows
    would read as subscribed: only its name tells it apart."""
    name = path.name.lower().replace("-", "").replace("_", "")
    if "nonsubscribed" in name or "transactional" in name:
        raise SubscriberError(
            "this is Mailchimp's export of non-subscribed contacts: they never subscribed, "
            "so none of them is imported (import the subscribed, unsubscribed and cleaned "
            "exports)",
            path=path,
        )


def plain(indexes: list[int], stated: Decide | None = None) -> Format:
    email, name, first, last = indexes or [0, 1, -1, -1]

    def make(cells: list[str], line: int) -> Row:
        full = cell(cells, name) or " ".join(filter(None, (cell(cells, first), cell(cells, last))))
        status, why = stated(cells) if stated else (Status.SUBSCRIBED, "no status column")
        return Row(line, cell(cells, email), full, status, why=why)

    return Format("plain", make)


def _mailchimp(header: list[str], columns: dict[str, int]) -> Format:
    """Mailchimp's exports, one status or all contacts at once: a row with a `CLEAN_TIME` was
    cleaned (bounced), one with an `UNSUB_TIME` unsubscribed, and one with both empty (or
    without the columns) is subscribed."""
    upper = {cell.strip().upper(): index for index, cell in enumerate(header)}
    marks = [(name, upper[name], status) for name, status in _MAILCHIMP_MARKS if name in upper]
    extra = ("UNSUB_TIME", "UNSUB_REASON", "CLEAN_TIME")
    kept = [(name, upper[name]) for name in (*_MAILCHIMP_EVIDENCE, *extra) if name in upper]
    email, first, last = (
        columns["email address"],
        columns.get("first name", -1),
        columns.get("last name", -1),
    )
    stated = _stated(header, columns)
    unmarked = " and ".join(name for name, _, _ in marks) + " empty" if marks else "subscribed"

    def decide(cells: list[str]) -> tuple[str, str]:
        for name, index, status in marks:
            if when := cell(cells, index):
                return status, f"{name} {when}"
        return stated(cells) if stated else (Status.SUBSCRIBED, unmarked)

    def make(cells: list[str], line: int) -> Row:
        evidence = {name: value for name, index in kept if (value := cell(cells, index))}
        name = " ".join(filter(None, (cell(cells, first), cell(cells, last))))
        when = evidence.get("CONFIRM_TIME") or evidence.get("OPTIN_TIME") or ""
        status, why = decide(cells)
        return Row(line, cell(cells, email), name, status, when, evidence or None, why)

    return Format("mailchimp", make)


def _substack(columns: dict[str, int], email: int, stated: Decide | None) -> Format:
    """Substack's export: `email_disabled` true is unsubscribed, false (or empty) subscribed."""
    created = columns.get("created_at", columns.get("subscription_created_at", -1))
    disabled, name = columns.get("email_disabled", -1), columns.get("name", -1)

    def decide(cells: list[str]) -> tuple[str, str]:
        value = cell(cells, disabled)
        if value.lower() in ("true", "1", "yes"):
            return Status.UNSUBSCRIBED, f"email_disabled {value}"
        if disabled >= 0 and value.lower() not in ("false", "0", "no", ""):
            raise Undecided("email_disabled", value, "true or false")
        if stated:
            return stated(cells)
        return Status.SUBSCRIBED, f"email_disabled {value or 'empty'}"

    def make(cells: list[str], line: int) -> Row:
        when = cell(cells, created)
        evidence = {"created_at": when} if when else None
        status, why = decide(cells)
        return Row(line, cell(cells, email), cell(cells, name), status, when, evidence, why)

    return Format("substack", make)
