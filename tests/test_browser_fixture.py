"""The browser fixtures themselves: a narrow page, its scroll width, a screenshot."""

from __future__ import annotations

from pathlib import Path

from fixtures_browser import png_size, scroll_width

FITS = "<!doctype html><meta charset=utf-8><p>Short text that wraps.</p>"
TOO_WIDE = '<!doctype html><meta charset=utf-8><body style="margin:0"><div style="width:600px">x'


def test_page_at_320px_fits_and_screenshots(tmp_path: Path, page_factory) -> None:
    page_file = tmp_path / "fits.html"
    page_file.write_text(FITS, encoding="utf-8")
    page = page_factory(page_file, 320)

    assert scroll_width(page) == 320
    png = page.screenshot(full_page=True)
    assert len(png) > 0
    assert png_size(png)[0] == 320


def test_overflow_is_measured_from_a_data_url(page_factory) -> None:
    page = page_factory("data:text/html," + TOO_WIDE, 320)

    assert scroll_width(page) == 600


def test_color_scheme_is_emulated(page_factory) -> None:
    page = page_factory("data:text/html,<p>x", 320, color_scheme="dark")

    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") is True
