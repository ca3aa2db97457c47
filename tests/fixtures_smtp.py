"""A real SMTP server in the test process (aiosmtpd), recording what it accepts.

The server can be told to refuse the login, refuse given recipients, or drop the connection at
given transactions: before the message's bytes arrive (nothing delivered) or after it took
them without answering (delivered, but the client cannot know).
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "sphere", "s3cret pass/word"


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps every message it accepted."""

    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> SMTP reply
    drop_before_data: set[int] = field(default_factory=set)  # transaction numbers (from 0)
    drop_after_data: set[int] = field(default_factory=set)
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    transactions: int = 0
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self.lock:
            number = self.transactions
            self.transactions += 1
        if number in self.drop_before_data:
            server.transport.close()
            return "421 closing"
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        envelope.number = number
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        if envelope.number in self.drop_after_data:
            server.transport.close()
        return f"250 2.0.0 Ok: queued as Q{envelope.number:05d}"

    def parsed(self) -> list[EmailMessage]:
        """Every accepted message, parsed."""
        found = []
        for _, _, data in self.messages:
            message = message_from_bytes(data, policy=policy.default)
            assert isinstance(message, EmailMessage)
            found.append(message)
        return found


def _authenticator(accept: bool) -> Callable[..., AuthResult]:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = (
            accept
            and isinstance(data, LoginPassword)
            and (data.login, data.password) == (USER.encode(), PASSWORD.encode())
        )
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 535 itself

    return check


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class SmtpServer:
    """A running server: its SPHERE_TRANSPORT URL and what it received."""

    url: str
    recorder: Recorder


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (PEM files): trust it with SSL_CERT_FILE."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def _serve(
    recorder: Recorder,
    *,
    accept_login: bool = True,
    tls: tuple[str, ssl.SSLContext] | None = None,
) -> Iterator[SmtpServer]:
    """Serve on a free loopback port; `tls` is ("starttls" | "implicit", the server's context)."""
    port = _free_port()
    options: dict[str, Any] = {"auth_require_tls": False}  # loopback; TLS tests turn it on
    if tls and tls[0] == "starttls":
        options = {"tls_context": tls[1], "require_starttls": True}
    elif tls:
        # aiosmtpd does not count implicit TLS as TLS for AUTH; the connection is TLS all the same.
        options = {"ssl_context": tls[1], "auth_require_tls": False}
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticator(accept_login),
        auth_required=True,
        **options,
    )
    controller.start()
    try:
        password = PASSWORD.replace(" ", "%20").replace("/", "%2F")
        scheme = "smtps" if tls and tls[0] == "implicit" else "smtp"
        yield SmtpServer(f"{scheme}://{USER}:{password}@127.0.0.1:{port}", recorder)
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """An SMTP server on a loopback port that needs a login and accepts everything."""
    yield from _serve(Recorder())


@pytest.fixture
def smtp_factory() -> Iterator[Callable[..., SmtpServer]]:
    """Start SMTP servers with given faults: `smtp_factory(Recorder(...), accept_login=False)`."""
    stops: list[Iterator[SmtpServer]] = []

    def start(
        recorder: Recorder,
        *,
        accept_login: bool = True,
        tls: tuple[str, ssl.SSLContext] | None = None,
    ) -> SmtpServer:
        running = _serve(recorder, accept_login=accept_login, tls=tls)
        stops.append(running)
        return next(running)

    yield start
    for running in stops:
        next(running, None)
