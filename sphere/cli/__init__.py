"""The `sphere` command: a thin Typer layer over the library (see docs/cli.md).

Each command loads the settings, calls one library function and reports. Library modules are
imported inside the commands so that `sphere --help` stays fast (no boto3, Markdown or MJML at
start-up), and `main` gives Typer only the command it runs (`app_for`). Errors the user can fix
arrive as `SphereError` and are printed once, in `main`, with the exit status the error carries
(`ExitStatus`); Ctrl-C becomes `Interrupted` (130).
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sphere import __version__
from sphere.cli.group import SphereGroup
from sphere.errors import ExitStatus, SphereError

if TYPE_CHECKING:
    from sphere.settings import Settings

# Each command module, in the order `sphere --help` lists them, with the commands it adds.
COMMAND_MODULES = {
    "build": ("build",),
    "check": ("check",),
    "preview": ("preview",),
    "subscribers": ("subscribers",),
    "send": ("send", "status"),
    "serve": ("serve",),
    "feedback": ("feedback",),
    "deploy": ("deploy",),
    "publish": ("publish",),
    "report": ("report",),
}
# The options before a command: those that take a value, and the flags.
_VALUE_OPTIONS = ("--root",)
_FLAGS = ("--verbose", "--quiet", "--debug")


def _new_app() -> typer.Typer:
    """The `sphere` app, with its options and no command yet."""
    new = typer.Typer(
        name="sphere",
        cls=SphereGroup,
        help="Publish the Sphere newsletter from git: build, check and preview its issues, and "
        "manage its subscribers.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,  # tracebacks only with --debug, and never with locals
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
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


def _register(app: typer.Typer, modules: Sequence[str]) -> typer.Typer:
    # NOTE: command modules import only Typer and the standard library at module level.
    for name in modules:
        importlib.import_module(f"sphere.cli.{name}").register(app)
    return app


@functools.cache
def _full_app() -> typer.Typer:
    return _register(_new_app(), list(COMMAND_MODULES))


def __getattr__(name: str) -> Any:
    """`app`, the whole CLI, made on first use: `main` makes only the one a command needs."""
    if name == "app":
        return _full_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def app_for(args: Sequence[str]) -> typer.Typer:
    """The CLI as `args` need it: with only the command they run (importing and converting
    every command costs 8 ms of each command's start), or whole (help, the version, a
    misspelled command: whatever else they hold)."""
    expect_value = False
    for arg in args:
        if expect_value:
            expect_value = False
        elif arg in _VALUE_OPTIONS:
            expect_value = True
        elif arg.split("=", 1)[0] in _VALUE_OPTIONS or arg in _FLAGS or _is_short_flags(arg):
            continue
        else:
            module = next((m for m, names in COMMAND_MODULES.items() if arg in names), None)
            return _register(_new_app(), [module]) if module else _full_app()
    return _full_app()


def _is_short_flags(arg: str) -> bool:
    """-v, -vv, -q: the group's one-letter flags."""
    return len(arg) > 1 and arg[0] == "-" and arg[1] != "-" and set(arg[1:]) <= {"v", "q"}


def main(args: Sequence[str] | None = None, *, prog_name: str | None = None) -> None:
    """Run the CLI (on `args`, default the command line) and exit with its `ExitStatus`.

    The library's errors become one-line messages here; Typer exits by itself otherwise
    (0, or 2 for a wrong command line).
    """
    try:
        app_for(sys.argv[1:] if args is None else args)(args=args, prog_name=prog_name)
    except SphereError as error:
        if _state.debug:
            raise
        from sphere.cli.output import print_error

        print_error(error)
        sys.exit(int(error.exit_status))


def run() -> None:
    """The `sphere` console script: `main`, and a quicker end of the process.

    When a command ends, the interpreter takes every module and object apart before the
    process exits: 25 ms after a build of 200 issues (9 with the collector frozen), for memory
    the operating system frees at once. So once the command is done and only this thread is
    left, the exit handlers run (logging's flush among them), the output is flushed, and the
    process ends there (files are all closed by then: `with` everywhere). Anything unusual (an
    error printing the output, another thread) takes Python's ordinary way out. Tests call
    `main`, which leaves all this alone.
    """
    import atexit
    import gc
    import os
    import threading

    try:
        main()
    except SystemExit as end:
        status = end.code
    else:
        status = 0
    gc.freeze()
    if isinstance(status, int) and threading.active_count() == 1:
        atexit._run_exitfuncs()  # noqa: SLF001 (the exit handlers, as Python would run them)
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            sys.exit(status)  # Python's own way reports it (a closed pipe: status 120)
        os._exit(status)
    sys.exit(status)
