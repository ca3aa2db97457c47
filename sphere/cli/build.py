"""`sphere build`: render every issue into emails and the web archive."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def build(
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="Write the emails to DIR/email and the archive to DIR/site (default: dist).",
        ),
    ] = None,
    drafts: Annotated[
        bool, typer.Option("--drafts", help="Include issues whose status is draft.")
    ] = False,
    no_cache: Annotated[
        bool,
        typer.Option("--no-cache", help="Render every issue again, ignoring .sphere/cache/."),
    ] = False,
    screenshots: Annotated[
        bool,
        typer.Option(
            "--screenshots", help="Also shoot each email and archive page in headless Chromium."
        ),
    ] = False,
) -> None:
    """Render every issue into emails (HTML, text, .eml) and the web archive."""
    from sphere.build.pipeline import build_all
    from sphere.cli import load

    report = build_all(load(), out=out, drafts=drafts, screenshots=screenshots, cache=not no_cache)
    for line in report.lines():
        print(line)


def register(app: typer.Typer) -> None:
    """Add `build` to the main app."""
    app.command()(build)
