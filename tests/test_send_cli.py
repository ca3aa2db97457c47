"""`sphere send` and `sphere status`: refusals with one clear line, exit statuses, summaries,
and no address shown in full unless asked."""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Callable
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fixtures_aws import AWS_TEST_ENV
from fixtures_project import Result, write_issue
from fixtures_send import add_subscribers
from fixtures_smtp import Recorder, SmtpServer

from sphere.send.campaign import Report
from sphere.send.run import SendRequest, send_issue
from sphere.send.seams import ses_client
from sphere.send.ses import SesTransport
from sphere.settings import load_settings

pytestmark = pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS", "ignore:Session.login_data is deprecated"
)
SLUG = "hard-sell-or-soft-sell"  # the seed issue, due 2026-12-01
SECRET = "a-long-random-test-secret-0123456789"
POSTAL = "Jim Wigg, 1 High Street, Bath BA1 1AA, United Kingdom"


def _subscribe(count: int) -> dict[str, str]:
    return add_subscribers(load_settings(), [(f"r{n:03d}@example.org", f"R {n}") for n in range(count)])  # fmt: skip


def _outbox(project: Path) -> list[str]:
    """The To address of every message in the default outbox."""
    folder = project / ".sphere" / "outbox"
    found = []
    for path in sorted(folder.glob("*.eml")) if folder.exists() else []:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        found.append(message["To"].addresses[0].addr_spec)
    return found


def _no_ledger(project: Path) -> bool:
    return not (project / ".sphere" / "store" / "campaigns").exists()


def test_a_send_to_the_outbox_then_a_rerun_then_status(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GITHUB_RUN_ID", "GITHUB_SHA"):  # as by hand, even when the tests run in CI
        monkeypatch.delenv(name, raising=False)
    _subscribe(3)
    first = sphere("send", SLUG, "--now")
    assert first.status == 0, first.err
    assert first.out.startswith(f"{SLUG}: sent 3, skipped 0, failed 0, unknown 0 in ")
    assert first.out.endswith("s; 0 left (of 3 recipients; 0 done by earlier runs)\n")
    assert sorted(_outbox(project)) == ["r000@example.org", "r001@example.org", "r002@example.org"]
    again = sphere("send", f"content/issues/2026-12-01-{SLUG}.md", "--now", "--json")
    assert again.status == 0
    summary = json.loads(again.out)
    assert (summary["sent"], summary["done_before"], summary["left"]) == (0, 3, 0)
    assert len(_outbox(project)) == 3
    status = sphere("status", SLUG)
    assert status.out.startswith(f"{SLUG}: 3 recipients since ")
    headline, when, feedback = status.out.splitlines()
    assert headline.endswith(": 3 sent, 0 failed, 0 skipped, 0 unknown, 0 to send")
    assert when.startswith("  started ") and when.endswith("; not from CI")
    assert feedback == (
        "  delivered: not known (SES delivery events are not configured); bounced 0 hard "
        "(0.00%), 0 soft (0.00%); complained 0 (0.00%); unsubscribed through its links 0 (0.00%)"
    )
    assert "@" not in first.out + again.out + status.out


def test_an_unknown_issue(project: Path, sphere: Callable[..., Result]) -> None:
    result = sphere("send", "no-such-issue")
    assert (result.status, result.err) == (
        1, f"error: no issue 'no-such-issue' in content/issues/ (slugs: {SLUG})\n"
    )  # fmt: skip


def test_a_draft_is_refused_but_can_be_tested(project: Path, sphere: Callable[..., Result]) -> None:
    write_issue(project, "2026-10-01-draft", status="draft")
    _subscribe(2)
    result = sphere("send", "draft")
    assert (result.status, result.err) == (
        1,
        "content/issues/2026-10-01-draft.md:5: error: the issue is a draft: set 'status: ready' "
        "to send it (--test and --dry-run work on drafts)\n",
    )
    assert _outbox(project) == [] and _no_ledger(project)
    tested = sphere("send", "draft", "--test", "me@example.org")
    assert (tested.status, tested.out) == (0, "test send to me…@example.org: accepted\n")
    messages = list((project / ".sphere" / "outbox").glob("*.eml"))
    subject = message_from_bytes(messages[0].read_bytes(), policy=policy.default)["Subject"]
    assert subject == "[TEST] A test issue"
    assert _no_ledger(project)


def test_an_issue_not_yet_due_waits_unless_now(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    _subscribe(1)
    monkeypatch.setenv("SPHERE_TODAY", "2026-11-30")  # the newsletter's date, as publish reads it
    result = sphere("send", SLUG)
    assert (result.status, result.err) == (1, (
        f"content/issues/2026-12-01-{SLUG}.md:3: error: the issue is due 2026-12-01 00:00 "
        "Europe/London, not yet: it goes out then; pass --now to send it now\n"
    ))  # fmt: skip
    assert _outbox(project) == [] and _no_ledger(project)

    # On its date in the newsletter's time zone (Settings.today, the day publish uses), it goes.
    monkeypatch.setenv("SPHERE_TODAY", "2026-12-01")
    due = sphere("send", SLUG)
    assert due.status == 0, due.err
    assert _outbox(project) == ["r000@example.org"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"SPHERE_SECRET": ""},
            "error: SPHERE_SECRET is empty but SPHERE_TRANSPORT=smtp reaches real people: set "
            "SPHERE_SECRET to a long random value (the same everywhere links are checked)\n",
        ),
        (
            {"SPHERE_POSTAL_ADDRESS": "Sphere, c/o Jim Wigg, United Kingdom"},
            # Set in the environment: the error names the variable to fix, not pyproject.toml.
            "error: refusing to send: SPHERE_POSTAL_ADDRESS is still a placeholder "
            "('Sphere, c/o Jim Wigg, United Kingdom'): the law wants the sender's real postal "
            "address in every message\n",
        ),
        (
            {"SPHERE_ENDPOINT_URL": "https://newsletter.example.com/api/"},
            "error: refusing to send: SPHERE_ENDPOINT_URL is not a public HTTPS address "
            "('https://newsletter.example.com/api/'): readers' unsubscribe links would not work\n",
        ),
    ],
)
def test_a_real_send_refuses_to_start_without_what_it_needs(
    project: Path,
    sphere: Callable[..., Result],
    smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    message: str,
) -> None:
    _subscribe(2)
    monkeypatch.setenv("SPHERE_TRANSPORT", smtp_server.url)
    for key, value in {"SPHERE_SECRET": SECRET, "SPHERE_POSTAL_ADDRESS": POSTAL, **env}.items():
        monkeypatch.setenv(key, value)
    result = sphere("send", SLUG, "--now")
    assert (result.status, result.err) == (1, message)
    assert smtp_server.recorder.messages == [] and _no_ledger(project)


def test_an_smtp_login_refused_exits_3_and_leaves_the_list_to_send(
    project: Path,
    sphere: Callable[..., Result],
    smtp_factory: Callable[..., SmtpServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _subscribe(2)
    server = smtp_factory(Recorder(), accept_login=False)
    for key, value in {"SPHERE_TRANSPORT": server.url, "SPHERE_SECRET": SECRET, "SPHERE_POSTAL_ADDRESS": POSTAL}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    result = sphere("send", SLUG, "--now")
    port = server.url.rsplit(":", 1)[1]
    assert (result.status, result.err) == (
        3,
        f"error: smtp://127.0.0.1:{port} refused the login for 'sphere': "
        "535 5.7.8 Authentication credentials invalid\n",
    )
    status = sphere("status", SLUG)
    assert status.out.splitlines()[0].endswith(
        ": 0 sent, 0 failed, 0 skipped, 0 unknown, 2 to send"
    )


def test_an_unverified_ses_sender_stops_with_status_4_and_a_rerun_finishes(
    project: Path, sphere: Callable[..., Result], aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    domain = f"t{secrets.token_hex(4)}.example"
    _send_through_ses(monkeypatch, domain)
    _subscribe(4)
    stopped = sphere("send", SLUG, "--now")
    assert stopped.status == 4
    assert stopped.out.startswith(f"{SLUG}: sent 0, skipped 0, failed 0, unknown 0 in ")
    # moto's server lacks GetAccount: the send says so and paces itself by the settings.
    refused = (
        f"SES refuses the sender ne…@{domain}: verify it in SES (Did not have authority to "
        f"send from email ne…@{domain})"
    )
    summary = f"{SLUG}: stopped ({refused}), 4 left: sent 0, failed 0, unknown 0, skipped 0 in "
    assert re.sub(r" in \d+s \(", " in ", stopped.err) == (
        "warning: cannot read the SES account's sending quota: SES 404\n"
        f"{summary}0.0/s)\n"
        f"error: stopped: {refused}; run the same command again to resume\n"
    )
    ses_client().create_email_identity(EmailIdentity=domain)
    finished = sphere("send", SLUG, "--now")
    assert finished.status == 0, finished.err
    assert finished.out.startswith(f"{SLUG}: sent 4, skipped 0, failed 0, unknown 0 in ")


def test_ses_refusing_our_credentials_exits_3_before_anything_is_written(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    # moto accepts any credentials; this stand-in answers every call as SES does a bad key.
    class Refusing(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self._refuse()

        def do_GET(self) -> None:
            self._refuse()

        def _refuse(self) -> None:
            body = b'{"__type":"UnrecognizedClientException","message":"The security token included in the request is invalid."}'
            self.send_response(403)
            self.send_header("x-amzn-ErrorType", "UnrecognizedClientException")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        "SPHERE_TRANSPORT": "ses", "SPHERE_SECRET": SECRET, "SPHERE_POSTAL_ADDRESS": POSTAL,
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{server.server_port}", **AWS_TEST_ENV,
    }  # fmt: skip
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    _subscribe(3)
    try:
        result = sphere("send", SLUG, "--now")
    finally:
        server.shutdown()
        server.server_close()
    assert (result.status, result.err) == (
        3,
        "error: Amazon SES refused our credentials (UnrecognizedClientException): check the AWS keys\n",
    )
    assert _no_ledger(project)


def test_test_sends_mask_addresses_unless_shown(
    project: Path, sphere: Callable[..., Result]
) -> None:
    masked = sphere("send", SLUG, "--test", "jo.smith@example.org", "--test", "bad@@x")
    assert masked.status == 1
    assert masked.out.splitlines()[0] == "test send to jo…@example.org: accepted"
    assert "jo.smith@example.org" not in masked.out + masked.err
    shown = sphere("send", SLUG, "--test", "jo.smith@example.org", "--show")
    assert (shown.status, shown.out) == (0, "test send to jo.smith@example.org: accepted\n")


def test_a_dry_run_builds_every_message_and_sends_none(
    project: Path, sphere: Callable[..., Result]
) -> None:
    _subscribe(25)
    result = sphere("send", SLUG, "--dry-run", "--json")
    assert result.status == 0
    report = json.loads(result.out)
    assert (report["messages"], report["refused"]) == (25, {})
    assert 10_000 < report["largest"] < 102 * 1024  # under Gmail's clipping limit
    assert _outbox(project) == [] and _no_ledger(project)


def test_a_bad_max_time_is_a_usage_error(project: Path, sphere: Callable[..., Result]) -> None:
    result = sphere("send", SLUG, "--max-time", "soon")
    assert result.status == 2
    assert "expected a duration such as 45m, 1h30m or 600 (seconds), got 'soon'" in result.err


# --- the 24-hour quota and SES's rate -----------------------------------------------------------


class QuotaStandIn:
    """moto's server does not implement SES v2 `GetAccount`, so this stand-in answers that one
    call with a given quota and passes every other call to the real moto client."""

    def __init__(self, client: Any, *, max_rate: float, max_24h: int, sent_24h: int):
        self._client = client
        self._quota = {"MaxSendRate": max_rate, "Max24HourSend": max_24h, "SentLast24Hours": sent_24h}  # fmt: skip

    def get_account(self) -> dict[str, Any]:
        return {"SendQuota": self._quota}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _send_through_ses(monkeypatch: pytest.MonkeyPatch, domain: str) -> None:
    """Settings for a real send through SES (moto), from an address at `domain`."""
    env = {
        "SPHERE_TRANSPORT": "ses", "SPHERE_SECRET": SECRET, "SPHERE_POSTAL_ADDRESS": POSTAL,
        "SPHERE_FROM": f"Jim Wigg <newsletter@{domain}>", "SPHERE_SEND_RATE": "0",
    }  # fmt: skip
    for key, value in env.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def ses_project(project: Path, aws: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    domain = f"t{secrets.token_hex(4)}.example"
    ses_client().create_email_identity(EmailIdentity=domain)
    _send_through_ses(monkeypatch, domain)
    return project


def _send(quota: dict[str, Any], on_batch: Callable[[Report], None] | None = None) -> Report:
    transport = SesTransport(QuotaStandIn(ses_client(), **quota))
    request = SendRequest(issue=SLUG, now=True)
    return send_issue(load_settings(), request, transport=transport, on_batch=on_batch)


def test_a_used_up_quota_stops_before_sending(ses_project: Path) -> None:
    _subscribe(5)
    report = _send({"max_rate": 14, "max_24h": 200, "sent_24h": 200})
    assert report.stopped == "the 24-hour sending quota is used up: run the send again tomorrow"
    assert (report.sent, report.left) == (0, 5)


def test_a_quota_too_small_for_the_list_is_said_before_sending(ses_project: Path) -> None:
    _subscribe(5)
    report = _send({"max_rate": 14, "max_24h": 200, "sent_24h": 197})
    assert report.notes == [
        "the 24-hour sending quota allows 3 more messages, for 5 recipients left: the send will "
        "stop when it runs out; run it again after the quota resets"
    ]


def test_without_a_rate_setting_the_send_keeps_to_80_percent_of_ses_max_rate(
    ses_project: Path,
) -> None:
    _subscribe(9)
    report = _send({"max_rate": 10, "max_24h": 200, "sent_24h": 0})
    assert report.sent == 9
    assert report.elapsed >= 8 / 8.0 * 0.95  # 9 sends at 8 per second: 8 gaps of 1/8 s
