"""`sphere preview`: see sphere/preview/server.py."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from sphere.cli.options import Host, Port
from sphere.cli.output import to_stderr


def preview(
    issue: Annotated[
        str | None,
        typer.Argument(
            metavar="ISSUE",
            help="The issue to open first: a slug or its file (default: the last edited).",
            show_default=False,
        ),
    ] = None,
    port: Port = 8800,
    host: Host = "127.0.0.1",
    drafts: Annotated[
        bool, typer.Option("--drafts/--no-drafts", help="Include issues whose status is draft.")
    ] = True,
    no_open: Annotated[
        bool, typer.Option("--no-open", help="Do not open the page in the web browser.")
    ] = False,
) -> None:
    """Serve a live preview of the issues that updates as you save.

    The page shows the email at desktop and phone widths, in dark mode and as plain text, and
    the archive page; saving an issue or a template updates it by itself. Stop with Ctrl-C.
    """
    import webbrowser  # (it imports subprocess: not at start-up)

    from sphere.cli import load
    from sphere.preview.server import serve_preview

    with _sigterm_as_ctrl_c():
        server = serve_preview(load(), host, port, drafts=drafts)
        try:
            url = server.url_of(issue) if issue else server.url
            print(f"Previewing at {url} (Ctrl-C to stop)", flush=True)
            if host not in ("127.0.0.1", "::1", "localhost"):
                to_stderr(f"warning: listening on {host}: other machines can see it")
            if not no_open:
                webbrowser.open(url)
            while not server.wait(0.5):
                pass
        except KeyboardInterrupt:
            print("stopped", flush=True)
        finally:
            server.stop()


@contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """Stop on SIGTERM (`kill`, a process manager) as on Ctrl-C: the temporary folder goes too."""
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def register(app: typer.Typer) -> None:
    """Add `preview` to the main app."""
    app.command()(preview)
