"""`sphere send ISSUE` and `sphere status [ISSUE]` (see sphere.send.run and docs/sending.md)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sphere.cli.group import SphereCommand
from sphere.cli.options import DryRunFlag, Json

if TYPE_CHECKING:
    from sphere.send.campaign import Report
    from sphere.send.outcome import Outcome
    from sphere.send.run import DryRun

IssueRef = Annotated[
    str, typer.Argument(metavar="ISSUE", help="The issue: its slug, or its Markdown file.")
]


def send(
    issue: IssueRef,
    dry_run: DryRunFlag = False,
    test: Annotated[
        list[str] | None,
        typer.Option(
            "--test",
            metavar="ADDRESS",
            help="Send only to ADDRESS (repeat for more), subject marked [TEST]; no ledger.",
        ),
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(
            min=0.1, metavar="N", help="Messages per second (default: send_rate, or 80% of SES's)."
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, metavar="N", help="Messages in flight at once (default: setting)."),
    ] = None,
    resend_unknown: Annotated[
        bool,
        typer.Option(
            "--resend-unknown", help="Also send to recipients whose earlier outcome is unknown."
        ),
    ] = False,
    take_over: Annotated[
        bool,
        typer.Option(
            "--take-over", help="Resume a campaign whose previous send died holding its lease."
        ),
    ] = False,
    now: Annotated[
        bool, typer.Option("--now", help="Send a ready issue before its date and send time.")
    ] = False,
    resume_past_breaker: Annotated[
        bool,
        typer.Option(
            "--resume-past-breaker",
            help="Resume a send the bounce guard paused, counting only new bounces and "
            "complaints (find out why it tripped first).",
        ),
    ] = False,
    max_time: Annotated[
        str | None,
        typer.Option(
            metavar="DURATION",
            help="Stop cleanly after this long (45m, 1h30m); the next run resumes.",
        ),
    ] = None,
    show: Annotated[bool, typer.Option("--show", help="Show addresses in full.")] = False,
    as_json: Json = False,
) -> None:
    """Send an issue to every subscriber, once: resumable, paced, one sender at a time.

    Exit status 0 when the list is done, 1 for a mistake to fix, 3 when the transport
    refused us, 4 when the send stopped early (quota, --max-time, Ctrl-C, the bounce
    guard): run it again to resume. --dry-run builds every message and sends none.
    See docs/sending.md.
    """
    from sphere.cli import load
    from sphere.cli.progress import Progress
    from sphere.errors import SendStopped
    from sphere.send.run import SendRequest, send_issue, send_test
    from sphere.send.run import dry_run as run_dry
    from sphere.settings import parse_duration

    settings = load()
    try:
        limit = parse_duration(max_time) if max_time is not None else None
    except ValueError as problem:
        raise typer.BadParameter(str(problem), param_hint="--max-time") from None
    request = SendRequest(
        issue=issue, dry_run=dry_run, test=tuple(test or ()), rate=rate,
        concurrency=concurrency, resend_unknown=resend_unknown, take_over=take_over,
        now=now, max_time=limit, resume_past_breaker=resume_past_breaker,
    )  # fmt: skip
    if request.test:
        _print_test(send_test(settings, request), show=show, as_json=as_json)
        return
    if dry_run:
        _print_dry_run(run_dry(settings, request), as_json=as_json)
        return
    progress = None if as_json else Progress()
    try:
        report = send_issue(settings, request, on_batch=progress.update if progress else None)
    finally:
        if progress:
            progress.finish()
    _print_report(report, as_json=as_json)
    if report.paused:  # the breaker's reason says how to resume
        raise SendStopped(report.stopped)
    if report.stopped:
        raise SendStopped(f"stopped: {report.stopped}; run the same command again to resume")


def status(
    issue: Annotated[
        str | None,
        typer.Argument(metavar="ISSUE", help="The issue (default: a table of every issue)."),
    ] = None,
    as_json: Json = False,
) -> None:
    """Show every issue (draft, scheduled, due, held, sending, sent) and when the next is
    due; or, with ISSUE, how its campaign did: recipients, accepted, failed, skipped, unknown,
    pending; from the feedback, delivered, bounced, complained and unsubscribed through its
    links, with rates; when it was sent, and from which commit and CI run."""
    from sphere.cli import load
    from sphere.send.run import campaign_results, campaign_status
    from sphere.status import sender_note

    if issue is None:  # the table of all issues (issue 12): sphere/status.py
        from sphere.cli.publish import print_overview

        print_overview(load(), as_json=as_json)
        return
    if as_json:
        print(json.dumps(campaign_status(load(), issue), indent=2))
        return
    for slug, result in campaign_results(load(), issue):
        if result is None:
            print(f"{slug}: not sent yet")
            continue
        busy = sender_note(
            sending_now=result.sending_now, stopped=result.sender_stopped, sender=result.sender
        )
        print(
            f"{slug}: {result.recipients} recipients since {result.started}: "
            f"{result.accepted} sent, {result.failed} failed, {result.skipped} skipped, "
            f"{result.unknown} unknown, {result.pending} to send{busy}"
        )
        for line in result.lines():
            print(line)


def _print_report(report: Report, *, as_json: bool) -> None:
    from sphere.setting_values import format_duration

    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
        return
    print(
        f"{report.slug}: sent {report.sent}, skipped {report.skipped}, failed {report.failed}, "
        f"unknown {report.unknown} in {format_duration(report.elapsed)}; {report.left} left "
        f"(of {report.recipients} recipients; {report.done_before} done by earlier runs)"
    )
    for reason, count in sorted(report.failures.items(), key=lambda item: -item[1]):
        print(f"  failed {count}: {reason}")
    if report.unknown_before:
        print(
            f"  {report.unknown_before} recipients from earlier runs may or may not have got "
            "it: not resent (use --resend-unknown to send to them again)"
        )
    for note in report.notes:
        print(f"  note: {note}")


def _print_dry_run(report: DryRun, *, as_json: bool) -> None:
    from sphere.setting_values import format_duration

    if as_json:
        print(json.dumps(vars(report), indent=2))
        return
    average = report.total_bytes // report.messages if report.messages else 0
    print(
        f"{report.slug}: dry run: built {report.messages} messages in "
        f"{format_duration(report.elapsed)} "
        f"(average {average:,} bytes, largest {report.largest:,}); sent none"
    )
    for reason, count in report.refused.items():
        print(f"  would fail {count}: {reason}")


def _print_test(results: list[tuple[str, Outcome]], *, show: bool, as_json: bool) -> None:
    from sphere.send.outcome import redact

    rows: list[dict[str, Any]] = [
        {"address": address if show else redact(address), "outcome": outcome.kind.value,
         "message_id": outcome.message_id, "detail": outcome.detail}
        for address, outcome in results
    ]  # fmt: skip
    if as_json:
        print(json.dumps(rows, indent=2))
    for row in rows if not as_json else []:
        detail = f": {row['detail']}" if row["detail"] else ""
        print(f"test send to {row['address']}: {row['outcome']}{detail}")
    if any(row["outcome"] != "accepted" for row in rows):
        from sphere.errors import ExitStatus

        raise typer.Exit(ExitStatus.ERROR)


def register(app: typer.Typer) -> None:
    """Add `send` and `status` to the main app."""
    app.command(cls=SphereCommand)(send)
    app.command()(status)
