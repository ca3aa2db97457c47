"""How big an email may be: Gmail clips a message's HTML beyond 102 KB, hiding the rest and the
unsubscribe link. `sphere check` reports it, and `sphere build` warns (an error with --strict)."""

from __future__ import annotations

import html

from sphere.mail.message import FIRST_NAME, MAX_FIRST_NAME, UNSUBSCRIBE_URL
from sphere.settings import Settings

KB = 1024
CLIP_LIMIT = 102 * KB  # Gmail clips a message's HTML beyond this
SIZE_WARNING = 90 * KB
# A signed personal token is well under this; the size check assumes the worst.
WORST_CASE_TOKEN = "T" * 200


def largest_html_size(settings: Settings, email_html: str) -> int:
    """The HTML's size in bytes as the largest personal copy will be."""
    url = html.escape(f"{settings.endpoint_url}unsubscribe?t={WORST_CASE_TOKEN}")
    # The size of email_html.replace(UNSUBSCRIBE_URL, url) in UTF-8, without making that copy
    # of the email (the placeholder is ASCII: one byte a character).
    grown = len(url.encode("utf-8")) - len(UNSUBSCRIBE_URL)
    # The longest first name, each character escaped to "&quot;" (6 bytes; UTF-8 takes 4 at most).
    named = MAX_FIRST_NAME * len(html.escape('"')) - len(FIRST_NAME)
    return (
        len(email_html.encode("utf-8"))
        + email_html.count(UNSUBSCRIBE_URL) * grown
        + email_html.count(FIRST_NAME) * named
    )


def clipping(size: int) -> str | None:
    """What to tell the author about an email of `size` bytes that Gmail will clip, if it will."""
    if size <= CLIP_LIMIT:
        return None
    return (
        f"the email's HTML is {size / KB:.1f} KB: Gmail clips messages over 102 KB, hiding the "
        "rest and the unsubscribe link; shorten the issue or split it"
    )
