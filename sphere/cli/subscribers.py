"""`sphere subscribers ...`: manage the subscriber list (see sphere.subscribers.list)."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sphere.cli.group import SphereCommand, SphereGroup
from sphere.cli.options import DryRunFlag, Json
from sphere.cli.output import to_stderr
from sphere.errors import ExitStatus, Interrupted

if TYPE_CHECKING:
    from sphere.subscribers.imports import ImportReport, Progress
    from sphere.subscribers.list import SubscriberList

subscribers_app = typer.Typer(
    cls=SphereGroup, help="Manage the subscriber list.", no_args_is_help=True
)


def _list() -> SubscriberList:
    from sphere.cli import load
    from sphere.subscribers.list import open_list

    subscribers = open_list(load())
    if (warning := subscribers.store.exposure()) is not None:
        to_stderr(f"warning: {warning}")
    return subscribers


@subscribers_app.command(cls=SphereCommand)
def add(
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The address to subscribe.")],
    name: Annotated[str, typer.Option(metavar="NAME", help="The person's name.")] = "",
) -> None:
    """Subscribe an address (consent recorded as given through the CLI).

    An address its owner unsubscribed or had erased is not added back: exit status 1.
    """
    from sphere.errors import SubscriberRefused

    outcome = _list().add(email, name=name)
    record = outcome.subscriber
    if outcome.result == "added":
        print(f"added {outcome.email}")
    elif outcome.result == "already":
        print(f"{outcome.email} is already on the list ({record and record.status})")
    elif outcome.result == "suppressed":  # not done: a script must not read it as done
        raise SubscriberRefused(
            f"{outcome.email} is {record and record.status}: not re-subscribed "
            "(only the person can subscribe again, by confirming)"
        )
    else:
        raise SubscriberRefused(
            f"{outcome.email} was erased at their request: not added "
            "(only the person can subscribe again, through the form)"
        )


@subscribers_app.command(cls=SphereCommand)
def remove(
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The address to unsubscribe.")],
) -> None:
    """Unsubscribe an address (it stays on the list as unsubscribed, so no import adds it back)."""
    outcome = _list().remove(email)
    if outcome.result == "already":
        print(f"{outcome.email} is already unsubscribed")
    else:
        print(f"unsubscribed {outcome.email}")


@subscribers_app.command("import", cls=SphereCommand)
def import_(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="A CSV: Mailchimp, Substack, or 'email,name'.")
    ],
    dry_run: DryRunFlag = False,
    as_json: Json = False,
) -> None:
    """Import subscribers from a CSV file; rejected rows are listed as file:line: reason.

    Valid rows are imported even when others are rejected; the exit status is then 1.
    --dry-run checks and counts every row and writes nothing.
    """
    from sphere.subscribers.imports import import_file

    subscribers = _list()
    written = [0, 0]  # rows written so far, rows in the file
    stop = _Interrupt()

    def count(stage: str, done: int, total: int) -> None:
        if stage == "writing":
            written[:] = [done, total]
        stop.check()  # between batches: what was written is then known exactly

    try:
        with stop:
            if as_json or not sys.stderr.isatty():
                report = import_file(subscribers, file, dry_run=dry_run, progress=count)
            else:
                report = _with_progress(
                    lambda shown: import_file(subscribers, file, dry_run=dry_run, progress=shown),
                    also=count,
                )
    except KeyboardInterrupt:
        done = f"{written[0]:,} new rows written from a file of {written[1]:,} rows"
        raise Interrupted(
            f"interrupted: {done}; run the same import again to finish "
            "(it is safe: it adds only what is missing)"
        ) from None
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        for line in _summary(report):
            print(line)
    if report.rejected:  # the valid rows are in; the status tells a script that some were not
        raise typer.Exit(ExitStatus.ERROR)


class _Interrupt:
    """Ctrl-C stops at the next safe point (`check`); a second Ctrl-C stops at once."""

    def __init__(self) -> None:
        self.asked = False

    def __enter__(self) -> None:
        self._previous = signal.signal(signal.SIGINT, self._handle)

    def __exit__(self, *_: object) -> None:
        signal.signal(signal.SIGINT, self._previous)

    def _handle(self, _signal: int, _frame: object) -> None:
        if self.asked:
            raise KeyboardInterrupt
        self.asked = True

    def check(self) -> None:
        """Raise KeyboardInterrupt if Ctrl-C was pressed."""
        if self.asked:
            raise KeyboardInterrupt


def _with_progress(run: Any, *, also: Progress) -> ImportReport:
    """Run `run(progress)` with a progress bar on the terminal; `also` hears every update."""
    from rich.progress import Progress as Bar

    with Bar(transient=True) as bar:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            also(stage, done, total)
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage.capitalize(), total=total)
            bar.update(tasks[stage], completed=done)

        report: ImportReport = run(progress)
    return report


def _summary(report: ImportReport) -> list[str]:
    lines = [str(error) for error in report.rejected]
    verb = "would import" if report.dry_run else "imported"
    lines.append(f"{verb} {report.file} ({report.format}):")
    counts = [
        ("added", report.added),
        ("marked as suppressed", report.suppressed),
        ("already there", report.already),
        ("skipped as suppressed", report.skipped_suppressed),
        ("skipped as erased", report.skipped_erased),
        ("rejected", len(report.rejected)),
    ]
    lines.extend(
        f"  {label}: {count}" for label, count in counts if count or label != "marked as suppressed"
    )
    if report.dry_run:  # what each row would become, to check before anything is written
        lines.append("  rows by status in the file:")
        lines.extend(
            f"    {status}: {e.count} (e.g. line {e.line}, {e.email}: {e.why})"
            for status, e in report.statuses.items()
        )
    return lines


@subscribers_app.command()
def export(
    file: Annotated[
        Path | None,
        typer.Argument(
            metavar="FILE", show_default=False, help="Where to write (default: standard output)."
        ),
    ] = None,
    kind: Annotated[str, typer.Option("--format", metavar="csv|jsonl", help="The format.")] = "csv",
) -> None:
    """Export every subscriber with status and consent record."""
    from sphere.subscribers.export import EXPORT_FORMATS, export_to_file
    from sphere.subscribers.export import export as write

    if kind not in EXPORT_FORMATS:
        raise typer.BadParameter(
            f"expected one of {', '.join(EXPORT_FORMATS)}", param_hint="--format"
        )
    records = _list().all()
    if file is None:
        write(records, sys.stdout, kind=kind)
        return
    count = export_to_file(records, file, kind=kind)
    to_stderr(f"exported {count} subscribers to {file}")


# Written out, so that start-up imports no subscriber module (`sphere build` needs none);
# tests/test_cli.py keeps it equal to sphere.subscribers.model.STATUSES.
STATUS_NAMES = "pending, subscribed, unsubscribed, bounced, complained"


@subscribers_app.command("list")
def list_(
    status: Annotated[
        str | None, typer.Option(metavar="STATUS", help=f"Only this status: {STATUS_NAMES}.")
    ] = None,
    as_json: Json = False,
) -> None:
    """List subscribers: address, status and name, one a line."""
    if status is not None and status not in STATUS_NAMES.split(", "):
        raise typer.BadParameter(f"expected one of {STATUS_NAMES}", param_hint="--status")
    records = _list().all(status=status)
    if as_json:
        print(json.dumps([r.as_dict() for r in records], ensure_ascii=False, indent=1))
        return
    sys.stdout.write("".join(f"{r.email}\t{r.status}\t{r.name}\n" for r in records))


@subscribers_app.command()
def count(as_json: Json = False) -> None:
    """Count subscribers by status."""
    counts = _list().counts()
    if as_json:
        print(json.dumps({**counts, "total": sum(counts.values())}))
        return
    for status, number in counts.items():
        print(f"{status}: {number}")
    print(f"total: {sum(counts.values())}")


@subscribers_app.command()
def compact() -> None:
    """Fold recent changes into the snapshot (safe to run at any time, and alongside writers).

    Also removes what the endpoints kept that has expired: erased people's unconfirmed
    requests, old daily-limit marks, full rate-limit buckets."""
    from sphere.web.sweep import sweep_web

    subscribers = _list()
    report = subscribers.compact()
    print(
        f"folded {_plural(report.folded, 'change')}; "
        f"{_plural(report.subscribers, 'subscriber')}; "
        f"{_plural(report.left, 'recent change')} left for next time"
    )
    if swept := sweep_web(subscribers.store, now=subscribers.clock.now()):
        print(f"removed {_plural(swept, 'expired object')} the endpoints kept (docs/endpoints.md)")


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


@subscribers_app.command(cls=SphereCommand)
def erase(
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The address to erase.")],
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Erase without asking (for scripts).")
    ] = False,
) -> None:
    """Erase a person's data everywhere in the store; keep only a keyed hash to keep them off.

    It cannot be undone, so it asks first; in a script, pass --yes (without a terminal to ask
    on, and without --yes, it refuses).
    """
    from sphere.cli import load
    from sphere.send.transports import outboxes
    from sphere.subscribers.erasure import mentions
    from sphere.subscribers.model import normalise_email

    subscribers = _list()
    if not yes:
        _confirm_erase(email, subscribers.store.url)
    report = subscribers.erase(email)
    pattern = mentions(normalise_email(email))  # erase accepted it: it is an address
    outbox = sum(box.forget(pattern) for box in outboxes(load()))
    if report.found:
        print("erased: their record is gone from every object in the store")
    else:
        print("erased: they were not on the list; nothing of theirs is left in the store")
    if report.others:
        where = (
            "another person's record"
            if report.others == 1
            else f"{report.others:,} other people's records"
        )
        print(f"  also blanked the text that quoted them in {where}")
    if outbox:
        messages = "message" if outbox == 1 else "messages"
        print(f"  also removed {outbox:,} {messages} to them from the outbox")
    print("  only a keyed hash is kept, so no import or add puts them back")


def _confirm_erase(email: str, store: str) -> None:
    """Ask on the terminal before erasing; refuse where there is none to ask on."""
    from sphere.errors import NotConfirmed, SphereError

    if not sys.stdin.isatty():
        raise NotConfirmed(
            f"not erasing {email}: it cannot be undone; run it on a terminal to confirm, "
            "or pass --yes"
        )
    question = f"Erase {email} and everything about them from {store}? It cannot be undone."
    if not typer.confirm(question, err=True):
        raise SphereError(f"not erased: {email} is as it was")


def register(app: typer.Typer) -> None:
    """Add the `subscribers` command group to the main app."""
    app.add_typer(subscribers_app, name="subscribers")
