"""The subscriber list under the faults S3 and disks really have (issue: "the list is the one
thing a newsletter cannot rebuild").

Each scenario is deterministic: a pause point, not a race left to chance. On S3 the fault
proxy (tests/fault_proxy.py) loses a reply or holds a request; on a local folder `Paused`
below holds one write (a slow disk) until the test lets it go.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fault_proxy import FaultProxy, wait_for
from fault_store import Paused, Slow

from sphere.errors import PreconditionFailed
from sphere.store.blobs import BlobStore, open_store
from sphere.store.local import LocalStore
from sphere.subscribers.events import key_ns
from sphere.subscribers.list import SubscriberList
from sphere.subscribers.snapshot import SHARDS, SNAPSHOT

KEY = b"faults"


def _list(store: BlobStore) -> SubscriberList:
    return SubscriberList(store, key=lambda: KEY)


def _listed(store: BlobStore, *, late: str = "carol@example.org") -> SubscriberList:
    """PEOPLE folded into a snapshot, and `late` added after it (a change not yet folded)."""
    subscribers = _list(store)
    for address in PEOPLE:
        subscribers.add(address)
    subscribers.compact(settle=0)
    subscribers.add(late)
    return subscribers


def _emails(store: BlobStore) -> set[str]:
    return {record.email for record in _list(store).all()}


def _head_is_whole(store: BlobStore) -> None:
    """Every shard the current head points to exists."""
    blob = store.get(SNAPSHOT)
    assert blob is not None
    for key in json.loads(blob.data)["shards"].values():
        assert store.get(key) is not None, f"the head points to {key}, which is gone"


def _nothing_names(store: BlobStore, address: str) -> None:
    for key in store.list(""):
        blob = store.get(key)
        assert blob is not None
        assert address.encode() not in blob.data, f"{key} still names {address}"


def _in_thread(action: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    result: list[object] = []

    def run() -> None:
        try:
            result.append(action())
        except Exception as error:  # noqa: BLE001 - the test looks at what it was
            result.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


@pytest.fixture
def s3_store(s3_bucket: str, s3_faults: FaultProxy) -> BlobStore:
    return open_store(f"s3://{s3_bucket}/list")


@pytest.fixture
def paused(tmp_path: Path) -> Paused:
    return Paused(LocalStore(tmp_path / "store"))


PEOPLE = [f"p{n:02d}@example.org" for n in range(20)]


# --- a lost reply ---------------------------------------------------------------------------


def test_a_lost_reply_to_the_compactions_head_keeps_every_shard(
    s3_store: BlobStore, s3_faults: FaultProxy
) -> None:
    subscribers = _list(s3_store)
    for address in PEOPLE:
        subscribers.add(address)
    s3_faults.add("lose", "PUT", r"/subscribers/snapshot\.json")
    report = subscribers.compact(settle=0)
    assert report.written and report.removed == len(PEOPLE)
    assert s3_faults.count("PUT", r"snapshot\.json", "lose") == 1
    _head_is_whole(s3_store)
    assert _emails(s3_store) == set(PEOPLE)
    again = _list(s3_store)  # every command still works
    again.add("new@example.org")
    again.remove(PEOPLE[0])
    again.compact(settle=0)
    _head_is_whole(s3_store)
    assert _emails(s3_store) == {*PEOPLE, "new@example.org"}
    assert again.lookup(PEOPLE[0]).status_of(PEOPLE[0]) == "unsubscribed"


def test_every_writes_first_reply_lost_changes_nothing_the_commands_said(
    s3_store: BlobStore, s3_faults: FaultProxy
) -> None:
    """The whole command set with the first reply of every write lost."""
    s3_faults.add("lose", "PUT", r"/list/", times=-1, first_only=True)
    s3_faults.add("lose", "DELETE", r"/list/", times=-1, first_only=True)
    subscribers = _list(s3_store)
    expected: dict[str, str] = {}
    for address in PEOPLE[:8]:
        assert subscribers.add(address).result == "added"
        expected[address] = "subscribed"
    subscribers.compact(settle=0)
    subscribers.remove(PEOPLE[1])
    expected[PEOPLE[1]] = "unsubscribed"
    subscribers.remove(PEOPLE[2], status="bounced")
    expected[PEOPLE[2]] = "bounced"
    subscribers.erase(PEOPLE[3])
    del expected[PEOPLE[3]]
    subscribers.compact(settle=0)
    subscribers.add(PEOPLE[9])
    expected[PEOPLE[9]] = "subscribed"
    subscribers.compact(settle=0)
    assert s3_faults.count("PUT", r"/list/", "lose") >= 10
    assert s3_faults.count("DELETE", r"/list/", "lose") >= 5
    fresh = _list(s3_store)
    assert {r.email: r.status for r in fresh.all()} == expected
    _head_is_whole(s3_store)
    _nothing_names(s3_store, PEOPLE[3])


def test_a_write_that_never_gets_an_answer_deletes_nothing(
    s3_store: BlobStore, s3_faults: FaultProxy
) -> None:
    from sphere.errors import WriteUncertain

    subscribers = _listed(s3_store, late="late@example.org")
    changes = s3_store.list("subscribers/changes/")
    shards = s3_store.list(SHARDS)
    s3_faults.add("fail", "PUT", r"/subscribers/snapshot\.json", times=-1)
    with pytest.raises(WriteUncertain):
        subscribers.compact(settle=0)
    s3_faults.clear()
    assert s3_store.list("subscribers/changes/") == changes  # nothing folded away
    assert set(shards) <= set(s3_store.list(SHARDS))  # nothing the head points to went
    _head_is_whole(s3_store)
    assert _emails(s3_store) == {*PEOPLE, "late@example.org"}


# --- erase beside a compaction --------------------------------------------------------------


def test_erase_beside_a_compaction_on_a_slow_disk_loses_no_shard(paused: Paused) -> None:
    _listed(paused)
    reached, release = paused.pause("put", re.escape(SNAPSHOT))  # the compactor's fsync is slow
    thread, result = _in_thread(lambda: _list(paused).compact(settle=0))
    wait_for(reached, "the compaction's head write")
    _list(paused).erase(PEOPLE[5])  # writes the head first: the compaction must lose its race
    release.set()
    thread.join(30)
    assert isinstance(result[0], PreconditionFailed)
    _head_is_whole(paused)
    assert _emails(paused) == ({*PEOPLE, "carol@example.org"} - {PEOPLE[5]})
    _list(paused).compact(settle=0)
    _head_is_whole(paused)
    assert _emails(paused) == ({*PEOPLE, "carol@example.org"} - {PEOPLE[5]})
    _nothing_names(paused, PEOPLE[5])


def test_erase_beside_a_compaction_whose_head_put_s3_holds_loses_no_shard(
    s3_store: BlobStore, s3_faults: FaultProxy
) -> None:
    _listed(s3_store)
    held = s3_faults.add("hold", "PUT", r"/subscribers/snapshot\.json")
    thread, result = _in_thread(lambda: _list(s3_store).compact(settle=0))
    wait_for(held.matched, "the compaction's head PUT")
    _list(s3_store).erase(PEOPLE[5])
    held.release()
    thread.join(30)
    assert isinstance(result[0], PreconditionFailed)
    _head_is_whole(s3_store)
    assert _emails(s3_store) == ({*PEOPLE, "carol@example.org"} - {PEOPLE[5]})
    _nothing_names(s3_store, PEOPLE[5])


# --- the id of an address never changes -----------------------------------------------------


class Skewed:
    """A clock `offset` seconds off the machine's."""

    def __init__(self, offset: float):
        self.offset = offset

    def now(self) -> float:
        import time

        return time.time() + self.offset

    def sleep(self, seconds: float) -> None:
        import time

        time.sleep(seconds)


def test_two_creations_of_one_address_and_a_fast_compactor_never_change_its_id(
    paused: Paused,
) -> None:
    """An import and an add of the same address race; the add's writer's clock is behind, so
    its change lands late with the older key; a compactor whose clock runs ahead folds in
    between. Readers before and after must see one id, and the link mailed with it works."""
    behind = SubscriberList(paused, key=lambda: KEY, clock=Skewed(-20))
    ahead = SubscriberList(paused, key=lambda: KEY, clock=Skewed(+20))
    reached, release = paused.pause("put", r"subscribers/changes/")
    thread, _ = _in_thread(lambda: behind.add("dee@example.org"))  # sees no dee, then is slow
    wait_for(reached, "the slow add")
    _list(paused).add("dee@example.org")  # the other creation lands first
    first = _list(paused).lookup("dee@example.org").records["dee@example.org"].id
    ahead.compact(settle=0)
    release.set()
    thread.join(30)
    after = _list(paused).lookup("dee@example.org").records["dee@example.org"].id
    ahead.compact(settle=0)
    folded = _list(paused).lookup("dee@example.org").records["dee@example.org"].id
    assert first == after == folded

    from sphere.subscribers.members import Members

    members = Members(_list(paused))
    record = members.by_id(first)
    assert record is not None and members.set_status(record, "unsubscribed")
    assert _list(paused).lookup("dee@example.org").status_of("dee@example.org") == "unsubscribed"


# --- erase and an add that lands late ------------------------------------------------------


def test_an_add_that_lands_after_the_erase_is_scrubbed_by_the_next_read(paused: Paused) -> None:
    subscribers = _list(paused)
    for address in PEOPLE[:5]:
        subscribers.add(address)
    reached, release = paused.pause("put", r"subscribers/changes/")
    thread, result = _in_thread(lambda: _list(paused).add("eve@example.org", name="Eve"))
    wait_for(reached, "the slow add")
    _list(paused).erase("eve@example.org")
    release.set()
    thread.join(30)
    assert not isinstance(result[0], Exception)
    assert any(b"eve@example.org" in paused.get(k).data for k in paused.list(""))  # type: ignore[union-attr]
    counts = _list(paused).counts()  # any command that reads the list finishes the erasure
    assert counts["subscribed"] == 5
    _nothing_names(paused, "eve@example.org")
    assert _list(paused).add("eve@example.org").result == "erased"


# --- a clock far ahead ---------------------------------------------------------------------


def test_a_writer_far_ahead_neither_drags_others_along_nor_stays_unfolded(
    paused: Paused,
) -> None:
    ahead = SubscriberList(paused, key=lambda: KEY, clock=Skewed(3600))
    ahead.add("fast@example.org")
    normal = _list(paused)
    normal.remove("fast@example.org")
    keys = sorted(paused.list("subscribers/changes/"), key=key_ns)
    assert len(keys) == 2
    assert key_ns(keys[0]) < (time.time() + 60) * 1e9 < (time.time() + 3000) * 1e9 < key_ns(keys[1])
    report = normal.compact(settle=0)
    assert report.folded == 2 and report.left == 0
    assert normal.lookup("fast@example.org").status_of("fast@example.org") == "unsubscribed"


# --- the send's ledger and lease under lost replies ----------------------------------------


def test_a_send_whose_ledger_and_lease_replies_are_lost_mails_everyone_once(
    project: Path, s3_url: str, s3_faults: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fixtures_send import add_subscribers, mailed

    from sphere.send.run import SendRequest, campaign_status, send_issue
    from sphere.settings import load_settings

    monkeypatch.setenv("SPHERE_STORE", s3_url)
    monkeypatch.setenv("SPHERE_SECRET", "a-long-random-test-secret-0123456789")
    settings = load_settings(project)
    people = [(f"r{n:03d}@example.org", "") for n in range(60)]
    add_subscribers(settings, people)
    for what in (r"/lease\.json", r"/log/", r"/campaign\.json"):
        s3_faults.add("lose", "PUT", what, times=-1, first_only=True)
    report = send_issue(settings, SendRequest(issue="hard-sell-or-soft-sell", now=True))
    assert (report.sent, report.unknown, report.failed) == (60, 0, 0)  # type: ignore[attr-defined]
    assert s3_faults.count("PUT", r"/lease\.json", "lose") >= 2  # taken and released
    assert s3_faults.count("PUT", r"/log/", "lose") >= 2
    assert mailed(project / ".sphere" / "outbox") == dict.fromkeys(dict(people), 1)
    status = campaign_status(settings, "hard-sell-or-soft-sell")[0]
    assert (status["accepted"], status["unknown"], status["sending_now"]) == (60, 0, False)


# --- every write slow while erase runs ------------------------------------------------------


def test_every_write_slow_while_erase_runs_loses_nothing_acknowledged(tmp_path: Path) -> None:
    """Adds, unsubscribes and compactions run beside an erasure on a disk where every write
    is slow; the list afterwards is what the acknowledged commands say, the erased person is in
    no byte of the store, and every shard the head points to is there."""
    slow = Slow(LocalStore(tmp_path / "store"), 0.02)
    subscribers = _list(slow)
    for address in PEOPLE:
        subscribers.add(address, name=f"friend of {PEOPLE[7]}" if address == PEOPLE[8] else "")
    subscribers.compact(settle=0)
    expected = dict.fromkeys(PEOPLE, "subscribed")
    del expected[PEOPLE[7]]

    def others() -> None:
        writer = _list(slow)
        for n in range(6):
            writer.add(f"new{n}@example.org")
            expected[f"new{n}@example.org"] = "subscribed"
            writer.remove(PEOPLE[10 + n])
            expected[PEOPLE[10 + n]] = "unsubscribed"
            with contextlib.suppress(PreconditionFailed):  # the erasure's head won: next time
                writer.compact(settle=0)

    thread, result = _in_thread(others)
    _list(slow).erase(PEOPLE[7])
    thread.join(60)
    assert result == [None]
    _list(slow).compact(settle=0)
    fresh = _list(slow)
    assert {r.email: r.status for r in fresh.all()} == expected
    _head_is_whole(slow)
    _nothing_names(slow, PEOPLE[7])
    assert fresh.lookup(PEOPLE[8]).records[PEOPLE[8]].name == ""  # the quote was scrubbed


def test_a_person_who_came_back_by_confirming_is_not_scrubbed_by_any_read(
    paused: Paused,
) -> None:
    from sphere.subscribers.events import creation_event

    subscribers = _list(paused)
    subscribers.add("other@example.org")
    subscribers.add("back@example.org")
    subscribers.erase("back@example.org")
    now = subscribers.now()
    subscribers.append(
        [
            creation_event(
                "confirm",
                "back@example.org",
                id="waiting-id",
                at=now,
                status="subscribed",
                consent=(now, "form", "the form"),
            )
        ]
    )
    reader = _list(paused)
    reader.lookup("other@example.org")  # a fold of another address knows nothing of theirs
    assert reader.find_id("waiting-id") is not None
    reader.counts()
    assert reader.lookup("back@example.org").status_of("back@example.org") == "subscribed"
