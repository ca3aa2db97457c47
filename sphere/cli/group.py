"""The command-group and command classes of `sphere`.

The top group loads each command's module when that command is asked for (Click's documented
way of loading subcommands lazily: `get_command` and `list_commands`), so that `sphere build`
neither imports nor converts the other commands (10 ms of every start).

Three things Click and Typer do not do the way Sphere wants: Ctrl-C becomes `Interrupted` (one
line and exit status 130, printed by `main` like every other error, where Typer would exit 130
without a word); the list of commands shows each summary whole instead of cutting it off with
"..."; and a usage line writes a required argument as `ISSUE`, as git and gh do, where Typer
writes `{ISSUE}`.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import typer
import typer.core
import typer.main

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


# How every app of `sphere` is made (the top one and each command module's, see LazyGroup).
APP_OPTIONS: dict[str, Any] = {
    "add_completion": False,
    "pretty_exceptions_enable": False,  # tracebacks only with --debug, and never with locals
    "rich_markup_mode": None,
}


class LazyGroup(SphereGroup):
    """The top group: its commands come from `modules` (module under `package` -> the commands
    its `register(app)` adds), each module imported and converted by Typer on first use."""

    package: ClassVar[str] = ""
    modules: ClassVar[Mapping[str, tuple[str, ...]]] = {}

    def list_commands(self, _ctx: Context) -> list[str]:
        return [name for names in self.modules.values() for name in names]

    def get_command(self, ctx: Context, cmd_name: str) -> Any:
        for module, names in self.modules.items():
            if cmd_name in names:
                self._load(module)
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx: Context, args: list[str]) -> Any:
        if args and args[0] not in self.list_commands(ctx):  # a typo: Typer suggests a command
            for module in self.modules:  # from those loaded, so load them all
                self._load(module)
        return super().resolve_command(ctx, args)

    def _load(self, module: str) -> None:
        """Add the commands of one module (once), converted by Typer as the whole app's."""
        if all(name in self.commands for name in self.modules[module]):
            return
        app = typer.Typer(**APP_OPTIONS)
        app.callback()(_no_options)  # a group, however many commands the module adds
        importlib.import_module(f"{self.package}.{module}").register(app)
        for name, command in typer.main.get_command(app).commands.items():  # type: ignore[attr-defined]
            self.add_command(command, name)


def _no_options() -> None:
    pass
