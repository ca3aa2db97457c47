"""A real S3 stand-in: moto in server mode on a loopback port, reached by boto3 over HTTP.

`moto_server()` is also used by benchmarks/subscribers.py. The server runs in its own process,
so test processes (and the workers they start) talk to it exactly as they would to AWS.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fault_proxy import FaultProxy

AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "eu-west-2",
}


# moto 5.2.5 lists its own package folder on every request (about 180 stat calls) to route it;
# the answer never changes while it runs, so remember it: three times the requests per second.
_SERVER = """
import sys
from moto import backends
from moto.server import main
_modules = tuple(backends.list_of_moto_modules())
backends.list_of_moto_modules = lambda: _modules
main(sys.argv[1:])
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def moto_server(extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Start `moto.server` on 127.0.0.1 and a free port; yield its URL; stop it."""
    port = _free_port()
    env = {**os.environ, **AWS_TEST_ENV, **(extra_env or {})}
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVER, "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/moto-api/", timeout=1):  # noqa: S310
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The URL of one moto server shared by the whole test session."""
    with moto_server() as url:
        yield url


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point boto3 (in this process and in any it starts) at the moto server."""
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(key, raising=False)
    for key, value in AWS_TEST_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    return moto_endpoint


@pytest.fixture
def s3_bucket(aws: str) -> str:
    """A new, empty bucket on the moto server."""
    from sphere.store import aws as sphere_aws

    name = f"sphere-test-{secrets.token_hex(6)}"
    sphere_aws.client("s3").create_bucket(
        Bucket=name,
        CreateBucketConfiguration={"LocationConstraint": AWS_TEST_ENV["AWS_DEFAULT_REGION"]},
    )
    return name


@pytest.fixture
def s3_faults(aws: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """A fault proxy in front of moto that boto3's S3 (alone) goes through, here and in the
    processes a test starts (`AWS_ENDPOINT_URL_S3`); see tests/fault_proxy.py."""
    with FaultProxy(aws) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
        yield proxy


@pytest.fixture
def s3_url(s3_bucket: str) -> str:
    """SPHERE_STORE for a fresh bucket, with a prefix (the store must keep to it)."""
    return f"s3://{s3_bucket}/newsletter"


@dataclass(frozen=True)
class FeedbackQueue:
    """An SQS queue subscribed to an SNS topic, as SES's feedback reaches Sphere."""

    url: str
    topic_arn: str

    def publish(self, *messages: str) -> None:
        """Publish notifications to the topic, as SES does: they reach the queue via SNS."""
        from sphere.store import aws as sphere_aws

        sns = sphere_aws.client("sns")
        for message in messages:
            sns.publish(TopicArn=self.topic_arn, Message=message)


@pytest.fixture
def feedback_queue(aws: str) -> FeedbackQueue:
    """A fresh SNS topic and SQS queue on the moto server, the queue subscribed to the topic
    (SNS envelopes, not raw delivery: the shape SES feedback arrives in by default)."""
    from sphere.store import aws as sphere_aws

    name = f"sphere-feedback-{secrets.token_hex(6)}"
    sqs, sns = sphere_aws.client("sqs"), sphere_aws.client("sns")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    topic = sns.create_topic(Name=name)["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return FeedbackQueue(url, topic)


def _mail(to: str, *, shape: str, campaign: str, recipient: str = "") -> dict[str, Any]:
    tags = {"campaign": [campaign], **({"recipient": [recipient]} if recipient else {})}
    return {
        "timestamp": "2026-12-01T09:00:00.000Z",
        "source": "newsletter@jimwigg.com",
        "sourceArn": "arn:aws:ses:eu-west-2:123456789012:identity/jimwigg.com",
        "sendingAccountId": "123456789012",
        "messageId": f"0102018c{secrets.token_hex(12)}-000000",
        "destination": [to],
        "headersTruncated": False,
        "commonHeaders": {"from": ["Jim Wigg <newsletter@jimwigg.com>"], "to": [to]},
        **({"tags": tags} if shape == "eventType" else {}),
    }


def ses_notification(
    kind: str,
    to: str,
    *,
    shape: str = "notificationType",
    campaign: str = "hard-sell-or-soft-sell",
    recipient: str = "",
    **detail: Any,
) -> str:
    """An SES notification as JSON, shaped like AWS's documented examples (`kind`: Bounce,
    Complaint or Delivery; `shape`: notificationType, or eventType with the message's tags:
    the campaign, and `recipient`, the reader's opaque id, when given)."""
    mail = _mail(to, shape=shape, campaign=campaign, recipient=recipient)
    body: dict[str, Any] = {shape: kind, "mail": mail}
    feedback_id = f"0102018c{secrets.token_hex(12)}-000000"
    if kind == "Bounce":
        body["bounce"] = {
            "bounceType": detail.get("bounceType", "Permanent"),
            "bounceSubType": detail.get("bounceSubType", "General"),
            "bouncedRecipients": [
                {
                    "emailAddress": to,
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
            "timestamp": "2026-12-01T09:00:01.000Z",
            "feedbackId": detail.get("feedbackId", feedback_id),
            "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com",
        }
    elif kind == "Complaint":
        body["complaint"] = {
            "complainedRecipients": [{"emailAddress": to}],
            "timestamp": "2026-12-01T10:00:00.000Z",
            "feedbackId": feedback_id,
            "userAgent": "Yahoo!-Mail-Feedback/2.0",
            "complaintFeedbackType": detail.get("complaintFeedbackType", "abuse"),
        }
    else:
        body["delivery"] = {
            "timestamp": "2026-12-01T09:00:01.000Z",
            "processingTimeMillis": 546,
            "recipients": [to],
            "smtpResponse": "250 ok",
            "reportingMTA": "a8-70.smtp-out.amazonses.com",
        }
    return json.dumps(body)


def ses_received(
    sender: str,
    subject: str,
    *,
    to: str = "unsubscribe@jimwigg.com",
    authentic: bool = True,
    spam: bool = False,
) -> str:
    """An SES receiving notification (an SNS receipt-rule action), shaped like AWS's documented
    example: the mail's common headers and the receipt's verdicts (`authentic`: SPF, DKIM and
    DMARC pass, or all fail)."""
    verdict = "PASS" if authentic else "FAIL"
    message_id = f"{secrets.token_hex(16)}"
    body = {
        "notificationType": "Received",
        "mail": {
            "timestamp": "2026-12-02T08:00:00.000Z",
            "source": sender,
            "messageId": message_id,
            "destination": [to],
            "headersTruncated": False,
            "headers": [{"name": "Subject", "value": subject}],
            "commonHeaders": {
                "returnPath": sender,
                "from": [f"Reader <{sender}>"],
                "date": "Wed, 02 Dec 2026 08:00:00 +0000",
                "to": [to],
                "messageId": f"<{message_id}@mail.example>",
                "subject": subject,
            },
        },
        "receipt": {
            "timestamp": "2026-12-02T08:00:00.000Z",
            "processingTimeMillis": 574,
            "recipients": [to],
            "spamVerdict": {"status": "FAIL" if spam else "PASS"},
            "virusVerdict": {"status": "PASS"},
            "spfVerdict": {"status": verdict},
            "dkimVerdict": {"status": verdict},
            "dmarcVerdict": {"status": verdict},
            "action": {
                "type": "SNS",
                "topicArn": "arn:aws:sns:eu-west-2:123456789012:sphere-feedback",
                "encoding": "UTF8",
            },
        },
        "content": f"From: Reader <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n\r\n",
    }
    return json.dumps(body)
