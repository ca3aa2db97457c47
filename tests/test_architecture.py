"""The package's shape, as DESIGN.md draws it: dependencies run one way, AWS stays behind the
store, and no module grows past what a newcomer can read in one sitting.

Each rule reads the source (every import, the lazy ones inside functions too), so a test here
fails the moment a change breaks the rule, before any behaviour does.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sphere"
MAX_LINES = 400
# A module may pass MAX_LINES only when it says why, on a line starting with this.
SIZE_REASON = "# Longer than 400 lines because"


def modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported(path: Path) -> set[str]:
    """Every module name `path` imports (both the module and module.name for `from` imports)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


MODULES = modules()


@pytest.mark.parametrize("name", sorted(MODULES))
def test_only_the_cli_imports_the_build(name: str) -> None:
    if within(name, "sphere.cli") or within(name, "sphere.build"):
        return
    wrong = sorted(m for m in imported(MODULES[name]) if within(m, "sphere.build"))
    assert not wrong, f"{name} imports {wrong}: only sphere.cli may import the build"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_only_the_store_talks_to_aws(name: str) -> None:
    if within(name, "sphere.store"):
        return
    wrong = sorted(
        m for m in imported(MODULES[name]) if within(m, "boto3") or within(m, "botocore")
    )
    assert not wrong, f"{name} imports {wrong}: boto3 clients come from sphere.store"


# botocore's exception classes, which only sphere.store.aws may tell apart.
BOTOCORE_ERRORS = ("ClientError", "EndpointConnectionError", "ReadTimeoutError",
                   "ConnectionClosedError", "NoCredentialsError", "HTTPClientError")  # fmt: skip


@pytest.mark.parametrize("name", sorted(MODULES))
def test_botocore_errors_are_read_by_the_store_only(name: str) -> None:
    """The edges that call AWS catch `aws.errors()` and ask `aws.classify`, rather than match
    exceptions by class name under a blind `except Exception`."""
    if name == "sphere.store.aws" or within(name, "sphere.store"):
        return
    text = MODULES[name].read_text(encoding="utf-8")
    wrong = [word for word in (*BOTOCORE_ERRORS, "__mro__") if f'"{word}' in text]
    assert not wrong, f"{name} names botocore's errors {wrong}: use sphere.store.aws.classify"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_nothing_below_the_web_imports_it(name: str) -> None:
    if within(name, "sphere.cli") or within(name, "sphere.web"):
        return
    wrong = sorted(m for m in imported(MODULES[name]) if within(m, "sphere.web"))
    assert not wrong, f"{name} imports {wrong}: the endpoints stand on the library, not under it"


# Reaching into other projects' internals: a name-mangled private method (used or overridden),
# a swapped class, the interpreter's exit handlers or frames, a copied method's source.
PRIVATE_REACH = re.compile(
    r"\._[A-Z][A-Za-z]+__[a-z]|def _[A-Z][A-Za-z]+__[a-z]|__class__ *= |atexit\._|os\._exit\("
    r"|sys\._getframe|inspect\.getsource"
)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_stock_libraries_through_public_apis_only(name: str) -> None:
    text = MODULES[name].read_text(encoding="utf-8")
    found = [match.group(0) for match in PRIVATE_REACH.finditer(text)]
    assert not found, f"{name} reaches into private internals: {found} (see CONTRIBUTING.md)"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_nothing_below_the_preview_imports_it(name: str) -> None:
    if within(name, "sphere.cli") or within(name, "sphere.preview"):
        return
    wrong = sorted(m for m in imported(MODULES[name]) if within(m, "sphere.preview"))
    assert not wrong, f"{name} imports {wrong}: the preview stands on the library, not under it"


# What the subscriber list stands on: it is the newsletter's one irreplaceable data, below every
# stage that reads it (sending, welcomes, feedback, the endpoints), and it imports none of them.
SUBSCRIBERS_STAND_ON = ("sphere.subscribers", "sphere.store", "sphere.errors", "sphere.settings",
                        "sphere.clock", "sphere.private")  # fmt: skip


@pytest.mark.parametrize("name", sorted(n for n in MODULES if within(n, "sphere.subscribers")))
def test_the_subscribers_import_no_stage_above_them(name: str) -> None:
    ours = (m for m in imported(MODULES[name]) if within(m, "sphere") and m != "sphere")
    wrong = sorted(m for m in ours if not any(within(m, base) for base in SUBSCRIBERS_STAND_ON))
    assert not wrong, f"{name} imports {wrong}: the subscriber list stands below the stages"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_readable(name: str) -> None:
    text = MODULES[name].read_text(encoding="utf-8")
    lines = text.count("\n")
    assert lines <= MAX_LINES or SIZE_REASON in text, (
        f"{name} has {lines} lines: split it, or say why on a line starting {SIZE_REASON!r}"
    )


def test_the_rules_see_a_violation(tmp_path: Path) -> None:
    """The import reader finds lazy imports inside functions, which the rules depend on."""
    source = tmp_path / "lazy.py"
    source.write_text(
        "def f():\n    from sphere.build.pipeline import build_all\n    import boto3\n"
    )
    assert {"sphere.build.pipeline", "boto3"} <= imported(source)
