"""`sphere report --out DIR`: the list and the issues on one page (sphere.report)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def report(
    out: Annotated[
        Path,
        typer.Option(
            metavar="DIR",
            help="The folder to write (replaced whole; only a folder Sphere made, or empty).",
        ),
    ] = Path("report"),
) -> None:
    """Write a report page: the list over time by status, who joined and left each month, and
    each issue's bounce, complaint and unsubscribe rates against the providers' thresholds.

    DIR/index.html is one self-contained page (no script, no request: open it anywhere);
    DIR/summary.md is the per-issue table in Markdown (CI adds it to the job summary). Counts
    only: no address appears. See docs/report.md.
    """
    from sphere.cli import load
    from sphere.errors import display_path
    from sphere.report import PAGE, write_report

    data = write_report(load(), out)
    print(
        f"wrote {display_path(out.resolve() / PAGE)}: {len(data.issues)} issues, "
        f"{data.history.now('subscribed'):,} subscribed"
    )


def register(app: typer.Typer) -> None:
    """Add `report` to the main app."""
    app.command()(report)
