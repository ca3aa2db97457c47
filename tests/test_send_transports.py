"""Transports: SMTP against a real aiosmtpd server, SES against moto, the outbox on disk; every
failure sorted into the outcome that decides what the campaign does next."""

from __future__ import annotations

import json
import secrets
import socket
import ssl
import threading
import urllib.request
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fixtures_aws import AWS_TEST_ENV
from fixtures_smtp import PASSWORD, Recorder, SmtpServer, self_signed

from sphere.errors import TransportError
from sphere.mail.message import UNSUBSCRIBE_URL, MessageTemplate
from sphere.mail.personalise import Personaliser, envelope_address
from sphere.mail.tokens import Tokens
from sphere.send.outcome import Kind, Outcome
from sphere.send.seams import ses_client
from sphere.send.ses import SesTransport
from sphere.send.smtp import SmtpTransport
from sphere.send.transports import OutboxTransport

SENDER = "newsletter@jimwigg.com"
# The SMTP server takes a login over plain TCP on loopback: aiosmtpd warns, rightly, elsewhere.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS", "ignore:Session.login_data is deprecated"
)


def _messages(count: int, sender: str = SENDER) -> list[tuple[str, bytes]]:
    """(envelope address, message) for `count` readers, one of them with an IDN domain."""
    template = MessageTemplate.build(
        sender=f"Jim Wigg <{sender}>", reply_to="", subject="Hard sell – or soft?",
        list_id="sphere.jimwigg.com", list_name="Sphere", language="en-GB",
        text=f"Hello.\n.\n.leading dot\nUnsubscribe: {UNSUBSCRIBE_URL}\n",
        html_body=f'<p>Hello.</p><a href="{UNSUBSCRIBE_URL}">Unsubscribe</a>',
    )  # fmt: skip
    personaliser = Personaliser("https://e.example/", "u@jimwigg.com", Tokens("t" * 32))
    out = []
    for n in range(count):
        address = f"reader{n}@bücher.de" if n == 1 else f"reader{n}@example.org"
        recipient = personaliser.recipient(
            subscriber_id=f"subscriber-{n:04d}", address=address, name=f"Reader {n}"
        )
        out.append((envelope_address(address), template.render(recipient)))
    return out


def _parse(data: bytes) -> EmailMessage:
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _send_all(transport: Any, messages: list[tuple[str, bytes]]) -> list[Outcome]:
    return [transport.send(sender=SENDER, to=to, message=data) for to, data in messages]


# --- SMTP ----------------------------------------------------------------------------------------


class Counting(Recorder):
    """Counts the EHLOs, that is the connections a client opened."""

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, name: str, responses: list[str]) -> list[str]:  # fmt: skip
        self.connections += 1
        session.host_name = name  # aiosmtpd leaves this to a handler that takes over EHLO
        return responses


def test_smtp_sends_each_message_once_over_one_reused_connection(
    smtp_factory: Callable[..., SmtpServer],
) -> None:
    server = smtp_factory(Counting())
    messages = _messages(12)
    transport = SmtpTransport(server.url)
    transport.check()
    outcomes = _send_all(transport, messages)
    transport.close()
    assert [o.kind for o in outcomes] == [Kind.ACCEPTED] * 12
    assert [o.message_id for o in outcomes] == [f"Q{n:05d}" for n in range(12)]
    assert server.recorder.connections == 1
    received = server.recorder.messages
    assert [rcpt for _, rcpt, _ in received] == [[to] for to, _ in messages]
    assert received[1][1] == ["reader1@xn--bcher-kva.de"]
    for (_, _, data), (_, sent) in zip(received, messages, strict=True):
        assert data.replace(b"\r\n", b"\n") == sent.replace(b"\r\n", b"\n")  # dots unstuffed
        assert not any(part.defects for part in _parse(data).walk())


def test_smtp_login_refused_is_one_clear_error_and_nothing_is_sent(
    smtp_factory: Callable[..., SmtpServer],
) -> None:
    server = smtp_factory(Recorder(), accept_login=False)
    transport = SmtpTransport(server.url)
    with pytest.raises(TransportError) as caught:
        transport.check()
    port = server.url.rsplit(":", 1)[1]
    assert str(caught.value) == (
        f"smtp://127.0.0.1:{port} refused the login for 'sphere': "
        "535 5.7.8 Authentication credentials invalid"
    )
    assert PASSWORD not in str(caught.value)
    assert server.recorder.messages == []


def test_smtp_reconnects_after_a_drop_and_sorts_when_it_happened(
    smtp_factory: Callable[..., SmtpServer],
) -> None:
    server = smtp_factory(Counting(drop_before_data={2}, drop_after_data={5}))
    messages = _messages(8)
    transport = SmtpTransport(server.url)
    outcomes = _send_all(transport, messages)
    kinds = [o.kind for o in outcomes]
    # Dropped before the message went out: retry-safe. After: the server has it, we cannot know.
    assert (
        kinds
        == [Kind.ACCEPTED] * 2
        + [Kind.RETRY]
        + [Kind.ACCEPTED] * 2
        + [Kind.UNKNOWN]
        + [Kind.ACCEPTED] * 2
    )
    retried = transport.send(sender=SENDER, to=messages[2][0], message=messages[2][1])
    assert retried.kind is Kind.ACCEPTED
    transport.close()
    delivered = [rcpt[0] for _, rcpt, _ in server.recorder.messages]
    assert sorted(delivered) == sorted(to for to, _ in messages)  # each exactly once
    assert server.recorder.connections == 3


def test_smtp_refusals_are_sorted_per_recipient_and_per_run(
    smtp_factory: Callable[..., SmtpServer],
) -> None:
    messages = _messages(3)
    server = smtp_factory(
        Recorder(
            refuse={
                messages[0][0]: "550 5.1.1 <reader0@example.org>: Recipient address rejected",
                messages[1][0]: "451 4.7.1 Greylisted, try again later",
            }
        )
    )
    transport = SmtpTransport(server.url)
    failed, greylisted, fine = _send_all(transport, messages)
    assert failed == Outcome(
        Kind.FAILED,
        detail="SMTP 550 at recipient: 5.1.1 <re…@example.org>: Recipient address rejected",
    )
    assert greylisted.kind is Kind.RETRY
    assert fine.kind is Kind.ACCEPTED
    transport.close()
    assert [rcpt for _, rcpt, _ in server.recorder.messages] == [[messages[2][0]]]


def test_smtp_server_that_is_not_there() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = SmtpTransport(f"smtp://127.0.0.1:{port}", timeout=2)
    with pytest.raises(TransportError, match=rf"^cannot connect to smtp://127.0.0.1:{port}: "):
        transport.check()
    assert transport.send(sender=SENDER, to="a@example.org", message=b"x").kind is Kind.RETRY


def test_the_smtp_transport_never_shows_its_password() -> None:
    transport = SmtpTransport("smtp://user:hunter2@mail.invalid:25")
    assert transport.description == "smtp://mail.invalid:25"
    assert "hunter2" not in repr(vars(transport).get("description"))


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
def test_smtp_logs_in_and_sends_over_tls_checking_the_certificate(
    mode: str,
    smtp_factory: Callable[..., SmtpServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = smtp_factory(Recorder(), tls=(mode, context))
    messages = _messages(3)
    # Untrusted certificate: refused before any password is sent.
    with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
        SmtpTransport(server.url, timeout=5).check()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # now trusted, as a real CA's would be
    transport = SmtpTransport(server.url, timeout=5)
    transport.check()
    assert [o.kind for o in _send_all(transport, messages)] == [Kind.ACCEPTED] * 3
    transport.close()
    assert len(server.recorder.messages) == 3


# --- SES through moto ----------------------------------------------------------------------------


@pytest.fixture
def ses_sender(aws: str) -> str:
    """A sender in a domain verified on the moto server just for this test."""
    domain = f"t{secrets.token_hex(4)}.example"
    ses_client().create_email_identity(EmailIdentity=domain)
    return f"newsletter@{domain}"


def _moto_raw_messages(endpoint: str, sender: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(endpoint + "/moto-api/data.json") as answer:  # noqa: S310
        data = json.load(answer)
    return [m for m in data["ses"]["RawMessage"] if m["source"] == sender]


def test_ses_sends_raw_messages_that_moto_accepts_once_each(aws: str, ses_sender: str) -> None:
    messages = _messages(10, sender=ses_sender)
    transport = SesTransport(ses_client())
    outcomes = [transport.send(sender=ses_sender, to=to, message=m) for to, m in messages]
    assert [o.kind for o in outcomes] == [Kind.ACCEPTED] * 10
    stored = _moto_raw_messages(aws, ses_sender)
    assert [m["id"] for m in stored] == [o.message_id for o in outcomes]
    for record, (to, sent) in zip(stored, messages, strict=True):
        assert record["raw_data"].encode() == sent
        parsed = _parse(record["raw_data"].encode())
        assert parsed["To"].addresses[0].addr_spec == to
        assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


class _RecordingClient:
    """The real moto client, noting each `send_email` request: moto accepts EmailTags and
    drops them, so this is the one place the tags SES would get can be seen."""

    def __init__(self, client: Any):
        self.client = client
        self.requests: list[dict[str, Any]] = []

    def send_email(self, **request: Any) -> Any:
        self.requests.append(request)
        return self.client.send_email(**request)


def test_ses_tags_each_message_with_its_campaign_and_recipient(aws: str, ses_sender: str) -> None:
    (to, message), = _messages(1, sender=ses_sender)  # fmt: skip
    client = _RecordingClient(ses_client())
    transport = SesTransport(client, configuration_set="sphere", tags={"campaign": "an-issue"})
    outcome = transport.send(sender=ses_sender, to=to, message=message, recipient="Id_0123-abc")
    assert outcome.kind is Kind.ACCEPTED
    (request,) = client.requests
    assert request["ConfigurationSetName"] == "sphere"
    assert request["EmailTags"] == [
        {"Name": "campaign", "Value": "an-issue"},
        {"Name": "recipient", "Value": "Id_0123-abc"},
    ]


def test_ses_an_unverified_sender_stops_the_run(aws: str) -> None:
    (to, message), = _messages(1)  # fmt: skip
    outcome = SesTransport(ses_client()).send(sender="x@unverified.example", to=to, message=message)
    assert outcome == Outcome(
        Kind.STOP,
        detail="SES refuses the sender x…@unverified.example: verify it in SES "
        "(Did not have authority to send from email x…@unverified.example)",
    )


# --- SES failures from a stand-in answering as SES would ---------------------------------------
# moto cannot be made to throttle, fail or hang up on cue; this small server of the tests' own
# answers SES's REST-JSON errors (or closes the connection) and counts the requests, which shows
# that botocore resent nothing on its own.


class FakeSes:
    def __init__(self, answer: tuple[int, str, str] | None):
        self.answer = answer  # (status, error code, message); None: hang up after reading
        self.requests = 0
        self.bodies: list[bytes] = []


@pytest.fixture
def fake_ses(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., FakeSes]]:
    servers: list[ThreadingHTTPServer] = []

    def start(answer: tuple[int, str, str] | None) -> FakeSes:
        fake = FakeSes(answer)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                fake.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests += 1
                if fake.answer is None:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                status, code, message = fake.answer
                body = json.dumps({"__type": code, "message": message}).encode()
                self.send_response(status)
                self.send_header("x-amzn-ErrorType", code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        for key, value in AWS_TEST_ENV.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_port}")
        return fake

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        ((400, "TooManyRequestsException", "Maximum sending rate exceeded."), Kind.RETRY),
        ((400, "MessageRejected", "Address blacklisted."), Kind.FAILED),
        ((400, "SendingPausedException", "Sending is paused for this account."), Kind.STOP),
        ((400, "LimitExceededException", "Daily message quota exceeded."), Kind.STOP),
        ((404, "NotFoundException", "Configuration set <news> does not exist."), Kind.STOP),
        ((500, "InternalFailure", "Internal failure."), Kind.UNKNOWN),
        ((503, "ServiceUnavailable", "Service unavailable."), Kind.UNKNOWN),
        (None, Kind.UNKNOWN),  # the request went out; the connection closed without an answer
    ],
)
def test_ses_failures_are_sorted_and_never_retried_by_botocore(
    fake_ses: Callable[..., FakeSes], answer: tuple[int, str, str] | None, kind: Kind
) -> None:
    fake = fake_ses(answer)
    (to, message), = _messages(1)  # fmt: skip
    outcome = SesTransport(ses_client()).send(sender=SENDER, to=to, message=message)
    assert outcome.kind is kind, outcome
    assert fake.requests == 1


def test_ses_refused_credentials_stop_everything_with_one_clear_line(
    fake_ses: Callable[..., FakeSes],
) -> None:
    fake_ses((403, "UnrecognizedClientException", "The security token included is invalid."))
    (to, message), = _messages(1)  # fmt: skip
    with pytest.raises(TransportError) as caught:
        SesTransport(ses_client()).send(sender=SENDER, to=to, message=message)
    assert str(caught.value) == (
        "Amazon SES refused our credentials (UnrecognizedClientException): check the AWS keys"
    )


def test_ses_unreachable_is_retry_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for key, value in AWS_TEST_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    (to, message), = _messages(1)  # fmt: skip
    outcome = SesTransport(ses_client()).send(sender=SENDER, to=to, message=message)
    assert outcome == Outcome(
        Kind.RETRY, detail="could not connect to SES (EndpointConnectionError)"
    )


# --- the outbox ----------------------------------------------------------------------------------


def test_the_outbox_writes_one_whole_eml_per_recipient(tmp_path: Path) -> None:
    messages = _messages(5)
    transport = OutboxTransport(tmp_path / "outbox")
    transport.check()
    outcomes = _send_all(transport, messages)
    files = sorted((tmp_path / "outbox").iterdir())
    assert [f.name for f in files] == sorted(o.message_id for o in outcomes)
    assert sorted(f.read_bytes() for f in files) == sorted(m for _, m in messages)


def test_ses_sends_with_the_configuration_set_and_campaign_tag_when_configured(
    fake_ses: Callable[..., FakeSes],
) -> None:
    fake = fake_ses((500, "InternalFailure", "x"))  # the answer does not matter here
    (to, message), = _messages(1)  # fmt: skip
    transport = SesTransport(ses_client(), configuration_set="newsletter", tags={"campaign": "hard-sell"})  # fmt: skip
    transport.send(sender=SENDER, to=to, message=message)
    SesTransport(ses_client()).send(sender=SENDER, to=to, message=message)
    configured, plain = (json.loads(body) for body in fake.bodies)
    assert configured["ConfigurationSetName"] == "newsletter"
    assert configured["EmailTags"] == [{"Name": "campaign", "Value": "hard-sell"}]
    assert configured["Destination"] == {"ToAddresses": [to]}
    assert "ConfigurationSetName" not in plain and "EmailTags" not in plain
