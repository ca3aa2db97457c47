"""`sphere check`: see sphere/check.py."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add `check` to the main app."""
