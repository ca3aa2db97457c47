"""Exporting the list: CSV for people and spreadsheets, JSON lines for programs."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from sphere.errors import SubscriberError
from sphere.store.files import replace_file, text_writer
from sphere.subscribers.model import COLUMNS, Subscriber

EXPORT_FORMATS = ("csv", "jsonl")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet would run as a formula


def export(subscribers: Iterable[Subscriber], out: TextIO, *, kind: str = "csv") -> int:
    """Write subscribers to a text stream as CSV or JSON lines (`kind`); return how many.

    In CSV, every cell that a spreadsheet would take for a formula (`=HYPERLINK(...)` as a
    name, `-x@example.com` as an address, which is valid) gets a leading apostrophe (OWASP's
    advice on CSV injection).
    """
    import csv

    _check(kind)
    count = 0
    if kind == "jsonl":
        for record in subscribers:
            out.write(json.dumps(record.as_dict(), ensure_ascii=False) + "\n")
            count += 1
        return count
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for record in subscribers:
        row = record.row()
        row[-1] = json.dumps(row[-1], ensure_ascii=False) if row[-1] else ""
        writer.writerow(_defused(value) for value in row)
        count += 1
    return count


def _defused(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def export_to_file(subscribers: Iterable[Subscriber], path: Path, *, kind: str = "csv") -> int:
    """Export into `path` all at once, owner-only (0600): a failure leaves a file as it was."""
    _check(kind)
    counted: list[int] = []
    try:
        replace_file(
            path, text_writer(lambda out: counted.append(export(subscribers, out, kind=kind)))
        )
    except OSError as error:
        raise SubscriberError(f"cannot write {path}: {error.strerror}") from None
    return counted[0]


def _check(kind: str) -> None:
    if kind not in EXPORT_FORMATS:
        raise SubscriberError(f"unknown export format {kind!r}: use csv or jsonl")
