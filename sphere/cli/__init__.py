"""The `sphere` command: a thin Typer layer over the library.

Each command loads the settings, calls one library function and reports. Library modules are
imported inside the commands so that `sphere --help` stays fast (no boto3, Markdown or MJML at
start-up). Errors the user can fix arrive as `SphereError` and are printed once, in `main`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sphere import __version__
from sphere.errors import ExitStatus, SphereError

if TYPE_CHECKING:
    from sphere.settings import Settings

app = typer.Typer(
    name="sphere",
    help="Publish the Sphere newsletter: build, check, preview and send issues from git.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # tracebacks only with --debug, and never with locals
    rich_markup_mode=None,
)


class _State:
    debug = False
    root: Path | None = None


_state = _State()


def _version(value: bool) -> None:
    if value:
        print(f"sphere {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    root: Annotated[
        Path | None,
        typer.Option(help="The newsletter project's folder (default: found from the current one)."),
    ] = None,
    debug: Annotated[bool, typer.Option(help="Show a traceback on errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Sphere: ideas for improving execution in the sales process, published from git."""
    _state.debug = debug
    _state.root = root


def load() -> Settings:
    """The validated settings of the project this command runs in."""
    from sphere.settings import load_settings

    return load_settings(_state.root)


def _register() -> None:
    # NOTE: command modules import only Typer and the standard library at module level.
    from sphere.cli import build, check, preview, subscribers

    for module in (build, check, preview, subscribers):
        module.register(app)
    from sphere.cli import send  # `send` and `status` (issue 10)

    send.register(app)


_register()


def main() -> None:
    """Run the CLI, turning the library's errors into one-line messages and exit statuses."""
    try:
        app()
    except SphereError as error:
        if _state.debug:
            raise
        for line in str(error).splitlines():
            # Located errors read `file:line: error: ...`; give the others the same word.
            located = line.startswith("error:") or ": error: " in line
            print(line if located else f"error: {line}", file=sys.stderr)
        sys.exit(int(error.exit_status))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(int(ExitStatus.OK))
