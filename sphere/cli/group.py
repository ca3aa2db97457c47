"""The command-group and command classes of `sphere`.

Three things Click and Typer do not do the way Sphere wants: Ctrl-C becomes `Interrupted` (one
line and exit status 130, printed by `main` like every other error, where Typer would exit 130
without a word); the list of commands shows each summary whole instead of cutting it off with
"..."; and a usage line writes a required argument as `ISSUE`, as git and gh do, where Typer
writes `{ISSUE}`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer.core

from sphere.errors import Interrupted

if TYPE_CHECKING:  # Typer vendors its own Click: these are its types
    from typer._click import Context, HelpFormatter


class SphereCommand(typer.core.TyperCommand):
    """A Typer command whose usage line shows required arguments bare: `send [OPTIONS] ISSUE`."""

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        return [_bare(piece) for piece in super().collect_usage_pieces(ctx)]


def _bare(piece: str) -> str:
    return piece[1:-1] if piece.startswith("{") and piece.endswith("}") else piece


class SphereGroup(typer.core.TyperGroup):
    """A Typer group that reports Ctrl-C and lists whole summaries."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            # The innermost group says which command stopped; `Interrupted` passes the others.
            command = f"{ctx.command_path} {ctx.invoked_subcommand or ''}".strip()
            raise Interrupted(f"interrupted: `{command}` stopped before it finished") from None

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        rows = [
            (name, command.get_short_help_str(limit=1000))  # the first sentence, wrapped
            for name in self.list_commands(ctx)
            if (command := self.get_command(ctx, name)) is not None and not command.hidden
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
