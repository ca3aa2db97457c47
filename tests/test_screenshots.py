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

from sphere.errors import SphereError
from sphere.screenshots import Shot, chromium_executable, measure_overflow, take_screenshots

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

        def log_message(self, format: str, *args: object) -> None:
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

    assert light.read_bytes() != dark.read_bytes()


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
    assert f"blocked a request to {base}/pixel.gif" in caplog.messages
    assert f"blocked a request to {base}/style.css" in caplog.messages


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
