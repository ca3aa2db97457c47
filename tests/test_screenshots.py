"""sphere.screenshots: PNG sizes, colour schemes, offline pages and overflow measurement.

The tests ask for the session's `browser` so that the library reuses it instead of starting
Chromium again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fixtures_browser import png_size
from fixtures_project import png_bytes
from pngs import pixels

from sphere.errors import SphereError
from sphere.screenshots import (
    Shot,
    chromium_executable,
    measure_overflow,
    open_page,
    take_screenshots,
)

SCHEMED = """<!doctype html><meta charset=utf-8>
<style>
  body { background: #ffffff; color: #000000; }
  @media (prefers-color-scheme: dark) { body { background: #101010; color: #eeeeee; } }
</style>
<h1>Sphere</h1><p>Ideas for improving execution in the sales process.</p>
"""


@pytest.fixture
def schemed(tmp_path: Path) -> Path:
    page = tmp_path / "schemed.html"
    page.write_text(SCHEMED, encoding="utf-8")
    return page


@pytest.fixture
def http_server() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on loopback that records every path requested from it."""
    requested: list[str] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requested.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, _fmt: str, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", requested
    server.shutdown()
    server.server_close()


def test_png_width_is_the_viewport_width(browser, schemed: Path, tmp_path: Path) -> None:
    shots = [Shot("narrow", schemed, 320), Shot("wide", schemed, 600, full_page=False)]

    paths = take_screenshots(shots, out_dir=tmp_path / "out")

    assert paths == [tmp_path / "out" / "narrow.png", tmp_path / "out" / "wide.png"]
    assert png_size(paths[0].read_bytes())[0] == 320
    assert png_size(paths[1].read_bytes()) == (600, 900)


def test_dark_scheme_renders_differently(browser, schemed: Path, tmp_path: Path) -> None:
    light, dark = take_screenshots(
        [Shot("light", schemed, 320), Shot("dark", schemed, 320, color_scheme="dark")],
        out_dir=tmp_path,
    )

    # The background: white in light mode, near black in dark mode (the page's CSS).
    assert pixels(light.read_bytes())[-1][-1] == (255, 255, 255)
    assert pixels(dark.read_bytes())[-1][-1] == (16, 16, 16)


def test_third_party_requests_are_blocked(
    browser, http_server, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    base, requested = http_server
    page = tmp_path / "tracked.html"
    page.write_text(
        f'<!doctype html><link rel=stylesheet href="{base}/style.css">'
        f'<img src="{base}/pixel.gif" width=1 height=1><p>Hello',
        encoding="utf-8",
    )

    with caplog.at_level(logging.WARNING, logger="sphere.screenshots"):
        take_screenshots([Shot("tracked", page, 320)], out_dir=tmp_path)

    assert requested == []
    why = "(a page may load only its own folder's images and styles)"
    assert f"tracked.html: screenshot blocked {base}/pixel.gif {why}" in caplog.messages
    assert f"tracked.html: screenshot blocked {base}/style.css {why}" in caplog.messages


SECRET = "sphere-secret-canary-4711"


@pytest.mark.parametrize(
    "frame",
    [
        '<iframe src="file://{secret}" width=300 height=80></iframe>',
        '<iframe src="secret.html" width=300 height=80></iframe>',
        '<img src="file://{secret_png}" width=300 height=80>',
        '<img src="../outside.png" width=300 height=80>',
    ],
    ids=["file: frame", "another page as a frame", "file: image", "an image outside the folder"],
)
def test_a_page_loads_nothing_but_itself_and_its_folders_images(
    browser, tmp_path: Path, frame: str
) -> None:
    """A file on the machine must never end up in a PNG that CI uploads (issue 13)."""
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET * 20, encoding="utf-8")
    secret_png = tmp_path / "secret.png"
    secret_png.write_bytes(png_bytes(300, 80))
    (tmp_path / "outside.png").write_bytes(png_bytes(300, 80))
    site = tmp_path / "site"
    site.mkdir()
    (site / "secret.html").write_text(f"<p>{SECRET}</p>", encoding="utf-8")
    tag = frame.format(secret=secret, secret_png=secret_png)
    page = site / "page.html"
    page.write_text(f'<body style="margin:0;background:#fff">{tag}', encoding="utf-8")
    blank = site / "blank.html"
    blank.write_text(
        f'<body style="margin:0;background:#fff">{frame.format(secret="/nowhere", secret_png="/nowhere.png").replace("secret.html", "nowhere.html").replace("../outside.png", "nowhere.png")}',
        encoding="utf-8",
    )

    shot, missing = take_screenshots(
        [Shot("page", page, 320, full_page=False), Shot("blank", blank, 320, full_page=False)],
        out_dir=tmp_path / "shots",
    )
    # What was asked for looks exactly like something that does not exist: nothing loaded.
    assert pixels(shot.read_bytes()) == pixels(missing.read_bytes())
    opened = open_page(browser, page, width=320)
    try:
        # A blocked frame never navigates: no document to read (evaluating in it would hang).
        assert [frame.url for frame in opened.frames[1:]] in (
            [],
            [""],
            ["about:blank"],
            ["chrome-error://chromewebdata/"],
        )
        widths = opened.evaluate("[...document.images].map(i => i.naturalWidth)")
        assert widths in ([], [0])
    finally:
        opened.context.close()


def test_a_page_loads_its_folders_images_and_styles(browser, tmp_path: Path) -> None:
    (tmp_path / "site/images").mkdir(parents=True)
    (tmp_path / "site/images/chart.png").write_bytes(png_bytes(120, 40))
    (tmp_path / "site/style.css").write_text("body { background: rgb(0, 0, 255) }", "utf-8")
    (tmp_path / "email").mkdir()
    page = tmp_path / "email/issue.html"
    page.write_text(
        '<link rel=stylesheet href="../site/style.css"><img src="../site/images/chart.png">',
        encoding="utf-8",
    )
    opened = open_page(browser, page, width=320, folder=tmp_path)
    try:
        assert opened.evaluate("document.images[0].naturalWidth") == 120
        colour = opened.evaluate("getComputedStyle(document.body).backgroundColor")
        assert colour == "rgb(0, 0, 255)"
    finally:
        opened.context.close()


def test_local_images_still_load(browser, tmp_path: Path) -> None:
    (tmp_path / "wide.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="500" height="10"/>', encoding="utf-8"
    )
    page = tmp_path / "image.html"
    page.write_text('<body style="margin:0"><img src="wide.svg">', encoding="utf-8")

    assert measure_overflow(page, [320]) == {320: 500}


def test_measure_overflow_per_width(browser, tmp_path: Path) -> None:
    page = tmp_path / "fixed.html"
    page.write_text('<body style="margin:0"><table width=480><tr><td>x</table>', encoding="utf-8")

    assert measure_overflow(page, [320, 480, 600]) == {320: 480, 480: 480, 600: 600}


def test_missing_source_names_the_file(browser, tmp_path: Path) -> None:
    missing = tmp_path / "nope.html"

    with pytest.raises(SphereError, match=r"nope\.html: no such file"):
        take_screenshots([Shot("x", missing, 320)], out_dir=tmp_path)


def test_repeated_names_are_refused(tmp_path: Path) -> None:
    shots = [Shot("email", tmp_path / "a.html", 320), Shot("email", tmp_path / "b.html", 600)]

    with pytest.raises(SphereError, match="repeated: email"):
        take_screenshots(shots, out_dir=tmp_path)


def test_missing_chromium_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(SphereError, match=r"apt-get install chromium.*SPHERE_CHROMIUM"):
        chromium_executable({"SPHERE_CHROMIUM": str(tmp_path / "no-chromium")})


def test_sphere_chromium_overrides_the_default(tmp_path: Path) -> None:
    fake = tmp_path / "chrome"
    fake.write_bytes(b"")

    assert chromium_executable({"SPHERE_CHROMIUM": str(fake)}) == fake
