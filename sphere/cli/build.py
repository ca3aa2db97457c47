"""`sphere build`: render every issue into emails and the web archive."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated

import typer


def build(
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write the emails to OUT/email and the archive to OUT/site (default: dist)."
            " Only a folder Sphere made, or an empty one, is replaced."
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
    strict: Annotated[
        bool,
        typer.Option(
            help="Fail on what sphere check calls an error and the build sees (an email Gmail"
            " would clip), instead of warning."
        ),
    ] = False,
) -> None:
    """Render every issue into email HTML, text and .eml, and the web archive."""
    from sphere.build.pipeline import build_all
    from sphere.cli import load
    from sphere.errors import SphereError, display_path

    settings = load()
    try:
        report = build_all(
            settings, out=out, drafts=drafts, screenshots=screenshots, cache=cache, strict=strict
        )
    except KeyboardInterrupt:
        where = display_path(out or settings.output_dir)
        print(f"interrupted: {where}/ is as it was; run sphere build again", file=sys.stderr)
        raise SystemExit(128 + signal.SIGINT) from None  # the shell's status for Ctrl-C
    for line in report.lines():
        print(line)
    for line in report.warnings:
        print(line, file=sys.stderr)
    if report.failure is not None:
        raise SphereError(report.failure)


def register(app: typer.Typer) -> None:
    """Add `build` to the main app."""
    app.command()(build)
