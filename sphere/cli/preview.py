"""`sphere preview`: see sphere/preview.py."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add `preview` to the main app."""
