"""`sphere build`: render every issue into emails and the web archive."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def build(
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write the emails to OUT/email and the archive to OUT/site (default: dist)."
        ),
    ] = None,
    drafts: Annotated[bool, typer.Option(help="Include issues whose status is draft.")] = False,
    cache: Annotated[
        bool,
        typer.Option(help="Reuse renderings of unchanged issues from .sphere/cache/."),
    ] = True,
    screenshots: Annotated[
        bool,
        typer.Option(help="Also shoot each email and archive page in headless Chromium."),
    ] = False,
) -> None:
    """Render every issue into email HTML, text and .eml, and the web archive."""
    from sphere.build.pipeline import build_all
    from sphere.cli import load

    report = build_all(load(), out=out, drafts=drafts, screenshots=screenshots, cache=cache)
    for line in report.lines():
        print(line)


def register(app: typer.Typer) -> None:
    """Add `build` to the main app."""
    app.command()(build)
