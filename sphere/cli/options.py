"""Options that several commands share, declared once so they read the same everywhere."""

from __future__ import annotations

from typing import Annotated

import typer

Port = Annotated[
    int,
    typer.Option(
        metavar="PORT", min=0, max=65535, help="The port to listen on (0: any free port)."
    ),
]
Host = Annotated[
    str,
    typer.Option(
        metavar="ADDRESS",
        help="The address to listen on; keep the default to stay on this machine.",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
# One wording for every command; each command's help says what its plan shows.
DryRunFlag = Annotated[
    bool, typer.Option("--dry-run", help="Show what would be done, and do nothing.")
]
