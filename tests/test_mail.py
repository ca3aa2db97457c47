"""Personalising a message serialised once: values land intact, encoded, never split."""

from __future__ import annotations

import binascii
import hashlib
import html
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP
from types import SimpleNamespace

import pytest
from fixtures_clock import ManualClock

from sphere.errors import SendError
from sphere.mail.limits import WORST_CASE_TOKEN, largest_html_size
from sphere.mail.message import (
    _PLACEHOLDER_RE,
    UNSUBSCRIBE_URL,
    MessageTemplate,
    Recipient,
    qp_encode,
)
from sphere.mail.preview import local_images, preview_email, preview_files


def _template(html: str, text: str) -> MessageTemplate:
    return MessageTemplate.build(
        sender="Jim Wigg <newsletter@jimwigg.com>",
        reply_to="Jim Wigg <jim@jimwigg.com>",
        subject="To Hard Sell – or to Soft Sell?",
        list_id="sphere.jimwigg.com",
        list_name="Sphere",
        text=text,
        html_body=html,
        language="en-GB",
    )


def _reader(url: str, name: str = "Zoë Smith", address: str = "zoe@example.org") -> Recipient:
    return Recipient(
        address=address,
        name=name,
        unsubscribe_url=url,
        unsubscribe_mailto="mailto:u@jimwigg.com?subject=u%20x",
    )


def _parse(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=SMTP)
    assert isinstance(message, EmailMessage)
    return message


# A placeholder at every offset of a long line: quoted-printable folding must never split it.
@pytest.mark.parametrize("offset", [0, 1, 50, 70, 72, 73, 74, 75, 76, 77, 150])
def test_a_placeholder_survives_folding_at_any_offset(offset: int) -> None:
    url = "https://www.jimwigg.com/sphere/api/unsubscribe?t=AbC123_-xyz.QRS456&x=1&y=" + "z" * 60
    html = "é" * offset + f'<a href="{UNSUBSCRIBE_URL}">Unsubscribe</a>' + "ü" * 100
    text = "ä" * offset + UNSUBSCRIBE_URL + "ö" * 90
    raw = _template(html, text).render(_reader(url))
    for line in raw.split(b"\r\n\r\n", 1)[1].split(b"\r\n"):
        assert len(line) <= 76, line
    message = _parse(raw)
    text_part, html_part = message.iter_parts()
    assert (
        html_part.get_content()
        == "é" * offset + f'<a href="{url.replace("&", "&amp;")}">Unsubscribe</a>' + "ü" * 100
    )  # type: ignore[attr-defined]
    assert text_part.get_content() == "ä" * offset + url + "ö" * 90  # type: ignore[attr-defined]


def test_each_recipient_gets_their_own_values_and_message_id() -> None:
    template = _template(f'<a href="{UNSUBSCRIBE_URL}">x</a>', f"{UNSUBSCRIBE_URL}\n")
    one = _parse(template.render(_reader("https://e.org/u?t=one", address="one@example.org")))
    two = _parse(template.render(_reader("https://e.org/u?t=two", address="two@example.org")))
    assert "t=one" in one.as_string() and "t=two" not in one.as_string()
    assert one["To"].addresses[0].addr_spec == "one@example.org"
    assert one["Message-ID"] != two["Message-ID"]
    assert (
        str(one["List-Unsubscribe"])
        == "<https://e.org/u?t=one>, <mailto:u@jimwigg.com?subject=u%20x>"
    )


def test_names_are_encoded_and_cannot_inject_headers() -> None:
    template = _template("<p>x</p>", "x\n")
    raw = template.render(_reader("https://e.org/u", name="Zoë\r\nBcc: victim@example.org"))
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in headers
    message = _parse(raw)
    assert message["To"].addresses[0].display_name == "Zoë Bcc: victim@example.org"
    assert message.get_all("Bcc") is None


@pytest.mark.parametrize(
    "subject",
    ["To Hard Sell – or to Soft Sell?", "A" * 120, "Ünïcödé " * 20, "Plain words " * 12],
)
def test_subjects_fold_and_decode_to_what_was_written(subject: str) -> None:
    template = MessageTemplate.build(
        sender="Jim Wigg <newsletter@jimwigg.com>", reply_to="", subject=subject,
        list_id="sphere.jimwigg.com", list_name="Sphere", text="x", html_body="<p>x</p>",
        language="en-GB",
    )  # fmt: skip
    raw = template.render(_reader("https://e.org/u"))
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in headers.split(b"\r\n")) <= 998
    assert headers.isascii()
    assert _parse(raw)["Subject"] == subject.strip()


def test_an_idn_domain_is_sent_in_ascii() -> None:
    raw = _template("<p>x</p>", "x\n").render(_reader("https://e.org/u", address="anna@bücher.de"))
    assert _parse(raw)["To"].addresses[0].domain == "xn--bcher-kva.de"


def test_a_non_ascii_local_part_is_refused_clearly() -> None:
    with pytest.raises(SendError, match="non-ASCII local part"):
        _template("<p>x</p>", "x\n").render(_reader("https://e.org/u", address="zoë@example.org"))


def test_qp_encode_leaves_room_for_a_soft_break() -> None:
    for length in range(60, 200):
        encoded = qp_encode(("=" * length).encode())
        assert len(encoded.split(b"\r\n")[-1]) <= 75
        assert (
            b"".join(line.removesuffix(b"=") for line in encoded.split(b"\r\n")) == b"=3D" * length
        )


TRICKY_BODIES = [
    "",
    UNSUBSCRIBE_URL,
    f"{UNSUBSCRIBE_URL}{UNSUBSCRIBE_URL}",
    f"a{UNSUBSCRIBE_URL}b{UNSUBSCRIBE_URL}",
    f'<a href="{UNSUBSCRIBE_URL}">Zoë – “quoted” 🚀</a>\r\nline two \nend\0',
    "%%sphere:unsubscribe_url%",  # almost a placeholder
    "x" * 300 + "é" * 40 + "\n.\n" + "= " * 50,
]


@pytest.mark.parametrize("body", TRICKY_BODIES)
def test_parts_and_boundary_are_those_of_the_general_encoding(body: str) -> None:
    """The template splits and hashes without the regex or the joined string: same bytes."""
    text = body.replace("<a", "a")
    built = _template(body, text)
    subject = "To Hard Sell – or to Soft Sell?"
    digest = hashlib.sha256(f"{subject}\0{text}\0{body}".encode()).hexdigest()
    assert built.boundary == "sphere-" + digest[:24]
    for part, source in ((built.html, body), (built.text, text)):
        pieces = _PLACEHOLDER_RE.split(source)
        assert part.chunks == tuple(qp_encode(piece.encode()) for piece in pieces[0::2])
        assert part.slots == tuple(pieces[1::2])


def test_qp_encode_is_binascii_quoted_printable_with_crlf_line_ends() -> None:
    for data in (b"a\r\nb\r\n", b"a\rb\n", b"\r\r\n", b"x" * 80 + b"\r\n", b"plain\n", b""):
        expected = binascii.b2a_qp(data.replace(b"\r\n", b"\n"), istext=True)
        assert qp_encode(data) == expected.replace(b"\n", b"\r\n")


@pytest.mark.parametrize("body", TRICKY_BODIES)
@pytest.mark.parametrize("endpoint", ["https://e.org/api/", "https://bücher.de/a&b/"])
def test_largest_html_size_is_that_of_the_largest_copy(body: str, endpoint: str) -> None:
    settings = SimpleNamespace(endpoint_url=endpoint)
    url = html.escape(f"{endpoint}unsubscribe?t={WORST_CASE_TOKEN}")
    largest = len(body.replace(UNSUBSCRIBE_URL, url).encode("utf-8"))
    assert largest_html_size(settings, body) == largest  # type: ignore[arg-type]


def test_preview_files_are_the_preview_email_with_local_images_in_utf8() -> None:
    """The build writes preview_files (bytes from the message's pieces): the same as the slow
    path of preview_email, local_images and encoding."""
    settings = SimpleNamespace(
        base_url="https://ex.org/news/",
        endpoint_url="https://ex.org/api/",
        unsubscribe_mailto="u@ex.org",
        feedback_queue_url="",
        greeting_fallback="there",
    )
    sources = ["images/a.png", "images/a.png.png", "images/café.png", "images/a.png"]
    shown = "".join(f'<img src="{settings.base_url}{src}">' for src in sources)
    for body in TRICKY_BODIES:
        html_body = f"<p>Zoë {shown}</p>{body}{UNSUBSCRIBE_URL}{settings.base_url}images/a.png"
        item = SimpleNamespace(
            email_html=html_body,
            email_text=body.replace("<a", "a") + f"\n{UNSUBSCRIBE_URL}\n",
            images=[SimpleNamespace(src=src) for src in sources],
        )
        message = _template(item.email_html, item.email_text)
        text, html_text = preview_email(settings, item)  # type: ignore[arg-type]
        html_text = local_images(html_text, settings, sources, "../site/")  # type: ignore[arg-type]
        fast = preview_files(settings, item, message, "../site/")  # type: ignore[arg-type]
        assert fast == (text.encode(), html_text.encode())


def test_a_bulk_message_is_dated_with_the_numeric_zone() -> None:
    """RFC 5322 calls the "GMT" zone obsolete; the test send's "+0000" is the form to use."""
    clock = ManualClock(1_796_083_200.5)  # 2026-12-01 00:00:00.5 UTC
    message = _template("<p>x</p>", "x").render(_reader("https://e.org/u"), clock=clock)
    assert b"\r\nDate: Tue, 01 Dec 2026 00:00:00 +0000\r\n" in message
