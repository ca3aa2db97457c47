"""`sphere serve`: the endpoints on a local HTTP server (wsgiref, one thread per request).

For local use, tests and the benchmark; on the internet the endpoints run on AWS Lambda
(sphere/web/lambda_handler.py). The access log names the method, the path and the status,
never the query string: it holds the reader's token.
"""

from __future__ import annotations

import logging
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from sphere.errors import EndpointUnavailable

log = logging.getLogger(__name__)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class _Handler(WSGIRequestHandler):
    """wsgiref's handler, logging through `logging` without the query string."""

    def log_request(self, code: Any = "-", _size: Any = "-") -> None:
        path = self.path.split("?", 1)[0]
        log.info("%s %s %s", self.command, path, code)

    def log_message(self, _fmt: str, *_args: Any) -> None:
        log.debug("http: %s", type(self).__name__)  # wsgiref's own messages quote the request


def make_web_server(app: Any, host: str, port: int) -> _Server:
    """A server for `app` listening on host:port (port 0: any free port); not yet serving."""
    try:
        server = make_server(host, port, app, server_class=_Server, handler_class=_Handler)
    except OSError as error:
        raise EndpointUnavailable(
            f"cannot listen on {host}:{port}: {error.strerror or error}; "
            "pass another --port (or --port 0 for any free one)"
        ) from None
    assert isinstance(server, _Server)  # noqa: S101 (make_server returns server_class)
    return server


__all__ = ["make_web_server"]
