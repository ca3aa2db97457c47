"""`sphere check`: one small broken fixture per rule, each giving exactly its finding."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fixtures_project import SEED_ISSUE, Result, png_bytes, write_issue

from sphere.build.pipeline import build_all
from sphere.checks import RULES, check_project
from sphere.checks.findings import Finding
from sphere.checks.links import check_urls, public_address, url_problems
from sphere.content.issues import load_issue
from sphere.errors import ContentError
from sphere.pool import worker_count
from sphere.render.email import Renderer
from sphere.settings import load_settings

DATA = Path(__file__).parent / "data" / "check"
TODAY = dt.date(2026, 10, 15)  # write_issue's default date (2026-10-01) is two weeks before
NAME = "2026-11-01-broken"
SLUG = "broken"
ISSUE = f"content/issues/{NAME}.md"
MJML = "templates/email/issue.mjml.j2"
TEXT = "templates/email/issue.txt.j2"
BODY = 8  # the first body line of a write_issue file with the four default keys


Row = tuple[str, str, str, int]  # rule, level, file, line


def rows(findings: list[Finding]) -> list[Row]:
    return [(f.rule, str(f.level), f.file, f.line) for f in findings]


def check(root: Path, **options: object) -> list[Row]:
    options.setdefault("today", TODAY)
    options.setdefault("jobs", 1)
    return rows(check_project(load_settings(root), **options).findings)  # type: ignore[arg-type]


def issue(body: str, **front: object) -> Callable[[Path], None]:
    return lambda root: (write_issue(root, NAME, body=body, **front), None)[1]


def image(name: str, data: bytes) -> Callable[[Path], None]:
    def write(root: Path) -> None:
        (root / "content" / "images").mkdir(exist_ok=True)
        (root / "content" / "images" / name).write_bytes(data)

    return write


def both(*steps: Callable[[Path], None]) -> Callable[[Path], None]:
    def run(root: Path) -> None:
        for step in steps:
            step(root)

    return run


def copy(name: str) -> Callable[[Path], None]:
    return lambda root: (shutil.copy(DATA / name, root / ISSUE), None)[1]


def edit(path: str, old: str, new: str) -> Callable[[Path], None]:
    def run(root: Path) -> None:
        text = (root / path).read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {path}"
        (root / path).write_text(text.replace(old, new, 1), encoding="utf-8")

    return run


def line_of(root: Path, path: str, needle: str) -> int:
    lines = (root / path).read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if needle in line)


SMALL_PNG = png_bytes(100, 50)
WIDE_PNG = png_bytes(1200, 10)
HEAVY_PNG = png_bytes(10, 10) + bytes(250 * 1024)  # trailing bytes after IEND: still a PNG
LINK = "[the pricing page]({})\n"
W, E = "warning", "error"

# (rule id, how to break the project, [(rule, level, file, line)] expected)
CASES: list[tuple[str, Callable[[Path], None], list[Row]]] = [
    ("content/invalid", issue("Text.\n", title="[unclosed"), [("content/invalid", E, ISSUE, 2)]),
    (
        "content/first-name",
        issue("Hi {{ reader.first_name | upper }},\n"),
        [("content/first-name", E, ISSUE, BODY)],
    ),
    ("content/unknown-key", copy("unknown-key.md"), [("content/unknown-key", W, ISSUE, 6)]),
    (
        "content/duplicate-slug",
        lambda root: (write_issue(root, "2027-01-01-x", slug="hard-sell-or-soft-sell"), None)[1],
        [("content/duplicate-slug", E, "content/issues/2027-01-01-x.md", 6)],
    ),
    (
        "content/stale-date",
        issue("Text.\n", date="2026-09-01"),
        [("content/stale-date", E, ISSUE, 3)],
    ),
    ("summary/missing", issue("Text.\n", summary='""'), [("summary/missing", E, ISSUE, 4)]),
    (
        "content/invalid (image_alt)",
        issue("Text.\n", image_alt="[a, list]"),
        [("content/invalid", E, ISSUE, 6)],
    ),
    (
        "image/alt-without-image",
        issue("Text.\n", image_alt="A chart of win rates"),
        [("image/alt-without-image", W, ISSUE, 6)],
    ),
    (
        "summary/too-long",
        issue("Text.\n", summary="Long " * 40),
        [("summary/too-long", W, ISSUE, 4)],
    ),
    (
        "subject/too-long",
        issue(
            "Text.\n",
            subject="A subject that goes on and on and on, well past what any phone shows whole",
        ),
        [("subject/too-long", W, ISSUE, 6)],
    ),
    (
        "subject/capitals",
        issue("Text.\n", subject="BIG NEWS FOR SALES TEAMS"),
        [("subject/capitals", W, ISSUE, 6)],
    ),
    (
        "subject/exclamations",
        issue("Text.\n", subject="Big news! Read it now!"),
        [("subject/exclamations", W, ISSUE, 6)],
    ),
    (
        "image/no-alt",
        both(image("ok.png", SMALL_PNG), issue("Text.\n\n![](images/ok.png)\n")),
        [("image/no-alt", E, ISSUE, BODY + 2)],
    ),
    (
        "image/missing",
        issue("Text.\n\n![A chart](images/nope.png)\n"),
        [("image/missing", E, ISSUE, BODY + 2)],
    ),
    (
        "image/missing (cover)",
        issue("Text.\n", image="images/nope.png"),
        [("image/missing", E, ISSUE, 6)],
    ),
    (
        "image/format",
        both(
            image("pixel.gif", (DATA / "pixel.gif").read_bytes()),
            issue("Text.\n\n![A chart](images/pixel.gif)\n"),
        ),
        [("image/format", E, ISSUE, BODY + 2)],
    ),
    (
        "image/too-wide (raw HTML, no width)",
        both(
            image("wide.png", WIDE_PNG),
            issue('Text.\n\n<img src="images/wide.png" alt="A chart">\n'),
        ),
        [("image/too-wide", W, ISSUE, BODY + 2)],
    ),
    (
        "image/too-wide (author's width)",
        both(image("ok.png", SMALL_PNG), issue("Text.\n\n![A chart](images/ok.png){width=800}\n")),
        [("image/too-wide", W, ISSUE, BODY + 2)],
    ),
    (
        "image/heavy",
        both(image("heavy.png", HEAVY_PNG), issue("Text.\n\n![A chart](images/heavy.png)\n")),
        [("image/heavy", W, ISSUE, BODY + 2)],
    ),
    (
        "link/malformed",
        issue("Text.\n\n" + LINK.format("www.jimwigg.com/pricing")),
        [("link/malformed", E, ISSUE, BODY + 2)],
    ),
    (
        "link/insecure",
        issue("Text.\n\n" + LINK.format("http://www.jimwigg.com/pricing")),
        [("link/insecure", W, ISSUE, BODY + 2)],
    ),
    (
        "link/placeholder",
        issue("Text.\n\n" + LINK.format("https://shop.example.com/pricing")),
        [("link/placeholder", E, ISSUE, BODY + 2)],
    ),
    (
        "link/text",
        issue("Text.\n\nFor prices [click here](https://www.jimwigg.com/pricing).\n"),
        [("link/text", W, ISSUE, BODY + 2)],
    ),
    (
        "link/unknown-issue",
        issue(
            "See [the last issue](https://www.jimwigg.com/sphere/issues/hard-sell-or-soft-sell/),\n"
            "[a lost one](https://www.jimwigg.com/sphere/issues/no-such-issue/)\n"
            "and [another lost one](../never-written/).\n"
        ),
        [("link/unknown-issue", E, ISSUE, BODY + 1), ("link/unknown-issue", E, ISSUE, BODY + 2)],
    ),
    (
        "html/unsafe",
        issue("Text.\n\nHello <script>alert('x')</script> there.\n"),
        [("html/unsafe", E, ISSUE, BODY + 2)],
    ),
    ("heading/skip", copy("bad-headings.md"), [("heading/skip", W, ISSUE, 12)]),
    (
        "heading/skip (a second h1)",
        issue("# Title again\n\nText.\n"),
        [("heading/skip", W, ISSUE, BODY)],
    ),
    (
        "template/mjml-tag",
        edit(MJML, "<mj-divider ", "<mj-bogus>x</mj-bogus>\n        <mj-divider "),
        [("template/mjml-tag", E, MJML, -1)],  # -1: the line of the edit
    ),
    (
        "template/footer (postal address)",
        edit(MJML, " Postal address: {{ site.postal_address }}.", ""),
        [("template/footer", E, MJML, 1)],
    ),
    (
        "template/footer (unsubscribe)",
        edit(MJML, 'href="{{ unsubscribe_url }}"', 'href="{{ site.base_url }}"'),
        [("template/footer", E, MJML, 1)],
    ),
    (
        "template/invalid",
        edit(MJML, "{{ issue.title }}</h1>", "{{ issue.title }</h1>"),
        [("template/invalid", E, MJML, -1)],
    ),
]


@pytest.mark.parametrize(("rule", "setup", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_gives_exactly_its_finding(
    project: Path, rule: str, setup: Callable[[Path], None], expected: list[Row]
) -> None:
    setup(project)
    if expected[0][3] == -1:  # a template edit: find where it landed
        needle = "mj-bogus" if "mjml-tag" in rule else "{{ issue.title }</h1>"
        expected = [(*expected[0][:3], line_of(project, MJML, needle))]
    assert check(project) == expected


def test_every_rule_has_a_fixture_or_its_own_test() -> None:
    covered = {case[0].split()[0] for case in CASES}
    covered |= {"email/clipped", "email/size", "template/undefined", "link/broken"}
    covered |= {"link/unverified"}  # a 401/403/429 answer: see test_check_urls
    covered |= {"settings/postal-placeholder"}  # see tests/test_readers.py
    assert covered == set(RULES)


def test_the_seed_issue_passes(project: Path) -> None:
    assert check(project) == []
    assert check(project, today=dt.date(2027, 6, 1), is_sent=lambda issue: True) == []


def test_messages(project: Path) -> None:
    write_issue(project, NAME, titel="Typo", subject="Big news! Read it now!")
    report = check_project(load_settings(project), today=TODAY, jobs=1)
    assert [str(f) for f in report.findings] == [
        f"{ISSUE}:6: warning: content/unknown-key unknown front-matter key 'titel': "
        "did you mean 'title'?",
        f"{ISSUE}:7: warning: subject/exclamations the subject has 2 exclamation marks: "
        "spam filters count them",
    ]


def test_stale_date_uses_the_injected_clock_and_sent_question(project: Path) -> None:
    write_issue(project, NAME, date="2026-09-01")
    assert check(project, today=dt.date(2026, 9, 20)) == []
    assert check(project, is_sent=lambda issue: issue.slug == "broken") == []
    write_issue(project, NAME, date="2026-09-01", status="draft")
    assert check(project) == []


def test_an_undefined_variable_in_the_issue_is_the_issue_s(project: Path) -> None:
    write_issue(project, NAME, body="Call {{ site.fone }} now.\n")
    report = check_project(load_settings(project), today=TODAY, jobs=1)
    assert [str(f) for f in report.findings] == [
        f"{ISSUE}:8: error: content/invalid undefined template variable site.fone"
    ]


def test_every_undefined_template_variable_is_reported(project: Path) -> None:
    edit(MJML, "{{ issue.title }}</h1>", "{{ issue.titel }}</h1>")(project)
    edit(MJML, "{{ site.tagline }}</mj-text>", "{{ site.tagln }}</mj-text>")(project)
    edit(TEXT, "Privacy notice:", "{% if never %}{{ nowhere }}{% endif %}Privacy notice:")(project)
    report = check_project(load_settings(project), today=TODAY, jobs=1)
    title = line_of(project, MJML, "issue.titel")
    tagline = line_of(project, MJML, "site.tagln")
    never = line_of(project, TEXT, "nowhere")
    assert [str(f) for f in report.findings] == [
        f"{MJML}:{tagline}: error: template/undefined undefined template variable site.tagln",
        f"{MJML}:{title}: error: template/undefined undefined template variable issue.titel",
        f"{TEXT}:{never}: error: template/undefined undefined template variable never",
        f"{TEXT}:{never}: error: template/undefined undefined template variable nowhere",
    ]


def test_an_undefined_variable_in_an_included_template_is_found_at_its_line(
    project: Path,
) -> None:
    (project / "templates/email/sign-off.txt.j2").write_text(
        "Thanks,\n{{ site.author }} ({{ site.rol }})\n", encoding="utf-8"
    )
    edit(TEXT, "Privacy notice:", '{% include "email/sign-off.txt.j2" %}\nPrivacy notice:')(project)
    report = check_project(load_settings(project), today=TODAY, jobs=1)
    assert [str(f) for f in report.findings] == [
        "templates/email/sign-off.txt.j2:2: error: template/undefined undefined template "
        "variable site.rol"
    ]


def _email_size(root: Path, name: str) -> int:
    rendered = Renderer(load_settings(root)).render(load_issue(root / "content/issues" / name))
    return len(rendered.email_html.encode("utf-8"))


@pytest.mark.parametrize(
    ("kb", "rule", "level"), [(96, "email/size", W), (110, "email/clipped", E)]
)
def test_email_size(project: Path, kb: int, rule: str, level: str) -> None:
    paragraph = "The prospect wants to talk about value, not features. " * 9 + "\n\n"
    write_issue(project, NAME, body=paragraph)
    one = _email_size(project, f"{NAME}.md")
    write_issue(project, NAME, body=paragraph * 2)
    each = _email_size(project, f"{NAME}.md") - one
    write_issue(project, NAME, body=paragraph * ((kb * 1024 - one) // each + 1))
    assert check(project) == [(rule, level, ISSUE, BODY)]


def test_a_broken_issue_does_not_stop_the_others(project: Path) -> None:
    write_issue(project, NAME, title="[unclosed")
    write_issue(project, "2026-11-02-other", body=LINK.format("http://www.jimwigg.com/"))
    assert check(project) == [
        ("content/invalid", E, ISSUE, 2),
        ("link/insecure", W, "content/issues/2026-11-02-other.md", BODY),
    ]


def test_many_issues_are_checked_in_processes_with_the_same_result(project: Path) -> None:
    for number in range(32):
        body = f"## Part\n\n#### Skipped\n\n[here](http://www.jimwigg.com/{number})\n"
        write_issue(
            project, f"2026-{number // 28 + 9:02}-{number % 28 + 1:02}-issue-{number}", body=body
        )
    # Enough issues that the pool starts two processes for jobs=2 (fewer run in this one).
    assert worker_count(len(list((project / "content" / "issues").glob("*.md"))), 2) == 2
    alone, pooled = check(project, jobs=1), check(project, jobs=2)
    assert len(alone) == 96
    assert pooled == alone


def test_the_same_link_or_image_twice_is_found_at_each_line(project: Path) -> None:
    image("wide.png", WIDE_PNG)(project)
    image("ok.png", SMALL_PNG)(project)
    write_issue(
        project,
        NAME,
        body=(
            "See [the Acme guide](https://acme.org/guide).\n\n"  # 8
            '<img src="images/wide.png" alt="raw">\n\n'  # 10
            "Then [click here](https://acme.org/guide).\n\n"  # 12
            "![Wide](images/wide.png){width=900}\n\n"  # 14
            "[The list](https://acme.org/list) and [more](https://acme.org/list).\n\n"  # 16
            "Or [here](https://acme.org/list).\n\n"  # 18
            "[![](images/ok.png)](https://acme.org/logo)\n\n"  # 20
            "![](images/ok.png)\n"  # 22
        ),
    )
    assert check(project) == [
        ("image/too-wide", W, ISSUE, BODY + 2),
        ("link/text", W, ISSUE, BODY + 4),
        ("image/too-wide", W, ISSUE, BODY + 6),
        ("link/text", W, ISSUE, BODY + 8),
        ("link/text", W, ISSUE, BODY + 10),
        ("image/no-alt", E, ISSUE, BODY + 12),
        ("link/text", W, ISSUE, BODY + 12),
        ("image/no-alt", E, ISSUE, BODY + 14),
    ]


BROKEN_BODY = (
    "For prices [click here](http://www.jimwigg.com/pricing).\n\n"  # +0
    "![](images/nope.png)\n\n"  # +2
    "#### Deep\n"  # +4
)
BODY_FINDINGS = [
    ("link/insecure", W, 0),
    ("link/text", W, 0),
    ("image/missing", E, 2),
    ("image/no-alt", E, 2),
    ("heading/skip", W, 4),
]


def test_a_missing_summary_hides_no_other_finding(project: Path) -> None:
    write_issue(
        project,
        NAME,
        summary='""',
        date="2026-09-01",
        titel="Typo",
        subject="Big news! Read it now!",
        body=BROKEN_BODY,
    )
    body = BODY + 2  # two more keys
    assert check(project) == sorted(
        [
            ("content/stale-date", E, ISSUE, 3),
            ("summary/missing", E, ISSUE, 4),
            ("content/unknown-key", W, ISSUE, 6),
            ("subject/exclamations", W, ISSUE, 7),
            *[(rule, level, ISSUE, body + offset) for rule, level, offset in BODY_FINDINGS],
        ],
        key=lambda row: (row[3], row[0]),
    )


UNSAFE_BODY = """Text.

<iframe src="https://www.jimwigg.com/video"></iframe>

An <a href="https://www.jimwigg.com/" onclick="steal()">onclick</a> link, then
[a script link](javascript:alert(1)) and <img src=" JaVaScRiPt:x()" alt="an image">.

<style>p { color: red }</style>

<form action="https://www.jimwigg.com/"><input name="q"></form>

<object data="x.swf"></object> <embed src="x.swf">

Allowed: x<sup>2</sup>, a<br>line, <span style="color:#9b2c2c">red</span>.

Removed: <img src="data:image/png;base64,iVBORw0KGgo=" alt="A dot" width="1">.
"""


def test_raw_html_that_mail_clients_drop_or_that_runs_code_is_an_error_at_its_line(
    project: Path,
) -> None:
    write_issue(project, NAME, body=UNSAFE_BODY)
    report = check_project(load_settings(project), today=TODAY, jobs=1)
    unsafe = [(f.line - BODY, f.message) for f in report.findings if f.rule == "html/unsafe"]
    assert [line for line, _ in unsafe] == [2, 4, 5, 5, 7, 9, 9, 11, 11, 15]
    messages = " / ".join(message for _, message in unsafe)
    for said in (
        "a data: URL in <img src>: Gmail and Outlook show no embedded picture",
        "raw HTML <iframe>: mail clients drop embedded pages",
        "the onclick attribute on <a> would run code",
        "a javascript: link can run code",
        "a javascript: URL in <img src> can run code",
        "raw HTML <style>",
        "raw HTML <form>",
        "raw HTML <input>",
        "raw HTML <object>",
        "raw HTML <embed>",
    ):
        assert said in messages
    assert all(f.rule != "link/malformed" for f in report.findings)


SMUGGLED = """Text.

<!--> <meta http-equiv="refresh" content="0;url=https://evil.invalid/">
<iframe src="https://evil.invalid/" style="position:fixed;inset:0;width:100%;height:100%"></iframe>

A <span style="color:#9b2c2c;position:fixed">fixed</span> span and a <marquee>marquee</marquee>.
"""


def test_markup_behind_an_empty_comment_is_found_and_removed_from_the_build(
    project: Path,
) -> None:
    # html.parser reads `<!-->` as the start of a comment and so saw nothing after it;
    # browsers read it as a whole comment, and so do the check and the build now.
    write_issue(project, NAME, body=SMUGGLED)
    report = check_project(load_settings(project), today=TODAY, jobs=1)
    unsafe = [(f.line - BODY, f.message) for f in report.findings if f.rule == "html/unsafe"]
    assert [line for line, _ in unsafe] == [2, 3, 5, 5]
    assert unsafe[0][1].startswith("raw HTML <meta>: it changes the archive page's behaviour")
    assert unsafe[1][1].startswith("raw HTML <iframe>")
    last = sorted(message for _, message in unsafe[2:])
    assert last[0] == "raw HTML <marquee>: the build removes it, keeping its text; remove it"
    assert "sets 'position:fixed'" in last[1]
    build_all(load_settings(project), today=TODAY)
    for path in (project / "dist").rglob("*"):
        if path.suffix in (".html", ".xml", ".txt", ".eml"):
            text = path.read_text(encoding="utf-8")
            assert "evil.invalid" not in text and "position:fixed" not in text, path
            assert "<marquee" not in text, path
    page = (project / "dist/site/issues" / SLUG / "index.html").read_text(encoding="utf-8")
    assert '<span style="color:#9b2c2c">fixed</span>' in page


def test_an_issue_that_does_not_load_is_checked_as_far_as_it_goes(project: Path) -> None:
    subject = "BIG NEWS FOR SALES TEAMS"
    write_issue(project, NAME, title=None, status="sent", subject=subject, body=BROKEN_BODY)
    assert check(project) == [
        ("content/invalid", E, ISSUE, 1),
        ("content/invalid", E, ISSUE, 4),
        ("subject/capitals", W, ISSUE, 5),
        *[(rule, level, ISSUE, BODY + offset) for rule, level, offset in BODY_FINDINGS],
    ]
    report = check_project(load_settings(project), today=TODAY, jobs=1)
    assert [f.message for f in report.findings[:2]] == [
        "missing 'title' in the front matter",
        "'status' must be draft or ready, got 'sent'",
    ]


def test_an_issue_whose_variables_fail_still_has_its_body_checked(project: Path) -> None:
    write_issue(
        project, NAME, body="Call {{ site.fone }} at {{ site.base_url }}.\n\n" + BROKEN_BODY
    )
    assert check(project) == [
        ("content/invalid", E, ISSUE, BODY),
        *[(rule, level, ISSUE, BODY + 2 + offset) for rule, level, offset in BODY_FINDINGS],
    ]


def test_no_issues_folder_is_an_error(project: Path, sphere: Callable[..., Result]) -> None:
    shutil.rmtree(project / "content" / "issues")
    with pytest.raises(ContentError, match=r"^error: no issues folder at content/issues/$"):
        check_project(load_settings(project), today=TODAY, jobs=1)
    result = sphere("check")
    assert (result.status, result.out) == (1, "")
    assert result.err == "error: no issues folder at content/issues/\n"
    (project / "content" / "issues").mkdir()
    assert sphere("check").status == 0  # an empty folder is no error


# --- the command ---------------------------------------------------------------------------


def test_cli_text_and_exit_status(project: Path, sphere: Callable[..., Result]) -> None:
    result = sphere("check")
    assert (result.status, result.out, result.err) == (0, "", "checked 1 issue: no problems\n")
    write_issue(project, NAME, date="2026-12-20", body=LINK.format("http://www.jimwigg.com/"))
    result = sphere("check")
    assert result.status == 0
    assert result.out == (
        f"{ISSUE}:8: warning: link/insecure 'http://www.jimwigg.com/' uses http://: use https://\n"
    )
    assert result.err == "checked 2 issues: 0 errors, 1 warning\n"
    assert sphere("check", "--strict").status == 1
    write_issue(project, NAME, date="2026-12-20", body=LINK.format("https://localhost/"))
    assert sphere("check").status == 1


def test_cli_github_format(project: Path, sphere: Callable[..., Result]) -> None:
    write_issue(project, NAME, date="2026-12-20", body=LINK.format("https://localhost/a,b"))
    result = sphere("check", "--format", "github")
    assert result.status == 1
    assert result.out == (
        f"::error file={ISSUE},line=8,title=link/placeholder::'https://localhost/a,b' points "
        "at localhost, which readers cannot reach\n"
    )


def test_cli_json_format(project: Path, sphere: Callable[..., Result]) -> None:
    write_issue(project, NAME, date="2026-12-20", body=LINK.format("http://www.jimwigg.com/"))
    result = sphere("check", "--format", "json")
    assert result.status == 0
    assert json.loads(result.out) == [
        {
            "file": ISSUE,
            "line": 8,
            "level": "warning",
            "rule": "link/insecure",
            "message": "'http://www.jimwigg.com/' uses http://: use https://",
        }
    ]
    (project / ISSUE).unlink()
    assert sphere("check", "--format", "json").out == "[]\n"


# --- links over the network: a real HTTP server on 127.0.0.1 -------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    def _answer(self, body: bool) -> None:
        status = {"/ok": 200, "/no-head": 200, "/private": 403}.get(self.path, 404)
        if self.path == "/no-head" and self.command == "HEAD":
            status = 405
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        if body:
            self.wfile.write(b"ok")

    def do_HEAD(self) -> None:
        self._answer(False)

    def do_GET(self) -> None:
        self._answer(True)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def web() -> Iterator[str]:
    """A real HTTP server on a loopback port: /ok answers 200, anything else 404."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def _loopback(address: str) -> bool:
    """Widens the checker to this machine, for the tests of how it reads answers only."""
    return address == "127.0.0.1"


def test_check_urls(web: str) -> None:
    urls = [f"{web}/ok", f"{web}/no-head", f"{web}/gone", f"{web}/private", "http://127.0.0.1:9/"]
    statuses = check_urls(urls, timeout=5, allowed=_loopback)
    assert {url.removeprefix(web): status.rule for url, status in statuses.items()} == {
        "/ok": None,
        "/no-head": None,  # HEAD refused, GET answered
        "/gone": "link/broken",
        "/private": "link/unverified",
        "http://127.0.0.1:9/": "link/broken",  # nothing listens on the discard port
    }
    assert statuses[f"{web}/gone"].message == f"{web}/gone answered HTTP 404"


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A bare TCP listener on 127.0.0.1: its port, and what every connection to it sent."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    received: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(2)
                received.append(connection.recv(65536))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], received
    stop.set()
    thread.join()
    server.close()


def test_links_to_this_machine_are_never_requested(
    project: Path, listener: tuple[int, list[bytes]], sphere: Callable[..., Result]
) -> None:
    """Whatever the spelling (a name that resolves to it, an old numeric form, IPv4 in IPv6)."""
    port, received = listener
    urls = [
        f"http://127.0.0.1:{port}/admin/delete?all=1",
        f"http://localhost:{port}/admin/delete?all=1",  # a name, resolved to 127.0.0.1
        f"http://0x7f.1:{port}/admin/delete?all=1",  # 127.0.0.1 to the resolver
        f"https://127.0.0.1:{port}/admin/delete?all=1",
    ]
    write_issue(project, NAME, body="".join(f"[page {n}]({url})\n\n" for n, url in enumerate(urls)))

    found = check(project, links=True)
    assert sphere("check", "--links", "--timeout", "2").status == 1

    assert received == []
    unverified = [row for row in found if row[0] == "link/unverified"]
    assert [row[3] for row in unverified] == [BODY + 2 * n for n in range(len(urls))]
    statuses = check_urls(urls, timeout=2)
    assert statuses[urls[2]].message == (
        f"{urls[2]}: not followed: 0x7f.1 is at 127.0.0.1, an address on this machine or a "
        "private network (readers cannot reach it, and the checker never calls one)"
    )
    assert received == []


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True), ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        ("127.0.0.1", False), ("127.8.9.10", False), ("::1", False), ("10.1.2.3", False),
        ("172.16.0.1", False), ("192.168.1.1", False), ("169.254.169.254", False),
        ("fe80::1", False), ("fe80::1%eth0", False), ("fd00::1", False), ("0.0.0.0", False),  # noqa: S104 (an address checked, not bound)
        ("::ffff:127.0.0.1", False), ("::ffff:10.0.0.1", False), ("100.64.0.1", False),
        ("224.0.0.1", False), ("::", False),
    ],
)  # fmt: skip
def test_only_public_addresses_are_followed(address: str, public: bool) -> None:
    assert public_address(address) is public


@pytest.mark.parametrize(
    ("href", "rules"),
    [
        ("https://www.jimwigg.com/", []),
        ("mailto:jim@jimwigg.com", []),
        ("tel:+447747624560", []),
        ("#fn-1", []),
        ("mailto:", ["link/malformed"]),
        ("htps://www.jimwigg.com/", ["link/malformed"]),
        ("https://jimwigg/", ["link/malformed"]),
        ("https://www.jimwigg.com/a page", ["link/malformed"]),
        ("pricing.html", ["link/malformed"]),
        ("http://localhost:8000/", ["link/placeholder", "link/insecure"]),
        ("https://shop.test/", ["link/placeholder"]),
        ("https://www.example.org/", ["link/placeholder"]),
        ("https://thing.invalid/", ["link/placeholder"]),
    ],
)
def test_url_problems(href: str, rules: list[str]) -> None:
    assert [problem.rule for problem in url_problems(href)] == rules


def test_seed_issue_constant_is_the_seed(project: Path) -> None:
    assert (project / SEED_ISSUE).is_file()
