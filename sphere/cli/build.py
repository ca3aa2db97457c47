"""`sphere build`: render every issue into emails and the web archive."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sphere.cli.output import to_stderr


def build(
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="Write the emails to DIR/email and the archive to DIR/site (default: dist)."
            " Only a folder Sphere made, or an empty one, is replaced.",
        ),
    ] = None,
    drafts: Annotated[
        bool, typer.Option("--drafts/--no-drafts", help="Include issues whose status is draft.")
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
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Fail on what sphere check calls an error and the build sees (an email Gmail"
            " would clip), instead of warning.",
        ),
    ] = False,
) -> None:
    """Render every issue into emails (HTML, text, .eml) and the web archive."""
    from sphere.build.pipeline import build_all
    from sphere.cli import load
    from sphere.errors import Interrupted, SphereError, display_path

    settings = load()
    try:
        report = build_all(
            settings, out=out, drafts=drafts, screenshots=screenshots, cache=not no_cache,
            strict=strict,
        )  # fmt: skip
    except KeyboardInterrupt:
        where = display_path(out or settings.output_dir)
        raise Interrupted(f"interrupted: {where}/ is as it was; run sphere build again") from None
    for line in report.lines():
        print(line)
    for line in report.warnings:
        to_stderr(line)
    if report.failure is not None:
        raise SphereError(report.failure)


def register(app: typer.Typer) -> None:
    """Add `build` to the main app."""
    app.command()(build)
