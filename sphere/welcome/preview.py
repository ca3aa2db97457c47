"""The welcome as the author looks at it before anyone gets it: `sphere welcome --preview`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sphere.errors import ContentError

if TYPE_CHECKING:
    from pathlib import Path

    from sphere.settings import Settings

PREVIEW_DIR = ".sphere/welcome"  # Sphere's own folder, beside the cache and the outbox


def write_preview(settings: Settings) -> list[Path]:
    """Write welcome.html and welcome.txt (the preview reader's, greeted by the fallback) into
    .sphere/welcome/; ContentError when there is no welcome to preview."""
    from sphere.mail.preview import preview_email
    from sphere.private import private_folder, write_private
    from sphere.welcome.message import render_welcome, welcome_path

    rendered = render_welcome(settings)
    if rendered is None:
        path = welcome_path(settings)
        why = "is a draft" if path.exists() else "does not exist: there is no welcome email"
        raise ContentError(f"{why}", path=path)
    text, html = preview_email(settings, rendered)
    folder = settings.root / PREVIEW_DIR
    private_folder(folder)
    written = []
    for name, body in (("welcome.html", html), ("welcome.txt", text)):
        write_private(folder / name, body.encode("utf-8"))
        written.append(folder / name)
    return written


__all__ = ["PREVIEW_DIR", "write_preview"]
