"""`sphere welcome`: send the welcome emails still queued, or preview the welcome (see
sphere/welcome/ and docs/endpoints.md)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from sphere.cli.options import Json


def welcome(
    preview: Annotated[
        bool,
        typer.Option(
            "--preview",
            help="Write the welcome as a preview reader gets it to .sphere/welcome/ "
            "(welcome.html, welcome.txt) and send nothing.",
        ),
    ] = False,
    as_json: Json = False,
) -> None:
    """Send the welcome emails still queued: those the confirm endpoint could not send.

    The endpoint sends each new subscriber's welcome (content/welcome.md) when they confirm;
    one that failed there stays queued, and `sphere publish` sends it too. Each goes once:
    one whose outcome is unknown (a crash after handing it over) is counted, never resent.
    """
    from sphere.cli import load

    settings = load()
    if preview:
        from sphere.welcome.preview import write_preview

        for path in write_preview(settings):
            print(f"wrote {path}")
        return
    from sphere.welcome.deliver import send_welcomes

    report = send_welcomes(settings)
    print(json.dumps(report.as_dict(), indent=2) if as_json else report.line())


def register(app: typer.Typer) -> None:
    """Add `welcome` to the main app."""
    app.command()(welcome)
