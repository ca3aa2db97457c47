"""The circuit breaker pauses a real send when this issue's bounces or complaints run high, and
the seed-list check stops a send before it starts. Feedback comes through SNS and SQS on moto
in server mode; the send is `send_issue` with the outbox transport, as `sphere send` runs it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from fixtures_aws import FeedbackQueue
from fixtures_aws import ses_notification as notification
from fixtures_send import add_subscribers

from sphere.breaker import CircuitBreaker, seed_check
from sphere.errors import SendStopped
from sphere.feedback import sync
from sphere.send.run import SendRequest, send_issue, send_test
from sphere.settings import Settings, load_settings
from sphere.store import aws as sphere_aws
from sphere.store.blobs import open_store
from sphere.subscribers.list import open_list

SLUG = "hard-sell-or-soft-sell"
PEOPLE = [f"reader{n:03d}@example.org" for n in range(150)]


@pytest.fixture
def settings(
    project: Path, feedback_queue: FeedbackQueue, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    monkeypatch.setenv("SPHERE_STORE", str(project / "store"))
    monkeypatch.setenv("SPHERE_TRANSPORT", "outbox:outbox")
    monkeypatch.setenv("SPHERE_SECRET", "breaker-test-secret-0123456789")
    monkeypatch.setenv("SPHERE_FEEDBACK_QUEUE_URL", feedback_queue.url)
    settings = load_settings(project)
    add_subscribers(settings, [(address, "") for address in PEOPLE])
    return settings


def publish(queue: FeedbackQueue, *messages: str) -> None:
    sns = sphere_aws.client("sns")
    for message in messages:
        sns.publish(TopicArn=queue.topic_arn, Message=message)


def bounce(to: str, campaign: str = SLUG) -> str:
    return notification("Bounce", to, shape="eventType", campaign=campaign)


def breaker(settings: Settings) -> CircuitBreaker:
    return CircuitBreaker(
        settings, SLUG, store=open_store(settings), sync=lambda: sync(settings), every=0
    )


def outbox(project: Path) -> int:
    return len(list((project / "outbox").glob("*.eml")))


def test_a_high_bounce_rate_pauses_the_send_and_it_resumes(
    settings: Settings, feedback_queue: FeedbackQueue, project: Path
) -> None:
    # The first ten readers' messages bounce (SES reports them while the send goes on).
    publish(feedback_queue, *(bounce(address) for address in PEOPLE[:10]))
    publish(feedback_queue, bounce(PEOPLE[20], campaign="another-issue"))  # not this one's

    with pytest.raises(SendStopped) as stopped:
        send_issue(
            settings,
            SendRequest(issue=SLUG, now=True, rate=50),
            on_batch=breaker(settings).on_batch,
        )

    first = outbox(project)
    assert 50 <= first < len(PEOPLE)
    assert str(stopped.value) == (
        f"sending paused: 10 bounces among the {first} messages of {SLUG} sent so far "
        f"({10 / first:.1%}, over breaker_bounce_rate 5.0%); find out why, then run the send "
        "again to resume"
    )
    statuses = {r.email: r.status for r in open_list(settings).all()}
    assert {statuses[a] for a in PEOPLE[:10]} == {"bounced"}  # marked by the sync it ran

    report = send_issue(settings, SendRequest(issue=SLUG, now=True, rate=1000))  # resumed

    assert report.stopped == ""
    assert report.sent == len(PEOPLE) - first
    assert outbox(project) == len(PEOPLE)


def test_a_low_bounce_rate_lets_the_send_finish(
    settings: Settings, feedback_queue: FeedbackQueue, project: Path
) -> None:
    publish(feedback_queue, bounce(PEOPLE[0]))

    report = send_issue(
        settings, SendRequest(issue=SLUG, now=True, rate=50), on_batch=breaker(settings).on_batch
    )

    assert report.stopped == "" and report.sent == len(PEOPLE)


def test_complaints_have_their_own_lower_threshold(
    settings: Settings, feedback_queue: FeedbackQueue
) -> None:
    publish(feedback_queue, notification("Complaint", PEOPLE[3], shape="eventType", campaign=SLUG))
    sync(settings)
    check = breaker(settings)

    assert check.reason(49) == ""  # below breaker_min_messages: too few to judge
    assert check.reason(400) == ""  # 0.25% is under 0.3%
    assert check.reason(300).startswith("sending paused: 1 complaint among the 300 messages")


def seeded(settings: Settings, **env: str) -> Settings:
    return load_settings(settings.root, {**os.environ, **env})


def send_to(settings: Settings) -> Any:
    def send(addresses: Sequence[str]) -> list[tuple[str, Any]]:
        return send_test(settings, SendRequest(issue=SLUG, test=tuple(addresses)))

    return send


def test_the_seed_list_gets_the_issue_first_and_a_complaint_stops_the_send(
    settings: Settings, feedback_queue: FeedbackQueue, project: Path
) -> None:
    seeds = seeded(
        settings, SPHERE_SEED_LIST="seed1@example.net, seed2@example.net", SPHERE_SEED_WAIT="2m"
    )
    waited: list[float] = []

    def wait(seconds: float) -> None:  # while publish waits, seed2 complains
        waited.append(seconds)
        publish(
            feedback_queue,
            notification("Complaint", "seed2@example.net", shape="eventType", campaign=SLUG),
        )

    with pytest.raises(
        SendStopped, match=f"^the seed send of {SLUG} had 1 complaint: the real send did not start$"
    ):
        seed_check(
            seeds,
            SLUG,
            store=open_store(seeds),
            send=send_to(seeds),
            sync=lambda: sync(seeds),
            sleep=wait,
        )

    assert waited == [120.0]
    assert outbox(project) == 2  # the seeds' test messages, and nobody else's


def test_a_quiet_seed_send_lets_the_real_send_go(settings: Settings, project: Path) -> None:
    seeds = seeded(settings, SPHERE_SEED_LIST="seed1@example.net", SPHERE_SEED_WAIT="0")

    seed_check(
        seeds,
        SLUG,
        store=open_store(seeds),
        send=send_to(seeds),
        sync=lambda: sync(seeds),
        sleep=lambda s: None,
    )

    assert outbox(project) == 1


def test_bad_breaker_settings_name_the_key(project: Path) -> None:
    from sphere.errors import SettingsErrors

    with pytest.raises(SettingsErrors) as raised:
        load_settings(
            project, {"SPHERE_BREAKER_BOUNCE_RATE": "5%", "SPHERE_SEED_LIST": "not an address"}
        )

    lines = str(raised.value).splitlines()
    assert (
        "error: environment variable SPHERE_BREAKER_BOUNCE_RATE: expected a share between 0 and 1 such as 0.05, got '5%'"
        in lines
    )
    assert any(
        line.startswith("error: environment variable SPHERE_SEED_LIST: expected an address")
        for line in lines
    )
