"""Screenshots and layout measurements of rendered pages in headless Chromium.

Playwright drives the system's Chromium (Debian's `/usr/bin/chromium`, or `$SPHERE_CHROMIUM`); it
never downloads a browser. A page is served to the browser from a made-up origin
(`http://sphere.invalid/`), from a folder the caller names (the build's output): the browser gets
the page under test and the images, stylesheets and fonts inside that folder, and nothing else.
Every other request (another page, a frame, the network, any `file:` URL) is blocked and
logged: an email must load nothing from third parties, a preview must not depend on the
network, and a screenshot that CI uploads must never show a file from the machine.

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
from urllib.parse import quote, unquote, urlsplit

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
ORIGIN = "http://sphere.invalid"  # never resolved: every request is answered by `_Gate`
SUBRESOURCES = frozenset({"image", "stylesheet", "font"})  # what a page may load from its folder
# Chromium fetches a page's icon (<link rel="icon">) as an "other" request, not an image.
ICONS = frozenset({".svg", ".png", ".ico"})
# Sent with the page, so Chromium itself refuses frames, scripts, objects and `file:` URLs (as
# mail clients do), even those that never reach `_Gate`. Images, styles and fonts from anywhere
# do reach it: it serves the folder's own and blocks the rest with a warning naming them.
PAGE_POLICY = "default-src 'none'; img-src * data:; style-src * 'unsafe-inline'; font-src * data:"

# Playwright's sync API allows one running instance per thread, so a browser opened by
# `open_browser` is shared by nested calls (a test session's browser, then a build inside it).
_local = threading.local()


@dataclass(frozen=True)
class Shot:
    """One screenshot: `source` (an HTML file) at `width` CSS pixels, saved as `<name>.png`.

    `folder` holds the page and the images and styles it may load (default: its own folder).
    """

    name: str
    source: Path
    width: int
    color_scheme: ColorScheme = "light"
    full_page: bool = True
    folder: Path | None = None


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


def browser_unavailable() -> str | None:
    """What to install before a browser can be opened here, or None when it can."""
    try:
        chromium_executable()
    except SphereError as error:
        return str(error)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return _NO_PLAYWRIGHT
    return None


_NO_PLAYWRIGHT = (
    "screenshots need Playwright: install the 'screenshots' extra"
    " (pip install 'sphere[screenshots]' or uv sync)"
)


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
        raise SphereError(_NO_PLAYWRIGHT) from None
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
    """A fresh browser context `width` CSS pixels wide (1 device pixel each), that loads nothing
    until a page is opened in it with `open_page`."""
    context = browser.new_context(
        viewport={"width": width, "height": VIEWPORT_HEIGHT},
        device_scale_factor=1,
        color_scheme=color_scheme,
    )
    context.route("**/*", _Gate(None, "").handle)
    return context


class _Gate:
    """Answers a page's requests: the page itself, and files in `folder` it uses as images,
    stylesheets or fonts; everything else is blocked and logged."""

    def __init__(self, folder: Path | None, page_url: str):
        self.folder = folder
        self.page_url = page_url

    def handle(self, route: Route) -> None:
        request = route.request
        url = request.url
        if url == self.page_url and request.resource_type == "document":
            if url.startswith("data:"):
                route.continue_()
            else:
                headers = {"Content-Security-Policy": PAGE_POLICY}
                route.fulfill(path=self._file(url), headers=headers)
            return
        local = self._file(url) if self._may_load(request.resource_type, url) else None
        if local is not None:
            route.fulfill(path=local)
            return
        shown = url if len(url) <= 120 else url[:117] + "..."
        log.warning(
            "%s: screenshot blocked %s (a page may load only its own folder's images and styles)",
            self.page_url.removeprefix(ORIGIN + "/") or "page",
            shown,
        )
        route.abort("blockedbyclient")

    @staticmethod
    def _may_load(resource_type: str, url: str) -> bool:
        """An image, stylesheet or font, or the page's icon."""
        if resource_type in SUBRESOURCES:
            return True
        return resource_type == "other" and Path(urlsplit(url).path).suffix.lower() in ICONS

    def _file(self, url: str) -> Path | None:
        """The file in `folder` that `url` names, if it is one."""
        if self.folder is None or not url.startswith(ORIGIN + "/"):
            return None
        relative = unquote(urlsplit(url).path).lstrip("/")
        path = (self.folder / relative).resolve()
        return path if path.is_relative_to(self.folder) and path.is_file() else None


def open_page(
    browser: Browser,
    source: Path | str,
    *,
    width: int,
    color_scheme: ColorScheme = "light",
    folder: Path | None = None,
) -> Page:
    """Open an HTML file (or a `data:` URL) in a new context; close `page.context` after.

    The page may load images, stylesheets and fonts from `folder`, which must hold it; nothing
    else. By default that is the Sphere output folder the page is in (an email may show the
    archive's images), else the page's own folder.
    """
    context = new_context(browser, width=width, color_scheme=color_scheme)
    page = context.new_page()
    if isinstance(source, str):
        url, gate = source, _Gate(None, source)
    else:
        if not source.is_file():
            context.close()
            raise SphereError(f"{source}: no such file to open in the browser")
        root = (folder or _output_folder(source)).resolve()
        relative = source.resolve().relative_to(root).as_posix()
        url = f"{ORIGIN}/{quote(relative)}"
        gate = _Gate(root, url)
    page.route("**/*", gate.handle)  # (a page's routes take precedence over its context's)
    page.goto(url, wait_until="load")
    return page


def _output_folder(page: Path) -> Path:
    """The Sphere output folder holding `page` (see sphere.output), else the page's folder."""
    from sphere.output import MARKER

    for folder in page.resolve().parents:
        if (folder / MARKER).is_file():
            return folder
    return page.parent


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
            page = open_page(
                browser,
                shot.source,
                width=shot.width,
                color_scheme=shot.color_scheme,
                folder=shot.folder,
            )
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
