"""Publishing with nobody watching (issue 19), end to end: S3 and SES on moto in server mode,
SMTP through aiosmtpd. Each test is a day in an operator's life that once needed a person."""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from fixtures_aws import AWS_TEST_ENV, FeedbackQueue, ses_notification, ses_received
from fixtures_project import Result, write_issue
from fixtures_send import add_subscribers
from fixtures_smtp import SmtpServer

from sphere.send.ledger import Ledger
from sphere.send.seams import open_store
from sphere.settings import load_settings
from sphere.store import aws as sphere_aws
from sphere.subscribers.events import CHANGES
from sphere.subscribers.list import SETTLE_SECONDS, open_list
from sphere.subscribers.upkeep import COMPACT_AFTER

pytestmark = pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS", "ignore:Session.login_data is deprecated"
)
SLUG = "hard-sell-or-soft-sell"  # the seed issue, due 2026-12-01 (the project's today)
SECRET = "a-long-random-test-secret-0123456789"
POSTAL = "Jim Wigg, 1 High Street, Bath BA1 1AA, United Kingdom"


def _bucket() -> str:
    name = f"sphere-test-{secrets.token_hex(6)}"
    sphere_aws.client("s3").create_bucket(
        Bucket=name,
        CreateBucketConfiguration={"LocationConstraint": AWS_TEST_ENV["AWS_DEFAULT_REGION"]},
    )
    return name


def _site_keys(bucket: str) -> list[str]:
    listed = sphere_aws.client("s3").list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listed.get("Contents", []))


@pytest.fixture
def on_s3(project: Path, s3_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The project with its store and site in S3 (moto); the site's bucket name."""
    site = _bucket()
    for key, value in {
        "SPHERE_STORE": s3_url,
        "SPHERE_SITE": f"s3://{site}/",
        "SPHERE_SECRET": SECRET,
        "SPHERE_POSTAL_ADDRESS": POSTAL,
        "SPHERE_SEND_RATE": "0",
    }.items():
        monkeypatch.setenv(key, value)
    return site


def test_a_broken_draft_next_to_a_due_issue_holds_nothing_back(
    on_s3: str,
    project: Path,
    smtp_server: SmtpServer,
    sphere: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SPHERE_TRANSPORT", smtp_server.url)
    add_subscribers(load_settings(), [("ann@example.org", "Ann"), ("bob@example.org", "Bob")])
    write_issue(project, "2027-01-broken", date="1/2/2027", status="draft")

    result = sphere("publish")

    assert result.status == 0, result.err
    assert "warning: content/issues/2027-01-broken.md is not due and has errors" in result.err
    assert f"issues/{SLUG}/index.html" in _site_keys(on_s3)
    assert not any("broken" in key for key in _site_keys(on_s3))
    recipients = sorted(to for _, tos, _ in smtp_server.recorder.messages for to in tos)
    assert recipients == ["ann@example.org", "bob@example.org"]
    # The next scheduled run finds it all done, the draft still only a warning.
    again = sphere("publish")
    assert again.status == 0, again.err
    assert "nothing to send: no ready issue is due and unsent" in again.out
    assert len(smtp_server.recorder.messages) == 2


def test_the_mailto_in_list_unsubscribe_unsubscribes_through_the_feedback_queue(
    on_s3: str,
    smtp_server: SmtpServer,
    feedback_queue: FeedbackQueue,
    sphere: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SPHERE_TRANSPORT", smtp_server.url)
    monkeypatch.setenv("SPHERE_FEEDBACK_QUEUE_URL", feedback_queue.url)
    add_subscribers(load_settings(), [("ann@example.org", "Ann"), ("bob@example.org", "Bob")])
    assert sphere("publish").status == 0
    to_ann = next(
        message_from_bytes(data, policy=policy.default)
        for _, tos, data in smtp_server.recorder.messages
        if tos == ["ann@example.org"]
    )
    # Ann's mail client writes to the mailto as List-Unsubscribe gives it: SES receives it and
    # its receipt rule's SNS action puts the notification in the feedback queue.
    links = [link.strip(" <>") for link in str(to_ann["List-Unsubscribe"]).split(",")]
    mailto = urlsplit(next(link for link in links if link.startswith("mailto:")))
    subject = unquote(parse_qs(mailto.query)["subject"][0])
    assert mailto.path == "unsubscribe@jimwigg.com" and subject.startswith("unsubscribe ")
    feedback_queue.publish(ses_received("ann.private@elsewhere.example", subject, to=mailto.path))

    synced = sphere("feedback", "sync")

    assert synced.status == 0, synced.err
    assert "1 unsubscribed by mail" in synced.out
    people = {r.email: r.status for r in open_list(load_settings()).all()}
    assert people == {"ann@example.org": "unsubscribed", "bob@example.org": "subscribed"}


# --- a send killed mid-way: SES's events settle what it left unknown -------------------------

SPHERE = str(Path(sys.executable).parent / "sphere")


def _moto_messages(endpoint: str, sender: str) -> list[dict[str, Any]]:
    """What moto's SES accepted from `sender`, in order: the messages that really went out."""
    with urllib.request.urlopen(endpoint + "/moto-api/data.json") as answer:  # noqa: S310
        stored = json.load(answer)["ses"]["RawMessage"]
    return [item for item in stored if item["source"] == sender]


def _send_event(message: dict[str, Any], recipient_id: str) -> str:
    """The `Send` event SES publishes for an accepted message, with the tags Sphere sent it
    with (moto keeps no tags and publishes no events: this is what AWS would put in the
    queue, from what moto did accept)."""
    to = message["destinations"][0]
    body = json.loads(ses_notification("Send", to, shape="eventType", campaign=SLUG))
    body["mail"]["messageId"] = message["id"]
    body["mail"]["tags"]["recipient"] = [recipient_id]
    body.pop("delivery", None)
    body["send"] = {}
    return json.dumps(body)


def test_a_killed_send_leaves_unknowns_that_ses_events_settle(
    on_s3: str, project: Path, feedback_queue: FeedbackQueue, aws: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    domain = f"t{secrets.token_hex(4)}.example"
    sphere_aws.client("sesv2").create_email_identity(EmailIdentity=domain)
    sender = f"newsletter@{domain}"
    for key, value in {
        "SPHERE_TRANSPORT": "ses", "SPHERE_FROM": f"Jim Wigg <{sender}>",
        "SPHERE_SES_CONFIGURATION_SET": "sphere", "SPHERE_FEEDBACK_QUEUE_URL": feedback_queue.url,
        "SPHERE_SEND_CONCURRENCY": "4",
    }.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    settings = load_settings()
    ids = add_subscribers(settings, [(f"r{n:03d}@example.org", "") for n in range(40)])
    ledger = Ledger(open_store(settings), SLUG)
    # 2 a second: each recorded attempt (a batch of 10) takes 5 s to send, so the kill lands
    # inside one (with seconds to spare on a busy machine), as a runner lost mid-send does.
    process = subprocess.Popen(
        [SPHERE, "send", SLUG, "--now", "--rate", "2"], cwd=project,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while (state := ledger.load()) is None or state.counts()["unknown"] == 0:
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(1.0)  # some of the chunk goes out
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    killed = ledger.load()
    assert killed is not None
    unknown_at_kill = killed.counts()["unknown"]
    accepted = _moto_messages(aws, sender)
    feedback_queue.publish(*(_send_event(m, ids[m["destinations"][0]]) for m in accepted))

    synced = subprocess.run(
        [SPHERE, "feedback", "sync"], cwd=project, capture_output=True, text=True, check=False
    )

    assert synced.returncode == 0, synced.stderr
    settled = ledger.load()
    assert settled is not None
    still = {settled.ids[i] for i, s in settled.last.items() if s == "unknown"}
    mailed = {ids[m["destinations"][0]] for m in accepted}
    assert 0 < unknown_at_kill <= 10 and still.isdisjoint(mailed)  # SES took none of those
    assert len(still) < unknown_at_kill, "the kill left no unknown that SES had accepted"
    assert f"{unknown_at_kill - len(still)} unknown outcomes of an interrupted send settled" in synced.stdout  # fmt: skip
    assert f"{SLUG}: {len(still)} outcomes still unknown: no SES event names them" in synced.stdout
    # What is left was never accepted: resending exactly those mails nobody twice.
    resumed = subprocess.run(
        [SPHERE, "send", SLUG, "--now", "--take-over", "--resend-unknown"],
        cwd=project, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    everyone = Counter(m["destinations"][0] for m in _moto_messages(aws, sender))
    assert set(everyone) == set(ids) and max(everyone.values()) == 1


def test_publish_compacts_the_list_once_enough_changes_wait(
    on_s3: str, project: Path, sphere: Callable[..., Result]
) -> None:
    settings = load_settings()
    for n in range(COMPACT_AFTER - 1):  # one change object each, as endpoint requests write
        add_subscribers(settings, [(f"r{n:03d}@example.org", "")])
    time.sleep(SETTLE_SECONDS)  # compaction leaves younger changes to settle
    store = open_store(settings)

    first = sphere("publish")

    assert first.status == 0, first.err
    assert "subscribers:" not in first.out  # 49 waiting: not yet worth a whole read
    assert len(store.list(CHANGES)) == COMPACT_AFTER - 1
    add_subscribers(settings, [("last@example.org", "")])
    time.sleep(SETTLE_SECONDS)

    second = sphere("publish")

    assert second.status == 0, second.err
    assert f"subscribers: {COMPACT_AFTER} changes folded into the snapshot" in second.out
    assert store.list(CHANGES) == []
    assert len(open_list(settings).all()) == COMPACT_AFTER


def test_a_mistyped_store_prefix_on_s3_deploys_and_sends_nothing(
    on_s3: str, s3_url: str, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    add_subscribers(load_settings(), [("ann@example.org", "Ann")])
    monkeypatch.setenv("SPHERE_STORE", s3_url + "-typo")  # once: deployed, warned, exit 0

    result = sphere("publish")

    assert result.status == 1
    assert result.err.startswith(f"error: SPHERE_STORE ({s3_url}-typo/) holds nothing")
    assert _site_keys(on_s3) == []
