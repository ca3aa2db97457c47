"""`sphere feedback sync`: SES bounces and complaints from SQS (see sphere/feedback.py)."""

from __future__ import annotations

import json

import typer

from sphere.cli.group import SphereGroup
from sphere.cli.options import Json

feedback_app = typer.Typer(
    cls=SphereGroup,
    help="Bounces, complaints, mailed unsubscribes and send events reported by SES.",
    no_args_is_help=True,
)


@feedback_app.command()
def sync(
    as_json: Json = False,
) -> None:
    """Mark bounced and complaining subscribers from the SES notifications in the SQS queue.

    Also unsubscribes whoever mailed the List-Unsubscribe mailto (SES receiving), and settles
    the unknown outcomes of an interrupted send from SES's send and delivery events. Reads
    feedback_queue_url to the end, deletes what it processed, and leaves messages that are not
    SES notifications in the queue (reported). Running it twice changes nothing more.
    """
    from sphere.cli import load
    from sphere.feedback import sync as run_sync

    report = run_sync(load())
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
        return
    print(
        f"{report.received} notifications: {report.bounced} bounced, "
        f"{report.complained} complained, {report.unsubscribed} unsubscribed by mail, "
        f"{report.transient} transient bounces counted, "
        f"{report.ignored} ignored, {report.unchanged} unchanged; {report.deleted} deleted"
    )
    if report.settled:
        print(f"{report.settled} unknown outcomes of an interrupted send settled as sent")
    for slug, count in report.unknown_left.items():
        print(
            f"{slug}: {count} outcomes still unknown: no SES event names them, so SES did not "
            f"take them if its events have had a few minutes to arrive; then `sphere send "
            f"{slug} --resend-unknown` sends to exactly those"
        )
    if report.malformed:
        count = len(report.malformed)
        what = (
            "message was not an SES notification"
            if count == 1
            else ("messages were not SES notifications")
        )
        print(f"{count} {what}: left in the queue for inspection")


def register(app: typer.Typer) -> None:
    """Add the `feedback` group to the main app."""
    app.add_typer(feedback_app, name="feedback")
