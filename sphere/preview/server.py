"""`sphere preview`: a local server that shows an issue as its readers will see it, live.

The page (`sphere/preview/ui/`, the tool's own, not the newsletter's theme) shows the chosen
issue's email at desktop (600 px) and phone (375 px) widths, in dark mode, as plain text and as
its archive page, with a list of issues to switch between. `sphere.preview.workspace` notices
saved files and re-renders what depends on them; `/events` (Server-Sent Events) tells the page,
which reloads the views that changed. A broken file shows its error in the page; the server goes
on.

This module starts and stops the server and its watcher thread; `sphere.preview.handler` answers
the requests. Routes: `/` and `/issue/<slug>` (the page), `/_ui/<file>`,
`/api/state?issue=<slug>`, `/events`, `/email/<slug>.html[?scheme=dark]`, `/text/<slug>.txt`,
`/archive/...` (the archive as built) and `/content/<image>` (the email's images, which it
otherwise loads from the archive's public URL). Every response forbids loading anything from
another origin, and being framed or read by one: the server answers only requests whose `Host`
is the address it listens on (or `localhost` on loopback), so a hostile page whose name was
re-pointed at this machine (DNS rebinding) gets 403, never a draft.
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sphere.errors import PreviewUnavailable, SphereError
from sphere.preview.handler import PreviewHTTPServer, RequestHandler
from sphere.preview.origin import Origin
from sphere.preview.workspace import Workspace
from sphere.settings import Settings

log = logging.getLogger(__name__)

POLL_SECONDS = 0.05


@dataclass
class PreviewServer:
    """A preview server and its threads: once `start()`ed, open `url` in a browser; `stop()`
    ends every thread it started."""

    url: str
    workspace: Workspace
    _httpd: PreviewHTTPServer
    _threads: tuple[threading.Thread, ...]

    def url_of(self, issue: str) -> str:
        """The page of `issue` (a slug, or the path of its file); SphereError if there is none."""
        key = Path(issue).stem if issue.endswith(".md") else issue
        entry = self.workspace.find(key)
        if entry is None or key not in (entry.slug, entry.path.stem):
            raise SphereError(f"no issue {issue!r} in {self.workspace.state(None)['issues_dir']}/")
        return f"{self.url}issue/{quote(entry.slug, safe='')}"

    def start(self, host: str) -> None:
        """Start serving and watching, and set `url` (`host` as the server was asked to listen
        on); on any failure, stop what was started before the error goes on."""
        try:
            for thread in self._threads:
                thread.start()
            shown_host = f"[{host}]" if ":" in host else host
            self.url = f"http://{shown_host}:{self._httpd.server_address[1]}/"
        except BaseException:
            self._stop_started()
            raise

    def _stop_started(self) -> None:
        """Stop what a failed start began (`stop()` would wait on a server never started)."""
        self._httpd.stopping.set()
        if self._threads[0].is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=5)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the server stops (or `timeout` passes); True once stopped."""
        return self._httpd.stopping.wait(timeout)

    def stop(self) -> None:
        """Stop serving and watching, close the socket, remove the temporary archive."""
        if self._httpd.stopping.is_set():
            return
        self._httpd.stopping.set()
        with self.workspace.changed:
            self.workspace.changed.notify_all()  # wakes the /events streams, which then end
        self._httpd.shutdown()
        self._httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self.workspace.close()
        log.info("preview stopped")

    def __enter__(self) -> PreviewServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_preview(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    drafts: bool = True,
    poll_seconds: float = POLL_SECONDS,
) -> PreviewServer:
    """Start the preview server and its file watcher in background threads (port 0: any free).

    On any failure while starting, what was started is stopped and the temporary folder
    removed before the error goes on.
    """
    workspace = Workspace(settings, drafts=drafts)
    try:
        return _start(workspace, settings, host, port, poll_seconds)
    except BaseException:
        workspace.close()
        raise


def _start(
    workspace: Workspace, settings: Settings, host: str, port: int, poll_seconds: float
) -> PreviewServer:
    class Server(PreviewHTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    try:
        httpd = Server((host, port), RequestHandler)
    except OSError as error:
        reason = error.strerror or str(error)
        raise PreviewUnavailable(
            f"cannot listen on {host}:{port}: {reason}; {_bind_fix(error)}"
        ) from None
    except (OverflowError, ValueError) as error:  # a port out of 0-65535, a NUL in the host
        raise PreviewUnavailable(f"cannot listen on {host}:{port}: {error}") from None
    httpd.workspace, httpd.stopping = workspace, threading.Event()
    httpd.origin = Origin.listening_on(host, httpd.server_address[1])
    threads = (
        threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.1},  # how soon `stop()` returns
            name="sphere-preview-http",
            daemon=True,
        ),
        threading.Thread(
            target=_watch,
            args=(workspace, httpd.stopping, poll_seconds),
            name="sphere-preview-watch",
            daemon=True,
        ),
    )
    server = PreviewServer(url="", workspace=workspace, _httpd=httpd, _threads=threads)
    server.start(host)
    log.info("previewing %s at %s", settings.root, server.url)
    return server


def _bind_fix(error: OSError) -> str:
    """What to change when the server cannot listen: the port if it is taken, else the host."""
    if error.errno in (errno.EADDRINUSE, errno.EACCES):
        return "choose another --port (0: any)"
    return "--host must be an address of this machine (default 127.0.0.1)"


def _watch(workspace: Workspace, stopping: threading.Event, seconds: float) -> None:
    while not stopping.wait(seconds):
        try:
            workspace.poll()
        except Exception:  # the watcher must outlive any one bad scan
            log.exception("watching the project failed; trying again")
