"""`sphere publish`: check, build, deploy the archive, send what is due (sphere.publish)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sphere.cli.options import AsOf, DryRunFlag, Json
from sphere.cli.output import to_stderr
from sphere.errors import ContentError

if TYPE_CHECKING:
    from sphere.settings import Settings


def publish(
    dry_run: DryRunFlag = False,
    allow_late: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-late",
            metavar="ISSUE",
            help="Send ISSUE although its date is more than late_after_days past (repeatable).",
        ),
    ] = None,
    as_json: Json = False,
    as_of: AsOf = None,
    json_out: Annotated[
        Path | None,
        typer.Option(
            "--json-out",
            metavar="FILE",
            dir_okay=False,
            help="Also write the --json report to FILE (for CI); the usual lines still print.",
        ),
    ] = None,
) -> None:
    """Check, build, deploy the archive, then send every issue that is due and not yet sent.

    Safe to run at any time and as often as you like: what is done is not done again. Exit 0
    when everything due is done (or nothing was due), 1 for something to fix, 3 when S3 or the
    mail service refused us, 4 when a send stopped early (run it again). --dry-run shows the
    pages to upload and the issues to send, with recipients, time and quota. See
    docs/publishing.md.
    """
    from sphere.broken import pass_over
    from sphere.checks import FORMATS
    from sphere.cli import load
    from sphere.cli.deploy import build_public_archive
    from sphere.cli.options import decision_moment
    from sphere.cli.progress import Progress
    from sphere.publish import check_before_publish, read_sends
    from sphere.publish import publish as run_publish

    settings = load()
    # One moment decides both what the archive shows and what is sent (sphere.schedule.as_of).
    now = decision_moment(settings, as_of)
    today = settings.today(now)
    late = tuple(allow_late or ())
    sends = read_sends(settings)
    checked = check_before_publish(settings, allow_late=late, sends=sends, today=today)
    try:
        broken = pass_over(
            checked,
            issues_dir=settings.content_dir / "issues",
            today=today,
            started=sends.started | sends.complete,
        )
    except ContentError:
        to_stderr(FORMATS["text"](checked.findings), end="")
        raise
    for line in broken.warning_lines():
        to_stderr(line)
    to_stderr(FORMATS["text"](broken.errors), end="")
    site = build_public_archive(settings, exclude=broken.files, sends=sends, now=now)
    progress = Progress()
    try:
        report = run_publish(
            settings, site, dry_run=dry_run, allow_late=late, sends=sends,
            exclude=broken.files, on_batch=progress.update, now=now,
        )  # fmt: skip
    finally:
        progress.finish()  # a stopped send's summary line too
    if json_out is not None:  # publish.yml's idle-run test reads it (docs/publishing.md)
        json_out.write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        for line in report.lines():
            print(line)
        if dry_run:
            print("dry run: nothing was uploaded or sent")
    failure = broken.failure()
    if failure is not None:
        raise failure


def print_overview(settings: Settings, *, as_json: bool) -> None:
    """`sphere status` without an issue: every issue's state, the next due date, warnings."""
    from sphere.status import overview

    found = overview(settings)
    if as_json:
        print(json.dumps(found.as_dict(), indent=2))
        return
    for line in found.lines():
        print(line)
    for warning in found.warnings:
        to_stderr(f"warning: {warning}")


def register(app: typer.Typer) -> None:
    """Add `publish` to the main app."""
    app.command()(publish)
