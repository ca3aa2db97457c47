"""The command itself: entry points, start-up cost, help and docs for every command."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer.main
from fixtures_project import Result

from sphere import __version__
from sphere.cli import app

REPO = Path(__file__).resolve().parent.parent


def _commands() -> list[tuple[str, Any]]:
    """Every command and sub-command, by its full name (`subscribers add`)."""
    found = []

    def walk(command: Any, prefix: str) -> None:
        if hasattr(command, "commands"):  # a group (Typer vendors its own click)
            for name, sub in command.commands.items():
                walk(sub, f"{prefix} {name}".strip())
        else:
            found.append((prefix, command))

    walk(typer.main.get_command(app), "")
    return found


def test_version(sphere: Callable[..., Result]) -> None:
    result = sphere("--version")
    assert (result.status, result.out) == (0, f"sphere {__version__}\n")


def test_python_dash_m_runs_the_same_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sphere", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout == f"sphere {__version__}\n"


def test_start_up_imports_nothing_heavy() -> None:
    """`sphere --help` must stay fast: boto3, Markdown, MJML and Playwright load on demand."""
    code = (
        "import sys; from sphere.cli import app; "
        "heavy = [m for m in ('boto3', 'botocore', 'markdown', 'mjml', 'jinja2', 'playwright', "
        "'yaml', 'email_validator') if m in sys.modules]; print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_every_command_has_help_and_is_documented() -> None:
    docs = (REPO / "README.md").read_text(encoding="utf-8") + "".join(
        p.read_text(encoding="utf-8") for p in sorted((REPO / "docs").glob("*.md"))
    )
    names = [name for name, _ in _commands()]
    assert {"build", "check", "preview", "subscribers add", "subscribers import"} <= set(names)
    for name, command in _commands():
        assert command.help and command.help.strip(), f"`sphere {name}` has no help text"
        assert f"sphere {name}" in docs or name.split()[-1] in docs, (
            f"`sphere {name}` is not in the docs"
        )


def test_no_arguments_shows_help(sphere: Callable[..., Result]) -> None:
    result = sphere()
    assert "Usage: sphere" in result.out + result.err
    assert "build" in result.out + result.err


def test_a_wrong_option_is_a_usage_error(sphere: Callable[..., Result]) -> None:
    result = sphere("build", "--colour")
    assert result.status == 2
    assert "No such option: --colour" in result.err
