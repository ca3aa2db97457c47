"""`sphere serve` on a loopback port, for tests that talk to the endpoints over real HTTP.

Imported by the tests that use it (`from fixtures_web import endpoint`); the server runs in its
own process, as it would in production, with the outbox transport and a local store, and its
standard error (the logs, at -v) is kept for tests that check what the logs hold.
"""

from __future__ import annotations

import http.client
import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

SECRET = "test-secret-for-the-endpoints-0123456789abcdef"


def call_app(
    app: Callable[..., Iterable[bytes]], method: str, path: str, query: str = "", body: bytes = b""
) -> str:
    """Call a WSGI app in-process with a form body, as a browser posts it; return its status
    (once the app's work after the answer is done too)."""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "REMOTE_ADDR": "192.0.2.7",
    }
    status: list[str] = []
    result = app(environ, lambda s, h: status.append(s))
    b"".join(result)
    close = getattr(result, "close", None)
    if close is not None:
        close()  # as every WSGI server does once the answer is sent
    return status[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str


@dataclass
class Endpoint:
    """A running `sphere serve`: its URL, its project's environment, and a small HTTP client."""

    url: str
    root: Path
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Reply:
        """One HTTP request on a new connection (as a mail client or a browser sends it).

        Returns once the server has closed the connection: a subscribe's work is done after
        its answer is sent (sphere/web/app.py), and the test then looks at what it did.
        """
        target = urlsplit(self.url)
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            assert connection.sock is not None
            closed = connection.sock.dup()  # outlives http.client's own close
            response = connection.getresponse()
            text = response.read().decode("utf-8")
            closed.settimeout(30)
            with closed:
                while closed.recv(4096):
                    pass
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, text)
        finally:
            connection.close()

    def post_form(self, path: str, fields: dict[str, str], **headers: str) -> Reply:
        from urllib.parse import urlencode

        head = {"Content-Type": "application/x-www-form-urlencoded", **headers}
        return self.request("POST", path, urlencode(fields).encode(), head)

    def outbox(self) -> list[Path]:
        folder = self.root / "outbox"
        return sorted(folder.glob("*.eml")) if folder.is_dir() else []


def start_serve(
    root: Path, env: dict[str, str], port: int, log: Path, args: tuple[str, ...] = ()
) -> subprocess.Popen[bytes]:
    """Start `sphere -v serve` (with `args`) in `root`; return once it answers."""
    command = [sys.executable, "-m", "sphere", "-v", "serve", "--port", str(port), *args]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=sink, stderr=sink)
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("sphere serve did not start: " + log.read_text()) from None
            time.sleep(0.05)


def serve_env(root: Path, port: int, **extra: str) -> dict[str, str]:
    """The environment of a `sphere serve` (and of the test reading its store) in `root`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPHERE_")}
    env.update(
        SPHERE_STORE=str(root / "store"),
        SPHERE_TRANSPORT="outbox:outbox",
        SPHERE_SECRET=SECRET,
        SPHERE_ENDPOINT_URL=f"http://127.0.0.1:{port}/",
        SPHERE_TODAY="2026-12-01",
    )
    env.update(extra)
    return env


StartEndpoint = Callable[..., Endpoint]


@pytest.fixture
def serve_endpoint(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StartEndpoint]:
    """`start(*args, **SPHERE_env)`: a `sphere serve` for the `project` copy (stopped after the
    test), with `args` after `sphere serve`.

    This process is given the same SPHERE_* settings, so the library and `sphere` commands run
    in the test see the server's store and URLs.
    """
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str, **extra: str) -> Endpoint:
        port = free_port()
        env = serve_env(project, port, **extra)
        for key, value in env.items():
            if key.startswith("SPHERE_"):
                monkeypatch.setenv(key, value)
        log = project / "serve.log"
        process = start_serve(project, env, port, log, args)
        started.append(process)
        return Endpoint(f"http://127.0.0.1:{port}/", project, env, log, process)

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def endpoint(serve_endpoint: StartEndpoint) -> Endpoint:
    """`sphere serve` for the `project` copy, with the default settings for tests."""
    return serve_endpoint()
