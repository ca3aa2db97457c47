"""An issue's MIME message: what sending needs from a rendered issue, and nothing else does."""

from __future__ import annotations

from sphere.mail.message import MessageTemplate
from sphere.render.email import RenderedIssue
from sphere.settings import Settings


def issue_message(settings: Settings, rendered: RenderedIssue) -> MessageTemplate:
    """The issue's email as a MIME template, ready to personalise per recipient."""
    return MessageTemplate.build(
        sender=settings.sender,
        reply_to=settings.reply_to,
        subject=rendered.issue.subject,
        list_id=settings.list_id,
        list_name=settings.name,
        text=rendered.email_text,
        html_body=rendered.email_html,
        language=settings.language,
    )
