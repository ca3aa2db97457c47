"""The `sphere` command: a thin Typer layer over the library (see docs/cli.md).

Each command loads the settings, calls one library function and reports. Library modules are
imported inside the commands so that `sphere --help` stays fast (no boto3, Markdown or MJML at
start-up). Errors the user can fix arrive as `SphereError` and are printed once, in `main`, with
the exit status the error carries (`ExitStatus`); Ctrl-C becomes `Interrupted` (130).
"""

from __future__ import annotations

import atexit
import functools
import gc
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sphere import __version__
from sphere.cli.group import APP_OPTIONS, LazyGroup
from sphere.errors import ExitStatus, SphereError

if TYPE_CHECKING:
    from sphere.settings import Settings

# Each command module, in the order `sphere --help` lists them, with the commands it adds.
COMMAND_MODULES = {
    "build": ("build",),
    "check": ("check",),
    "preview": ("preview",),
    "send": ("send", "status"),
    "serve": ("serve",),
    "deploy": ("deploy",),
    "publish": ("publish",),
    "report": ("report",),
    "welcome": ("welcome",),
    "subscribers": ("subscribers",),  # the groups of commands last
    "feedback": ("feedback",),
}


class _Commands(LazyGroup):
    """The commands of COMMAND_MODULES, each module loaded when its command is asked for."""

    package = __name__
    modules = COMMAND_MODULES


def _new_app() -> typer.Typer:
    """The `sphere` app: its options, and its commands loaded on demand."""
    new = typer.Typer(
        name="sphere",
        cls=_Commands,
        help="Publish the Sphere newsletter from git: build, check and preview its issues, and "
        "manage its subscribers.",
        no_args_is_help=True,
        context_settings={"help_option_names": ["-h", "--help"]},
        **APP_OPTIONS,
    )
    new.callback()(_options)
    return new


class _State:
    debug = False
    root: Path | None = None


_state = _State()


def _version(value: bool) -> None:
    if value:
        print(f"sphere {__version__}")
        raise typer.Exit(ExitStatus.OK)


def _options(
    ctx: typer.Context,
    root: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            exists=True,
            file_okay=False,
            help="The newsletter project's folder (default: the one holding the current folder).",
        ),
    ] = None,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            show_default=False,
            help="Say what each step did (-vv: more).",
        ),
    ] = 0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print no warnings, only errors.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show a traceback on errors.")] = False,
    _version_shown: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Sphere: ideas for improving execution in the sales process, published from git."""
    from sphere.cli.output import install_logging

    if verbose and quiet:
        raise typer.BadParameter("use one of --verbose and --quiet", param_hint="--quiet")
    _state.debug = debug
    _state.root = root
    ctx.call_on_close(install_logging(-1 if quiet else verbose, debug=debug))


def load() -> Settings:
    """The validated settings of the project this command runs in."""
    from sphere.settings import load_settings

    return load_settings(_state.root)


@functools.cache
def _app() -> typer.Typer:
    # NOTE: command modules import only Typer and the standard library at module level.
    return _new_app()


def __getattr__(name: str) -> Any:
    """`app`, the whole CLI, made on first use (importing `sphere.cli` alone stays cheap)."""
    if name == "app":
        return _app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(args: Sequence[str] | None = None, *, prog_name: str | None = None) -> None:
    """Run the CLI (on `args`, default the command line) and exit with its `ExitStatus`.

    The library's errors become one-line messages here; Typer exits by itself otherwise
    (0, or 2 for a wrong command line).
    """
    _leave_memory_to_the_system()
    try:
        _app()(args=args, prog_name=prog_name)
    except SphereError as error:
        if _state.debug:
            raise
        from sphere.cli.output import print_error

        print_error(error)
        sys.exit(int(error.exit_status))


def _leave_memory_to_the_system() -> None:
    """At exit, freeze what is still alive (`gc.freeze`) before the interpreter tears down.

    Tearing down clears every module and then runs full collections over every object left:
    after a build, some 25 ms on one core (a twentieth of a cold build of 200 issues), spent
    tidying memory the system takes back anyway when the process ends. `gc.freeze` moves the
    objects alive at that moment out of the collector's sight; they are still freed as their
    references go. Only reference cycles still alive then are not collected, so their
    `__del__` does not run, which Python never promises at exit anyway; every file Sphere
    writes is closed where it is written. The handler runs after those registered later (at
    exit, the last registered runs first).
    """
    atexit.unregister(gc.freeze)  # once, however often `main` runs in one process
    atexit.register(gc.freeze)
