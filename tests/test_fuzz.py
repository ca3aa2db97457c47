"""No issue, however odd, gives a traceback: generated Markdown, raw HTML, template syntax and
front matter through `check`, `build` and the preview. Each may be refused, with a located
SphereError; none may raise anything else, and the preview may show no "(a bug)"."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sphere.build.pipeline import build_all
from sphere.checks.issue import IssueChecker, check_one
from sphere.errors import SphereError
from sphere.preview.workspace import Workspace
from sphere.settings import load_settings

NAME = "2026-11-01-fuzzed"
TODAY = dt.date(2026, 12, 1)

# Pieces that have broken a parser, a sanitiser or a renderer somewhere.
SNIPPETS = [
    "```python\ncode()\n```", "```\nunclosed", "~~~\n<b>x</b>\n~~~", "    indented code",
    "| a | b |\n|---|--:|\n| 1 | 652,160 |", "| lone |", "[^1]", "[^1]: note", "[^x]: \n",
    "![alt](images/missing.png)", "![](nothing.gif){width=abc}", "![a](../../../etc/passwd)",
    '<img src="images/x.png">', '<img src="data:image/png;base64,AAAA">', "<img>", "<!-->",
    "<!--", "-->", "<![CDATA[x]]>", "<script>alert(1)</script>", "<style>p{}</style>",
    '<ol start="x"><li>a</li></ol>', '<ol start="-99999999999"><li>a</li></ol>', "<table>",
    "</div></div></table>", "<mj-section>", "<pre><code>", '<a href="javascript:x()">j</a>',
    '<a href=" java\tscript:x">t</a>', "<svg><script>x</script></svg>", "<math><mi>x",
    "{{ 1 / 0 }}", "{{ site.name }}", "{% raw %}", "{% endraw %}", "{#", "{{", "{%", "}}",
    "{{ range(99999) | list | length }}", "{{ 'a' * 99 }}", "{{ lipsum(2) }}",
    "{{ issue.title | wrap(5) }}", "{% for i in range(3) %}{{ i }}{% endfor %}",
    "# H1", "###### h6", "> quote\n> > nested", "- a\n    - b\n        - c", "1) x\n2) y",
    "term\n: definition", "*[HTML]: Hyper", "<https://example.org/" + "a" * 300 + ">",
    "هذا نص عربي", "emoji 🎉👩‍👩‍👧", "\u200f\u202e", "\x00", "\ufeff", "&#0;", "&bogus;", "&#x110000;",
    "<p dir=rtl>x</p>", "<span style=\"position:fixed;color:red\">s</span>", "*", "_", "`",
    "\\", "<", ">", "&", "\r\n", "\t", "{: #id .class }", "---", "***", "<details><summary>s",
]  # fmt: skip

TAGS = ["a", "img", "p", "div", "table", "td", "ol", "li", "iframe", "meta", "span", "x-y", "pre"]
ATTRIBUTES = ["href", "src", "style", "onclick", "width", "height", "start", "id", "name", "dir"]
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20)


@st.composite
def raw_html(draw: st.DrawFn) -> str:
    tag = draw(st.sampled_from(TAGS))
    attributes = draw(st.lists(st.tuples(st.sampled_from(ATTRIBUTES), TEXT), max_size=3))
    quoted = "".join(f' {name}="{value}"' for name, value in attributes)
    inner = draw(TEXT)
    closing = draw(st.sampled_from([f"</{tag}>", "", f"</{tag}"]))
    return f"<{tag}{quoted}>{inner}{closing}"


BODY = st.lists(st.one_of(st.sampled_from(SNIPPETS), raw_html(), TEXT), min_size=1, max_size=8).map(
    lambda parts: "\n\n".join(parts)
)

VALUES = st.one_of(
    TEXT,
    st.sampled_from(["", "~", "[1, 2", "{a: b}", "2026-02-30", "0000-01-01", "!!python/x", "*a"]),
)
FRONT = st.fixed_dictionaries(
    {
        "title": VALUES,
        "date": st.one_of(st.sampled_from(["2026-11-01", "2026-13-01", "1 Nov 2026"]), VALUES),
        "summary": VALUES,
        "status": st.sampled_from(["ready", "draft", "sent", ""]),
    },
    optional={"image": VALUES, "slug": VALUES, "subject": VALUES, "titel": VALUES},
)


def _issue(front: dict[str, str], body: str) -> str:
    lines = [f"{key}: {value}" for key, value in front.items()]
    return "---\n" + "\n".join(lines) + "\n---\n\n" + body + "\n"


VALID = {"title": "Fuzzed", "date": "2026-11-01", "summary": "A summary.", "status": "ready"}
SLOW = settings(
    max_examples=150,
    deadline=None,
    database=None,  # nothing written into the repository
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SLOW
@given(body=BODY)
def test_no_body_gives_a_traceback(project: Path, body: str) -> None:
    _check_build_preview(project, _issue(VALID, body))


@SLOW
@given(front=FRONT, body=st.one_of(BODY, st.just("Text.")))
def test_no_front_matter_gives_a_traceback(project: Path, front: dict[str, str], body: str) -> None:
    _check_build_preview(project, _issue(front, body))


def _check_build_preview(project: Path, text: str) -> None:
    path = project / "content/issues" / f"{NAME}.md"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    config = load_settings(project)

    result = check_one(IssueChecker(config), path)  # findings, never an exception
    assert all(finding.path is not None for finding in result.findings)

    try:
        build_all(config, out=project / "dist", drafts=True, cache=False, today=TODAY)
    except SphereError as error:
        assert str(error).strip(), "an error says what is wrong"

    workspace = Workspace(config)
    try:
        for entry in workspace.entries():
            try:
                workspace.email(entry)
            except SphereError as error:
                assert "(a bug)" not in str(error)
        try:
            workspace.archive()
        except SphereError as error:
            assert "(a bug)" not in str(error)
    finally:
        workspace.close()
