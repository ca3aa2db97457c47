"""Whole campaigns through real servers: SES (moto) and SMTP (aiosmtpd). Each subscribed address
gets exactly one well-formed message whose link unsubscribes that subscriber and nobody else;
nobody else gets anything."""

from __future__ import annotations

import json
import secrets
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fixtures_send import add_subscribers
from fixtures_smtp import Recorder, SmtpServer

from sphere.content.issues import load_issue
from sphere.mail.issue import issue_message
from sphere.mail.personalise import Personaliser, tokens_for
from sphere.render.email import Renderer
from sphere.send.campaign import Campaign, SendOptions
from sphere.send.outcome import Outcome
from sphere.send.seams import open_store, people, ses_client
from sphere.send.ses import SesTransport
from sphere.send.smtp import SmtpTransport
from sphere.settings import Settings, load_settings
from sphere.subscribers.list import open_list

pytestmark = pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS", "ignore:Session.login_data is deprecated"
)
SEED = "content/issues/2026-12-01-hard-sell-or-soft-sell.md"


@pytest.fixture
def settings(project: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SPHERE_SECRET", "a-long-random-test-secret-0123456789")
    return load_settings(project)


def _campaign(settings: Settings, transport: object, **options: object) -> Campaign:
    issue = load_issue(settings.root / SEED)
    rendered = Renderer(settings).render(issue)
    return Campaign(
        store=open_store(settings),
        slug=issue.slug,
        subject=issue.subject,
        template=issue_message(settings, rendered),
        personaliser=Personaliser.from_settings(settings),
        transport=transport,  # type: ignore[arg-type]
        sender=settings.sender_address,
        people=lambda: people(settings),
        options=SendOptions(**options),  # type: ignore[arg-type]
    )


def _check_messages(settings: Settings, raw: list[bytes], expected: dict[str, str]) -> None:
    """One message per expected address, each well-formed, its token for that subscriber."""
    tokens = tokens_for(settings)
    seen: Counter[str] = Counter()
    for data in raw:
        message = message_from_bytes(data, policy=policy.default)
        assert isinstance(message, EmailMessage)
        assert not any(part.defects for part in message.walk())
        assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
        address = message["To"].addresses[0].addr_spec
        seen[address] += 1
        for name in ("List-Unsubscribe", "List-Unsubscribe-Post", "List-Id"):
            assert len(message.get_all(name) or []) == 1
        url = str(message["List-Unsubscribe"]).split(",")[0].strip("<> ")
        assert tokens.check_unsubscribe(parse_qs(urlsplit(url).query)["t"][0]) == expected[address]
    assert seen == dict.fromkeys(expected, 1)


def _verified_sender(project: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The project's settings, sending from a new address that SES (moto) has verified."""
    domain = f"t{secrets.token_hex(4)}.example"
    ses_client().create_email_identity(EmailIdentity=domain)
    monkeypatch.setenv("SPHERE_SECRET", "a-long-random-test-secret-0123456789")
    monkeypatch.setenv("SPHERE_FROM", f"Jim Wigg <newsletter@{domain}>")
    return load_settings(project)


def test_a_ses_campaign_mails_each_subscribed_address_exactly_once(
    aws: str, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _verified_sender(project, monkeypatch)
    ids = add_subscribers(settings, [(f"r{n:04d}@example.org", f"R {n}") for n in range(520)])
    gone = [f"r{n:04d}@example.org" for n in range(500, 520)]
    for address in gone[:10]:
        open_list(settings).remove(address)
    for address in gone[10:]:
        open_list(settings).remove(address, status="bounced")
    report = _campaign(settings, SesTransport(ses_client()), concurrency=8).run()
    assert (report.sent, report.failed, report.unknown, report.stopped) == (500, 0, 0, "")
    with urllib.request.urlopen(aws + "/moto-api/data.json") as answer:  # noqa: S310
        stored = json.load(answer)["ses"]["RawMessage"]
    raw = [m["raw_data"].encode() for m in stored if m["source"] == settings.sender_address]
    _check_messages(settings, raw, {a: i for a, i in ids.items() if a not in gone})


def test_an_smtp_campaign_survives_drops_and_mails_each_address_once(
    settings: Settings, smtp_factory: Callable[..., SmtpServer]
) -> None:
    ids = add_subscribers(settings, [(f"r{n:03d}@example.org", f"R {n}") for n in range(60)])
    # Dropped before the data (retried on a new connection) and after it (recorded unknown).
    server = smtp_factory(Recorder(drop_before_data={5, 30}, drop_after_data={44}))
    report = _campaign(settings, SmtpTransport(server.url), concurrency=3).run()
    assert (report.sent, report.unknown, report.failed) == (59, 1, 0)
    raw = [data for _, _, data in server.recorder.messages]
    _check_messages(settings, raw, ids)  # the unknown one did arrive: once, like everyone


def test_an_smtp_login_refused_stops_before_anything_is_sent(
    settings: Settings, smtp_factory: Callable[..., SmtpServer]
) -> None:
    from sphere.errors import TransportError
    from sphere.send.ledger import Ledger

    add_subscribers(settings, [(f"r{n:03d}@example.org", "") for n in range(5)])
    server = smtp_factory(Recorder(), accept_login=False)
    with pytest.raises(TransportError, match="refused the login for 'sphere': 535"):
        _campaign(settings, SmtpTransport(server.url)).run()
    slug = load_issue(settings.root / SEED).slug
    state = Ledger(open_store(settings), slug).load()
    assert state is not None and state.counts()["pending"] == 5  # intact: all still to send
    assert server.recorder.messages == []


def test_with_a_rate_of_50_no_second_holds_more_than_50_sends(
    aws: str, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _verified_sender(project, monkeypatch)
    add_subscribers(settings, [(f"r{n:04d}@example.org", "") for n in range(150)])
    times: list[float] = []

    class Timed(SesTransport):
        def send(self, *, sender: str, to: str, message: bytes, recipient: str = "") -> Outcome:
            times.append(time.monotonic())
            return super().send(sender=sender, to=to, message=message, recipient=recipient)

    report = _campaign(settings, Timed(ses_client()), rate=50, concurrency=8).run()
    assert report.sent == 150
    times.sort()
    busiest = max(sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times))
    overall = (len(times) - 1) / (times[-1] - times[0])
    assert busiest <= 50 and 45 <= overall <= 55, (busiest, overall)
