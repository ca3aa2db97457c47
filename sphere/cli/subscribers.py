"""`sphere subscribers ...`: manage the subscriber list (see sphere.subscribers)."""

from __future__ import annotations

import typer

subscribers_app = typer.Typer(help="Manage the subscriber list.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the `subscribers` command group to the main app."""
    app.add_typer(subscribers_app, name="subscribers")
