"""How the preview answers one request: routing, the views it serves, and their headers.

Kept apart from `sphere.preview.server`, which starts and stops the threads: this module is what
a request meets, so the routes, the security headers and the `/events` stream read in one place.
Every response forbids loading anything from another origin, and being framed or read by one;
a request whose `Host` is not the server's own gets 403 (see `sphere.preview.origin`).
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import re
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sphere.content.markup import IMAGE_TYPES
from sphere.errors import SphereError
from sphere.preview.entry import Entry
from sphere.preview.origin import CSP, PAGE_CSP, Origin
from sphere.preview.workspace import Workspace

log = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 10.0
UI_FILES = {
    "index.html": "text/html; charset=utf-8",
    "preview.js": "text/javascript; charset=utf-8",
    "preview.css": "text/css; charset=utf-8",
}


class PreviewHTTPServer(ThreadingHTTPServer):
    """The listening socket, carrying what every request handler reads: the workspace, the
    stop signal and the origin a request must name."""

    daemon_threads = True
    block_on_close = False  # handlers end themselves once `stopping` is set
    workspace: Workspace
    stopping: threading.Event
    origin: Origin  # the `Host` a request must name

    def handle_error(self, _request: Any, client_address: Any) -> None:
        log.exception("the preview server failed to answer %s", client_address[0])


class RequestHandler(BaseHTTPRequestHandler):
    """One request: routed by path to a view of the workspace, with the preview's headers."""

    server: PreviewHTTPServer
    protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers at stop
    timeout = 10  # a client that sends nothing cannot hold a thread for long
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed ACK

    def log_message(self, fmt: str, *args: Any) -> None:
        log.debug("%s " + fmt, self.address_string(), *args)

    head_only = False  # answering HEAD: the same headers as GET, no body

    def do_GET(self) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._route()  # (the errors: the page went away or reloaded)

    def do_HEAD(self) -> None:
        self.head_only = True
        self.do_GET()

    def _route(self) -> None:
        if not self.server.origin.allows(self.headers.get("Host")):
            self._forbidden()
            return
        url = urlsplit(self.path)
        path, query = unquote(url.path), parse_qs(url.query)
        workspace = self.server.workspace
        if path == "/" or path.startswith("/issue/"):
            self._ui("index.html")
        elif path.startswith("/_ui/"):
            self._ui(path.removeprefix("/_ui/"))
        elif path == "/api/state":
            state = workspace.state(query.get("issue", [None])[0])
            self._send(json.dumps(state).encode(), "application/json")
        elif path == "/events":
            self._events()
        elif match := re.fullmatch(r"/email/([^/]+)\.html", path):
            dark = query.get("scheme") == ["dark"]
            self._issue(match[1], lambda entry: for_preview(workspace.email(entry)[1], dark=dark))
        elif match := re.fullmatch(r"/text/([^/]+)\.txt", path):
            self._issue(match[1], lambda entry: workspace.email(entry)[0], "text/plain")
        elif path.startswith("/archive/"):
            self._archive(path.removeprefix("/archive/"))
        elif path.startswith("/content/"):
            self._content(path.removeprefix("/content/"))
        else:
            self._not_found()

    # --- responses -----------------------------------------------------------------------

    def _send(
        self,
        body: bytes,
        content_type: str,
        status: HTTPStatus = HTTPStatus.OK,
        *,
        csp: str = CSP,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self._common_headers(csp)
        self.end_headers()
        if not self.head_only:
            self.wfile.write(body)

    def _common_headers(self, csp: str = CSP) -> None:
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", csp)
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")

    def _not_found(self) -> None:
        self._send(
            error_page("not found", self.path), "text/html; charset=utf-8", HTTPStatus.NOT_FOUND
        )

    def _forbidden(self) -> None:
        """A request for another host: a page on another origin, whose name now points here."""
        log.warning("refused a request for host %r", self.headers.get("Host"))
        page = error_page("this preview answers only its own address")
        self._send(page, "text/html; charset=utf-8", HTTPStatus.FORBIDDEN, csp=PAGE_CSP)

    def _failed(self, error: SphereError) -> None:
        """The view's error, shown in its frame (the page shows it above the frames too)."""
        page = error_page(str(error))
        self._send(page, "text/html; charset=utf-8", HTTPStatus.INTERNAL_SERVER_ERROR)

    def _ui(self, name: str) -> None:
        if name not in UI_FILES:
            self._not_found()
            return
        body = resources.files("sphere.preview").joinpath("ui", name).read_bytes()
        self._send(body, UI_FILES[name], csp=PAGE_CSP if name == "index.html" else CSP)

    def _issue(self, key: str, make: Callable[[Entry], str], kind: str = "text/html") -> None:
        workspace = self.server.workspace
        entry: Entry | None = workspace.find(key)
        if entry is None or key not in (entry.slug, entry.path.stem):
            self._not_found()
            return
        try:
            body = make(entry)
        except SphereError as error:
            self._failed(error)
            return
        self._send(body.encode("utf-8"), f"{kind}; charset=utf-8")

    def _archive(self, relative: str) -> None:
        try:
            site = self.server.workspace.archive()
        except SphereError as error:
            self._failed(error)
            return
        self._file(site, relative or "index.html")

    def _content(self, relative: str) -> None:
        try:
            content_dir = self.server.workspace.settings.content_dir
        except SphereError:
            self._not_found()
            return
        if Path(relative).suffix.lower() not in IMAGE_TYPES:
            self._not_found()
            return
        self._file(content_dir, relative)

    def _file(self, folder: Path, relative: str) -> None:
        """A file below `folder` (a folder's index.html); nothing outside it."""
        try:
            body, path = _read_below(folder, relative)
        except (OSError, ValueError, RuntimeError):  # missing, a NUL, too long, a symlink loop
            self._not_found()
            return
        self._send(body, _content_type(path))

    def _events(self) -> None:
        """Server-Sent Events: `change` with `Workspace.news()` at once, then on each change."""
        workspace, stopping = self.server.workspace, self.server.stopping
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self._common_headers()
        self.end_headers()
        if self.head_only:
            return
        self.wfile.write(b"retry: 500\n\n")
        seen = 0

        def moved() -> bool:
            return workspace.version != seen or stopping.is_set()

        while not stopping.is_set():
            with workspace.changed:
                workspace.changed.wait_for(moved, KEEPALIVE_SECONDS)
                version = workspace.version
            if stopping.is_set():
                break
            if version != seen:
                seen = version
                news = json.dumps(workspace.news())
                self.wfile.write(f"event: change\ndata: {news}\n\n".encode())
            else:
                self.wfile.write(b": still here\n\n")
            self.wfile.flush()


def _read_below(folder: Path, relative: str) -> tuple[bytes, Path]:
    """The bytes of `folder/relative` (or its index.html), which must resolve inside `folder`."""
    path = (folder / relative).resolve()
    if path.is_dir():
        path = path / "index.html"
    if not path.is_relative_to(folder.resolve()):
        raise FileNotFoundError(relative)
    return path.read_bytes(), path


_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
_COLOR_SCHEME_META = re.compile(r'<meta\s+name="color-scheme"[^>]*>', re.IGNORECASE)
_PREFERS = re.compile(r"\(\s*prefers-color-scheme\s*:\s*(dark|light)\s*\)", re.IGNORECASE)


def for_preview(html: str, *, dark: bool = False) -> str:
    """The email's HTML as the preview serves it: links open a new tab; dark mode if asked.

    Dark mode is forced in the served copy itself (the colour scheme set to dark, and each
    `prefers-color-scheme` media feature replaced by one that is always true or always false),
    so it does not depend on how a browser passes the preference into an iframe.
    """
    head = '<base target="_blank">'
    if dark:
        html = _COLOR_SCHEME_META.sub('<meta name="color-scheme" content="dark">', html)
        html = _PREFERS.sub(
            lambda match: "(min-width: 0px)" if match[1].lower() == "dark" else "(max-width: -1px)",
            html,
        )
        html = html.replace("</head>", "<style>:root{color-scheme:dark}</style></head>", 1)
    return _HEAD.sub(lambda match: match[0] + head, html, count=1)


def error_page(message: str, path: str | None = None) -> bytes:
    """A small HTML page that shows `message` (escaped) in place of a view that failed."""
    where = f"<p>{html.escape(path)}</p>" if path else ""
    return (
        '<!doctype html><html lang="en"><meta charset="utf-8"><title>Sphere preview: error</title>'
        '<body style="font:15px/1.5 system-ui,sans-serif;margin:16px;color:#7f1d1d">'
        f'<pre style="white-space:pre-wrap;margin:0">{html.escape(message)}</pre>{where}</body>'
    ).encode()


def _content_type(path: Path) -> str:
    types = {
        ".html": "text/html; charset=utf-8",
        ".css": "text/css; charset=utf-8",
        ".xml": "application/xml; charset=utf-8",
        ".png": "image/png",
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".svg": "image/svg+xml",
        ".ico": "image/x-icon",
        ".js": "text/javascript; charset=utf-8",
        ".txt": "text/plain; charset=utf-8",
    }
    return types.get(path.suffix.lower(), "application/octet-stream")
