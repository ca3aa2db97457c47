"""A broken issue, template or setting: one line naming the place, exit 1, dist/ untouched."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures_project import SEED_ISSUE, Result, pretend_cores, snapshot, write_fillers, write_issue

ISSUE = "content/issues/2026-11-01-broken.md"


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_with(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if needle in line)


# (what breaks, how to break it, the exact error line, or how to work it out from the project)
BROKEN: list[tuple[str, Callable[[Path], None], str | Callable[[Path], str]]] = [
    (
        "bad YAML",
        lambda p: write_issue(p, "2026-11-01-broken", title="[unclosed"),
        f"{ISSUE}:2: error: front matter is not valid YAML: did not find expected ',' or ']' "
        "(a '[' is not closed: put a value that starts with '[' in quotes)",
    ),
    (
        "missing title",
        lambda p: write_issue(p, "2026-11-01-broken", title=None),
        f"{ISSUE}:1: error: missing 'title' in the front matter",
    ),
    (
        "invalid date",
        lambda p: write_issue(p, "2026-11-01-broken", date="26/11/2026"),
        f"{ISSUE}:3: error: 'date' must be YYYY-MM-DD, got '26/11/2026'",
    ),
    (
        "impossible date",
        lambda p: write_issue(p, "2026-11-01-broken", date="2026-02-30"),
        f"{ISSUE}:3: error: 'date' 2026-02-30 does not exist: February 2026 has 28 days",
    ),
    (
        "bad status",
        lambda p: write_issue(p, "2026-11-01-broken", status="sent"),
        f"{ISSUE}:5: error: 'status' must be draft or ready, got 'sent'",
    ),
    (
        "no front matter",
        lambda p: (p / ISSUE).write_text("# Just text\n", encoding="utf-8"),
        f"{ISSUE}:1: error: missing front matter: the file must start with a '---' line",
    ),
    (
        "unknown variable in the issue",
        lambda p: write_issue(p, "2026-11-01-broken", body="Call {{ site.fone }} now.\n"),
        f"{ISSUE}:8: error: undefined template variable site.fone",
    ),
    (
        "missing image",
        lambda p: write_issue(
            p, "2026-11-01-broken", body="Text.\n\n![A chart](images/chart.png)\n"
        ),
        lambda p: (
            f"{ISSUE}:10: error: image 'images/chart.png' not found"
            f" (looked for {p / 'content/images/chart.png'})"
        ),
    ),
    (
        "unknown variable in a template",
        lambda p: _replace(
            p / "templates/email/issue.mjml.j2", "{{ issue.title }}</h1>", "{{ issue.titel }}</h1>"
        ),
        lambda p: (
            f"templates/email/issue.mjml.j2:{_line_with(p / 'templates/email/issue.mjml.j2', 'issue.titel')}: "
            "error: undefined template variable issue.titel"
        ),
    ),
    (
        "template that does not parse",
        lambda p: _replace(p / "templates/web/index.html.j2", "{% endif %}", "{% endiff %}"),
        lambda p: (
            f"templates/web/index.html.j2:{_line_with(p / 'templates/web/index.html.j2', 'endiff')}: "
            "error: Encountered unknown tag 'endiff'. Jinja was looking for the following tags:"
            " 'elif' or 'else' or 'endif'. The innermost block that needs to be closed is 'if'."
        ),
    ),
    (
        "MJML broken by the template",
        lambda p: _replace(p / "templates/email/issue.mjml.j2", "<mj-body ", "<mj-body <"),
        "templates/email/issue.mjml.j2: error: MJML did not parse: unable to parse next template in root template",
    ),
    (
        "duplicate slug",
        lambda p: write_issue(p, "2026-10-01-hard-sell-or-soft-sell"),
        "content/issues/2026-12-01-hard-sell-or-soft-sell.md:1: error: slug 'hard-sell-or-soft-sell' "
        "is already used by 2026-10-01-hard-sell-or-soft-sell.md: rename the file or set another 'slug'",
    ),
    (
        "no templates folder",
        lambda p: shutil.rmtree(p / "templates"),
        "templates/email/theme.toml: error: theme file not found",
    ),
    (
        "bad setting",
        lambda p: _replace(p / "pyproject.toml", 'list_id = "sphere.jimwigg.com"', "list_id = 5"),
        lambda p: (
            f"pyproject.toml:{_line_with(p / 'pyproject.toml', 'list_id = 5')}: "
            "error: [tool.sphere].list_id: expected a string, got int"
        ),
    ),
]


@pytest.mark.parametrize(("what", "breakage", "expected"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_input_gives_one_line_and_leaves_dist_intact(
    project: Path,
    sphere: Callable[..., Result],
    what: str,
    breakage: Callable[[Path], None],
    expected: str,
) -> None:
    first = sphere("build")
    assert first.status == 0, first.err
    before = snapshot(project / "dist")

    breakage(project)
    if callable(expected):
        expected = expected(project)
    result = sphere("build")

    assert result.status == 1
    assert result.out == ""
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0] == expected
    assert "Traceback" not in result.err
    assert snapshot(project / "dist") == before
    assert sorted(p.name for p in project.iterdir() if p.name.startswith(".dist")) == []


@pytest.mark.parametrize(("what", "breakage", "expected"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_input_in_a_build_of_many_issues_is_one_line_too(
    project: Path,
    sphere: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    what: str,
    breakage: Callable[[Path], None],
    expected: str | Callable[[Path], str],
) -> None:
    """Built by several processes, which start (and compile templates) while this one loads
    the issues and writes the index: the same one line, whichever process met it first, and
    neither the staging folder nor the build's folder of compiled templates is left."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    pretend_cores(monkeypatch, 2)
    write_fillers(project)
    assert sphere("build").status == 0
    assert list(temporary.iterdir()) == []
    before = snapshot(project / "dist")
    shutil.rmtree(project / ".sphere")  # no build on record: the workers start at once

    breakage(project)
    result = sphere("build")

    assert result.status == 1
    assert result.err.splitlines() == [expected(project) if callable(expected) else expected]
    assert snapshot(project / "dist") == before
    assert [p.name for p in project.iterdir() if p.name.startswith(".dist")] == []
    assert list(temporary.iterdir()) == []


def test_the_real_command_prints_no_traceback(project: Path) -> None:
    (project / SEED_ISSUE).write_text("---\ntitle: [\n---\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "sphere", "build"],
        capture_output=True,
        text=True,
        cwd=project,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr == (
        f"{SEED_ISSUE}:2: error: front matter is not valid YAML: did not find expected node content\n"
    )
    assert "Traceback" not in done.stderr


def test_debug_shows_the_traceback(project: Path, sphere: Callable[..., Result]) -> None:
    (project / SEED_ISSUE).write_text("no front matter\n", encoding="utf-8")
    from sphere.errors import ContentError

    with pytest.raises(ContentError):
        sphere("--debug", "build")


def test_an_output_folder_that_cannot_be_written(
    project: Path, sphere: Callable[..., Result]
) -> None:
    (project / "notes.txt").write_text("a file, not a folder\n", encoding="utf-8")
    result = sphere("build", "--out", "notes.txt/dist")
    assert result.status == 1
    assert result.err == "error: cannot write to notes.txt/dist: notes.txt is a file\n"


def test_an_output_path_that_is_a_file(project: Path, sphere: Callable[..., Result]) -> None:
    (project / "dist").write_text("not a folder\n", encoding="utf-8")
    result = sphere("build")
    assert result.status == 1
    assert result.err == "error: dist exists and is not a folder; choose another --out\n"
    assert (project / "dist").read_text(encoding="utf-8") == "not a folder\n"
    assert [p.name for p in project.iterdir() if p.name.startswith(".dist")] == []


def test_the_output_is_readable_by_others(project: Path, sphere: Callable[..., Result]) -> None:
    assert sphere("build").status == 0
    assert (project / "dist").stat().st_mode & 0o777 == 0o777 & ~_umask()


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_an_unwritable_cache_does_not_stop_the_build(
    project: Path, sphere: Callable[..., Result]
) -> None:
    (project / ".sphere").write_text("in the way\n", encoding="utf-8")
    result = sphere("build")
    assert result.status == 0, result.err
    assert (project / "dist/email/hard-sell-or-soft-sell.eml").is_file()


def test_no_issues_folder_is_an_error(project: Path, sphere: Callable[..., Result]) -> None:
    import shutil

    shutil.rmtree(project / "content/issues")
    result = sphere("build")
    assert (result.status, result.err) == (1, "error: no issues folder at content/issues/\n")


def _huge_issue(project: Path) -> Path:
    """An issue whose email is over Gmail's 102 KB clipping limit."""
    paragraph = "A sentence about sales that goes on for a while, " * 20 + "\n\n"
    return write_issue(project, "2026-10-01-huge", body=paragraph * 120)


def test_an_email_gmail_would_clip_is_a_warning(
    project: Path, sphere: Callable[..., Result]
) -> None:
    _huge_issue(project)
    result = sphere("build")
    assert result.status == 0
    (warning,) = result.err.splitlines()  # at the body's first line
    assert warning.startswith("content/issues/2026-10-01-huge.md:8: warning: email/clipped ")
    assert "Gmail clips messages over 102 KB" in warning
    assert (project / "dist/email/huge.html").is_file()
    again = sphere("build")  # nothing changed: nothing is built, and the warning still shows
    assert (again.status, again.err) == (0, result.err)
    strict = sphere("build", "--strict")
    assert (strict.status, strict.err) == (1, warning.replace(": warning: ", ": error: ") + "\n")


def test_strict_makes_it_an_error_and_leaves_dist_intact(
    project: Path, sphere: Callable[..., Result]
) -> None:
    assert sphere("build").status == 0
    before = snapshot(project / "dist")
    _huge_issue(project)
    result = sphere("build", "--strict")
    assert (result.status, result.out) == (1, "")
    (error,) = result.err.splitlines()
    assert error.startswith("content/issues/2026-10-01-huge.md:8: error: email/clipped ")
    assert snapshot(project / "dist") == before


def test_ctrl_c_says_so_in_one_line_and_leaves_dist_as_it_was(project: Path) -> None:
    """Interrupted while the issues are being built (by several processes): one line, status
    130, the previous dist/ untouched and no staging folder left behind."""
    import signal
    import time

    text = "Some words about the sales process and how managers coach. " * 60 + "\n\n"
    for number in range(300):
        write_issue(project, f"2020-01-01-issue-{number:03d}", body=text * 4)
    command = [sys.executable, "-m", "sphere", "build"]
    first = subprocess.run(command, cwd=project, capture_output=True, check=False)
    assert first.returncode == 0, first.stderr
    before = snapshot(project / "dist")
    for path in (project / "content/issues").glob("2020-*.md"):  # so every issue renders again
        path.write_text(path.read_text("utf-8") + "\nEdited.\n", "utf-8")
    build = subprocess.Popen(command, cwd=project, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not list(project.glob(".dist.building-*/email/*.eml")):  # issues are being written
        assert build.poll() is None and time.monotonic() < deadline, "the build ended first"
        time.sleep(0.005)
    build.send_signal(signal.SIGINT)
    _, err = build.communicate(timeout=60)
    assert build.returncode == 130
    assert err == "interrupted: dist/ is as it was; run sphere build again\n"
    assert snapshot(project / "dist") == before
    assert [p.name for p in project.iterdir() if p.name.startswith(".dist")] == []


def test_in_one_pipe_the_warnings_follow_the_report(project: Path) -> None:
    """`sphere build 2>&1 | tee build.log` (as CI runs it): the report, then its warnings,
    whatever Python buffers (stdout is buffered in a pipe, stderr is not)."""
    _huge_issue(project)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    done = subprocess.run(
        [sys.executable, "-m", "sphere", "build"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = done.stdout.splitlines()
    assert lines[0].startswith("built 2 issues into ")
    assert ": warning: email/clipped " in lines[-1]
