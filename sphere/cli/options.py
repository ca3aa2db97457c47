"""Options that several commands share, declared once so they read the same everywhere."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sphere.settings import Settings

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
# publish and deploy: the moment that decides which issues are public and due (sphere.schedule)
AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="MOMENT",
        help="Decide what is due as at MOMENT (e.g. 2027-02-01T08:17:05Z; not in the future), "
        "not now: publish as an earlier deploy did.",
    ),
]


def decision_moment(settings: Settings, text: str | None) -> dt.datetime:
    """`--as-of` or now (sphere.schedule.as_of), a bad value a usage error naming the option."""
    from sphere.schedule import as_of

    try:
        return as_of(settings, text)
    except ValueError as problem:
        raise typer.BadParameter(str(problem), param_hint="--as-of") from None
