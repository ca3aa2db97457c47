"""The circuit breaker pauses a real send when this issue's bounces or complaints run high, and
the seed-list check stops a send before it starts. Feedback comes through SNS and SQS on moto
in server mode; the send is `send_issue` with the outbox transport, as `sphere send` runs it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from fixtures_aws import FeedbackQueue
from fixtures_aws import ses_notification as notification
from fixtures_clock import ManualClock
from fixtures_project import Result
from fixtures_send import add_subscribers

from sphere.errors import SendStopped
from sphere.feedback import sync
from sphere.send.bounce_guard import BounceGuard, seed_check
from sphere.send.campaign import Report
from sphere.send.run import SendRequest, send_issue, send_test
from sphere.settings import Settings, load_settings
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
    monkeypatch.setenv("SPHERE_SECRET", "breaker-test-secret-0123456789-abcdef")
    monkeypatch.setenv("SPHERE_FEEDBACK_QUEUE_URL", feedback_queue.url)
    settings = load_settings(project)
    add_subscribers(settings, [(address, "") for address in PEOPLE])
    return settings


def bounce(to: str, campaign: str = SLUG) -> str:
    return notification("Bounce", to, shape="eventType", campaign=campaign)


def breaker(settings: Settings) -> BounceGuard:
    return BounceGuard(
        settings, SLUG, store=open_store(settings), sync=lambda: sync(settings), every=0
    )


def outbox(project: Path) -> int:
    return len(list((project / "outbox").glob("*.eml")))


def test_a_high_bounce_rate_pauses_sphere_send_until_resumed_past_the_breaker(
    settings: Settings, feedback_queue: FeedbackQueue, project: Path, sphere: Callable[..., Result]
) -> None:
    # The first ten readers' messages bounce (SES reports them while the send goes on).
    feedback_queue.publish(*(bounce(address) for address in PEOPLE[:10]))
    feedback_queue.publish(bounce(PEOPLE[20], campaign="another-issue"))  # not this one's

    paused = sphere("send", SLUG, "--now", "--rate", "50")

    first = outbox(project)
    assert paused.status == 4 and 50 <= first < len(PEOPLE), (paused.status, first)
    assert paused.err.splitlines(keepends=True)[-1] == (
        f"error: sending paused: 10 bounces among the {first} messages of {SLUG} sent so far "
        f"({10 / first:.1%}, over breaker_bounce_rate 5.0%); find out why, then resume with "
        f"`sphere send {SLUG} --resume-past-breaker`\n"
    )
    statuses = {r.email: r.status for r in open_list(settings).all()}
    assert {statuses[a] for a in PEOPLE[:10]} == {"bounced"}  # marked by the sync it ran

    again = sphere("send", SLUG, "--now", "--rate", "1000")  # a plain rerun pauses at once
    # The same counts: nothing more went out (and no batch, so no progress line either).
    assert (again.status, again.err) == (4, paused.err.splitlines(keepends=True)[-1])
    assert outbox(project) == first

    resumed = sphere("send", SLUG, "--now", "--rate", "1000", "--resume-past-breaker")

    assert resumed.status == 0, resumed.err
    assert resumed.out.startswith(f"{SLUG}: sent {len(PEOPLE) - 11 - first}, skipped 0, ")
    assert outbox(project) == len(PEOPLE) - 11  # the 11 bounced were skipped, never mailed


def test_past_the_breaker_new_bounces_still_pause_the_send(
    settings: Settings, feedback_queue: FeedbackQueue, project: Path
) -> None:
    feedback_queue.publish(*(bounce(address) for address in PEOPLE[:10]))
    sync(settings)  # the earlier trouble, already known when the send resumes
    check = BounceGuard(
        settings, SLUG, store=open_store(settings), sync=lambda: sync(settings), from_now=True
    )
    progress = Report(SLUG, sent=0, accepted_before=60)
    assert check.should_pause(progress) == ""  # the ten bounces before this run do not count

    feedback_queue.publish(*(bounce(address) for address in PEOPLE[60:64]))
    check.every = 0  # read the queue again now
    progress.sent = 50
    assert check.should_pause(progress).startswith(
        "sending paused: 4 bounces among the 50 messages of"
    )


def test_a_low_bounce_rate_lets_the_send_finish(
    settings: Settings, feedback_queue: FeedbackQueue, project: Path
) -> None:
    feedback_queue.publish(bounce(PEOPLE[0]))

    report = send_issue(settings, SendRequest(issue=SLUG, now=True, rate=50))

    assert report.stopped == "" and report.sent == len(PEOPLE) - 1  # PEOPLE[0] bounced
    assert outbox(project) == len(PEOPLE) - 1


def test_complaints_have_their_own_lower_threshold(
    settings: Settings, feedback_queue: FeedbackQueue
) -> None:
    feedback_queue.publish(notification("Complaint", PEOPLE[3], shape="eventType", campaign=SLUG))
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

    class Waiting(ManualClock):
        def sleep(self, seconds: float) -> None:  # while publish waits, seed2 complains
            super().sleep(seconds)
            feedback_queue.publish(
                notification("Complaint", "seed2@example.net", shape="eventType", campaign=SLUG),
            )

    clock = Waiting()

    with pytest.raises(
        SendStopped, match=f"^the seed send of {SLUG} had 1 complaint: the real send did not start$"
    ):
        seed_check(
            seeds,
            SLUG,
            store=open_store(seeds),
            send=send_to(seeds),
            sync=lambda: sync(seeds),
            clock=clock,
        )

    assert clock.slept == [120.0]
    assert outbox(project) == 2  # the seeds' test messages, and nobody else's


def test_a_quiet_seed_send_lets_the_real_send_go(settings: Settings, project: Path) -> None:
    seeds = seeded(settings, SPHERE_SEED_LIST="seed1@example.net", SPHERE_SEED_WAIT="0")

    seed_check(
        seeds,
        SLUG,
        store=open_store(seeds),
        send=send_to(seeds),
        sync=lambda: sync(seeds),
        clock=ManualClock(),
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


def watch_for_seeds(project: Path, then: Callable[[], None]) -> threading.Thread:
    """Call `then` once the seed messages are in the outbox (as a seed's mailbox would)."""

    def watch() -> None:
        for _ in range(600):
            if outbox(project):
                then()
                return
            threading.Event().wait(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_publish_reads_the_feedback_then_sends_to_the_seeds_first_and_a_complaint_stops_it(
    settings: Settings, feedback_queue: FeedbackQueue, project: Path, sphere: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("SPHERE_SEED_LIST", "seed1@example.net, seed2@example.net")
    monkeypatch.setenv("SPHERE_SEED_WAIT", "5s")
    feedback_queue.publish(bounce(PEOPLE[7], campaign="an-earlier-issue"))
    complaint = notification("Complaint", "seed2@example.net", shape="eventType", campaign=SLUG)
    watcher = watch_for_seeds(project, lambda: feedback_queue.publish(complaint))

    result = sphere("publish")
    watcher.join()

    assert result.status == 4, result.err
    assert result.err == (
        f"error: the seed send of {SLUG} had 1 complaint: the real send did not start\n"
    )
    assert outbox(project) == 2  # the seeds' test messages, and nobody else's
    assert {r.email: r.status for r in open_list(settings).all()}[PEOPLE[7]] == "bounced"


def test_a_quiet_seed_send_lets_publish_send_to_everyone_not_bounced(
    settings: Settings, feedback_queue: FeedbackQueue, project: Path, sphere: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("SPHERE_SEED_LIST", "seed1@example.net")
    monkeypatch.setenv("SPHERE_SEED_WAIT", "0")
    feedback_queue.publish(bounce(PEOPLE[7], campaign="an-earlier-issue"))

    result = sphere("publish")

    assert result.status == 0, result.err
    assert "feedback: 1 notifications read, 1 bounced and 0 complaining addresses marked" in (
        result.out.splitlines()
    )
    assert f"sent {SLUG}: {len(PEOPLE) - 1} sent, 0 failed, 0 unknown, 0 skipped; 0 left (of {len(PEOPLE) - 1})" in result.out  # fmt: skip
    messages = [path.read_bytes() for path in (project / "outbox").glob("*.eml")]
    tests = [m for m in messages if b"Subject: [TEST] " in m]
    assert len(messages) == len(PEOPLE) and len(tests) == 1  # one seed, everyone but PEOPLE[7]
    assert b"To: seed1@example.net" in tests[0]


def test_a_seed_list_without_a_feedback_queue_is_refused_before_the_upload(
    settings: Settings, project: Path, sphere: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("SPHERE_SEED_LIST", "seed1@example.net")
    monkeypatch.delenv("SPHERE_FEEDBACK_QUEUE_URL")

    result = sphere("publish")

    assert (result.status, result.err) == (1, (
        "error: seed_list is set but feedback_queue_url is not: the seed send's bounces and "
        "complaints could not be read; set feedback_queue_url, or empty seed_list\n"
    ))  # fmt: skip
    assert outbox(project) == 0 and not (project / ".sphere" / "site").exists()
