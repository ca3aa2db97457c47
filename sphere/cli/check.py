"""`sphere check`: see sphere/checks/."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

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
        float,
        typer.Option(
            metavar="SECONDS", min=0.1, help="How long to wait for each link with --links."
        ),
    ] = 10.0,
) -> None:
    """Check every issue and the email templates for what would hurt readers or delivery.

    Size, images, links, headings, subject, front matter, footer. Exit 1 on an error (or, with
    --strict, a warning); see docs/checks.md.
    """
    from sphere.checks import FORMATS, check_project
    from sphere.cli import load

    report = check_project(load(), links=links, timeout=timeout)
    sys.stdout.write(FORMATS[output_format.value](report.findings))
    if output_format is Format.text:
        print(report.summary(), file=sys.stderr)
    if report.failed(strict=strict):
        raise typer.Exit(ExitStatus.ERROR)


def register(app: typer.Typer) -> None:
    """Add `check` to the main app."""
    app.command()(check)
