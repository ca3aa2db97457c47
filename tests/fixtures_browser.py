"""Headless Chromium through Playwright: one browser per test session, a fresh page per call.

The browser is Debian's `/usr/bin/chromium` (or `$SPHERE_CHROMIUM`), started by the same code
as `sphere build --screenshots`, so the tests see what the preview sees. Pages are offline:
any request that is not `file:` or `data:` is blocked. Without Chromium the tests that need it
are skipped, or fail under CI (see fixtures_tools.py).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fixtures_tools import missing

from sphere.errors import SphereError
from sphere.screenshots import (
    ColorScheme,
    chromium_executable,
    open_browser,
    open_page,
    scroll_width,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

__all__ = ["browser", "page_factory", "png_size", "scroll_width"]

OpenPage = Callable[..., "Page"]


def _missing_chromium() -> str | None:
    """Why there is no Chromium to start (what to install), or None when there is one."""
    try:
        chromium_executable()
    except SphereError as error:
        return str(error)
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """The session's Chromium. Missing: the test is skipped (fails under CI); broken: fails."""
    if (absent := _missing_chromium()) is not None:
        missing(absent)
    try:
        with open_browser() as chromium:
            yield chromium
    except SphereError as error:
        pytest.fail(f"{error} (CI installs it in .ci/run)", pytrace=False)


@pytest.fixture
def page_factory(browser: Browser) -> Iterator[OpenPage]:
    """`open_page(path_or_url, width, color_scheme="light")`: a loaded page, closed after the test.

    A `Path` or a string without a scheme is a local file; otherwise a `file:`/`data:` URL.
    """
    pages: list[Page] = []

    def open_(path_or_url: Path | str, width: int, color_scheme: ColorScheme = "light") -> Page:
        source: Path | str = path_or_url
        if isinstance(path_or_url, str) and ":" not in path_or_url.split("/", 1)[0]:
            source = Path(path_or_url)
        page = open_page(browser, source, width=width, color_scheme=color_scheme)
        pages.append(page)
        return page

    yield open_
    for page in pages:
        page.context.close()


def png_size(data: bytes) -> tuple[int, int]:
    """A PNG's (width, height) from its header; fails the test if `data` is not a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR", "PNG without an IHDR chunk first"
    width, height = struct.unpack(">II", data[16:24])
    return width, height
