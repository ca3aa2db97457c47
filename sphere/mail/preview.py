"""The email as a preview shows it: addressed to a fake reader, images from a local copy.

`sphere build` and `sphere preview` both show each issue's email before anyone receives it;
they share this one substitution so that the two never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable

from sphere.mail.message import UNSUBSCRIBE_URL, Recipient, fill
from sphere.render.email import RenderedIssue
from sphere.render.urls import preview_unsubscribe_url
from sphere.settings import Settings

PREVIEW_RECIPIENT_ADDRESS = "preview@sphere.invalid"


def preview_recipient(settings: Settings) -> Recipient:
    """The reader a preview is addressed to, with a visibly fake personal link."""
    return Recipient(
        address=PREVIEW_RECIPIENT_ADDRESS,
        name="Preview Reader",
        unsubscribe_url=preview_unsubscribe_url(settings),
        unsubscribe_mailto=f"mailto:{settings.unsubscribe_mailto}?subject=unsubscribe%20PREVIEW",
    )


def preview_email(settings: Settings, item: RenderedIssue) -> tuple[str, str]:
    """The issue's text and HTML as the preview reader sees them (build and preview alike)."""
    values = {UNSUBSCRIBE_URL: preview_recipient(settings).unsubscribe_url}
    return (
        fill(item.email_text, values, escape_html=False),
        fill(item.email_html, values, escape_html=True),
    )


def local_images(html: str, settings: Settings, sources: Iterable[str], prefix: str) -> str:
    """Point the email's images (absolute archive URLs) at `prefix` + their path instead.

    Readers fetch images from the published archive; a preview shows them before it is
    published, from the project's own files.
    """
    for src in sorted(set(sources)):
        html = html.replace(f"{settings.base_url}{src}", f"{prefix}{src}")
    return html
