"""Issue bodies that could break the build or hang it: template mistakes, runaway loops, huge
values, files that are not files, and a build cache that holds something else."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from fixtures_project import Result, write_fillers, write_issue

from sphere.checks import check_project
from sphere.content.issues import load_issue
from sphere.errors import ContentError
from sphere.render import email, limits
from sphere.render.email import Renderer
from sphere.settings import load_settings

NAME = "2026-11-01-broken"
ISSUE = f"content/issues/{NAME}.md"
BODY = 8  # the first body line of a write_issue file with the four default keys


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("{{ 1 / 0 }}", "the template's expression failed: division by zero (ZeroDivisionError)"),
        ("{{ range(10**9) | list }}", "range() of 1000000000 numbers: at most 100,000"),
        ("{{ range(10**100) | list }}", "(OverflowError)"),
        ("{{ 2.0 ** 5000 }}", "(OverflowError)"),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "a macro calls itself without end"),
        ("{{ 'text' | wrap('wide') }}", "(TypeError)"),
        ("{{ 'text' | wrap(indent=5) }}", "(TypeError)"),
        ("{{ lipsum(10**9) }}", "lipsum() takes at most 100 paragraphs"),
        ("{{ lipsum('many') }}", "lipsum() takes whole numbers"),
        ("{{ 'a' * 10**9 }}", "a value of 1,000,000,000 characters or items is too large"),
        ("{{ [0] * 10**8 }}", "too large"),
        ("{{ 9 ** 99999999 }}", "is too large a number"),
    ],
)
def test_a_failing_expression_in_an_issue_is_one_error_at_its_line(
    project: Path, sphere: object, text: str, said: str
) -> None:
    write_issue(project, NAME, body=f"Fine text.\n\nThen {text} here.\n")
    for command in ("build", "check"):
        result: Result = sphere(command)  # type: ignore[operator]
        assert result.status == 1, command
        said_lines = (result.out + result.err).splitlines()
        line = next(line for line in said_lines if line.startswith(f"{ISSUE}:{BODY + 2}:"))
        assert line.startswith(f"{ISSUE}:{BODY + 2}: error: "), (command, result.err)
        assert said in line, (command, line)
        assert "Traceback" not in result.err + result.out
    assert not (project / "dist").exists()  # nothing half-written


@pytest.mark.parametrize(
    "loop",
    [
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% set s = 'a' * 100000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}",
    ],
)
def test_a_loop_without_end_stops_at_the_time_limit_with_an_error_at_its_line(
    project: Path, monkeypatch: pytest.MonkeyPatch, loop: str
) -> None:
    monkeypatch.setattr(limits, "RENDER_SECONDS", 0.5)
    monkeypatch.setattr(email, "BODY_LIMIT", 10**9)  # only the clock can stop it
    path = write_issue(project, NAME, body=f"Fine text.\n\n{loop}\n")
    renderer = Renderer(load_settings(project))
    started = time.monotonic()
    with pytest.raises(ContentError) as raised:
        renderer.render(load_issue(path))
    assert time.monotonic() - started < 5
    assert str(raised.value).startswith(f"{ISSUE}:{BODY + 2}: error: rendering took over 0.5 s")


def test_a_build_stops_a_loop_without_calls_in_its_worker_processes(
    project: Path, sphere: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build keeps the time limit's SIGALRM handler for all its renders, and its workers
    inherit it: a loop over a string inside another, which reads no clock, still stops at
    the limit there. The handler from before the build is back after it."""
    monkeypatch.setattr(limits, "RENDER_SECONDS", 0.5)
    monkeypatch.setattr(email, "BODY_LIMIT", 10**9)  # only the clock can stop it
    write_fillers(project)
    loop = "{% set s = 'a' * 100000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}"
    write_issue(project, NAME, date="2026-12-31", body=f"Fine text.\n\n{loop}\n")  # newest:
    before = signal.getsignal(signal.SIGALRM)  # the first chunk, which goes to a worker
    started = time.monotonic()
    result: Result = sphere("build")  # type: ignore[operator]
    assert time.monotonic() - started < 10
    assert result.status == 1
    assert result.err.startswith(f"{ISSUE}:{BODY + 2}: error: rendering took over 0.5 s")
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_the_alarm_handler_is_kept_only_while_asked_for(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "RENDER_SECONDS", 0.5)
    monkeypatch.setattr(email, "BODY_LIMIT", 10**9)
    loop = "{% set s = 'a' * 100000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}"
    looping = load_issue(write_issue(project, NAME, body=f"Fine text.\n\n{loop}\n"))
    renderer = Renderer(load_settings(project))
    before = signal.getsignal(signal.SIGALRM)
    with limits.alarm_handler():
        kept = signal.getsignal(signal.SIGALRM)
        assert kept is not before
        for _ in range(2):  # the handler stays for the next render
            with pytest.raises(ContentError, match=r"rendering took over 0\.5 s"):
                renderer.render(looping)
            assert signal.getsignal(signal.SIGALRM) is kept
            assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is before
    with pytest.raises(ContentError, match=r"rendering took over 0\.5 s"):  # and without it
        renderer.render(looping)
    assert signal.getsignal(signal.SIGALRM) is before


def test_check_stops_a_loop_without_end_too(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `check` renders the text a second time, leniently, to check the rest: within limits too.
    monkeypatch.setattr(limits, "RENDER_SECONDS", 0.5)
    loop = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    write_issue(
        project, NAME, date="2026-12-01", body=f"Fine text {{{{ site.nothing }}}}.\n\n{loop}\n"
    )
    started = time.monotonic()
    report = check_project(load_settings(project), jobs=1)
    assert time.monotonic() - started < 10
    assert [(f.rule, f.line) for f in report.findings if f.path.name == f"{NAME}.md"] == [
        ("content/invalid", BODY)
    ]


def test_an_issue_that_writes_too_much_stops_at_the_output_limit(project: Path) -> None:
    loop = "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}"
    path = write_issue(project, NAME, body=f"Fine text.\n\n{loop}\n")
    with pytest.raises(ContentError) as raised:
        Renderer(load_settings(project)).render(load_issue(path))
    assert "the template wrote over 1,048,576 characters" in str(raised.value)


@pytest.mark.parametrize(
    "loop",
    [
        "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
        # over the limit in its last few pieces, with more output after: still that line
        "{% for i in range(5) %}{{ 'x' * 1000000 }}{% endfor %}",
    ],
    ids=["long before its end", "near its end"],
)
def test_a_theme_template_that_writes_too_much_stops_at_its_line(
    project: Path, sphere: object, loop: str
) -> None:
    template = project / "templates/web/index.html.j2"
    text = template.read_text(encoding="utf-8")
    anchor = '<ol class="issues" reversed>'
    template.write_text(text.replace(anchor, f"{loop}\n{anchor}", 1), "utf-8")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if anchor in row)
    result: Result = sphere("build")  # type: ignore[operator]
    assert result.status == 1
    assert result.err == (
        f"templates/web/index.html.j2:{line}: error: the template wrote over 4,194,304 characters\n"
    )


def test_a_theme_template_that_fails_is_one_error_at_its_line(
    project: Path, sphere: object
) -> None:
    template = project / "templates/email/issue.mjml.j2"
    text = template.read_text(encoding="utf-8")
    template.write_text(text.replace("{{ issue.title }}</h1>", "{{ 1 / 0 }}</h1>"), "utf-8")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "{{ issue.title }}</h1>" in row)
    result: Result = sphere("build")  # type: ignore[operator]
    assert result.status == 1
    assert result.err == (
        f"templates/email/issue.mjml.j2:{line}: error: the template's expression failed: "
        "division by zero (ZeroDivisionError)\n"
    )


def test_an_issue_file_that_is_not_a_regular_file_is_refused(project: Path, sphere: object) -> None:
    os.symlink("/dev/zero", project / "content/issues/2026-11-01-zero.md")
    for command in ("check", "build"):
        result: Result = sphere(command)  # type: ignore[operator]
        assert result.status == 1
        said = next(line for line in (result.out + result.err).splitlines() if "zero" in line)
        assert "content/issues/2026-11-01-zero.md:1: error: " in said
        assert said.endswith("not a regular file: an issue is a Markdown file")
        assert "Traceback" not in result.err


def test_a_fifo_as_an_issue_file_is_refused_without_waiting(project: Path, sphere: object) -> None:
    os.mkfifo(project / "content/issues/2026-11-01-fifo.md")
    result: Result = sphere("check")  # type: ignore[operator]
    assert result.status == 1
    assert "2026-11-01-fifo.md:1: error: content/invalid not a regular file" in result.out


def test_an_issue_file_over_one_megabyte_is_refused(project: Path, sphere: object) -> None:
    write_issue(project, NAME, body="Words and more words.\n" * 50_000)
    for command in ("check", "build"):
        result: Result = sphere(command)  # type: ignore[operator]
        assert result.status == 1
        said = result.out + result.err
        assert f"{ISSUE}:1: error: " in said and "the file is over 1 MB" in said


def test_deploy_renders_afresh_whatever_the_build_cache_holds(
    project: Path, sphere: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A cache committed to the repository (or restored by CI) must not reach the archive.
    assert sphere("build").status == 0  # type: ignore[operator]
    packs = [p for p in (project / ".sphere/cache").iterdir() if p.name != "index.json"]
    assert packs
    for pack in packs:
        data = pack.read_bytes()
        poisoned = data.replace(b"<p dir=", b"<iframe src=https://evil.invalid></iframe><p dir=")
        pack.write_bytes(poisoned.replace(b"homework", b"hom3work"))
    site = project.parent / "deployed"
    monkeypatch.setenv("SPHERE_SITE", str(site))
    result: Result = sphere("deploy")  # type: ignore[operator]
    assert result.status == 0, result.err
    pages = "".join(p.read_text("utf-8") for p in site.rglob("*.html"))
    assert "homework" in pages
    assert "hom3work" not in pages and "evil.invalid" not in pages
