"""The subscriber list: append-only changes in the store, folded into a snapshot.

Store layout (under the store's root or S3 prefix):

    subscribers/snapshot.json                 the folded list, written by `compact` with if-match
    subscribers/changes/<ns>-<random>.jsonl   one object per change (or per import batch),
                                              one event per line, never rewritten (but by erasure)

A reader lists the changes, then reads the snapshot, and applies in key order every change the
snapshot has not folded. The snapshot names the change keys it folded that may still exist
(compaction deletes them only after the snapshot is written), so a change is never applied
twice and a change that lands late, with a key older than ones already folded, is still read.
The fold keys records by normalised address, so nobody is on the list twice, and the rules that
protect people (a suppressed address is not re-subscribed by an import, an erased one not at
all) are applied by the fold itself, so they hold whichever writer wins a race.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sphere.errors import PreconditionFailed, StoreError, StoreUnavailable, SubscriberError
from sphere.store.blobs import BlobStore, LocalStore, get_many, open_store

if TYPE_CHECKING:
    from sphere.settings import Settings

log = logging.getLogger(__name__)

SNAPSHOT = "subscribers/snapshot.json"
CHANGES = "subscribers/changes/"
STATUSES = ("pending", "subscribed", "unsubscribed", "bounced", "complained")
SUPPRESSED = frozenset({"unsubscribed", "bounced", "complained"})
METHODS = ("import", "cli", "form")
SETTLE_SECONDS = 2.0  # compaction leaves younger changes alone, so keys are folded in order
_FORMAT = 1
_COLUMNS = [
    "id", "email", "name", "status", "created", "updated",
    "consent_at", "consent_method", "consent_source", "consent_evidence",
]  # fmt: skip


@dataclass(slots=True)
class Subscriber:
    """One person on the list. `id` is opaque and random: it goes in links, the address never."""

    id: str
    email: str  # normalised: lower case, IDN domains in Unicode
    name: str
    status: str
    created: str  # ISO 8601 UTC
    updated: str
    consent_at: str  # when consent was given (from the import's evidence when it has some)
    consent_method: str  # import | cli | form
    consent_source: str  # which file, which command, which page
    consent_evidence: dict[str, str] | None = None  # e.g. Mailchimp's OPTIN_TIME, CONFIRM_IP

    def row(self) -> list[Any]:
        """The record as a list of values in `_COLUMNS` order (the snapshot's compact form)."""
        return [getattr(self, name) for name in _COLUMNS]

    def as_dict(self) -> dict[str, Any]:
        """The record as a plain dict (for export and --json)."""
        return asdict(self)


# --- addresses, names, hashes --------------------------------------------------------------------

# RFC 5322 dot-atom: for these plain ASCII local parts, email-validator's answer is known and
# only the domain needs its (slower) checks, which are cached per domain.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")
_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z!]|&#?\w+;")


def normalise_email(text: str) -> str:
    """The address as the list keys it (validated, no DNS), or ValueError saying what is wrong."""
    from email_validator import EmailNotValidError, validate_email

    text = text.strip()
    local, at, domain = text.rpartition("@")
    try:
        if at and len(local) <= 64 and domain.isascii() and _DOT_ATOM.match(local):
            address = f"{local}@{_domain(domain.lower())}".lower()
            if len(address.encode()) <= 254:
                return address
        return str(validate_email(text, check_deliverability=False).normalized).lower()
    except EmailNotValidError as error:
        raise ValueError(f"invalid address {text!r}: {error}") from None


@functools.lru_cache(maxsize=65536)
def _domain(domain: str) -> str:
    from email_validator import validate_email

    return str(validate_email("a@" + domain, check_deliverability=False).domain)


def clean_name(text: str | None) -> str:
    """A display name fit for an email header and a web page, or ValueError."""
    name = text or ""
    if "\r" in name or "\n" in name:
        raise ValueError("the name contains a line break")
    if any((ord(c) < 32 and c != "\t") or ord(c) == 127 for c in name):
        raise ValueError("the name contains a control character")
    name = " ".join(name.split())
    if _MARKUP.search(name):
        raise ValueError(f"the name contains HTML markup: {name!r}")
    if len(name) > 200:
        raise ValueError("the name is longer than 200 characters")
    return name


def erasure_key(settings: Settings, store: BlobStore) -> bytes:
    """The HMAC key for erasure hashes: a key file kept in a local store, else SPHERE_SECRET.

    A local store keeps the key it was first given, so that setting SPHERE_SECRET later does
    not change it (hashes made with another key would no longer recognise erased people). The
    key's fingerprint is kept in the store as well, and checked on every read: see
    `SubscriberList.read`.
    """
    if not isinstance(store, LocalStore):
        if settings.secret:
            return settings.secret.encode()
        raise SubscriberError(
            "SPHERE_SECRET is required with an S3 store: it keys the hashes that keep erased "
            "people off the list; set it to a long random value, the same everywhere"
        )
    path = store.root / ".erasure-key"
    try:
        if not path.exists():
            store.root.mkdir(parents=True, exist_ok=True)
            temporary = store.root / f".tmp-{secrets.token_hex(8)}"
            temporary.write_text(settings.secret or secrets.token_hex(32))
            temporary.chmod(0o600)
            try:
                os.link(temporary, path)  # the first process to get here decides the key
            except FileExistsError:
                pass
            finally:
                temporary.unlink()
        return path.read_text().strip().encode()
    except OSError as error:
        raise StoreUnavailable(
            f"cannot use the store folder {store.root}: {error.strerror}; check SPHERE_STORE"
        ) from None


def key_check(key: bytes) -> str:
    """A fingerprint of the erasure key, kept in the store: it reveals nothing of the key."""
    return hmac.new(key, b"sphere erasure key check", hashlib.sha256).hexdigest()[:16]


# --- events and the fold -------------------------------------------------------------------------


def _now_iso(clock: Callable[[], float]) -> str:
    return datetime.fromtimestamp(clock(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_last_ns = 0


def change_key(clock_ns: Callable[[], int] = time.time_ns) -> str:
    """A new change key: sorts by time (strictly increasing in a process), unique by chance."""
    global _last_ns
    _last_ns = max(clock_ns(), _last_ns + 1)
    return f"{CHANGES}{_last_ns:020d}-{secrets.token_hex(6)}.jsonl"


def _key_ns(key: str) -> int:
    return int(key[len(CHANGES) :].split("-", 1)[0])


class Fold:
    """The list as of some changes: records by address, erased hashes, folded change keys."""

    def __init__(self, hasher: Callable[[str], str]):
        self.records: dict[str, Subscriber] = {}
        self.erased: set[str] = set()
        self.key_checks: set[str] = set()  # fingerprints of the keys the erasures were made with
        self.folded: list[str] = []
        self._hasher = hasher

    @classmethod
    def load(cls, data: bytes | None, hasher: Callable[[str], str]) -> Fold:
        """The fold stored in a snapshot (or an empty one)."""
        fold = cls(hasher)
        if data is None:
            return fold
        snapshot = json.loads(data)
        if snapshot.get("format") != _FORMAT:
            raise StoreError(f"{SNAPSHOT}: unknown format {snapshot.get('format')!r}")
        fold.erased = set(snapshot["erased"])
        fold.key_checks = set(snapshot.get("key_checks", []))
        fold.folded = snapshot["folded"]
        fold.records = {row[1]: Subscriber(*row) for row in snapshot["subscribers"]}
        return fold

    def dump(self) -> bytes:
        """The snapshot's bytes: one subscriber per line, so a diff of two is readable.

        Built from encoded rows joined once: a list of 100,000 rows would otherwise be copied
        as text, again as a formatted string and again as bytes (a third more peak memory).
        """
        head = {
            "format": _FORMAT,
            "folded": self.folded,
            "erased": sorted(self.erased),
            "key_checks": sorted(self.key_checks),
        }
        opening = json.dumps(head, ensure_ascii=False)[:-1]
        parts = [f'{opening}, "columns": {json.dumps(_COLUMNS)}, "subscribers": [\n'.encode()]
        for index, record in enumerate(sorted(self.records.values(), key=lambda r: r.email)):
            row = json.dumps(record.row(), ensure_ascii=False, separators=(",", ":")).encode()
            parts.append(b",\n" + row if index else row)
        parts.append(b"\n]}\n")
        return b"".join(parts)

    def apply_object(self, data: bytes) -> None:
        """Apply the events of one change object, in order."""
        try:  # one JSON document: a single parse of a 5,000-row batch, not 5,000 parses
            events = json.loads(b"[" + data.strip().replace(b"\n", b",") + b"]")
        except ValueError:  # blank lines or the like: line by line
            events = [json.loads(line) for line in data.splitlines() if line.strip()]
        for event in events:
            self.apply(event)

    def apply(self, event: dict[str, Any]) -> None:
        """Apply one event. Deterministic; applying the same object twice changes nothing more."""
        op = event["op"]
        if op == "erase":
            self.erased.add(event["hash"])
            if event.get("key_check"):
                self.key_checks.add(event["key_check"])
            for email in [e for e in self.records if self._hasher(e) == event["hash"]]:
                del self.records[email]
            return
        email = event["email"]
        record = self.records.get(email)
        if op == "status":  # unsubscribe, bounce, complaint: only for someone on the list
            if record is not None and record.status != event["status"]:
                record.status, record.updated = event["status"], event["at"]
        elif op == "confirm":  # the person confirmed: the one way back from suppression
            if record is None:
                self.records[email] = _new(event)
            else:
                record.status, record.updated = "subscribed", event["at"]
                record.consent_at, record.consent_method, record.consent_source = event["consent"]
                record.consent_evidence = event.get("evidence")
        elif op in ("add", "suppress"):
            if record is None:
                if not (self.erased and self._hasher(email) in self.erased):
                    self.records[email] = _new(event)
            elif op == "suppress" and record.status not in SUPPRESSED:
                record.status, record.updated = event["status"], event["at"]
        else:
            raise StoreError(f"unknown subscriber event {op!r}")

    def is_erased(self, email: str) -> bool:
        return bool(self.erased) and self._hasher(email) in self.erased


def _new(event: dict[str, Any]) -> Subscriber:
    at, method, source = event["consent"]
    return Subscriber(
        event["id"], event["email"], event.get("name", ""), event["status"], event["at"],
        event["at"], at, method, source, event.get("evidence"),
    )  # fmt: skip


def new_id() -> str:
    """An opaque subscriber id: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


def creation_event(
    op: str,
    email: str,
    *,
    at: str,
    status: str,
    name: str = "",
    consent: tuple[str, str, str],
    evidence: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An add, suppress or confirm event (they create the record when it is missing)."""
    event: dict[str, Any] = {"op": op, "id": new_id(), "email": email, "status": status}
    event.update(at=at, consent=list(consent))
    if name:
        event["name"] = name
    if evidence:
        event["evidence"] = evidence
    return event


# --- the list in a store -------------------------------------------------------------------------


@dataclass
class CompactReport:
    """What `compact` did."""

    folded: int = 0  # change objects folded into the new snapshot
    removed: int = 0  # change objects deleted
    left: int = 0  # changes younger than the settle time, left for next time
    subscribers: int = 0
    written: bool = False


@dataclass
class EraseReport:
    """What `erase` did; the address itself is not kept here."""

    found: bool = False
    rewritten: int = 0  # change objects that mentioned the address and were rewritten
    removed: int = 0  # change objects that held nothing else and were deleted


@dataclass
class Outcome:
    """The result of a single add or remove."""

    email: str
    result: str  # added | already | suppressed | erased | unsubscribed
    subscriber: Subscriber | None = field(default=None, repr=False)


class SubscriberList:
    """The subscriber list kept in a blob store."""

    def __init__(
        self,
        store: BlobStore,
        *,
        key: Callable[[], bytes],
        clock: Callable[[], float] = time.time,
        batch: int = 5000,
    ):
        self.store = store
        self.clock = clock
        self.batch = batch
        self._key = key

    @functools.cached_property
    def _hmac_key(self) -> bytes:
        return self._key()

    def hash(self, email: str) -> str:
        """The keyed hash kept for an erased address (HMAC-SHA256)."""
        return hmac.new(self._hmac_key, email.encode(), hashlib.sha256).hexdigest()

    def now(self) -> str:
        return _now_iso(self.clock)

    # reading

    def read(self, *, until_ns: int | None = None) -> tuple[Fold, str | None, list[str]]:
        """The current fold, the snapshot's etag, and every change key listed.

        With `until_ns`, changes with later keys are left out (compaction's settle time).
        """
        for _ in range(10):
            keys = self.store.list(CHANGES)
            blob = self.store.get(SNAPSHOT)
            fold = Fold.load(blob.data if blob else None, self.hash)
            done = set(fold.folded)
            pending = [k for k in keys if k not in done]
            if until_ns is not None:
                pending = [k for k in pending if _key_ns(k) <= until_ns]
            blobs = list(get_many(self.store, pending))
            if any(b is None for b in blobs):
                continue  # a compaction folded and removed them since we listed: read again
            for change in blobs:
                fold.apply_object(change.data)  # type: ignore[union-attr]
            self._check_key(fold)
            return fold, blob.etag if blob else None, keys
        raise StoreError(f"the subscriber list in {self.store.url} kept changing; try again")

    def _check_key(self, fold: Fold) -> None:
        """Refuse to work with another erasure key than the erasures were made with: its
        hashes would not recognise the people erased, and an import would add them back."""
        if fold.key_checks and fold.key_checks != {key_check(self._hmac_key)}:
            raise SubscriberError(
                f"the erasure key differs from the one the erasures in {self.store.url} were "
                "made with (was SPHERE_SECRET changed?): restore it, or erased people could be "
                "added back"
            )

    def all(self, *, status: str | None = None) -> list[Subscriber]:
        """Every subscriber (with `status`, only those), by address."""
        records = self.read()[0].records.values()
        chosen = [r for r in records if status is None or r.status == status]
        return sorted(chosen, key=lambda r: r.email)

    def counts(self) -> dict[str, int]:
        """How many subscribers have each status (every status, zeros included)."""
        found = Counter(r.status for r in self.read()[0].records.values())
        return {status: found.get(status, 0) for status in STATUSES}

    # writing

    def append(self, events: Iterable[dict[str, Any]]) -> str:
        """Write events as one new change object; return its key."""
        lines = (json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in events)
        key = change_key()
        self.store.put(key, ("\n".join(lines) + "\n").encode())
        return key

    def add(self, email: str, *, name: str = "", source: str = "sphere subscribers add") -> Outcome:
        """Subscribe an address on the author's word (consent method `cli`)."""
        address, name = _address(email), _name(name)
        fold = self.read()[0]
        if (record := fold.records.get(address)) is not None:
            result = "suppressed" if record.status in SUPPRESSED else "already"
            return Outcome(address, result, record)
        if fold.is_erased(address):
            return Outcome(address, "erased")
        now = self.now()
        event = creation_event(
            "add", address, at=now, status="subscribed", name=name, consent=(now, "cli", source)
        )
        self.append([event])
        return Outcome(address, "added", _new(event))

    def remove(self, email: str, *, status: str = "unsubscribed") -> Outcome:
        """Unsubscribe (or mark bounced or complained) an address on the list."""
        address = _address(email)
        record = self.read()[0].records.get(address)
        if record is None:
            raise SubscriberError(f"{address} is not on the list")
        if record.status == status:
            return Outcome(address, "already", record)
        self.append([{"op": "status", "email": address, "status": status, "at": self.now()}])
        return Outcome(address, status, record)

    def compact(self, *, settle: float = SETTLE_SECONDS) -> CompactReport:
        """Fold the changes older than `settle` seconds into a new snapshot, then remove them.

        The snapshot is written only if no other compaction replaced it since it was read
        (if-match); a lost race raises PreconditionFailed and changes nothing.
        """
        until = int((self.clock() - settle) * 1e9)
        fold, etag, keys = self.read(until_ns=until)
        listed = set(keys)
        already = [k for k in fold.folded if k in listed]  # folded before, not yet removed
        fresh = [k for k in keys if k not in set(fold.folded) and _key_ns(k) <= until]
        report = CompactReport(left=len(keys) - len(already) - len(fresh))
        report.subscribers = len(fold.records)
        if fresh or etag is None:  # (keys already removed are trimmed from `folded` then)
            fold.folded = already + fresh
            if etag is None:
                self.store.put(SNAPSHOT, fold.dump(), if_none_match=True)
            else:
                self.store.put(SNAPSHOT, fold.dump(), if_match=etag)
            report.folded, report.written = len(fresh), True
        # NOTE: only now, with the snapshot safely written, may the folded changes go.
        _delete_all(self.store, already + fresh)
        report.removed = len(already) + len(fresh)
        log.info("compacted %s: %s", self.store.url, report)
        return report

    def erase(self, email: str) -> EraseReport:
        """Remove a person's data from the snapshot and every change; keep only a keyed hash."""
        address = _address(email)
        digest = self.hash(address)
        report = EraseReport(found=address in self.read()[0].records)
        self.append([{"op": "erase", "hash": digest, "key_check": key_check(self._hmac_key)}])
        for attempt in range(20):
            try:
                self.compact(settle=0)
                break
            except PreconditionFailed:  # another compaction won: ours must still happen
                time.sleep(0.05 * (attempt + 1))
        else:
            raise StoreError(f"could not compact {self.store.url} to finish the erasure; try again")
        self._scrub(address, report)
        return report

    def _scrub(self, address: str, report: EraseReport) -> None:
        """Rewrite every change object that still mentions the address."""
        needle = address.encode()
        for key in self.store.list(CHANGES):
            blob = self.store.get(key)
            if blob is None or needle not in blob.data.lower():
                continue
            kept = [
                _scrubbed(event, address)
                for event in map(json.loads, blob.data.splitlines())
                if event.get("email") != address
            ]
            try:
                if kept:
                    text = "\n".join(json.dumps(e, ensure_ascii=False) for e in kept) + "\n"
                    self.store.put(key, text.encode(), if_match=blob.etag)
                    report.rewritten += 1
                else:
                    self.store.delete(key)
                    report.removed += 1
            except PreconditionFailed:
                continue  # compacted away meanwhile
        for _ in range(20):  # another record may quote the address (a name, some evidence)
            blob = self.store.get(SNAPSHOT)
            if blob is None or needle not in blob.data.lower():
                return
            fold = Fold.load(blob.data, self.hash)
            for record in fold.records.values():
                record.name = _scrubbed({"name": record.name}, address)["name"]
                if record.consent_evidence:
                    record.consent_evidence = _scrubbed(record.consent_evidence, address)
            with contextlib.suppress(PreconditionFailed):
                self.store.put(SNAPSHOT, fold.dump(), if_match=blob.etag)
        raise StoreError(f"{SNAPSHOT} still mentions the erased address; run erase again")


def _scrubbed(event: dict[str, Any], address: str) -> dict[str, Any]:
    """The event with any other field that quotes the address blanked (a name, some evidence)."""

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return "" if address in value.lower() else value
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    return {k: clean(v) for k, v in event.items()}


def _delete_all(store: BlobStore, keys: list[str]) -> None:
    if len(keys) < 4:
        for key in keys:
            store.delete(key)
        return
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(store.delete, keys))


def _address(text: str) -> str:
    try:
        return normalise_email(text)
    except ValueError as error:
        raise SubscriberError(str(error)) from None


def _name(text: str) -> str:
    try:
        return clean_name(text)
    except ValueError as error:
        raise SubscriberError(str(error)) from None


def open_list(settings: Settings) -> SubscriberList:
    """The subscriber list in the store SPHERE_STORE names."""
    store = open_store(settings)
    return SubscriberList(store, key=lambda: erasure_key(settings, store))


EXPORT_FORMATS = ("csv", "jsonl")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet would run as a formula
_FREE_TEXT = {"name", "consent_source", "consent_evidence"}


def export(subscribers: Iterable[Subscriber], out: Any, *, format: str = "csv") -> int:
    """Write subscribers to a text stream as CSV or JSON lines; return how many.

    In CSV, free-text cells that a spreadsheet would take for a formula (`=HYPERLINK(...)` as
    a name) are quoted with a leading apostrophe (OWASP's advice on CSV injection).
    """
    import csv

    if format not in EXPORT_FORMATS:
        raise SubscriberError(f"unknown export format {format!r}: use csv or jsonl")
    count = 0
    if format == "jsonl":
        for record in subscribers:
            out.write(json.dumps(record.as_dict(), ensure_ascii=False) + "\n")
            count += 1
        return count
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_COLUMNS)
    for record in subscribers:
        row = record.row()
        row[-1] = json.dumps(row[-1], ensure_ascii=False) if row[-1] else ""
        writer.writerow(
            "'" + value
            if column in _FREE_TEXT and isinstance(value, str) and value.startswith(_FORMULA_START)
            else value
            for column, value in zip(_COLUMNS, row, strict=True)
        )
        count += 1
    return count


def export_to_file(subscribers: Iterable[Subscriber], path: Path, *, format: str = "csv") -> int:
    """Export into `path` all at once: a failure leaves an existing file as it was."""
    if format not in EXPORT_FORMATS:
        raise SubscriberError(f"unknown export format {format!r}: use csv or jsonl")
    temporary = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    try:
        with temporary.open("w", encoding="utf-8", newline="") as out:
            count = export(subscribers, out, format=format)
        temporary.replace(path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise SubscriberError(f"cannot write {path}: {error.strerror}") from None
    return count


def iter_changes(store: BlobStore) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every event still in a change object, with its key (for tests and audits)."""
    for key in store.list(CHANGES):
        blob = store.get(key)
        for line in (blob.data if blob else b"").splitlines():
            yield key, json.loads(line)
