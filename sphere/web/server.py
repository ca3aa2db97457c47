"""`sphere serve`: the endpoints on a local HTTP server (wsgiref, one thread per request).

For local use, tests and the benchmark; on the internet the endpoints run on AWS Lambda
(sphere/web/lambda_handler.py). The access log names the method, the path and the status,
never the query string: it holds the reader's token.

A client gets `timeout` seconds to send its whole request (line, headers and body) and be
answered: one that stops half-way, or trickles a byte at a time, would otherwise hold a thread
for ever. When the time is up the connection is dropped (a body cut short changes nothing:
the app answers 408 to it). The app's own work is quick: slow work runs after the answer.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from sphere.errors import EndpointUnavailable

log = logging.getLogger(__name__)

READ_TIMEOUT = 10.0  # seconds a client has to send its whole request


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, _request: Any, _client_address: Any) -> None:
        """A client that timed out or went away is logged in one line, never a traceback."""
        log.info("a request failed before it was answered (a slow or lost client)")


class _Handler(WSGIRequestHandler):
    """wsgiref's handler, logging through `logging` without the query string, and timing out
    clients that are slow to send their request."""

    def setup(self) -> None:
        super().setup()  # sets the socket's timeout for each read (`timeout`)
        assert self.timeout is not None  # noqa: S101 (make_web_server sets it)
        self._deadline = threading.Timer(self.timeout, self._cut_reads)
        self._deadline.daemon = True
        self._deadline.start()

    def _cut_reads(self) -> None:
        """Time is up for the request: the connection is dropped, a waiting read returns."""
        with contextlib.suppress(OSError):  # already closed
            self.connection.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        self._deadline.cancel()
        super().finish()

    def log_request(self, code: Any = "-", _size: Any = "-") -> None:
        path = self.path.split("?", 1)[0]
        log.info("%s %s %s", self.command, path, code)

    def log_message(self, _fmt: str, *_args: Any) -> None:
        log.debug("http: %s", type(self).__name__)  # wsgiref's own messages quote the request


def make_web_server(app: Any, host: str, port: int, *, timeout: float = READ_TIMEOUT) -> _Server:
    """A server for `app` listening on host:port (port 0: any free port); not yet serving.

    A client has `timeout` seconds to send its request."""
    try:
        handler = type("_Handler", (_Handler,), {"timeout": timeout})
        server = make_server(host, port, app, server_class=_Server, handler_class=handler)
    except OSError as error:
        raise EndpointUnavailable(
            f"cannot listen on {host}:{port}: {error.strerror or error}; "
            "pass another --port (or --port 0 for any free one)"
        ) from None
    assert isinstance(server, _Server)  # noqa: S101 (make_server returns server_class)
    return server


__all__ = ["READ_TIMEOUT", "make_web_server"]
