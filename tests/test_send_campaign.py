"""The campaign: everyone on the frozen list mailed once, resumable after a stop or a crash,
one sender at a time, and nobody mailed after they left the list."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fixtures_clock import ManualClock
from fixtures_send import add_subscribers, mailed

from sphere.errors import CampaignBusy, TransportError
from sphere.mail.message import UNSUBSCRIBE_URL, MessageTemplate
from sphere.mail.personalise import Personaliser
from sphere.send.campaign import Campaign, Report, SendOptions
from sphere.send.lease import Lease
from sphere.send.ledger import Ledger
from sphere.send.outcome import Outcome
from sphere.send.seams import open_store, people
from sphere.send.transports import OutboxTransport
from sphere.settings import Settings, load_settings
from sphere.subscribers.list import open_list

SLUG = "2026-12-01-test-issue"


@pytest.fixture
def settings(project: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SPHERE_SECRET", "a-long-random-test-secret-0123456789")
    return load_settings(project)


def _template() -> MessageTemplate:
    return MessageTemplate.build(
        sender="Jim Wigg <newsletter@jimwigg.com>", reply_to="", subject="A test issue",
        list_id="sphere.jimwigg.com", list_name="Sphere", language="en-GB",
        text=f"Hello.\nUnsubscribe: {UNSUBSCRIBE_URL}\n",
        html_body=f'<p>Hello.</p><a href="{UNSUBSCRIBE_URL}">Unsubscribe</a>',
    )  # fmt: skip


def _people(count: int, prefix: str = "reader") -> list[tuple[str, str]]:
    return [(f"{prefix}{n:04d}@example.org", f"Reader {n}") for n in range(count)]


class Scripted(OutboxTransport):
    """The outbox, with a script that may answer otherwise for some sends (the test's own
    stand-in for a server's refusals: it decides per call, which no real server lets us do)."""

    def __init__(self, folder: Path, script: Callable[[str, int], Outcome | None] | None = None):
        super().__init__(folder)
        self.script = script or (lambda to, n: None)
        self.calls = 0
        self.lock = threading.Lock()

    def send(self, *, sender: str, to: str, message: bytes, recipient: str = "") -> Outcome:
        with self.lock:
            self.calls += 1
            number = self.calls
        scripted = self.script(to, number)
        return scripted if scripted is not None else super().send(sender=sender, to=to, message=message, recipient=recipient)  # fmt: skip


def _campaign(
    settings: Settings, transport: Any, *, on_batch: Callable[[Report], None] | None = None, **options: Any
) -> Campaign:  # fmt: skip
    return Campaign(
        store=open_store(settings),
        slug=SLUG,
        subject="A test issue",
        template=_template(),
        personaliser=Personaliser.from_settings(settings),
        transport=transport,
        sender=settings.sender_address,
        people=lambda: people(settings),
        options=SendOptions(**{"concurrency": 4, "batch": 10, **options}),
        on_batch=on_batch,
    )


def test_everyone_subscribed_is_mailed_once_and_a_rerun_sends_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    add_subscribers(settings, _people(33))
    for address in ("reader0003@example.org", "reader0010@example.org"):
        open_list(settings).remove(address)
    outbox = tmp_path / "outbox"
    report = _campaign(settings, OutboxTransport(outbox)).run()
    expected = {a for a, _ in _people(33)} - {"reader0003@example.org", "reader0010@example.org"}
    assert mailed(outbox) == dict.fromkeys(expected, 1)
    assert (report.recipients, report.sent, report.left, report.stopped) == (31, 31, 0, "")
    again = _campaign(settings, OutboxTransport(outbox)).run()
    assert (again.sent, again.done_before, again.left) == (0, 31, 0)
    assert sum(mailed(outbox).values()) == 31


def test_the_ledger_holds_ids_in_small_objects_and_no_address_or_name(
    settings: Settings, tmp_path: Path
) -> None:
    add_subscribers(settings, _people(45))
    _campaign(settings, OutboxTransport(tmp_path / "outbox")).run()
    root = Path(open_store(settings).url) / "campaigns" / SLUG
    files = [p for p in root.rglob("*") if p.is_file()]
    text = b"".join(p.read_bytes() for p in files)
    assert b"@" not in text and b"Reader" not in text and b"reader" not in text
    logs = sorted((root / "log").iterdir())
    assert len(logs) == 2 * 5  # an attempt and an outcome object per batch of 10
    assert max(p.stat().st_size for p in logs) < 2000
    assert json.loads((root / "lease.json").read_bytes())["released"]  # released at the end


def test_a_stop_marks_nobody_failed_and_the_next_run_finishes(
    settings: Settings, tmp_path: Path
) -> None:
    add_subscribers(settings, _people(30))
    outbox = tmp_path / "outbox"
    quota = Scripted(
        outbox, lambda to, n: Outcome.stop("SES LimitExceededException: quota") if n > 12 else None
    )
    report = _campaign(settings, quota, concurrency=1).run()
    assert report.stopped == "SES LimitExceededException: quota"
    assert (report.sent, report.failed, report.unknown, report.left) == (12, 0, 0, 18)
    finished = _campaign(settings, OutboxTransport(outbox)).run()
    assert (finished.sent, finished.done_before, finished.left) == (18, 12, 0)
    assert set(mailed(outbox).values()) == {1} and len(mailed(outbox)) == 30


def test_unknowns_are_not_resent_unless_asked(settings: Settings, tmp_path: Path) -> None:
    add_subscribers(settings, _people(12))
    outbox = tmp_path / "outbox"
    timeouts = Scripted(
        outbox,
        lambda to, n: (
            Outcome.unknown("no answer")
            if to in {"reader0002@example.org", "reader0007@example.org"}
            else None
        ),
    )
    first = _campaign(settings, timeouts).run()
    assert (first.sent, first.unknown) == (10, 2)
    second = _campaign(settings, OutboxTransport(outbox)).run()
    assert (second.sent, second.unknown_before) == (0, 2)
    third = _campaign(settings, OutboxTransport(outbox), resend_unknown=True).run()
    assert (third.sent, third.unknown_before) == (2, 0)
    assert len(mailed(outbox)) == 12


def test_recipients_attempted_when_a_run_died_count_as_unknown(
    settings: Settings, tmp_path: Path
) -> None:
    add_subscribers(settings, _people(8))
    ledger = Ledger(open_store(settings), SLUG)
    state = ledger.freeze(sorted(people(settings)), subject="x")
    ledger.attempt([0, 1, 2])  # and then the process was killed
    ledger.outcomes([(0, "accepted", "m0", "")])
    outbox = tmp_path / "outbox"
    report = _campaign(settings, OutboxTransport(outbox)).run()
    assert (report.done_before, report.unknown_before, report.sent) == (1, 2, 5)
    by_id = {p.id: p.email for p in people(settings).values()}
    assert not {by_id[state.ids[1]], by_id[state.ids[2]]} & set(mailed(outbox))


def test_a_retry_safe_refusal_is_retried_and_sent_once(settings: Settings, tmp_path: Path) -> None:
    add_subscribers(settings, _people(5))
    refusals = Counter[str]()

    def greylist(to: str, n: int) -> Outcome | None:
        if to == "reader0001@example.org" and refusals[to] < 2:
            refusals[to] += 1
            return Outcome.retry("SMTP 451 greylisted")
        return None

    outbox = tmp_path / "outbox"
    report = _campaign(settings, Scripted(outbox, greylist), batch=5).run()
    assert (report.sent, refusals["reader0001@example.org"]) == (5, 2)
    assert mailed(outbox)["reader0001@example.org"] == 1


def test_a_permanent_refusal_is_recorded_once_and_the_send_goes_on(
    settings: Settings, tmp_path: Path
) -> None:
    add_subscribers(settings, _people(6))
    rejected = Scripted(
        tmp_path / "outbox",
        lambda to, n: (
            Outcome.failed("SMTP 550 at recipient: no such user")
            if to == "reader0004@example.org"
            else None
        ),
    )
    report = _campaign(settings, rejected).run()
    assert (report.sent, report.failed, rejected.calls) == (5, 1, 6)
    assert report.failures == {"SMTP 550 at recipient: no such user": 1}
    again = _campaign(settings, OutboxTransport(tmp_path / "outbox")).run()
    assert (again.sent, again.done_before) == (0, 6)  # a failure is never retried


def test_a_transport_failing_mid_run_leaves_the_rest_to_send(
    settings: Settings, tmp_path: Path
) -> None:
    add_subscribers(settings, _people(20))
    outbox = tmp_path / "outbox"

    class Expiring(Scripted):
        def send(self, *, sender: str, to: str, message: bytes, recipient: str = "") -> Outcome:
            if self.calls >= 7:
                raise TransportError("Amazon SES refused our credentials (ExpiredTokenException)")
            return super().send(sender=sender, to=to, message=message, recipient=recipient)

    with pytest.raises(TransportError):
        _campaign(settings, Expiring(outbox), concurrency=1).run()
    report = _campaign(settings, OutboxTransport(outbox)).run()
    assert (report.done_before, report.unknown_before, report.sent) == (7, 0, 13)
    assert set(mailed(outbox).values()) == {1} and len(mailed(outbox)) == 20


def test_who_unsubscribes_or_is_erased_during_the_send_gets_nothing_after(
    settings: Settings, tmp_path: Path
) -> None:
    add_subscribers(settings, _people(40))
    leaving = {"reader0025@example.org", "reader0033@example.org"}

    def leave(report: Report) -> None:
        if report.sent == 10:  # after the first batch
            open_list(settings).remove("reader0025@example.org")
            open_list(settings).erase("reader0033@example.org")

    outbox = tmp_path / "outbox"
    report = _campaign(settings, OutboxTransport(outbox), on_batch=leave).run()
    assert (report.sent, report.skipped) == (38, 2)
    assert not leaving & set(mailed(outbox))


def test_a_second_send_of_the_same_issue_sends_nothing(settings: Settings, tmp_path: Path) -> None:
    add_subscribers(settings, _people(5))
    store = open_store(settings)
    held = Lease.acquire(store, f"campaigns/{SLUG}/lease.json", what=SLUG)
    outbox = tmp_path / "outbox"
    with pytest.raises(CampaignBusy) as caught:
        _campaign(settings, OutboxTransport(outbox)).run()
    assert str(caught.value).startswith(
        f"{SLUG} is being sent by another sphere send (pid {os.getpid()} on {socket.gethostname()}, last seen "
    )
    assert (
        "); this one sends nothing (if that send is not running any more, its lease expires at "
    ) in str(caught.value)
    assert not outbox.exists()
    held.release()
    assert _campaign(settings, OutboxTransport(outbox)).run().sent == 5


def test_a_dead_senders_lease_is_taken_over_only_when_asked(
    settings: Settings, tmp_path: Path
) -> None:
    add_subscribers(settings, _people(5))
    store = open_store(settings)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)  # fmt: skip
    lease = Lease.acquire(store, f"campaigns/{SLUG}/lease.json", what=SLUG)
    record = json.loads(store.get(lease.key).data)  # type: ignore[union-attr]
    store.put(lease.key, json.dumps({**record, "pid": int(dead.stdout)}).encode())
    outbox = tmp_path / "outbox"
    with pytest.raises(CampaignBusy, match=r"stopped without finishing: it is resumed by the first send or publish after its lease expires at .* UTC, or now with --take-over$"):  # fmt: skip
        _campaign(settings, OutboxTransport(outbox)).run()
    assert not outbox.exists()
    assert _campaign(settings, OutboxTransport(outbox), take_over=True).run().sent == 5


def test_an_expired_lease_is_taken_over_by_itself_and_the_paused_holder_stops(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A holder paused past the lease's time to live (a killed or frozen runner): the next send
    takes over without being asked and says so; the holder, resumed, loses at its renewal."""
    add_subscribers(settings, _people(5))
    store = open_store(settings)
    clock = ManualClock(1_000_000.0)
    paused = Lease.acquire(store, f"campaigns/{SLUG}/lease.json", what=SLUG, clock=clock)
    outbox = tmp_path / "outbox"
    with pytest.raises(CampaignBusy):  # still within its time to live: not taken
        Lease.acquire(store, paused.key, what=SLUG, clock=ManualClock(1_000_060.0))
    with caplog.at_level(logging.WARNING, logger="sphere.send.lease"):
        report = _campaign(settings, OutboxTransport(outbox)).run()  # the real clock: long after
    assert report.sent == 5
    assert any(
        f"{SLUG}: took the send over from pid {os.getpid()}" in r.getMessage()
        for r in caplog.records
    )
    clock.time += 10_000
    with pytest.raises(CampaignBusy, match="another sphere send took over this campaign"):
        paused.renew()
    paused.release()  # a conditional write: the lease that is not its own stays as it is
    assert json.loads(store.get(paused.key).data)["owner"] != paused.owner  # type: ignore[union-attr]


class Ticking(ManualClock):
    """Ten seconds later at each look."""

    def monotonic(self) -> float:
        self.time += 10
        return self.time


def test_a_time_limit_stops_cleanly_between_batches_and_the_next_run_resumes(
    settings: Settings, tmp_path: Path
) -> None:
    add_subscribers(settings, _people(30))
    campaign = _campaign(settings, OutboxTransport(tmp_path / "outbox"), batch=5, max_time=35)
    campaign.clock = Ticking()  # each look at the clock: ten seconds later
    report = campaign.run()
    assert report.stopped == "the time limit (--max-time) was reached"
    assert 0 < report.sent < 30 and report.left == 30 - report.sent
    finished = _campaign(settings, OutboxTransport(tmp_path / "outbox")).run()
    assert finished.sent == 30 - report.sent
    assert set(mailed(tmp_path / "outbox").values()) == {1}


def test_someone_erased_between_runs_is_not_mailed_on_resume_and_is_in_no_ledger_object(
    settings: Settings, tmp_path: Path
) -> None:
    add_subscribers(settings, _people(30))
    outbox = tmp_path / "outbox"
    quota = Scripted(outbox, lambda to, n: Outcome.stop("quota") if n > 10 else None)
    _campaign(settings, quota, concurrency=1).run()
    erased = "reader0025@example.org"
    assert erased not in mailed(outbox)
    open_list(settings).erase(erased)
    report = _campaign(settings, OutboxTransport(outbox)).run()
    assert (report.sent, report.skipped) == (19, 1)
    assert erased not in mailed(outbox)
    ledger = Path(open_store(settings).url) / "campaigns"
    assert not any(erased.encode() in p.read_bytes() for p in ledger.rglob("*") if p.is_file())
    assert not any(b"@" in p.read_bytes() for p in ledger.rglob("*") if p.is_file())


def test_a_lease_taken_over_stops_the_sender_that_lost_it(tmp_path: Path) -> None:
    from sphere.store.local import LocalStore

    store = LocalStore(tmp_path)
    clock = ManualClock(1000.0)
    first = Lease.acquire(store, "campaigns/x/lease.json", what="x", clock=clock)
    clock.time += 31  # a quarter of the lease's life: time to renew
    first.renew()
    assert json.loads(store.get(first.key).data)["expires"] == 1031 + 120  # type: ignore[union-attr]
    clock.time += 200  # the first sender hung past its lease; a second takes over
    second = Lease.acquire(store, first.key, what="x", take_over=True, clock=clock)
    with pytest.raises(CampaignBusy, match=r"^another sphere send took over this campaign"):
        first.renew(force=True)
    first.release()  # not ours any more: left alone
    assert json.loads(store.get(second.key).data)["owner"] == second.owner  # type: ignore[union-attr]
