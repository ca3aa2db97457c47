"""`content/welcome.md` checked like an issue: the same rules, with the welcome's defaults and
its extra names (`latest`); nothing is checked when there is no welcome."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from sphere.checks.body import IMAGE_LIMIT
from sphere.checks.issue import IssueChecker, check_one
from sphere.errors import ContentError

if TYPE_CHECKING:
    from pathlib import Path

    from sphere.checks.findings import Finding
    from sphere.content.issues import Issue
    from sphere.settings import Settings


def check_welcome(settings: Settings, *, image_limit: int = IMAGE_LIMIT) -> list[Finding]:
    """The welcome's findings, each at its line of content/welcome.md ([] with no file)."""
    from sphere.welcome.message import WelcomeRenderer, latest_issue, load_welcome, welcome_path

    path = welcome_path(settings)
    if not path.exists() and not path.is_symlink():
        return []
    renderer = functools.partial(WelcomeRenderer, latest=latest_issue(settings))

    def load(path: Path) -> Issue:
        welcome = load_welcome(settings, path)
        if welcome is None:  # gone since the check above
            raise ContentError("the file is gone", path=path)
        return welcome

    checker = IssueChecker(settings, image_limit=image_limit, renderer=renderer, load=load)
    return check_one(checker, path).findings


__all__ = ["check_welcome"]
