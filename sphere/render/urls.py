"""Every URL Sphere builds: the archive's pages and images, and the endpoints' links.

One place, so that the email, the archive, the feed, the preview and sending agree on them.
`base_url` and `endpoint_url` always end in "/" (see sphere.settings).
"""

from __future__ import annotations

from urllib.parse import quote

from sphere.settings import Settings

PREVIEW_TOKEN = "PREVIEW-PERSONAL-LINK"  # noqa: S105 (a visible stand-in, not a secret)


ISSUES = "issues/"  # the archive's folder of issue pages


def issue_path(slug: str) -> str:
    """The issue's page, relative to the archive's top: issues/SLUG/."""
    return f"{ISSUES}{slug}/"


def archive_url(settings: Settings, slug: str) -> str:
    """The absolute URL of the issue's page in the web archive."""
    return settings.base_url + issue_path(slug)


def asset_url(settings: Settings, path: str) -> str:
    """The absolute URL of a file published with the archive (an image, the favicon)."""
    return settings.base_url + path


def feed_url(settings: Settings) -> str:
    return settings.base_url + "feed.xml"


def unsubscribe_url(settings: Settings, token: str) -> str:
    """A reader's one-click unsubscribe link (the token is theirs, signed)."""
    return f"{settings.endpoint_url}unsubscribe?t={quote(token, safe='')}"


def confirm_url(settings: Settings, token: str) -> str:
    """The link in a double opt-in confirmation email."""
    return f"{settings.endpoint_url}confirm?t={quote(token, safe='')}"


def preview_unsubscribe_url(settings: Settings) -> str:
    """What a preview shows where each reader's own unsubscribe link will be."""
    return unsubscribe_url(settings, PREVIEW_TOKEN)
