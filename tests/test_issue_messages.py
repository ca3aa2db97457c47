"""What a new author is told when an issue is wrong: the line of the mistake, and how to fix it.

Each case goes through `sphere build` (one line on stderr, exit 1, nothing written) and
`sphere check` (the same place, as a `content/invalid` finding).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures_project import Result, write_issue

NAME = "2026-10-01-new"
ISSUE = f"content/issues/{NAME}.md"


def front(text: str) -> Callable[[Path], None]:
    def write(root: Path) -> None:
        (root / ISSUE).write_bytes(b"---\n" + text.encode("utf-8") + b"---\n\nText.\n")

    return write


CASES: list[tuple[str, Callable[[Path], None], str]] = [
    (
        "an unclosed quote (the parser stops at the end)",
        front('title: "Unclosed\ndate: 2026-10-01\nsummary: x\nstatus: ready\n'),
        f"{ISSUE}:2: error: front matter is not valid YAML: found unexpected end of stream "
        "(a quote is not closed)",
    ),
    (
        "a colon in a value",
        front("title: Tip: listen\ndate: 2026-10-01\nsummary: x\n"),
        f"{ISSUE}:2: error: front matter is not valid YAML: mapping values are not allowed "
        "in this context (put a value that holds ': ' in quotes)",
    ),
    (
        "a key without its colon (the parser stops a line later)",
        front("title: ok\ndate 2026-10-01\nsummary: x\n"),
        f"{ISSUE}:3: error: front matter is not valid YAML: could not find expected ':' "
        "(a line is missing its ':' after the key)",
    ),
    (
        "a date that does not exist",
        lambda root: write_issue(root, NAME, date="2027-02-29"),
        f"{ISSUE}:3: error: 'date' 2027-02-29 does not exist: February 2027 has 28 days",
    ),
    (
        "month 13",
        lambda root: write_issue(root, NAME, date="2027-13-01"),
        f"{ISSUE}:3: error: 'date' 2027-13-01 does not exist: there is no month 13",
    ),
    (
        "a literal {{ in prose",
        lambda root: write_issue(root, NAME, body="Text.\n\nWrite {{name}} and {{ here.\n"),
        f"{ISSUE}:10: error: expected name or number "
        "(to show a literal {{ or {%, write {{ '{{' }} or put the text between {% raw %} "
        "and {% endraw %})",
    ),
    (
        "a file that is not UTF-8",
        lambda root: (root / ISSUE).write_bytes(
            b"---\ntitle: Caf\xe9 culture\ndate: 2026-10-01\nsummary: x\n---\n\nText.\n"
        ),
        f"{ISSUE}:2: error: not UTF-8 text (byte 0xe9); save the file as UTF-8 (most editors "
        "offer it under 'Save with encoding')",
    ),
]


@pytest.mark.parametrize(("setup", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_message_names_the_line_of_the_mistake_and_the_fix(
    project: Path, sphere: Callable[..., Result], setup: Callable[[Path], None], expected: str
) -> None:
    setup(project)
    built = sphere("build")
    assert (built.status, built.err) == (1, expected + "\n")
    assert not (project / "dist").exists()
    checked = sphere("check")
    where, message = expected.split(": error: ", 1)
    assert f"{where}: error: content/invalid {message}\n" in checked.out


def test_a_literal_brace_written_as_the_hint_says_shows(
    project: Path, sphere: Callable[..., Result]
) -> None:
    write_issue(project, NAME, body="Write {{ '{{' }}name}} or {% raw %}{{ name }}{% endraw %}.\n")
    assert sphere("build").status == 0
    assert "Write {{name}} or {{ name }}." in (project / "dist/email/new.txt").read_text("utf-8")
