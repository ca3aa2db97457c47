"""`sphere serve`: the subscriber endpoints on a local server (see sphere/web/)."""

from __future__ import annotations

import signal
from typing import Annotated

import typer

from sphere.cli.options import Host, Port
from sphere.cli.output import to_stderr


def serve(
    port: Port = 8801,
    host: Host = "127.0.0.1",
    timeout: Annotated[
        float,
        typer.Option(min=0.1, metavar="SECONDS", help="Seconds a client has to send its request."),
    ] = 10.0,
) -> None:
    """Serve the unsubscribe, subscribe and confirm endpoints until stopped.

    For local use and tests: pages and links use endpoint_url from the settings (set
    SPHERE_ENDPOINT_URL to this server's address to try them). Confirmation emails go through
    SPHERE_TRANSPORT. Stop with Ctrl-C.
    """
    from sphere.cli import load
    from sphere.web import make_app
    from sphere.web.server import make_web_server

    settings = load()
    server = make_web_server(make_app(settings), host, port, timeout=timeout)
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        bound_host, bound_port = str(server.server_address[0]), server.server_address[1]
        print(f"Serving the endpoints at http://{bound_host}:{bound_port}/ (Ctrl-C to stop)")
        print(f"Pages link to {settings.endpoint_url}", flush=True)
        if host not in ("127.0.0.1", "::1", "localhost"):
            to_stderr(f"warning: listening on {host}: other machines can reach it")
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        print("stopped", flush=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()


def register(app: typer.Typer) -> None:
    """Add `serve` to the main app."""
    app.command()(serve)
