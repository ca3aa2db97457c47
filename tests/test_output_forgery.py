"""A file's name is anyone's text (a pull request chooses it): printed, it must stay one line
of plain text. A newline would forge a finding, an ANSI escape would rewrite the terminal, and
backticks would close the CI summary's code block and let the rest render as Markdown.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures_project import REPO, SEED_ISSUE, Result

from sphere.errors import printable

FORGED = "2026-11-01-x\n```\n# Approved\x1b[2J\u202e.md"


@pytest.fixture
def forged(project: Path) -> Path:
    """The project with a copy of the seed issue under a forging name."""
    shutil.copy(project / SEED_ISSUE, project / "content" / "issues" / FORGED)
    return project


def test_check_shows_a_forging_name_on_one_escaped_line(
    forged: Path, sphere: Callable[..., Result]
) -> None:
    result = sphere("check")

    assert result.status == 1
    shown = result.out + result.err
    assert "\x1b" not in shown and "\u202e" not in shown
    (line,) = [
        line for line in shown.splitlines() if line.startswith("content/issues/2026-11-01-x")
    ]
    assert line.startswith(
        r"content/issues/2026-11-01-x\n```\n# Approved\x1b[2J\u202e.md:1: error: content/invalid "
    )
    assert shown.splitlines()[-1] == "checked 2 issues: 1 error, 0 warnings"
    assert len(shown.splitlines()) == 2


def test_an_error_naming_a_forging_file_is_one_line(
    forged: Path, sphere: Callable[..., Result]
) -> None:
    result = sphere("build")

    assert result.status == 1
    (line,) = result.err.splitlines()
    assert line.startswith(
        r"content/issues/2026-11-01-x\n```\n# Approved\x1b[2J\u202e.md:1: error: "
    )


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain words, é and emoji 🌍", "plain words, é and emoji 🌍"),
        ("a\nb\r\tc", r"a\nb\r\tc"),
        ("\x1b[2J\x07\x00\x7f\x85", r"\x1b[2J\x07\x00\x7f\x85"),
        ("\u202eevil\u2066\u2028", r"\u202eevil\u2066\u2028"),
    ],
)
def test_printable_escapes_control_characters_only(text: str, shown: str) -> None:
    assert printable(text) == shown


def _code_blocks(markdown: str) -> list[str]:
    """The fenced code blocks of `markdown`, by CommonMark's rule for backtick fences: a block
    ends at a line of at least as many backticks as opened it, and nothing else."""
    blocks, lines = [], markdown.split("\n")
    index = 0
    while index < len(lines):
        opening = re.fullmatch(r"(`{3,})[^`]*", lines[index])
        if opening is None:
            index += 1
            continue
        fence, body = opening.group(1), []
        index += 1
        while index < len(lines) and not re.fullmatch(f"{fence}`*\\s*", lines[index]):
            body.append(lines[index])
            index += 1
        blocks.append("\n".join(body))
        index += 1
    return blocks


@pytest.mark.skipif(shutil.which("bash") is None, reason="the summary is a bash script")
def test_the_ci_summary_keeps_a_forging_name_inside_its_block_and_cell(forged: Path) -> None:
    (forged / "dist" / "email").mkdir(parents=True)
    (forged / "dist" / "email" / "a|b```\nc.html").write_bytes(b"<p>hi</p>")
    summary = forged / "summary.md"
    env = {  # as CI runs it: Python's output buffered in a pipe (no PYTHONUNBUFFERED)
        **{k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"},
        "GITHUB_STEP_SUMMARY": str(summary),
        "SPHERE": f"{sys.executable} -m sphere",
    }

    subprocess.run(["bash", str(REPO / "tools" / "ci-summary.sh")], cwd=forged, env=env, check=True)

    text = summary.read_text(encoding="utf-8")
    assert "\x1b" not in text
    (check,) = _code_blocks(text)
    assert check.endswith("checked 2 issues: 1 error, 0 warnings")
    assert "# Approved" not in text.replace(check, "")  # no heading of the name's own
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == ["## Content check", "## Emails", "## Preview"]
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert rows == ["| `a?b????c` | 1 KB | fits |"]


def test_the_publish_summary_fences_any_output_whole() -> None:
    """publish.yml's summary shows publish.log and `sphere status` through tools/fenced.sh."""
    output = "sent 3\n`````\n# Approved\n\x1b[2Jdone\n"
    fenced = subprocess.run(
        ["bash", str(REPO / "tools" / "fenced.sh")], input=output.encode(), capture_output=True,
        check=True,
    ).stdout.decode()  # fmt: skip

    assert _code_blocks(fenced) == ["sent 3\n`````\n# Approved\n[2Jdone"]
    assert "bash tools/fenced.sh" in (REPO / ".github" / "workflows" / "publish.yml").read_text()
