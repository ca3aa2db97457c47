"""Importing subscribers from CSV: Mailchimp and Substack exports, or a plain `email,name` file.

The file is checked whole before anything is written: an encoding error or a missing email
column stops the import with nothing changed. Row problems only reject their row; the rest is
imported. What is written goes in batches, one change object per batch, and an import decides
nothing the fold would not: re-importing a file, or finishing an interrupted import by running
it again, adds only what is not there yet.
"""

from __future__ import annotations

import codecs
import csv
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from sphere.errors import SubscriberError
from sphere.subscribers.events import CreationEvent, creation_event
from sphere.subscribers.formats import EMAIL_COLUMNS, Format, Row, Undecided, detect, plain
from sphere.subscribers.list import SubscriberList
from sphere.subscribers.model import STATUSES, SUPPRESSED, Status, clean_name
from sphere.subscribers.model import deliverable_email as _normalise

MAX_BYTES = 1024 * 1024 * 1024  # 1 GB: a 1,000,000-row Mailchimp export is about 350 MB

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True, slots=True)
class Example:
    """How many rows of the file have one status, and the first of them (for --dry-run)."""

    count: int
    line: int
    email: str
    why: str


@dataclass
class Parsed:
    """A CSV file checked whole: its detected format, its rows (parsed one at a time as they
    are used, so a million rows are never all in memory), the rows rejected so far, and how
    many rows have each status (decided in the check, before anything is written)."""

    format: str
    lines: int  # rows in the file, about (for progress: a quoted field may span lines)
    rows: Iterator[Row] = field(default_factory=lambda: iter(()))
    rejected: list[SubscriberError] = field(default_factory=list)
    statuses: dict[str, Example] = field(default_factory=dict)


def read_csv(path: Path) -> Parsed:
    """Recognise a subscriber CSV and check it whole, or raise SubscriberError for the file.

    The file is read from disk again for each pass (encoding, syntax, rows), never held in
    memory whole: a million rows cost no more than a thousand.
    """
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise SubscriberError(
                f"the file is {size / 2**20:.1f} MB, more than the {MAX_BYTES // 2**20} MB an "
                "import takes; split it into smaller files (importing each is safe to repeat)",
                path=path,
            )
        lines, first = _check_text(path)
    except OSError as error:
        raise SubscriberError(f"cannot read the file: {error.strerror}", path=path) from None
    if not first:
        raise SubscriberError(
            "the file is empty: expected a header such as 'email,name'", path=path
        )
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = _cells(path, delimiter)
    try:
        line, header = next(reader)
        while not any(cell.strip() for cell in header):
            line, header = next(reader)
    except StopIteration:
        raise SubscriberError("the file is empty", path=path) from None
    names = [cell.strip().lower() for cell in header]
    if "@" in "".join(header) and not any(n in EMAIL_COLUMNS for n in names):
        kind, first_row = plain([]), [(line, header)]  # no header: already a subscriber
    else:
        kind, first_row = detect(path, header, names), []
    parsed = Parsed(kind.name, lines - (line if not first_row else line - 1))
    # The whole file's syntax and every row's status, before anything is written.
    parsed.statuses = _statuses(path, kind, itertools.chain(first_row, reader))
    records = itertools.dropwhile(lambda record: record[0] <= line, _cells(path, delimiter))
    parsed.rows = _rows(parsed, path, kind, itertools.chain(first_row, records))
    return parsed


def _statuses(
    path: Path, kind: Format, records: Iterable[tuple[int, list[str]]]
) -> dict[str, Example]:
    """Each status's count and first row, or SubscriberError naming the line and the column
    of the first row whose status its cells do not decide (nothing is imported then: guessing
    would subscribe people who left, or suppress for good people who did not)."""
    found: dict[str, Example] = {}
    for line, cells in records:
        if not any(cell.strip() for cell in cells):
            continue
        try:
            row = kind.row(cells, line)
        except Undecided as error:
            raise SubscriberError(
                f"{error}; nothing was imported (split the file by status, or fix the column)",
                path=path,
                line=line,
            ) from None
        if not row.email.strip():
            continue
        seen = found.get(row.status)
        if seen is None:
            found[row.status] = Example(1, line, row.email.strip(), row.why)
        else:
            found[row.status] = Example(seen.count + 1, seen.line, seen.email, seen.why)
    return dict(sorted(found.items(), key=lambda item: STATUSES.index(item[0])))


def _check_text(path: Path) -> tuple[int, str]:
    """The file's line count and first non-blank line, or SubscriberError if it is not UTF-8
    (read in chunks: the error names the line of the first bad byte)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    lines, start = 0, ""
    with path.open("rb") as file:
        while True:
            chunk = file.read(1 << 20)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                bad = bytes(error.object)
                raise SubscriberError(
                    f"not UTF-8 text (byte 0x{bad[error.start]:02x}); save it as UTF-8 "
                    "(Excel: 'CSV UTF-8') and import it again",
                    path=path,
                    line=lines + bad[: error.start].count(b"\n") + 1,
                ) from None
            if not chunk:
                break
            lines += chunk.count(b"\n")
            if "\n" not in start.lstrip() and len(start) < 1 << 20:
                start += text
    return lines, start.lstrip().split("\n", 1)[0].strip()


def _cells(path: Path, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Each record of the file with the line it starts on; a syntax error names its line."""
    start = 0
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:
            reader = csv.reader(file, delimiter=delimiter)
            for cells in reader:
                yield start + 1, cells
                start = reader.line_num
    except csv.Error as error:
        raise SubscriberError(
            f"not a readable CSV file: {error}", path=path, line=start + 1
        ) from None


def _rows(
    parsed: Parsed, path: Path, kind: Format, records: Iterable[tuple[int, list[str]]]
) -> Iterator[Row]:
    for line, cells in records:
        if not any(cell.strip() for cell in cells):
            continue
        row = kind.row(cells, line)
        if not row.email.strip():
            parsed.rejected.append(SubscriberError("no address in this row", path=path, line=line))
        else:
            yield row


# --- importing -----------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did (or, with --dry-run, would do)."""

    file: str
    format: str
    dry_run: bool = False
    added: int = 0
    suppressed: int = 0  # addresses from a suppression export now marked unsubscribed/bounced
    already: int = 0
    skipped_suppressed: int = 0  # unsubscribed, bounced or complained here: not re-subscribed
    skipped_erased: int = 0  # erased at the person's request: kept off the list
    rejected: list[SubscriberError] = field(default_factory=list)
    changes: int = 0  # change objects written
    statuses: dict[str, Example] = field(default_factory=dict)  # in the file, by status

    def as_dict(self) -> dict[str, Any]:
        """The report for --json: counts, the file's statuses with an example row of each,
        and each rejected row as file, line and reason."""
        data = {k: v for k, v in vars(self).items() if k not in ("rejected", "statuses")}
        data["statuses"] = {status: asdict(example) for status, example in self.statuses.items()}
        data["rejected"] = [
            {"file": str(e.path), "line": e.line, "reason": e.message} for e in self.rejected
        ]
        return data


def import_file(
    subscribers: SubscriberList,
    path: Path,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a CSV file into the list: valid rows go in, the others are reported.

    The file is checked whole first (encoding, header, CSV syntax); then its rows are read,
    checked and written a batch at a time, so memory does not grow with the file. `progress`
    hears ("writing", rows written, rows in the file) after each batch and every 5,000 rows.
    """
    parsed = read_csv(path)
    report = ImportReport(str(path), parsed.format, dry_run=dry_run, statuses=parsed.statuses)
    fold = subscribers.read()[0]
    now = subscribers.now()
    source = f"{parsed.format} import of {path.name}"
    seen: dict[str, int] = {}
    events: list[CreationEvent] = []
    written = 0
    for count, row in enumerate(parsed.rows, start=1):
        if progress and count % 5000 == 0:
            progress("writing", written, parsed.lines)
        try:
            address, name = _normalise(row.email), clean_name(row.name)
            _check_times(row)
            if row.status == Status.PENDING:
                raise ValueError(
                    f"{row.why}: never confirmed, so not imported (they can subscribe on the form)"
                )
        except ValueError as error:
            parsed.rejected.append(SubscriberError(str(error), path=path, line=row.line))
            continue
        if address in seen:
            message = f"{address} is already on line {seen[address]}"
            parsed.rejected.append(SubscriberError(message, path=path, line=row.line))
            continue
        seen[address] = row.line
        if _count(report, fold.status_of(address), row.status, fold.is_erased(address)):
            consent = (row.consent_at or now, "import", source)
            op: Literal["add", "suppress"] = "suppress" if row.status in SUPPRESSED else "add"
            events.append(
                creation_event(
                    op,
                    address,
                    id=subscribers.id_for(address),
                    at=now,
                    status=row.status,
                    name=name,
                    consent=consent,
                    evidence=row.evidence,
                )
            )
        if len(events) >= subscribers.batch:
            written += _write(subscribers, events, report, dry_run=dry_run)
            if progress:
                progress("writing", written, parsed.lines)
    written += _write(subscribers, events, report, dry_run=dry_run)
    report.rejected = sorted(parsed.rejected, key=lambda e: e.line or 0)
    return report


def _write(
    subscribers: SubscriberList, events: list[CreationEvent], report: ImportReport, *, dry_run: bool
) -> int:
    """Write the batch as one change object (unless a dry run) and empty it: how many."""
    count = len(events)
    if events and not dry_run:
        subscribers.append(events)
        report.changes += 1
    events.clear()
    return 0 if dry_run else count


def _count(report: ImportReport, status: str | None, wanted: str, erased: bool) -> bool:
    """Count what the row does to the list; whether it needs an event written."""
    suppressing = wanted in SUPPRESSED
    if status is None and erased:
        report.skipped_erased += 1
    elif status in SUPPRESSED:
        if suppressing:
            report.already += 1
        else:
            report.skipped_suppressed += 1
    elif status is not None and not suppressing:
        report.already += 1
    elif suppressing:
        report.suppressed += 1
        return True
    else:
        report.added += 1
        return True
    return False


def _check_times(row: Row) -> None:
    """Consent times are kept as evidence: they must be times, not text (or a formula)."""
    for name, value in (row.evidence or {}).items():
        if (name.endswith("TIME") or name.endswith("_at")) and not _is_timestamp(value):
            raise ValueError(f"{name} {value!r} is not a date and time (YYYY-MM-DD HH:MM:SS)")
    if row.consent_at and not _is_timestamp(row.consent_at):
        raise ValueError(f"the consent time {row.consent_at!r} is not a date and time")


def _is_timestamp(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True
