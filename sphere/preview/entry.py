"""One issue file as the preview holds it: what loaded from it, what rendered, and when.

Its own module so that the request handler can name it without reaching into the workspace's
internals; `sphere.preview.workspace` creates, invalidates and renders entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sphere.content.issues import Issue
from sphere.render.email import RenderedIssue


@dataclass(eq=False)
class Entry:
    """One issue file: what loaded from it and, once asked for, what rendered from it."""

    path: Path
    slug: str  # the issue's slug, or its last known one (or the file's stem) while broken
    issue: Issue | None = None
    load_error: str | None = None
    duplicate_error: str | None = None
    rendered: RenderedIssue | None = None
    render_error: str | None = None
    stamp: int = 0  # the version at which this issue's output last changed
    wanted: bool = False  # a page has shown it: re-rendered as soon as its file changes

    @property
    def broken(self) -> str | None:
        return self.load_error or self.duplicate_error

    @property
    def ok(self) -> bool | None:
        """Whether it renders; None until it has been tried."""
        if self.rendered is not None:
            return True
        return False if self.broken or self.render_error else None

    def forget_render(self, version: int) -> None:
        self.rendered, self.render_error, self.stamp = None, None, version
