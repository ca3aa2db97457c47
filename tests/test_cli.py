"""The command itself: entry points, start-up cost, help and docs for every command."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer.main
from fixtures_project import Result, write_issue

from sphere import __version__
from sphere.build.cache import CACHE_DIR, INDEX
from sphere.cli import app
from sphere.errors import ExitStatus

REPO = Path(__file__).resolve().parent.parent


def _commands() -> list[tuple[str, Any]]:
    """Every command and sub-command, by its full name (`subscribers add`)."""
    found = []

    def walk(command: Any, prefix: str) -> None:
        if hasattr(command, "list_commands"):  # a group (Typer vendors its own click)
            context = typer.Context(command)
            for name in command.list_commands(context):  # (the top group loads them lazily)
                walk(command.get_command(context, name), f"{prefix} {name}".strip())
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


def _modules_after(args: list[str], cwd: Path | None = None) -> tuple[str, set[str]]:
    """What `sphere ARGS` prints, and every module it imported, in a new Python."""
    code = (
        "import json, sys; from sphere.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=True
    )
    return done.stdout, set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_start_up_imports_nothing_heavy() -> None:
    """`sphere --help` must stay fast: boto3, Markdown, MJML and Playwright load on demand."""
    out, modules = _modules_after(["--help"])
    assert "Commands:" in out  # every command module loaded, for the list
    heavy = ("boto3", "botocore", "markdown", "mjml", "jinja2", "playwright", "yaml")
    assert [m for m in (*heavy, "email_validator") if m in modules] == []


def test_a_build_imports_only_what_it_uses(project: Path) -> None:
    """`sphere build` starts no subscriber, sending, store, check, preview or web module."""
    out, modules = _modules_after(["build"], cwd=project)
    assert "built 1 issue" in out
    unused = ("subscribers", "send", "store", "checks", "preview", "web", "screenshots")
    assert [m for m in modules if m.split(".")[:2] in [["sphere", u] for u in unused]] == []
    assert [m for m in ("boto3", "playwright") if m in modules] == []


def test_a_build_that_finds_nothing_changed_loads_no_renderer(project: Path) -> None:
    """Nothing to do is quick: no Jinja, no theme, no worker pool (a tenth of a second)."""
    assert subprocess.run([sys.executable, "-m", "sphere", "build"], cwd=project).returncode == 0
    out, modules = _modules_after(["build"], cwd=project)
    assert "built 1 issue" in out
    renderer = ("jinja2", "sphere.render.email", "sphere.archive", "sphere.build.worker")
    assert [m for m in (*renderer, "concurrent.futures") if m in modules] == []


def test_a_command_loads_only_its_own_module_of_the_cli(project: Path) -> None:
    """Each command module is imported (and converted by Typer) when its command is asked for:
    `sphere build` neither imports nor converts `send`, `subscribers` and the others."""
    from sphere.cli import COMMAND_MODULES

    out, modules = _modules_after(["build", "--help"], cwd=project)
    assert "Render every issue" in out  # the build's help
    assert sorted(m for m in COMMAND_MODULES if f"sphere.cli.{m}" in modules) == ["build"]


def test_at_exit_the_cli_leaves_memory_to_the_system(project: Path) -> None:
    """The interpreter's last collections skip what the command left (`gc.freeze` at exit, after
    the other exit handlers), and what the command wrote is whole."""
    code = (
        "import atexit, gc, sys\n"
        # Registered before `main` registers its own: so it runs after it.
        "atexit.register(lambda: print('frozen:', gc.get_freeze_count() > 0, file=sys.stderr))\n"
        "from sphere.cli import main\n"
        "main(['build'])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == "frozen: True"
    eml = next((project / "dist" / "email").glob("*.eml")).read_text()
    assert eml.rstrip().endswith("--")  # the last MIME boundary: the file is complete


def test_the_statuses_in_the_cli_are_the_subscribers_statuses() -> None:
    from sphere.cli.subscribers import STATUS_NAMES
    from sphere.subscribers.model import STATUSES

    assert STATUS_NAMES.split(", ") == list(STATUSES)


DOCS = (REPO / "README.md").read_text(encoding="utf-8") + "".join(
    path.read_text(encoding="utf-8") for path in sorted((REPO / "docs").glob("*.md"))
)
COMMANDS = _commands()


def test_the_commands_are_found() -> None:
    names = [name for name, _ in COMMANDS]
    assert {"build", "check", "preview", "subscribers add", "subscribers import"} <= set(names)


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[name for name, _ in COMMANDS])
def test_every_command_has_help_and_is_documented(name: str, command: Any) -> None:
    assert command.help and command.help.strip(), f"`sphere {name}` has no help text"
    assert re.search(rf"\bsphere {re.escape(name)}\b", DOCS), f"`sphere {name}` is not in the docs"


def help_of(sphere: Callable[..., Result], *words: str) -> str:
    result = sphere(*words, "--help")
    assert result.status == 0, result.err
    return result.out


@pytest.mark.parametrize("name", ["", *(name for name, _ in COMMANDS), "subscribers"])
def test_help_is_plain_and_whole(sphere: Callable[..., Result], name: str) -> None:
    text = help_of(sphere, *name.split())

    assert text.startswith(f"Usage: sphere {name}".rstrip() + " ")
    assert not re.search(r"<(str|int|float|path)\b[^>]*>", text), "a vague metavar"
    pairs = set(re.findall(r"--([\w-]+) / --no-\1\b", text))
    assert pairs <= {"drafts"}, "a --flag / --no-flag pair (only --drafts has one, as git's do)"
    assert "..." not in text.replace("COMMAND [ARGS]...", ""), "a summary cut off"
    usage = text.splitlines()[0]
    assert not re.search(r"[{\[][a-z]+[}\]]", usage), "an argument not written in capitals"
    assert "{" not in usage, "a required argument written {ISSUE}, not ISSUE as git and gh do"


@pytest.mark.parametrize("name", ["build", "preview"])
def test_drafts_are_a_pair_of_flags_on_build_and_preview(
    sphere: Callable[..., Result], name: str
) -> None:
    assert "--drafts / --no-drafts" in help_of(sphere, name)


def test_dash_h_is_help(sphere: Callable[..., Result]) -> None:
    assert sphere("-h").out == help_of(sphere)
    assert sphere("preview", "-h").out == help_of(sphere, "preview")


def test_the_top_level_help_names_only_commands_that_exist(sphere: Callable[..., Result]) -> None:
    text = help_of(sphere)
    listed = re.findall(r"^  (\w+)  ", text[text.index("Commands:") :], re.MULTILINE)

    assert listed == [
        "build", "check", "preview", "send", "status", "serve", "deploy", "publish", "report",
        "welcome", "subscribers", "feedback",
    ]  # fmt: skip


def test_the_exit_statuses_are_documented() -> None:
    docs = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    table = docs[docs.index("## Exit statuses") :]
    documented = [int(n) for n in re.findall(r"^\| (\d+) \|", table, re.MULTILINE)]

    assert documented == [int(status) for status in ExitStatus]


def test_a_missing_root_folder_says_so(
    project: Path, sphere: Callable[..., Result], tmp_path: Path
) -> None:
    result = sphere("--root", str(tmp_path / "nowhere"), "check")

    assert result.status == 2
    assert f"Invalid value for '--root': Directory '{tmp_path / 'nowhere'}' does not exist." in (
        result.err
    )


def test_check_counts_in_proper_plurals(project: Path, sphere: Callable[..., Result]) -> None:
    # (drafts: a ready issue dated in the past is an error of its own)
    write_issue(project, "2026-10-01-one", status="draft", summary='""')  # an error
    for name in ("2026-10-02-two", "2026-10-03-three"):  # a warning each
        write_issue(project, name, status="draft", body="[a](http://www.jimwigg.com/)\n")

    result = sphere("check")

    assert result.status == 1
    assert result.err.splitlines()[-1] == "checked 4 issues: 1 error, 2 warnings"


# --- Ctrl-C and the library's log records ----------------------------------------------------


def _interrupt_at_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """Send this process a real SIGINT (Ctrl-C) when a command loads the settings."""
    import sphere.settings

    def load_and_interrupt(*args: Any, **kwargs: Any) -> Any:
        os.kill(os.getpid(), signal.SIGINT)
        return sphere.settings.find_root()  # (not reached: the signal raises first)

    monkeypatch.setattr(sphere.settings, "load_settings", load_and_interrupt)


@pytest.mark.parametrize("command", ["check", "build", "subscribers count"])
def test_ctrl_c_prints_one_line_and_exits_130(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    _interrupt_at_load(monkeypatch)

    result = sphere(*command.split())

    assert (result.status, result.out) == (ExitStatus.INTERRUPTED, "")
    assert result.err == f"interrupted: `sphere {command}` stopped before it finished\n"


def _log_when_loading(monkeypatch: pytest.MonkeyPatch, project: Path) -> None:
    """Make the library log a warning and a step, naming a file by its absolute path."""
    import sphere.settings

    load = sphere.settings.load_settings

    def load_and_log(*args: Any, **kwargs: Any) -> Any:
        log = logging.getLogger("sphere.settings")
        log.warning("something odd in %s", project / "content" / "issues")
        log.info("loaded the settings from %s", project / "pyproject.toml")
        return load(*args, **kwargs)

    monkeypatch.setattr(sphere.settings, "load_settings", load_and_log)


@pytest.mark.parametrize(
    ("options", "lines"),
    [
        ((), ["warning: something odd in content/issues"]),
        (
            ("-v",),
            ["warning: something odd in content/issues", "loaded the settings from pyproject.toml"],
        ),
        (
            ("--verbose",),
            ["warning: something odd in content/issues", "loaded the settings from pyproject.toml"],
        ),
        (("-q",), []),
        (("--quiet",), []),
    ],
)
def test_library_warnings_show_as_warning_lines_with_relative_paths(
    project: Path,
    sphere: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    options: tuple[str, ...],
    lines: list[str],
) -> None:
    _log_when_loading(monkeypatch, project)

    result = sphere(*options, "check")

    assert result.status == 0
    assert result.err.splitlines() == [*lines, "checked 1 issue: no problems"]


def test_verbose_and_quiet_together_are_a_usage_error(sphere: Callable[..., Result]) -> None:
    result = sphere("-v", "-q", "check")

    assert result.status == 2
    assert "use one of --verbose and --quiet" in result.err


def test_a_damaged_build_cache_is_one_warning_line(
    project: Path, sphere: Callable[..., Result]
) -> None:
    assert sphere("build").status == 0
    (project / CACHE_DIR / INDEX).write_text("{not json", encoding="utf-8")

    result = sphere("build", "--drafts")  # another build than the last: the cache is read

    assert result.status == 0
    warnings = [line for line in result.err.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: ignoring the unreadable build cache {CACHE_DIR / INDEX}: "
        "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
    ]


def test_the_cli_leaves_logging_as_it_found_it(
    project: Path, sphere: Callable[..., Result]
) -> None:
    logger = logging.getLogger("sphere")
    before = (logger.level, list(logger.handlers))

    sphere("-v", "check")

    assert (logger.level, list(logger.handlers)) == before


def test_no_arguments_shows_help(sphere: Callable[..., Result]) -> None:
    result = sphere()
    assert "Usage: sphere" in result.out + result.err
    assert "build" in result.out + result.err


def test_a_wrong_option_is_a_usage_error(sphere: Callable[..., Result]) -> None:
    result = sphere("build", "--colour")
    assert result.status == 2
    assert "No such option: --colour" in result.err


def test_the_readme_runs_sphere_through_uv() -> None:
    """`sphere` lives in .venv: a bare `sphere ...` in the README would not be found."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"(?:^|`)((?:python3 -m )?(?:uv run )?sphere [\w-][^`\n]*)", readme, re.M)

    assert commands, "the README shows no sphere command"
    bare = [command for command in commands if not re.match(r"(python3 -m )?uv run ", command)]
    assert bare == []


def test_the_images_folder_the_readme_names_is_in_the_repository() -> None:
    assert "`content/images/`" in (REPO / "README.md").read_text(encoding="utf-8")
    tracked = subprocess.run(
        ["git", "ls-files", "content/images"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tracked, "content/images/ holds no tracked file, so a clone has no such folder"
