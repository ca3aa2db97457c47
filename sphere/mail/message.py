"""MIME messages: serialised once per issue, personalised per recipient by substitution.

Building and serialising an `EmailMessage` costs milliseconds; a send to thousands of readers
cannot afford that per recipient. `MessageTemplate.build` does the expensive part once: it
quoted-printable-encodes (binascii) the static stretches of the text and HTML parts between the
placeholders. `MessageTemplate.render` then joins those bytes with each recipient's values,
encoded for where they land (HTML-escaped in the HTML part, quoted-printable in both bodies),
with soft line breaks around them so no encoded line passes 76 characters and no placeholder can
be split by folding.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import html
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, parseaddr

from sphere.clock import SYSTEM, Clock
from sphere.errors import SendError

CRLF = b"\r\n"
SOFT_BREAK = b"=\r\n"  # a quoted-printable line break that is not in the text
# Placeholders are plain ASCII that neither Markdown, MJML nor quoted-printable alters.
UNSUBSCRIBE_URL = "%%sphere:unsubscribe_url%%"
# `{{ reader.first_name }}` in an issue (sphere.render.email): no underscore, which Markdown
# could take for emphasis in running text.
FIRST_NAME = "%%sphere:first-name%%"
MAX_FIRST_NAME = 40  # characters: a greeting, not a paragraph someone typed into the name field
PLACEHOLDERS = (UNSUBSCRIBE_URL, FIRST_NAME)
_PLACEHOLDER_RE = re.compile("(" + "|".join(re.escape(p) for p in PLACEHOLDERS) + ")")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True, kw_only=True)
class Recipient:
    """Who one message goes to, and the values that make it theirs."""

    address: str
    name: str = ""
    first_name: str = ""  # what `{{ reader.first_name }}` says: theirs, or the fallback
    unsubscribe_url: str  # the HTTPS one-click link, with the recipient's signed token
    unsubscribe_mailto: str  # mailto: URL that identifies the recipient without their address
    # ("" where no mailbox is read: then List-Unsubscribe offers the HTTPS link alone)

    def values(self) -> dict[str, str]:
        return {UNSUBSCRIBE_URL: self.unsubscribe_url, FIRST_NAME: self.first_name}


def _unsubscribe_header(recipient: Recipient) -> str:
    """List-Unsubscribe: the HTTPS link, then the mailto where one is offered (RFC 2369)."""
    if not recipient.unsubscribe_mailto:
        return f"<{recipient.unsubscribe_url}>"
    return f"<{recipient.unsubscribe_url}>,\r\n <{recipient.unsubscribe_mailto}>"


@dataclass(frozen=True)
class _Part:
    """One body part: header bytes, then encoded static chunks with placeholders between."""

    head: bytes
    chunks: tuple[bytes, ...]  # len(chunks) == len(slots) + 1
    slots: tuple[str, ...]
    escape_html: bool
    plain: tuple[bytes, ...]  # the chunks before encoding, in UTF-8

    def filled(self, values: Mapping[str, str]) -> bytes:
        """The body as one reader sees it, in UTF-8: `fill`'s text, encoded."""
        pieces = [self.plain[0]]
        for slot, plain in zip(self.slots, self.plain[1:], strict=True):
            value = values[slot]
            if self.escape_html:
                value = html.escape(value, quote=True)
            pieces += [value.encode("utf-8"), plain]
        return b"".join(pieces)

    def render(self, values: Mapping[str, str]) -> bytes:
        pieces = [self.chunks[0]]
        for slot, chunk in zip(self.slots, self.chunks[1:], strict=True):
            value = values[slot]
            if self.escape_html:
                value = html.escape(value, quote=True)
            pieces += [SOFT_BREAK, qp_encode(value.encode("utf-8")), SOFT_BREAK, chunk]
        return self.head + b"".join(pieces)


@dataclass(frozen=True)
class MessageTemplate:
    """A multipart/alternative message with per-recipient holes, ready to personalise."""

    headers: bytes  # the headers every recipient shares, CRLF-terminated
    boundary: str
    text: _Part
    html: _Part
    message_id_domain: str

    @classmethod
    def build(
        cls,
        *,
        sender: str,
        reply_to: str,
        subject: str,
        list_id: str,
        list_name: str,
        text: str,
        html_body: str,
        language: str,
    ) -> MessageTemplate:
        """Encode everything that is the same for every recipient, once."""
        text_pieces, html_pieces = _pieces(text), _pieces(html_body)
        # Derived from the content, so the same issue always serialises to the same bytes; a
        # hash of the parts cannot occur inside them. It is the SHA-256 of
        # f"{subject}\0{text}\0{html_body}" in UTF-8, fed piece by piece from the bytes encoded
        # for the parts anyway (no 30 KB string to join and encode again).
        digest = hashlib.sha256(subject.encode())
        for piece in (b"\0", *text_pieces, b"\0", *html_pieces):
            digest.update(piece)
        boundary = "sphere-" + digest.hexdigest()[:24]
        headers = (
            _list_headers(sender, reply_to, list_id, list_name, language)
            + _subject(subject)
            + f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'.encode("ascii")
        )
        return cls(
            headers=headers,
            boundary=boundary,
            text=_part("text/plain", text_pieces, escape_html=False),
            html=_part("text/html", html_pieces, escape_html=True),
            message_id_domain=_domain(sender),
        )

    def render(
        self,
        recipient: Recipient,
        *,
        date: str | None = None,
        message_id: str | None = None,
        clock: Clock = SYSTEM,
    ) -> bytes:
        """The complete message for one recipient, as bytes ready for SMTP or SES.

        `date` (an RFC 5322 date) and `message_id` default to the `clock`'s now and a new
        random id.
        """
        values = recipient.values()
        personal = (
            _header("To", _mailbox(recipient))
            + _header("Date", date or _date_header(clock))
            + _header("Message-ID", message_id or self.new_message_id())
            + _header("List-Unsubscribe", _unsubscribe_header(recipient))
        )
        delimiter = b"--" + self.boundary.encode("ascii")
        return b"".join(
            [
                self.headers,
                personal,
                CRLF,
                delimiter + CRLF,
                self.text.render(values),
                CRLF + delimiter + CRLF,
                self.html.render(values),
                CRLF + delimiter + b"--" + CRLF,
            ]
        )

    def bodies(self, values: Mapping[str, str]) -> tuple[bytes, bytes]:
        """The text and the HTML as the reader with `values` sees them, in UTF-8."""
        return self.text.filled(values), self.html.filled(values)

    def new_message_id(self) -> str:
        """A unique Message-ID in the sender's domain."""
        return f"<{secrets.token_hex(16)}@{self.message_id_domain}>"


def fill(body: str, values: Mapping[str, str], *, escape_html: bool) -> str:
    """`body` (text or HTML) with its placeholders replaced: what one reader sees."""
    for placeholder, value in values.items():
        body = body.replace(placeholder, html.escape(value, quote=True) if escape_html else value)
    return body


def qp_encode(data: bytes) -> bytes:
    """Quoted-printable with CRLF line ends whose last line leaves room for a soft break."""
    # istext: the text's line ends stay line ends (CRLF in the message, as SMTP wants them).
    encoded = binascii.b2a_qp(data.replace(b"\r\n", b"\n"), istext=True).replace(b"\n", CRLF)
    head, _, last = encoded.rpartition(CRLF)
    if len(last) <= 75:
        return encoded
    cut = 74  # never inside an "=XX" escape
    while "=" in last[cut - 2 : cut].decode("ascii"):
        cut -= 1
    tail = last[:cut] + SOFT_BREAK + last[cut:]
    return head + CRLF + tail if head else tail


def _pieces(body: str) -> list[bytes]:
    """The body in UTF-8, split around its placeholders: text, placeholder, text, ..., text."""
    if FIRST_NAME not in body:  # most issues greet nobody by name
        # What _PLACEHOLDER_RE.split gives for a single placeholder, six times faster on an
        # email's 20 KB (str.split finds a fixed string faster than the regex engine).
        texts = body.split(UNSUBSCRIBE_URL)
        pieces = [UNSUBSCRIBE_URL] * (2 * len(texts) - 1)
        pieces[0::2] = texts
    else:
        pieces = _PLACEHOLDER_RE.split(body)
    return [piece.encode("utf-8") for piece in pieces]


def _part(content_type: str, pieces: list[bytes], *, escape_html: bool) -> _Part:
    """A body part from `_pieces` of its text."""
    chunks = tuple(qp_encode(piece) for piece in pieces[0::2])
    slots = tuple(piece.decode("ascii") for piece in pieces[1::2])
    head = (
        f'Content-Type: {content_type}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    ).encode("ascii")
    plain = tuple(pieces[0::2])
    return _Part(head=head, chunks=chunks, slots=slots, escape_html=escape_html, plain=plain)


@functools.lru_cache(maxsize=16)
def _domain(sender: str) -> str:
    """The sender's domain, for Message-IDs (parsing the address costs more than a part)."""
    return parseaddr(sender)[1].rpartition("@")[2] or "sphere.invalid"


def _date_header(clock: Clock) -> str:
    """The Date header for the clock's second."""
    return date_header(int(clock.now()))


@functools.lru_cache(maxsize=8)
def date_header(second: float) -> str:
    """An RFC 5322 date in UTC with the numeric zone `+0000` (RFC 5322 calls "GMT" obsolete).

    Remembered (lru_cache is safe across the send's worker threads): formatting a date costs
    more than the rest of a message, and a send formats each second once."""
    return format_datetime(datetime.fromtimestamp(int(second), UTC))  # aware: "+0000"


@functools.lru_cache(maxsize=16)
def _list_headers(sender: str, reply_to: str, list_id: str, list_name: str, language: str) -> bytes:
    """The headers every message of the list shares, folded and encoded by the email package
    (once per run: header parsing costs more than the rest of building a message)."""
    static = EmailMessage(policy=SMTP)
    static["From"] = sender
    if reply_to:
        static["Reply-To"] = reply_to
    static["List-Id"] = f"{one_line(list_name)} <{list_id}>"
    static["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    static["Content-Language"] = language
    static["MIME-Version"] = "1.0"
    return static.as_bytes(policy=SMTP).split(CRLF + CRLF, 1)[0] + CRLF


def _subject(subject: str) -> bytes:
    """The Subject header, folded at spaces, with RFC 2047 encoded-words if it is not ASCII."""
    subject = one_line(subject)
    if not subject.isascii():
        folded = Header(subject, "utf-8", header_name="Subject").encode(linesep="\r\n")
        return f"Subject: {folded}\r\n".encode("ascii")
    lines, line = [], "Subject:"
    for word in subject.split(" "):
        if len(line) + 1 + len(word) > 78 and line != "Subject:":
            lines.append(line)
            line = ""
        line = f"{line} {word}"
    return ("\r\n".join([*lines, line]) + "\r\n").encode("ascii")


def _header(name: str, value: str) -> bytes:
    return f"{name}: {value}".encode("ascii") + CRLF


def one_line(text: str) -> str:
    """Text without control characters, on one line (no header injection through a name, no
    broken text-part line through a greeting)."""
    return " ".join(_CONTROL.sub(" ", text).split())


def _mailbox(recipient: Recipient) -> str:
    """`Name <address>`, RFC 2047-encoded where needed, with an IDN domain in ASCII."""
    local, _, domain = recipient.address.rpartition("@")
    if not local or not domain or _CONTROL.search(recipient.address):
        raise SendError(f"not a valid address: {recipient.address!r}")
    try:
        ascii_domain = domain if domain.isascii() else domain.encode("idna").decode("ascii")
        local.encode("ascii")
    except UnicodeError:
        raise SendError(f"cannot send to {recipient.address!r}: non-ASCII local part") from None
    address = f"{local}@{ascii_domain}"
    return formataddr((one_line(recipient.name), address), charset="utf-8")


__all__ = [
    "FIRST_NAME",
    "MAX_FIRST_NAME",
    "PLACEHOLDERS",
    "UNSUBSCRIBE_URL",
    "MessageTemplate",
    "Recipient",
    "date_header",
    "fill",
    "one_line",
]
