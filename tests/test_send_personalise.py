"""Per-recipient messages: personal signed links, the list headers once each, and no record
(however hostile its name or address) can add, break or duplicate a header."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from fixtures_project import SEED_ISSUE

from sphere.content.issues import load_issue
from sphere.errors import SendError, TokenError
from sphere.mail.issue import issue_message
from sphere.mail.message import MessageTemplate
from sphere.mail.personalise import Personaliser, tokens_for
from sphere.render.email import Renderer
from sphere.settings import Settings, load_settings

SECRET = "a-long-random-test-secret-0123456789"
EXPECTED_HEADERS = [
    "Content-Language", "Content-Type", "Date", "From", "List-Id", "List-Unsubscribe",
    "List-Unsubscribe-Post", "MIME-Version", "Message-ID", "Reply-To", "Subject", "To",
]  # fmt: skip

# (id, address, name): what a subscriber record might hold after a careless import.
HOSTILE = [
    ("aWQtcGxhaW4tMDAwMDAx", "plain@example.org", "Plain Reader"),
    ("aWQtY3JsZi0wMDAwMDAy", "crlf@example.org", "Eve\r\nBcc: victim@example.org"),
    ("aWQtbGYtMDAwMDAwMDAz", "lf@example.org", "Eve\nSubject: you won"),
    ("aWQtY3RybC0wMDAwMDA0", "ctrl@example.org", "Nul\x00Bell\x07Esc\x1b[31m Del\x7f"),
    ("aWQtdW5pLTAwMDAwMDA1", "zoe@example.org", "Zoë Ångström 山田 🙂"),
    ("aWQtaWRuLTAwMDAwMDA2", "anna@bücher.de", "Anna"),
    ("aWQtcXVvdGUtMDAwMDA3", "quote@example.org", 'Smith, "Jo" <jo@evil.example>; =?utf-8?q?x?='),
    ("aWQtbG9uZy0wMDAwMDA4", "long@example.org", "Long " * 60),
]
REFUSED = [
    ("aWQtYmFkMS0wMDAwMDA5", "bad\r\nBcc: victim@example.org", "Bad"),
    ("aWQtYmFkMi0wMDAwMDEw", "zoë@example.org", "Non-ASCII local part"),
    ("aWQtYmFkMy0wMDAwMDEx", "no-at-sign", "No domain"),
]


@pytest.fixture
def settings(project: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SPHERE_SECRET", SECRET)
    # The mailbox is read (SES receiving into the feedback queue): the mailto is offered.
    monkeypatch.setenv("SPHERE_FEEDBACK_QUEUE_URL", "https://sqs.eu-west-2.amazonaws.com/1/q")
    return load_settings(project)


@pytest.fixture
def template(settings: Settings) -> MessageTemplate:
    from sphere.content.issues import load_issue

    return issue_message(
        settings, Renderer(settings).render(load_issue(settings.root / SEED_ISSUE))
    )


def _parse(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_every_hostile_record_gets_a_well_formed_message_with_exactly_the_list_headers(
    settings: Settings, template: MessageTemplate
) -> None:
    personaliser = Personaliser.from_settings(settings)
    for subscriber_id, address, name in HOSTILE:
        raw = template.render(
            personaliser.recipient(subscriber_id=subscriber_id, address=address, name=name)
        )
        message = _parse(raw)
        assert sorted(message.keys()) == EXPECTED_HEADERS, name
        assert all(not part.defects for part in message.walk()), name
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert head.isascii() and max(map(len, head.split(b"\r\n"))) <= 998
        assert message["To"].addresses[0].addr_spec.split("@")[0] == address.split("@")[0]
        assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["List-Id"] == f"Sphere <{settings.list_id}>"


def test_without_a_feedback_queue_no_mailto_is_offered(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing would read the mailbox: a request sent there would go unheard (issue 19).
    monkeypatch.setenv("SPHERE_SECRET", SECRET)
    settings = load_settings(project)
    template = issue_message(
        settings,
        Renderer(settings).render(load_issue(settings.root / SEED_ISSUE)),
    )
    personaliser = Personaliser.from_settings(settings)
    message = _parse(
        template.render(personaliser.recipient(subscriber_id="a" * 22, address="a@example.org"))
    )
    header = str(message["List-Unsubscribe"])
    assert header.startswith(f"<{settings.endpoint_url}unsubscribe?t=")
    assert "mailto" not in header and "," not in header


def test_the_unsubscribe_link_and_mailto_carry_a_token_for_that_subscriber_only(
    settings: Settings, template: MessageTemplate
) -> None:
    personaliser = Personaliser.from_settings(settings)
    tokens = tokens_for(settings)
    for subscriber_id, address, name in HOSTILE:
        message = _parse(
            template.render(
                personaliser.recipient(subscriber_id=subscriber_id, address=address, name=name)
            )
        )
        url, mailto = (v.strip().strip("<>") for v in str(message["List-Unsubscribe"]).split(","))
        assert url.startswith(settings.endpoint_url + "unsubscribe?t=")
        token = parse_qs(urlsplit(url).query)["t"][0]
        assert tokens.check_unsubscribe(token) == subscriber_id
        assert mailto == f"mailto:{settings.unsubscribe_mailto}?subject=unsubscribe%20{token}"
        assert unquote(mailto).endswith(token)
        local = address.split("@")[0]
        assert local not in url and local not in mailto  # no address in any link
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert f'href="{url}"' in html and url in text
        with pytest.raises(TokenError):
            tokens.check_confirm(token)


def test_a_record_whose_address_cannot_be_a_header_is_refused_clearly(
    settings: Settings, template: MessageTemplate
) -> None:
    personaliser = Personaliser.from_settings(settings)
    for subscriber_id, address, name in REFUSED:
        recipient = personaliser.recipient(subscriber_id=subscriber_id, address=address, name=name)
        with pytest.raises(SendError, match=r"^(not a valid address|cannot send to)"):
            template.render(recipient)


def test_a_real_transport_without_a_secret_is_refused(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPHERE_TRANSPORT", "smtp://user:hunter2@127.0.0.1:2525")
    with pytest.raises(TokenError) as caught:
        tokens_for(load_settings(project))
    assert str(caught.value).startswith("SPHERE_SECRET is empty but SPHERE_TRANSPORT=smtp reaches")
    assert "hunter2" not in str(caught.value)
