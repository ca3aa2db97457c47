"""The live preview server on a free loopback port, and its page in headless Chromium.

The server runs in this process (`serve_preview`) in the test's temporary project. The page's
browser context lets only the preview's own origin through and records anything else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sphere.preview.server import PreviewServer, serve_preview
from sphere.settings import load_settings

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

OpenPreview = Callable[..., "Page"]


@pytest.fixture
def preview(project: Path) -> Iterator[PreviewServer]:
    """The preview server on a free loopback port, in this process; stopped after the test."""
    server = serve_preview(load_settings(project), "127.0.0.1", 0)
    yield server
    server.stop()


@pytest.fixture
def offsite() -> list[str]:
    """Every request the preview page made to anything but the preview server."""
    return []


@pytest.fixture
def open_preview(
    browser: Browser, preview: PreviewServer, offsite: list[str]
) -> Iterator[OpenPreview]:
    """`open_preview(path="")`: the preview page, loaded, in a context that stays on loopback."""
    contexts = []

    def only_preview(route: Route) -> None:
        if route.request.url.startswith(preview.url):
            route.continue_()
        else:
            offsite.append(route.request.url)
            route.abort("blockedbyclient")

    def open_(path: str = "") -> Page:
        context = browser.new_context(viewport={"width": 1500, "height": 900})
        contexts.append(context)
        context.route("**/*", only_preview)
        page = context.new_page()
        page.goto(preview.url + path)
        return page

    yield open_
    for context in contexts:
        context.close()
