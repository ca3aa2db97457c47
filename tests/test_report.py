"""`sphere report --out DIR`: a self-contained page with its charts, readable on a phone and in
dark mode (looked at in headless Chromium), a Markdown table for CI, and never an address.

The store holds a list with 14 months of history (tests/fixtures_report.py), one issue sent
for real through the outbox and two earlier ones written as a send and a feedback sync write
them (one over the complaint thresholds).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures_browser import OpenPage, scroll_width
from fixtures_project import Result
from fixtures_report import make_issue, make_list

from sphere.report.data import list_history
from sphere.settings import load_settings
from sphere.store.blobs import open_store
from sphere.subscribers.list import open_list

SLUG = "hard-sell-or-soft-sell"  # the seed issue, due 2026-12-01
OLDER = ("pipeline-hygiene", "coaching-that-sticks")


@pytest.fixture
def report(project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch) -> Path:
    """The report of a project with a history, written by `sphere report --out report`."""
    monkeypatch.setenv("SPHERE_STORE", str(project / "store"))
    settings = load_settings(project)
    ids = make_list(open_list(settings), people=400, months=14, today=settings.today())
    store = open_store(settings)
    day = dt.datetime(2026, 8, 1, 6, tzinfo=dt.UTC)
    make_issue(store, OLDER[0], list(ids.values())[:300], sent=day, seed=1)
    rates = (0.01, 0.0, 0.02, 0.01)  # complaints at 2%: over Gmail's and Yahoo's limit
    make_issue(store, OLDER[1], list(ids.values())[:320], sent=day.replace(month=10), seed=2,
               rates=rates)  # fmt: skip
    assert sphere("send", SLUG, "--now").status == 0
    result = sphere("report", "--out", "report")
    assert (result.status, result.err) == (0, "")
    assert result.out == f"wrote report/index.html: 3 issues, {len(ids):,} subscribed\n"
    return project / "report"


def test_the_page_is_self_contained_and_holds_no_address(report: Path, project: Path) -> None:
    page = (report / "index.html").read_text(encoding="utf-8")
    summary = (report / "summary.md").read_text(encoding="utf-8")
    for text in (page, summary):  # (the page's CSS has its @media rules: no address there)
        assert not re.search(r"[\w.+-]+@[\w-]+\.\w", text) and "example.org" not in text
    assert "<script" not in page and " src=" not in page and " href=" not in page
    assert "default-src 'none'" in page  # nothing may be fetched, even if something tried
    assert page.count("<svg") == 5


def test_the_job_summary_table_has_a_row_per_issue(report: Path) -> None:
    summary = (report / "summary.md").read_text(encoding="utf-8").splitlines()
    rows = [line for line in summary if line.startswith("| ") and "---" not in line]
    assert rows[0].startswith("| Issue | Started | Recipients | Sent | Failed |")
    assert [row.split(" | ")[0][2:] for row in rows[1:]] == [
        SLUG, "coaching-that-sticks", "pipeline-hygiene",  # newest first
    ]  # fmt: skip
    ours = rows[1].split(" | ")
    assert ours[2] == ours[3] and ours[4:6] == ["0", "0"]  # all sent, none failed or unknown
    assert ours[6] == "–"  # no SES delivery events for an outbox send: not known


@pytest.mark.parametrize("width", [375, 1024])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_report_renders_in_chromium_with_its_charts(
    report: Path, page_factory: OpenPage, tmp_path: Path, width: int, scheme: str
) -> None:
    page = page_factory(report / "index.html", width, color_scheme=scheme)
    assert scroll_width(page) <= width  # nothing runs off a phone's screen sideways
    charts = page.evaluate(
        """() => [...document.querySelectorAll('svg.chart')].map(svg => {
            const box = svg.getBoundingClientRect();
            return [svg.querySelector('title').textContent, box.width, box.height,
                    svg.querySelectorAll('polygon, rect').length];
        })"""
    )
    assert [title for title, *_ in charts] == [
        "The list by status, month by month", "Joined and left, per month", "Hard bounces",
        "Complaints (marked as spam)", "Unsubscribed through the issue's links",
    ]  # fmt: skip
    for title, shown_width, shown_height, shapes in charts:
        assert shown_width >= min(width - 40, 300) and shown_height > 100, title
        assert shapes >= 3, title  # 5 status bands; bars per month; a bar per issue
    over = page.locator("svg.chart rect.bar-over").count()
    assert over >= 1  # the issue with complaints at 2% stands out
    colours = page.evaluate(
        """() => [getComputedStyle(document.body).backgroundColor,
                  getComputedStyle(document.querySelector('svg.chart text')).fill,
                  parseFloat(getComputedStyle(document.querySelector('svg.chart text')).fontSize)
                    * document.querySelector('svg.chart').getBoundingClientRect().width / 400]"""
    )
    background, text_fill, text_px = colours
    dark = _luminance(background) < 0.05
    assert dark is (scheme == "dark")
    ratio = (max(_luminance(text_fill), _luminance(background)) + 0.05) / (
        min(_luminance(text_fill), _luminance(background)) + 0.05
    )
    assert ratio >= 4.5  # WCAG AA for the chart's (muted) axis labels
    assert text_px >= 10  # chart labels as the eye sees them
    page.screenshot(path=str(tmp_path / f"report-{width}-{scheme}.png"), full_page=True)


def _luminance(css: str) -> float:
    """WCAG's relative luminance of an `rgb(r, g, b)` colour."""

    def linear(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(int(n)) for n in re.findall(r"\d+", css)[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def test_a_second_report_replaces_the_first_and_a_foreign_folder_is_refused(
    report: Path, project: Path, sphere: Callable[..., Result]
) -> None:
    (report / "stale.html").write_text("old")
    assert sphere("report", "--out", "report").status == 0
    assert sorted(p.name for p in report.iterdir()) == [
        ".sphere-output",
        "index.html",
        "summary.md",
    ]
    refused = sphere("report", "--out", "content")
    assert (refused.status, refused.err) == (
        1,
        "error: refusing to replace content: it is the content folder; choose another --out\n",
    )
    assert not list(project.glob(".content-*"))  # nothing half-written beside it


def test_the_history_is_rebuilt_from_each_records_creation_and_last_change() -> None:
    history = list_history(
        [
            ("subscribed", "2026-01-15T09:00:00Z", "2026-01-15T09:00:00Z"),
            ("unsubscribed", "2026-01-20T09:00:00Z", "2026-03-02T09:00:00Z"),
            ("bounced", "2026-02-01T09:00:00Z", "2026-02-10T09:00:00Z"),
            ("pending", "2026-03-05T09:00:00Z", "2026-03-05T09:00:00Z"),
        ],
        today=dt.date(2026, 4, 30),
    )
    assert history.months == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert history.by_status["subscribed"] == [2, 2, 1, 1]
    assert history.by_status["unsubscribed"] == [0, 0, 1, 1]
    assert history.by_status["bounced"] == [0, 1, 1, 1]
    assert history.by_status["pending"] == [0, 0, 1, 1]
    assert (history.joined, history.unsubscribed, history.removed) == (
        [2, 1, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0],
    )  # fmt: skip


def test_an_empty_store_still_makes_a_page(project: Path, sphere: Callable[..., Result]) -> None:
    result = sphere("report", "--out", "report")
    assert result.out == "wrote report/index.html: 0 issues, 0 subscribed\n"
    page = (project / "report" / "index.html").read_text(encoding="utf-8")
    assert "No issue has been sent yet." in page and page.count("<svg") == 2
