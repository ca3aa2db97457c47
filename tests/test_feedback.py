"""`sphere feedback sync` against moto in server mode: SES notifications through SNS into SQS.

The notifications are shaped like real SES ones (AWS's documented examples, in both of SES's
shapes), published to an SNS topic whose SQS subscription wraps them in SNS envelopes, as in
production.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fixtures_aws import FeedbackQueue, ses_received
from fixtures_aws import ses_notification as notification
from fixtures_project import Result
from fixtures_send import add_subscribers

from sphere.errors import FeedbackError
from sphere.feedback import parse, sync
from sphere.settings import Settings, load_settings
from sphere.store import aws as sphere_aws
from sphere.subscribers.list import open_list

PEOPLE = ["hard@example.org", "soft@example.org", "angry@example.org", "fine@example.org"]


@pytest.fixture
def settings(
    project: Path, feedback_queue: FeedbackQueue, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    monkeypatch.setenv("SPHERE_STORE", str(project / "store"))
    monkeypatch.setenv("SPHERE_SECRET", "feedback-test-secret-0123456789-abcdef")
    monkeypatch.setenv("SPHERE_FEEDBACK_QUEUE_URL", feedback_queue.url)
    settings = load_settings(project)
    add_subscribers(settings, [(address, "") for address in PEOPLE])
    return settings


def statuses(settings: Settings) -> dict[str, str]:
    return {r.email: r.status for r in open_list(settings).all()}


def queue_depth(queue: FeedbackQueue) -> int:
    """Messages in the queue, visible or not (a sync hides what it received for a while)."""
    attributes = sphere_aws.client("sqs").get_queue_attributes(
        QueueUrl=queue.url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def test_permanent_bounces_and_complaints_mark_the_subscriber(
    settings: Settings, feedback_queue: FeedbackQueue
) -> None:
    feedback_queue.publish(
        notification("Bounce", "hard@example.org"),
        notification("Complaint", "Angry@Example.org", shape="eventType"),
        notification("Delivery", "fine@example.org", shape="eventType"),
        notification("Bounce", "soft@example.org", bounceType="Transient"),
        notification("Bounce", "stranger@example.org"),
    )

    report = sync(settings)

    assert statuses(settings) == {
        "hard@example.org": "bounced",
        "angry@example.org": "complained",
        "fine@example.org": "subscribed",
        "soft@example.org": "subscribed",
    }
    assert (report.received, report.bounced, report.complained) == (5, 1, 1)
    assert (report.transient, report.ignored, report.unchanged) == (1, 1, 1)
    assert report.deleted == 5 and report.malformed == []
    assert queue_depth(feedback_queue) == 0


def test_transient_bounces_mark_the_subscriber_only_after_repeats(
    settings: Settings, feedback_queue: FeedbackQueue
) -> None:
    first = notification("Bounce", "soft@example.org", bounceType="Transient")
    feedback_queue.publish(first, first, first)  # the same notification, delivered thrice
    sync(settings)
    assert statuses(settings)["soft@example.org"] == "subscribed"

    feedback_queue.publish(notification("Bounce", "soft@example.org", bounceType="Transient"))
    sync(settings)
    assert statuses(settings)["soft@example.org"] == "subscribed"

    feedback_queue.publish(notification("Bounce", "soft@example.org", bounceType="Transient"))
    report = sync(settings)
    assert statuses(settings)["soft@example.org"] == "bounced"  # the third distinct one
    assert report.bounced == 1


def test_the_same_notification_twice_changes_nothing(
    settings: Settings, feedback_queue: FeedbackQueue, project: Path
) -> None:
    bounce = notification("Bounce", "hard@example.org")
    feedback_queue.publish(bounce)
    sync(settings)
    changes = sorted((project / "store").rglob("*.jsonl"))

    feedback_queue.publish(bounce)
    report = sync(settings)

    assert (report.received, report.bounced, report.unchanged) == (1, 0, 1)
    assert sorted((project / "store").rglob("*.jsonl")) == changes
    assert queue_depth(feedback_queue) == 0


def test_a_malformed_message_is_reported_and_left_in_the_queue(
    settings: Settings, feedback_queue: FeedbackQueue
) -> None:
    sqs = sphere_aws.client("sqs")
    sqs.send_message(QueueUrl=feedback_queue.url, MessageBody="this is not json")
    sqs.send_message(
        QueueUrl=feedback_queue.url,
        MessageBody=json.dumps(
            {"Type": "Notification", "Message": json.dumps({"eventType": "Bounce"})}
        ),
    )
    feedback_queue.publish(notification("Bounce", "hard@example.org"))

    report = sync(settings)

    assert len(report.malformed) == 2
    assert report.bounced == 1 and report.deleted == 1
    assert queue_depth(feedback_queue) == 2, "a malformed message was lost"


def test_a_missing_queue_is_one_clear_error(
    settings: Settings, feedback_queue: FeedbackQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = feedback_queue.url + "-gone"
    monkeypatch.setenv("SPHERE_FEEDBACK_QUEUE_URL", missing)
    with pytest.raises(
        FeedbackError, match=r"^no such queue: .*-gone \(check feedback_queue_url\)$"
    ):
        sync(load_settings(settings.root))


def test_no_queue_configured_says_which_setting(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, sphere: Callable[..., Result]
) -> None:
    monkeypatch.delenv("SPHERE_FEEDBACK_QUEUE_URL")

    result = sphere("feedback", "sync")

    assert result.status == 1
    assert result.err == (
        "error: feedback_queue_url is not set: set it in [tool.sphere] or "
        "SPHERE_FEEDBACK_QUEUE_URL (see docs/aws.md)\n"
    )


def test_the_command_reports_counts_and_logs_no_address(
    settings: Settings,
    feedback_queue: FeedbackQueue,
    sphere: Callable[..., Result],
    caplog: pytest.LogCaptureFixture,
) -> None:
    feedback_queue.publish(
        notification("Bounce", "hard@example.org"),
        notification("Complaint", "angry@example.org"),
    )
    sphere_aws.client("sqs").send_message(QueueUrl=feedback_queue.url, MessageBody="junk")

    with caplog.at_level("DEBUG", logger="sphere"):
        result = sphere("-vv", "feedback", "sync")

    assert result.status == 0, result.err
    assert result.out == (
        "3 notifications: 1 bounced, 1 complained, 0 unsubscribed by mail, 0 transient bounces "
        "counted, 0 ignored, 0 unchanged; 2 deleted\n1 message was not an SES notification: left in the queue for inspection\n"
    )
    assert "example.org" not in result.err + caplog.text
    assert "not an SES notification" in result.err


@pytest.mark.parametrize(
    "body",
    [
        "",
        "[]",
        json.dumps({"Type": "Notification", "Message": "not json"}),
        json.dumps({"notificationType": "Bounce", "bounce": {"bouncedRecipients": [{}]}}),
        json.dumps({"notificationType": "Complaint", "complaint": {}}),
    ],
)
def test_parse_refuses_what_is_not_a_notification(body: str) -> None:
    with pytest.raises(ValueError):
        parse(body)


def test_a_not_spam_complaint_is_ignored() -> None:
    notice = parse(notification("Complaint", "a@example.org", complaintFeedbackType="not-spam"))
    assert notice.kind == "ignored"


# --- unsubscribe requests by mail (List-Unsubscribe's mailto, through SES receiving) ----------


def _token_of(settings: Settings, address: str) -> str:
    from sphere.mail.tokens import Tokens

    record = next(r for r in open_list(settings).all() if r.email == address)
    return Tokens(settings.secret).unsubscribe(record.id)


def test_a_mail_whose_subject_carries_a_token_unsubscribes_that_reader(
    settings: Settings, feedback_queue: FeedbackQueue
) -> None:
    token = _token_of(settings, "soft@example.org")
    # Sent from another address (a forward, an alias): the token names the reader.
    feedback_queue.publish(
        ses_received("alias@elsewhere.example", f"Re: unsubscribe {token}", authentic=False)
    )

    report = sync(settings)

    assert (report.received, report.unsubscribed, report.deleted) == (1, 1, 1)
    assert statuses(settings)["soft@example.org"] == "unsubscribed"
    assert queue_depth(feedback_queue) == 0


def test_a_mail_from_a_subscriber_unsubscribes_them_only_if_the_sender_is_authentic(
    settings: Settings, feedback_queue: FeedbackQueue
) -> None:
    feedback_queue.publish(
        ses_received("Fine@Example.org", "please take me off", authentic=False),
        ses_received("hard@example.org", "unsubscribe"),
    )

    report = sync(settings)

    assert (report.unsubscribed, report.unchanged) == (1, 1)
    found = statuses(settings)
    # A forged From (SPF, DKIM and DMARC failed) unsubscribes nobody.
    assert (found["fine@example.org"], found["hard@example.org"]) == ("subscribed", "unsubscribed")


@pytest.mark.parametrize(
    ("kwargs", "subject"),
    [
        ({"spam": True}, "unsubscribe {token}"),
        ({"to": "jim@jimwigg.com"}, "unsubscribe {token}"),
    ],
    ids=["spam", "another mailbox"],
)
def test_spam_and_mail_for_other_mailboxes_are_ignored(
    settings: Settings, feedback_queue: FeedbackQueue, kwargs: dict[str, Any], subject: str
) -> None:
    token = _token_of(settings, "soft@example.org")
    feedback_queue.publish(ses_received("soft@example.org", subject.format(token=token), **kwargs))

    report = sync(settings)

    assert (report.ignored, report.unsubscribed, report.deleted) == (1, 0, 1)
    assert statuses(settings)["soft@example.org"] == "subscribed"


def test_a_forged_token_unsubscribes_nobody(
    settings: Settings, feedback_queue: FeedbackQueue
) -> None:
    token = _token_of(settings, "soft@example.org")
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    feedback_queue.publish(ses_received("x@elsewhere.example", f"unsubscribe {forged}"))

    report = sync(settings)

    assert (report.unsubscribed, report.unchanged) == (0, 1)
    assert statuses(settings)["soft@example.org"] == "subscribed"
