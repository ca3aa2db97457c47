"""The subscribe form in the built archive, and the email's "Subscribe" line that leads to it."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path

from fixtures_project import Result

ENDPOINT = "https://www.jimwigg.com/sphere/api/"
BASE = "https://www.jimwigg.com/sphere/"
ISSUE_URL = BASE + "issues/hard-sell-or-soft-sell/"


def forms(page: str) -> list[str]:
    return re.findall(r"<form\b.*?</form>", page, re.DOTALL)


def test_the_index_and_issue_pages_carry_the_form(
    project: Path, sphere: Callable[..., Result]
) -> None:
    assert sphere("build").status == 0
    site = project / "dist" / "site"

    for path, canonical in (
        (site / "index.html", BASE),
        (site / "issues/hard-sell-or-soft-sell/index.html", ISSUE_URL),
    ):
        page = path.read_text(encoding="utf-8")
        (form,) = forms(page)
        assert f'method="post" action="{ENDPOINT}subscribe"' in form
        assert 'name="email" type="email" required' in form
        assert 'name="website"' in form and 'class="trap"' in form  # the honeypot
        assert f'name="page" value="{canonical}"' in form
        # The form needs no script (the index's search script and the issue's JSON-LD are
        # not the form's: tests/test_archive.py pins what each page may run).
        assert "<script" not in form and "onsubmit" not in form
        assert f"form-action {ENDPOINT}" in page  # the page's own CSP lets the form post
        assert 'id="subscribe"' in page
    assert forms((site / "404.html").read_text(encoding="utf-8")) == []


def test_the_emails_subscribe_line_leads_to_the_form(
    project: Path, sphere: Callable[..., Result]
) -> None:
    assert sphere("build").status == 0
    email = project / "dist" / "email"

    html_text = html.unescape((email / "hard-sell-or-soft-sell.html").read_text(encoding="utf-8"))
    plain = (email / "hard-sell-or-soft-sell.txt").read_text(encoding="utf-8")

    assert re.search(rf'<a href="{re.escape(BASE)}#subscribe"[^>]*>Subscribe to Sphere', html_text)
    assert f"{BASE}#subscribe\n" in plain
