"""SMTP as a transport: `smtp://user:password@host:port` (STARTTLS) or `smtps://` (implicit TLS).

One connection per worker thread, logged in once and reused for every message; a dropped
connection is reopened on the next message. The transaction is driven step by step (MAIL,
RCPT, DATA, then the message) rather than through `sendmail`, because what a failure means
depends on when it happens: before the message's bytes went out nothing was delivered and the
recipient can be retried; after, the server may have accepted it, so the outcome is unknown.
"""

from __future__ import annotations

import ipaddress
import re
import smtplib
import ssl
import threading
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

from sphere.errors import TransportError
from sphere.send.outcome import Outcome

_DOT_LINE = re.compile(rb"(?m)^\.")
_DROPPED = (smtplib.SMTPServerDisconnected, OSError)


class SmtpTransport:
    """Sends through one SMTP server, with a connection of its own per worker thread."""

    def __init__(self, url: str, *, timeout: float = 30.0):
        parts = urlsplit(url)
        if not parts.hostname:
            raise TransportError("SPHERE_TRANSPORT: expected smtp://user:password@host:port")
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname
        try:
            self.port = parts.port or (465 if self.implicit_tls else 587)
        except ValueError:
            raise TransportError("SPHERE_TRANSPORT: the SMTP port is not a number") from None
        self.user = unquote(parts.username or "")
        self._password = unquote(parts.password or "")
        self.timeout = timeout
        self.description = f"{parts.scheme}://{self.host}:{self.port}"
        self._local = threading.local()
        self._open: list[smtplib.SMTP] = []
        self._lock = threading.Lock()

    def check(self) -> None:
        """Connect and log in now, so a wrong password stops the run before the first message."""
        try:
            self._connection()
        except (*_DROPPED, smtplib.SMTPException) as error:
            raise TransportError(
                f"cannot connect to {self.description}: {_reason(error)}"
            ) from None

    def send(self, *, sender: str, to: str, message: bytes, recipient: str = "") -> Outcome:  # noqa: ARG002 (Transport's keywords; SMTP carries no tags)
        try:
            connection = self._connection()
        except (*_DROPPED, smtplib.SMTPException) as error:
            return Outcome.retry(f"cannot connect to {self.description}: {_reason(error)}")
        try:
            refused = self._envelope(connection, sender, to)
        except _DROPPED as error:  # nothing of the message went out
            self._drop()
            return Outcome.retry(f"connection lost before sending: {_reason(error)}")
        if refused is not None:
            return refused
        try:
            connection.send(_dot_stuffed(message) + b".\r\n")
            code, reply = connection.getreply()
        except _DROPPED as error:
            self._drop()
            return Outcome.unknown(f"connection lost while sending: {_reason(error)}")
        return _after_data(code, reply) or Outcome.accepted(_queue_id(reply))

    def _envelope(self, connection: smtplib.SMTP, sender: str, to: str) -> Outcome | None:
        """MAIL, RCPT and DATA; an Outcome if the server refused, None when it awaits the data."""
        steps: tuple[tuple[str, tuple[int, ...], Callable[[], tuple[int, bytes]]], ...] = (
            ("sender", (250,), lambda: connection.mail(sender)),
            ("recipient", (250, 251), lambda: connection.rcpt(to)),
            ("data", (354,), lambda: connection.docmd("DATA")),
        )
        for stage, expected, step in steps:
            code, reply = step()
            if code in expected:
                continue
            if code == 421:  # the server is closing the connection
                self._drop()
            else:
                connection.rset()
            return _refused(stage, code, reply)
        return None

    def _connection(self) -> smtplib.SMTP:
        connection: smtplib.SMTP | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._connect()
            self._local.connection = connection
            with self._lock:
                self._open.append(connection)
        return connection

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        connection: smtplib.SMTP
        if self.implicit_tls:
            connection = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=context
            )
        else:
            connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            connection.ehlo()
            if connection.has_extn("starttls"):
                connection.starttls(context=context)
                connection.ehlo()
            elif self.user and not _loopback(self.host):
                connection.close()
                raise TransportError(
                    f"{self.description} offers no STARTTLS: refusing to send the password in "
                    "clear; use smtps:// if the server speaks TLS from the start"
                )
        if self.user:
            try:
                connection.login(self.user, self._password)
            except smtplib.SMTPException as error:
                connection.close()
                raise TransportError(
                    f"{self.description} refused the login for {self.user!r}: {_reason(error)}"
                ) from None
        return connection

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            connection.close()

    def close(self) -> None:
        with self._lock:
            for connection in self._open:
                try:
                    connection.quit()
                except (*_DROPPED, smtplib.SMTPException):
                    connection.close()
            self._open.clear()

    def limits(self) -> None:
        """SMTP servers do not announce their limits: they answer 4xx when pushed."""
        return None


def _refused(stage: str, code: int, reply: bytes) -> Outcome:
    """What a refusal at MAIL, RCPT or DATA means."""
    reason = f"SMTP {code} at {stage}: {reply.decode('utf-8', 'replace')}"[:300]
    if code < 500:
        return Outcome.retry(reason)
    if stage == "sender":  # the server will not take mail from us at all
        return Outcome.stop(reason)
    return Outcome.failed(reason)


def _after_data(code: int, reply: bytes) -> Outcome | None:
    """None when the server accepted the message, else what its refusal means."""
    if code == 250:
        return None
    reason = f"SMTP {code} after the message: {reply.decode('utf-8', 'replace')}"[:300]
    if 400 <= code < 500:
        return Outcome.retry(reason)  # a 4xx reply means the server did not take it
    if 500 <= code < 600:
        return Outcome.failed(reason)
    return Outcome.unknown(reason)


def _dot_stuffed(message: bytes) -> bytes:
    """The message as DATA carries it: leading dots doubled, ending in CRLF."""
    data = _DOT_LINE.sub(b"..", message)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def _queue_id(reply: bytes) -> str:
    """The server's id for the message, from `250 2.0.0 Ok: queued as ABC123` (or the reply)."""
    text = reply.decode("utf-8", "replace").strip()
    match = re.search(r"queued as (\S+)", text, re.IGNORECASE)
    return match.group(1) if match else text[:100]


def _reason(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        raw = error.smtp_error
        message = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")
        return f"{error.smtp_code} {message}".strip()
    return str(error) or type(error).__name__


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


__all__ = ["SmtpTransport"]
