"""Screenshots and layout measurements of rendered pages in headless Chromium.

Playwright drives the system's Chromium (Debian's `/usr/bin/chromium`, or `$SPHERE_CHROMIUM`); it
never downloads a browser. Pages are opened from `file://` URLs and every request that is not
`file:` or `data:` is blocked and logged: an email must load nothing from third parties, and a
preview must not depend on the network.

Playwright is an optional dependency (the `screenshots` extra) and is imported only when a
browser is opened.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from sphere.errors import SphereError

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Route

log = logging.getLogger(__name__)

ColorScheme = Literal["light", "dark"]

DEFAULT_CHROMIUM = Path("/usr/bin/chromium")

# Headless flags that work in containers and as root, and keep Chromium off the network.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)

VIEWPORT_HEIGHT = 900
ALLOWED_SCHEMES = frozenset({"file", "data"})

# Playwright's sync API allows one running instance per thread, so a browser opened by
# `open_browser` is shared by nested calls (a test session's browser, then a build inside it).
_local = threading.local()


@dataclass(frozen=True)
class Shot:
    """One screenshot: `source` (an HTML file) at `width` CSS pixels, saved as `<name>.png`."""

    name: str
    source: Path
    width: int
    color_scheme: ColorScheme = "light"
    full_page: bool = True


def chromium_executable(environ: Mapping[str, str] | None = None) -> Path:
    """The Chromium to drive: `$SPHERE_CHROMIUM`, else Debian's `/usr/bin/chromium`."""
    env = os.environ if environ is None else environ
    path = Path(env.get("SPHERE_CHROMIUM") or DEFAULT_CHROMIUM)
    if not path.is_file():
        raise SphereError(
            f"Chromium not found at {path}: install it (apt-get install chromium)"
            " or set SPHERE_CHROMIUM to its path"
        )
    return path


@contextmanager
def open_browser() -> Iterator[Browser]:
    """A headless Chromium, closed on exit; reuses the one already open in this thread."""
    shared: Browser | None = getattr(_local, "browser", None)
    if shared is not None:
        yield shared
        return
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        raise SphereError(
            "screenshots need Playwright: install the 'screenshots' extra"
            " (pip install 'sphere[screenshots]' or uv sync)"
        ) from None
    executable = chromium_executable()
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=executable, args=list(CHROMIUM_ARGS)
            )
        except Error as error:
            first_line = str(error).strip().splitlines()[0]
            raise SphereError(f"could not start Chromium at {executable}: {first_line}") from None
        _local.browser = browser
        try:
            yield browser
        finally:
            _local.browser = None
            browser.close()


def new_context(browser: Browser, *, width: int, color_scheme: ColorScheme) -> BrowserContext:
    """A fresh browser context `width` CSS pixels wide (1 device pixel each), offline."""
    context = browser.new_context(
        viewport={"width": width, "height": VIEWPORT_HEIGHT},
        device_scale_factor=1,
        color_scheme=color_scheme,
    )
    context.route("**/*", _only_local)
    return context


def _only_local(route: Route) -> None:
    url = route.request.url
    if urlsplit(url).scheme in ALLOWED_SCHEMES:
        route.continue_()
    else:
        log.warning("blocked a request to %s", url)
        route.abort("blockedbyclient")


def open_page(
    browser: Browser, source: Path | str, *, width: int, color_scheme: ColorScheme = "light"
) -> Page:
    """Open an HTML file (or a `file:`/`data:` URL) in a new context; close `page.context` after."""
    url = source if isinstance(source, str) else source.resolve().as_uri()
    if isinstance(source, Path) and not source.is_file():
        raise SphereError(f"{source}: no such file to open in the browser")
    page = new_context(browser, width=width, color_scheme=color_scheme).new_page()
    page.goto(url, wait_until="load")
    return page


def scroll_width(page: Page) -> int:
    """The document's scroll width in CSS pixels: more than the viewport means it overflows."""
    width = page.evaluate("document.documentElement.scrollWidth")
    return int(width)


def take_screenshots(shots: Sequence[Shot], *, out_dir: Path) -> list[Path]:
    """Save each shot as `out_dir/<name>.png`, in order, and return the paths."""
    names = [shot.name for shot in shots]
    if duplicates := sorted({name for name in names if names.count(name) > 1}):
        raise SphereError(f"screenshot names must be unique, repeated: {', '.join(duplicates)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    with open_browser() as browser:
        for shot in shots:
            page = open_page(browser, shot.source, width=shot.width, color_scheme=shot.color_scheme)
            try:
                target = out_dir / f"{shot.name}.png"
                page.screenshot(path=target, full_page=shot.full_page)
            finally:
                page.context.close()
            log.info("screenshot %s (%d px, %s)", target, shot.width, shot.color_scheme)
            saved.append(target)
    return saved


def measure_overflow(path: Path, widths: Iterable[int]) -> dict[int, int]:
    """The page's scroll width at each viewport width; a value above its key is overflow."""
    measured: dict[int, int] = {}
    with open_browser() as browser:
        for width in widths:
            page = open_page(browser, path, width=width)
            try:
                measured[width] = scroll_width(page)
            finally:
                page.context.close()
    return measured
