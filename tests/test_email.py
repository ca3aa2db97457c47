"""The email an issue becomes: the .eml's structure and headers, its HTML and its text."""

from __future__ import annotations

import email
import re
from collections.abc import Callable
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest
from fixtures_project import POSTAL_ADDRESS, SEED_ISSUE, Result, png_bytes, write_issue

SLUG = "hard-sell-or-soft-sell"
SINGLE_HEADERS = [
    "From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe",
    "List-Unsubscribe-Post", "List-Id", "MIME-Version", "Content-Type",
]  # fmt: skip


@pytest.fixture
def built(project: Path, sphere: Callable[..., Result]) -> Path:
    result = sphere("build")
    assert result.status == 0, result.err
    return project / "dist"


def _eml(built: Path) -> EmailMessage:
    message = message_from_bytes((built / "email" / f"{SLUG}.eml").read_bytes(), policy=SMTP)
    assert isinstance(message, EmailMessage)
    return message


def _article_paragraphs(project: Path) -> list[str]:
    """The seed article's text, paragraph by paragraph, as a reader sees it."""
    body = (project / SEED_ISSUE).read_text(encoding="utf-8").split("---", 2)[2]
    blocks = [block.replace("\n- ", "\n\n- ") for block in body.split("\n\n")]
    paragraphs = [" ".join(p.replace("> ", "").split()) for p in "\n\n".join(blocks).split("\n\n")]
    return [p.removeprefix("- ") for p in paragraphs if p]


def test_the_eml_is_two_alternatives_text_first(built: Path) -> None:
    message = _eml(built)
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    for part in parts:
        assert part.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] in ("quoted-printable", "base64")


def test_each_header_appears_exactly_once(built: Path, project: Path) -> None:
    message = _eml(built)
    for name in SINGLE_HEADERS:
        assert len(message.get_all(name) or []) == 1, name
    assert message["Subject"] == "To Hard Sell or to Soft Sell? That is the Question"
    assert message["From"] == "Jim Wigg <newsletter@jimwigg.com>"
    assert message["List-Id"] == "Sphere <sphere.jimwigg.com>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # No feedback queue here, so nothing reads the unsubscribe mailbox: no mailto is offered.
    (https,) = [u.strip(" <>") for u in str(message["List-Unsubscribe"]).split(",")]
    assert https.startswith("https://www.jimwigg.com/sphere/api/unsubscribe?t=")
    # The preview is dated on the issue's date, with a fixed id: the same issue, the same bytes.
    assert message["Message-ID"] == "<preview.hard-sell-or-soft-sell@jimwigg.com>"
    assert message["Date"] == "Tue, 01 Dec 2026 00:00:00 +0000"


def test_an_unchanged_issue_builds_to_the_same_bytes(
    built: Path, project: Path, sphere: Callable[..., Result]
) -> None:
    before = {p: p.read_bytes() for p in built.rglob("*") if p.is_file()}
    inode = (built / "email" / f"{SLUG}.eml").stat().st_ino
    assert sphere("build").status == 0
    after = {p: p.read_bytes() for p in built.rglob("*") if p.is_file()}
    assert after == before
    # Unchanged files are linked from the previous build rather than written again.
    assert (built / "email" / f"{SLUG}.eml").stat().st_ino == inode
    write_issue(project, "2026-10-01-new", body="New text.\n")
    assert sphere("build").status == 0
    assert (built / "email" / f"{SLUG}.eml").read_bytes() == before[built / "email" / f"{SLUG}.eml"]
    assert (built / "email" / "new.eml").is_file()


def test_no_line_is_over_998_characters(built: Path) -> None:
    raw = (built / "email" / f"{SLUG}.eml").read_bytes()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only, as SMTP wants


def test_the_html_holds_the_whole_article(built: Path, project: Path) -> None:
    html = _eml(built).get_body(("html",)).get_content()  # type: ignore[union-attr]
    text_of_html = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    for paragraph in _article_paragraphs(project):
        assert " ".join(paragraph.split()) in text_of_html.replace(" ,", ","), paragraph
    assert len(html.encode("utf-8")) < 102 * 1024


def test_the_html_is_accessible_dark_mode_ready_and_self_contained(built: Path) -> None:
    html = (built / "email" / f"{SLUG}.html").read_text(encoding="utf-8")
    assert '<html lang="en-GB"' in html
    assert '<meta name="color-scheme" content="light dark"' in html
    assert "prefers-color-scheme: dark" in html
    assert "Salespeople hunting for the ‘killer’ opening line" in html  # the preheader
    assert "fonts.googleapis" not in html and "@import" not in html
    hosts = set(re.findall(r'(?:src|href)="https?://([^/"]+)', html))
    assert hosts <= {"www.jimwigg.com"}, hosts


def test_every_body_element_carries_its_style_inline(built: Path) -> None:
    html = (built / "email" / f"{SLUG}.html").read_text(encoding="utf-8")
    for tag in ("p", "ul", "li", "blockquote", "h1", "a"):
        tags = re.findall(rf"<{tag}(?:\s[^>]*)?>", html)
        assert tags, tag
        assert all("style=" in t for t in tags), [t for t in tags if "style=" not in t]


def test_footer_says_who_and_why_and_links_out(built: Path) -> None:
    html = (built / "email" / f"{SLUG}.html").read_text(encoding="utf-8")
    assert "You are receiving Sphere because you subscribed" in html
    assert f"Postal address: {POSTAL_ADDRESS}" in html
    assert 'href="https://www.jimwigg.com/sphere/issues/hard-sell-or-soft-sell/"' in html
    assert 'href="https://www.jimwigg.com/sphere/api/unsubscribe?t=PREVIEW-PERSONAL-LINK"' in html
    assert 'href="https://www.jimwigg.com/privacy"' in html
    assert "%%sphere:" not in html  # no placeholder left in a preview
    # The contact address was lost: no empty mailto and no "[email protected]".
    assert 'href="mailto:"' not in html and "protected" not in html


def test_the_text_part_reads_on_its_own(built: Path, project: Path) -> None:
    text = (built / "email" / f"{SLUG}.txt").read_text(encoding="utf-8")
    assert text.startswith("SPHERE: Ideas for improving execution in the sales process\n")
    flat = " ".join(text.replace("> ", "").split())
    for paragraph in _article_paragraphs(project):
        assert paragraph in flat, paragraph
    for line in text.splitlines():
        assert len(line) <= 78 or re.fullmatch(r"(\[\d+\] )?https?://\S+", line), line
    assert "Unsubscribe:\nhttps://www.jimwigg.com/sphere/api/unsubscribe?t=PREVIEW" in text
    assert "Jim Wigg : +44 (0)7747 624560 : www.jimwigg.com" in text
    assert "<" not in text  # no markup leaks into the text part


def test_links_become_numbered_references(project: Path, sphere: Callable[..., Result]) -> None:
    write_issue(
        project,
        "2026-10-01-links",
        body="See [the report](https://example.org/report) and [again](https://example.org/report), "
        "then [another](https://example.net/).\n",
    )
    assert sphere("build").status == 0
    text = (project / "dist/email/links.txt").read_text(encoding="utf-8")
    assert "See the report [1] and again [1], then another [2]." in text
    assert "[1] https://example.org/report\n[2] https://example.net/" in text


def test_images_use_absolute_urls_with_width_and_alt(
    project: Path, sphere: Callable[..., Result]
) -> None:
    (project / "content/images").mkdir(exist_ok=True)
    # Under 2 x 552 px: published as it is (a wider one is published as a copy).
    (project / "content/images/wide.png").write_bytes(png_bytes(1000, 500))
    write_issue(project, "2026-10-01-pictures", body="![Pipeline by stage](images/wide.png)\n")
    assert sphere("build").status == 0
    eml = email.message_from_bytes((project / "dist/email/pictures.eml").read_bytes())
    part = next(p for p in eml.walk() if p.get_content_type() == "text/html")
    html = part.get_payload(decode=True).decode("utf-8")
    (img,) = re.findall(r"<img [^>]*alt=\"Pipeline by stage\"[^>]*>", html)
    assert 'src="https://www.jimwigg.com/sphere/images/wide.png"' in img  # what readers get
    assert 'width="552"' in img and 'height="276"' in img
    assert "max-width:100%" in img
    assert (project / "dist/site/images/wide.png").read_bytes() == png_bytes(1000, 500)
    page = (project / "dist/site/issues/pictures/index.html").read_text(encoding="utf-8")
    assert 'src="../../images/wide.png"' in page
    # The preview copy, opened from disk, shows the archive's copy of the image.
    preview = (project / "dist/email/pictures.html").read_text(encoding="utf-8")
    assert 'src="../site/images/wide.png"' in preview


def test_drafts_are_left_out_unless_asked(project: Path, sphere: Callable[..., Result]) -> None:
    write_issue(project, "2026-10-01-unfinished", status="draft")
    assert sphere("build").status == 0
    assert not (project / "dist/email/unfinished.eml").exists()
    assert "unfinished" not in (project / "dist/site/index.html").read_text(encoding="utf-8")
    assert sphere("build", "--drafts").status == 0
    assert (project / "dist/email/unfinished.eml").exists()
    assert "unfinished" in (project / "dist/site/index.html").read_text(encoding="utf-8")


def test_out_puts_email_and_site_under_the_folder(
    project: Path, sphere: Callable[..., Result]
) -> None:
    result = sphere("build", "--out", "preview")
    assert result.status == 0
    assert (project / "preview/email/hard-sell-or-soft-sell.eml").is_file()
    assert (project / "preview/site/index.html").is_file()
    assert result.out.splitlines()[0] == "built 1 issue into preview/"


def test_an_issue_may_use_the_settings(project: Path, sphere: Callable[..., Result]) -> None:
    write_issue(project, "2026-10-01-call", body="Call me on {{ site.phone }}.\n")
    assert sphere("build").status == 0
    assert "Call me on +44 (0)7747 624560." in (project / "dist/email/call.txt").read_text("utf-8")


def test_links_to_other_issues_work_from_the_inbox(
    project: Path, sphere: Callable[..., Result]
) -> None:
    write_issue(
        project,
        "2026-10-01-follow-up",
        body="As I wrote [last time](../hard-sell-or-soft-sell/).\n",
    )
    assert sphere("build").status == 0
    html = (project / "dist/email/follow-up.html").read_text(encoding="utf-8")
    assert 'href="https://www.jimwigg.com/sphere/issues/hard-sell-or-soft-sell/"' in html
    page = (project / "dist/site/issues/follow-up/index.html").read_text(encoding="utf-8")
    assert 'href="../hard-sell-or-soft-sell/"' in page  # relative on the archive page
    feed = (project / "dist/site/feed.xml").read_text(encoding="utf-8")
    assert "href=&#34;https://www.jimwigg.com/sphere/issues/hard-sell-or-soft-sell/&#34;" in feed


def test_the_preheader_is_hidden_without_a_low_contrast_colour(built: Path) -> None:
    """Inboxes show the preheader beside the subject; the body must not. Hiding it with a
    colour like the background's (as MJML's mj-preview does) costs 0.7 with SpamAssassin
    (HTML_FONT_LOW_CONTRAST); display and size alone cost nothing."""
    html = (built / "email" / f"{SLUG}.html").read_text(encoding="utf-8")
    body = html[html.index("<body") :]
    preheader = re.search(r'<div class="sp-preheader" style="([^"]*)">([^<]*)</div>', body)
    assert preheader is not None and preheader.start() < body.index("sp-paper")
    style = dict(
        declaration.split(":", 1) for declaration in preheader.group(1).split(";") if declaration
    )
    assert style["display"] == "none" and style["max-height"] == "0"
    assert "color" not in style and "opacity" not in style
    assert preheader.group(2).startswith("Salespeople hunting for the ‘killer’ opening line")
    assert "color:#ffffff" not in re.sub(r"background(-color)?:#ffffff", "", html)


def test_a_colour_is_defined_once_in_the_theme(
    project: Path, sphere: Callable[..., Result]
) -> None:
    theme = project / "templates/email/theme.toml"
    text = theme.read_text(encoding="utf-8")
    assert text.count('"#9b2c2c"') == 1  # the accent, and nowhere else in the theme
    theme.write_text(text.replace('"#9b2c2c"', '"#0b5394"'), encoding="utf-8")
    assert sphere("build").status == 0
    html = (project / f"dist/email/{SLUG}.html").read_text(encoding="utf-8")
    (stylesheet,) = (project / "dist/site/static").glob("style.*.css")
    css = stylesheet.read_text(encoding="utf-8")
    icon = (project / "dist/site/static/favicon.svg").read_text(encoding="utf-8")
    for output in (html, css, icon):
        assert "#0b5394" in output and "#9b2c2c" not in output.lower()


def test_an_unknown_colour_name_in_the_theme_is_an_error(
    project: Path, sphere: Callable[..., Result]
) -> None:
    theme = project / "templates/email/theme.toml"
    text = theme.read_text(encoding="utf-8")
    theme.write_text(text.replace("color:{accent};", "color:{accnt};", 1), encoding="utf-8")
    result = sphere("build")
    assert (result.status, result.err) == (
        1,
        "templates/email/theme.toml: error: [inline] names {accnt}, not a key of [colors]\n",
    )


def test_the_contact_line_is_the_same_in_the_email_text_and_archive(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPHERE_PHONE", "")
    assert sphere("build").status == 0
    text = (project / f"dist/email/{SLUG}.txt").read_text(encoding="utf-8")
    assert "\nJim Wigg : www.jimwigg.com\n" in text
    for page in (f"dist/email/{SLUG}.html", f"dist/site/issues/{SLUG}/index.html"):
        html = (project / page).read_text(encoding="utf-8")
        line = re.search(
            r">Jim Wigg : <a href=\"https://www.jimwigg.com\"[^>]*>www.jimwigg.com</a></p>", html
        )
        assert line is not None, page
        assert "7747" not in html
