"""A fault proxy for the suite: an HTTP proxy on a loopback port in front of moto.

boto3 reaches S3 through it by `AWS_ENDPOINT_URL_S3` (so SES, SQS and the rest go straight to
moto). Each request is forwarded as it came; a rule can instead

- `lose`: forward the request (it lands), then drop the connection without the reply, as a
  network does when a reply is lost: botocore sees no answer and sends the request again;
- `hold`: keep the request until `release()` (or for a number of seconds), then forward it;
- `fail`: answer 503 without forwarding (the request never lands).

Rules match a method and a regular expression searched in the path (the bucket, the key and
the query: `/bucket/prefix/subscribers/snapshot.json`), and apply to the next `times` matching
requests (`times=-1`: all of them; `first_only=True`: only the first attempt of each, so that
botocore's retry of a lost reply goes through). `seen` keeps every request's method, path and what was done with it.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import urlsplit

Action = Literal["lose", "hold", "fail"]


@dataclass
class Rule:
    """What to do with the next `times` requests of `method` whose path matches `path`."""

    action: Action
    method: str
    path: str
    times: int = 1
    seconds: float = 0.0  # for `hold`: how long, or until released when 0
    first_only: bool = False  # only a request's first attempt: botocore's retry goes through
    done: set[tuple[str, str, str]] = field(default_factory=set)
    released: threading.Event = field(default_factory=threading.Event)
    matched: threading.Event = field(default_factory=threading.Event)  # set at the first match

    def matches(self, method: str, path: str, body: bytes = b"") -> bool:
        if self.times == 0 or self.method not in (method, "*") or not re.search(self.path, path):
            return False
        if self.first_only:  # the same request again (same body) is a retry: let it through
            attempt = (method, path, hashlib.sha256(body).hexdigest())
            if attempt in self.done:
                return False
            self.done.add(attempt)
        return True

    def release(self) -> None:
        """Let a held request (and every later one this rule holds) go on."""
        self.released.set()


class FaultProxy:
    """The proxy; see the module docstring. Use as a context manager."""

    def __init__(self, upstream: str):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.rules: list[Rule] = []
        self.seen: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for rule in self.rules:
            rule.release()
        self._server.shutdown()
        self._server.server_close()

    def add(self, action: Action, method: str, path: str, **options: float | bool) -> Rule:
        """A new rule, checked before the older ones."""
        rule = Rule(action, method, path, **options)  # type: ignore[arg-type]
        with self._lock:
            self.rules.insert(0, rule)
        return rule

    def clear(self) -> None:
        """Drop every rule (held requests go on)."""
        with self._lock:
            for rule in self.rules:
                rule.release()
            self.rules.clear()

    def rule_for(self, method: str, path: str, body: bytes) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path, body):
                    rule.times -= 1
                    rule.matched.set()
                    return rule
        return None

    def count(self, method: str, path: str, done: str | None = None) -> int:
        """How many requests of `method` matching `path` came (and were `done` so)."""
        return sum(
            1
            for m, p, d in self.seen
            if m == method and re.search(path, p) and (done is None or d == done)
        )


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # quiet: the suite's output is for the tests

        def _any(self) -> None:
            body = self._body()
            rule = proxy.rule_for(self.command, self.path, body)
            action = rule.action if rule else "forward"
            proxy.seen.append((self.command, self.path, action))
            if rule is not None and rule.action == "fail":
                self._reply(503, [("Content-Type", "application/xml")], _SLOW_DOWN)
                return
            if rule is not None and rule.action == "hold":
                rule.released.wait(rule.seconds or 60)
            status, headers, data = self._forward(body)
            if rule is not None and rule.action == "lose":
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            self._reply(status, headers, data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    chunk = self.rfile.read(size)
                    self.rfile.readline()
                    if size == 0:
                        break
                    chunks.append(chunk)
                return b"".join(chunks)
            return self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))

        def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
            connection = http.client.HTTPConnection(*proxy.upstream, timeout=60)
            try:
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("transfer-encoding", "connection", "content-length")
                }
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
                dropped = {"transfer-encoding", "connection"}
                if self.command != "HEAD":
                    dropped.add("content-length")
                kept = [(k, v) for k, v in response.getheaders() if k.lower() not in dropped]
                return response.status, kept, data
            finally:
                connection.close()

        def _reply(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            if self.command != "HEAD":  # a HEAD's reply keeps the object's Content-Length
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

    return Handler


_SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
    b"<Message>injected by the fault proxy</Message></Error>"
)


def wait_for(event: threading.Event, what: str, seconds: float = 20) -> None:
    """Wait for a rule to match (a test's pause point); fail with `what` if it never does."""
    if not event.wait(seconds):
        raise AssertionError(f"timed out waiting for {what}")
    time.sleep(0)  # let the held thread reach its wait
