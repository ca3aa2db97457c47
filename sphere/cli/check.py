"""`sphere check`: see sphere/checks/."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from sphere.cli.output import to_stderr
from sphere.errors import ExitStatus


class Format(StrEnum):
    text = "text"
    github = "github"
    json = "json"


def check(
    output_format: Annotated[
        Format,
        typer.Option(
            "--format",
            help="text: file:line: level: rule message; github: Actions annotations; json.",
        ),
    ] = Format.text,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail (exit 1) on warnings too.")
    ] = False,
    links: Annotated[
        bool, typer.Option("--links", help="Also follow every external link over the network.")
    ] = False,
    timeout: Annotated[
        str,
        typer.Option(
            metavar="DURATION", help="How long to wait for each link with --links (10s, 1m)."
        ),
    ] = "10s",
) -> None:
    """Check every issue and the email templates for what would hurt readers or delivery.

    Size, images, links, headings, subject, front matter, footer. Exit 1 on an error (or, with
    --strict, a warning); see docs/checks.md.
    """
    from sphere.checks import FORMATS, check_project
    from sphere.cli import load
    from sphere.settings import parse_duration

    try:
        seconds = parse_duration(timeout)
    except ValueError as problem:
        raise typer.BadParameter(str(problem), param_hint="--timeout") from None
    if seconds <= 0:
        raise typer.BadParameter("expected more than 0 seconds", param_hint="--timeout")
    report = check_project(load(), links=links, timeout=seconds)
    sys.stdout.write(FORMATS[output_format.value](report.findings))
    if output_format is Format.text:
        to_stderr(report.summary())
    if report.failed(strict=strict):
        raise typer.Exit(ExitStatus.ERROR)


def register(app: typer.Typer) -> None:
    """Add `check` to the main app."""
    app.command()(check)
