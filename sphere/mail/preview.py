"""The email as a preview shows it: addressed to a fake reader, images from a local copy.

`sphere build` and `sphere preview` both show each issue's email before anyone receives it;
they share this one substitution so that the two never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable

from sphere.content.images import original_of
from sphere.mail.message import FIRST_NAME, UNSUBSCRIBE_URL, MessageTemplate, Recipient, fill
from sphere.mail.personalise import offered_mailto
from sphere.render.email import RenderedIssue
from sphere.render.urls import preview_unsubscribe_url
from sphere.settings import Settings

PREVIEW_RECIPIENT_ADDRESS = "preview@sphere.invalid"


def preview_recipient(settings: Settings) -> Recipient:
    """The reader a preview is addressed to, with a visibly fake personal link."""
    return Recipient(
        address=PREVIEW_RECIPIENT_ADDRESS,
        name="Preview Reader",
        # Previews greet as the archive does: a made-up name would look like a real one.
        first_name=settings.greeting_fallback,
        unsubscribe_url=preview_unsubscribe_url(settings),
        unsubscribe_mailto=_preview_mailto(settings),
    )


def _preview_mailto(settings: Settings) -> str:
    """The mailto as readers would get it (none where no mailbox is read), with a fake token."""
    address = offered_mailto(settings)
    return f"mailto:{address}?subject=unsubscribe%20PREVIEW" if address else ""


def preview_email(settings: Settings, item: RenderedIssue) -> tuple[str, str]:
    """The issue's text and HTML as the preview reader sees them (build and preview alike)."""
    values = _preview_values(settings)
    return (
        fill(item.email_text, values, escape_html=False),
        fill(item.email_html, values, escape_html=True),
    )


def preview_files(
    settings: Settings, item: RenderedIssue, message: MessageTemplate, prefix: str
) -> tuple[bytes, bytes]:
    """`preview_email` with `local_images` (`prefix`), in UTF-8: the files a build writes.

    Made from the pieces `message` (`issue_message` of `item`) encoded already: replacing the
    placeholder in the 20 KB HTML string and encoding the result again cost more than the rest
    of writing the email. UTF-8 maps each match of a string to one match of its bytes, so the
    same replacements on the bytes give the string's encoding.
    """
    text, html = message.bodies(_preview_values(settings))
    for src in sorted({image.src for image in item.images}):
        html = html.replace(f"{settings.base_url}{src}".encode(), f"{prefix}{src}".encode())
    return text, html


def _preview_values(settings: Settings) -> dict[str, str]:
    return {
        UNSUBSCRIBE_URL: preview_recipient(settings).unsubscribe_url,
        FIRST_NAME: settings.greeting_fallback,
    }


def local_images(html: str, settings: Settings, sources: Iterable[str], prefix: str) -> str:
    """Point the email's images (absolute archive URLs) at `prefix` + their path instead.

    Readers fetch images from the published archive; a preview shows them before it is
    published, from the project's own files.
    """
    for src in sorted(set(sources)):
        # A copy sized for the column is made when the archive is written: the original here.
        html = html.replace(f"{settings.base_url}{src}", f"{prefix}{original_of(src)[0]}")
    return html
