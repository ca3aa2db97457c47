"""The welcome email's content: `content/welcome.md`, rendered with the issue's theme.

The file has front matter like an issue's, every key optional: `subject` (default "Welcome to
NAME"), `title` (the heading; default the subject), `summary` (the preheader; default the
tagline) and `status` (`draft` sends no welcome). `date` and `slug` mean nothing here. The text
may use what an issue's may, plus `{{ latest.title }}` and `{{ latest.url }}`: the newest
issue whose send time has come (the archive's front page before there is one). Not merely its
date: the deployed archive holds today's issue only from its send time (sphere.schedule), and
a link to it before then would 404.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sphere.content.issues import (
    Issue,
    issue_from,
    load_issues,
    parse_front_matter,
    read_issue_text,
    split_front_matter,
)
from sphere.errors import ContentError
from sphere.render.email import Renderer
from sphere.render.environment import Latest
from sphere.render.urls import archive_url

if TYPE_CHECKING:
    from sphere.mail.message import MessageTemplate
    from sphere.render.email import RenderedIssue
    from sphere.settings import Settings

WELCOME_FILE = "welcome.md"
SLUG = "welcome"


def welcome_path(settings: Settings) -> Path:
    """Where the welcome's Markdown is: `content/welcome.md`."""
    return settings.content_dir / WELCOME_FILE


def welcome_enabled(settings: Settings) -> bool:
    """Whether confirmations queue a welcome: `content/welcome.md` exists and is not a draft.

    A draft queues nothing, as no file does: setting it to ready later must not welcome
    everyone who confirmed meanwhile, months late. A file that does not load counts as
    enabled: its welcomes are queued and held back until it is fixed (`sphere check` says
    what is wrong), as a broken ready welcome's are."""
    if not welcome_path(settings).is_file():
        return False
    try:
        welcome = load_welcome(settings)
    except ContentError:
        return True
    return welcome is not None and not welcome.is_draft


def load_welcome(settings: Settings, path: Path | None = None) -> Issue | None:
    """The welcome as an Issue (defaults filled in), None when there is no file; ContentError
    at the line of what is wrong."""
    path = path or welcome_path(settings)
    if not path.exists() and not path.is_symlink():
        return None
    text = read_issue_text(path)
    front, body, body_line = split_front_matter(text, path)
    data, key_lines = parse_front_matter(front, path)
    data = {key: value for key, value in data.items() if value not in (None, "")}
    default = f"Welcome to {settings.name}"
    data.setdefault("subject", default)
    data.setdefault("title", data["subject"] if isinstance(data["subject"], str) else default)
    data.setdefault("summary", settings.tagline)
    data.setdefault("status", "ready")  # (an issue's default is draft)
    data["date"], data["slug"] = settings.today(), SLUG  # shown nowhere; an Issue has them
    return issue_from(data, key_lines, path=path, body=body, body_line=body_line)


Published = list[tuple[dt.datetime, Latest]]  # ready issues, newest first, with their send time


def ready_issues(settings: Settings) -> Published:
    """Every ready issue as the welcome links it, with the moment it goes out; newest first.

    Read once and asked many times (`latest_of`): the endpoint asks at every confirmation."""
    from sphere.schedule import send_at

    try:
        issues = load_issues(settings.content_dir)
    except ContentError:  # no issues folder (a bare Lambda package), a broken issue
        issues = []
    return [
        (send_at(settings, issue), Latest(title=issue.title, url=archive_url(settings, issue.slug)))
        for issue in issues
        if issue.status == "ready"
    ]


def latest_of(settings: Settings, published: Published, now: dt.datetime) -> Latest:
    """The newest of `published` whose send time has come at `now` (so its archive page is
    up), or the archive's front page before there is one."""
    for moment, latest in published:
        if moment.timestamp() <= now.timestamp():  # instants, not wall clocks (see schedule)
            return latest
    return Latest(title=settings.name, url=settings.base_url)


def latest_issue(settings: Settings, now: dt.datetime | None = None) -> Latest:
    """The newest issue whose send time has come at `now` (default the settings' clock)."""
    return latest_of(settings, ready_issues(settings), now or settings.now())


class WelcomeRenderer(Renderer):
    """The issue's renderer, with the welcome's extra names: `welcome` (true), `latest`."""

    def __init__(self, settings: Settings, *, latest: Latest, **options: Any):
        super().__init__(settings, **options)
        self.latest = latest

    def context(self, issue: Issue) -> dict[str, Any]:
        return {**super().context(issue), "welcome": True, "latest": self.latest}

    def body_context(self, issue: Issue) -> dict[str, Any]:
        return {**super().body_context(issue), "latest": self.latest}


def render_welcome(settings: Settings, *, latest: Latest | None = None) -> RenderedIssue | None:
    """The welcome rendered once (placeholders for each reader), or None: no file, a draft.
    `latest`: the issue it links (default: the newest whose send time has come)."""
    welcome = load_welcome(settings)
    if welcome is None or welcome.is_draft:
        return None
    latest = latest or latest_issue(settings)
    return WelcomeRenderer(settings, latest=latest).render(welcome)


def welcome_message(settings: Settings, *, latest: Latest | None = None) -> MessageTemplate | None:
    """The welcome as a MIME template ready to personalise, or None when there is none."""
    from sphere.mail.issue import issue_message

    rendered = render_welcome(settings, latest=latest)
    return None if rendered is None else issue_message(settings, rendered)


__all__ = [
    "SLUG",
    "WELCOME_FILE",
    "WelcomeRenderer",
    "latest_issue",
    "latest_of",
    "load_welcome",
    "ready_issues",
    "render_welcome",
    "welcome_enabled",
    "welcome_message",
    "welcome_path",
]
