"""Several writers and a compaction at once; processes killed mid-way. Nothing lost or doubled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sphere.store.blobs import BlobStore, open_store
from sphere.subscribers.events import CHANGES, status_event
from sphere.subscribers.fold import Fold
from sphere.subscribers.list import SubscriberList
from sphere.subscribers.snapshot import SNAPSHOT

WORKERS, CHANGES_EACH = 4, 250

# Each worker makes 250 changes, one change object each: 200 adds and 50 unsubscribes of its
# own addresses, and prints every event it wrote with its key (the test's ground truth).
WORKER = """
import json, sys
from sphere.store.blobs import open_store
from sphere.subscribers.events import creation_event
from sphere.subscribers.model import new_id
from sphere.subscribers.list import SubscriberList
store = open_store(sys.argv[1])
subscribers = SubscriberList(store, key=lambda: b"k")
worker, written = sys.argv[2], []
for n in range(int(sys.argv[3])):
    now = subscribers.now()
    if n % 5 == 4:
        event = {"op": "status", "email": f"w{worker}-{n - 1}@example.com",
                 "status": "unsubscribed", "at": now}
    else:
        event = creation_event("add", f"w{worker}-{n}@example.com", id=new_id(), at=now, status="subscribed",
                               name=f"W{worker} {n}", consent=(now, "cli", "test"))
    written.append((subscribers.append([event]), event))
print(json.dumps(written))
"""

COMPACTOR = """
import sys, time, pathlib
from sphere.errors import PreconditionFailed
from sphere.store.blobs import open_store
from sphere.subscribers.list import SubscriberList
subscribers = SubscriberList(open_store(sys.argv[1]), key=lambda: b"k")
stop, runs = pathlib.Path(sys.argv[2]), 0
while not stop.exists():
    try:
        subscribers.compact(settle=0)
        runs += 1
    except PreconditionFailed:
        pass
    time.sleep(0.3)  # compacting back to back would only slow the writers down
print(runs)
"""


def _fold_of(events: list[tuple[str, dict[str, object]]]) -> dict[str, tuple[object, ...]]:
    fold = Fold(hasher=lambda email: email)
    for _key, event in sorted(events, key=lambda pair: pair[0]):
        fold.apply(event)
    return {e: (r.id, r.status, r.name, r.updated) for e, r in fold.records.items()}


def _state(subscribers: SubscriberList) -> dict[str, tuple[object, ...]]:
    return {r.email: (r.id, r.status, r.name, r.updated) for r in subscribers.all()}


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_four_writers_and_a_compaction_lose_and_double_nothing(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = str(tmp_path / "store") if kind == "local" else request.getfixturevalue("s3_url")
    stop = tmp_path / "stop"
    compactor = subprocess.Popen(
        [sys.executable, "-c", COMPACTOR, url, str(stop)], stdout=subprocess.PIPE, text=True
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, str(w), str(CHANGES_EACH)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for w in range(WORKERS)
    ]
    events = [pair for w in workers for pair in json.loads(w.communicate(timeout=240)[0])]
    stop.touch()
    runs = int(compactor.communicate(timeout=120)[0])
    assert all(w.returncode == 0 for w in workers)
    assert runs >= 1
    assert len(events) == WORKERS * CHANGES_EACH

    subscribers = SubscriberList(open_store(url), key=lambda: b"k")
    expected = _fold_of(events)
    assert len(expected) == 800
    assert sum(status == "unsubscribed" for _, status, *_ in expected.values()) == 200
    assert _state(subscribers) == expected  # snapshot + changes left: the fold of all 1,000
    subscribers.compact(settle=0)
    assert _state(subscribers) == expected
    assert subscribers.store.list(CHANGES) == []


def _sphere(project: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sphere", "subscribers", *args],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )


# A process that runs one operation of the list on a store that announces each call it is
# about to make (`put subscribers/snapshot.json`) and waits for a line on stdin before making
# it: the test kills it at the exact call it chose, and so knows where the kill landed.
STEPPED = """
import sys, threading
lock = threading.Lock()
from pathlib import Path
from sphere.store.blobs import open_store
from sphere.subscribers.imports import import_file
from sphere.subscribers.list import SubscriberList

class Stepped:
    def __init__(self, store):
        self.store, self.url = store, store.url

    def __getattr__(self, name):
        method = getattr(self.store, name)
        if name not in ("get", "put", "list", "delete"):
            return method

        def step(key="", *args, **kwargs):
            with lock:  # get_many calls from several threads: one announcement at a time
                print(name, key, flush=True)
                sys.stdin.readline()
            return method(key, *args, **kwargs)

        return step

subscribers = SubscriberList(Stepped(open_store(sys.argv[1])), key=lambda: b"k")
if sys.argv[2] == "compact":
    subscribers.compact(settle=0)
else:
    import_file(subscribers, Path(sys.argv[2]))
print("done", flush=True)
"""


def _kill_at(url: str, operation: str, target: str, nth: int = 1) -> list[str]:
    """Run `operation` stepped; SIGKILL it just before its `nth` call starting `target`."""
    process = subprocess.Popen(
        [sys.executable, "-c", STEPPED, url, operation],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    calls: list[str] = []
    try:
        for line in process.stdout:
            call = line.strip()
            assert call != "done", f"finished before call {nth} to {target!r}: {calls[-3:]}"
            calls.append(call)
            if sum(c.startswith(target) for c in calls) == nth:
                process.send_signal(signal.SIGKILL)
                break
            process.stdin.write("\n")
            process.stdin.flush()
    finally:
        process.kill()
        process.wait()
    return calls


def test_an_import_killed_and_run_again_loses_and_doubles_nothing(project: Path) -> None:
    rows = 30_000  # six batches of 5,000
    csv = project / "list.csv"
    csv.write_text("email,name\n" + "".join(f"p{n}@example.com,P {n}\n" for n in range(rows)))
    store: BlobStore = open_store(".sphere/store", root=project)
    calls = _kill_at(str(project / ".sphere/store"), str(csv), f"put {CHANGES}", nth=3)
    assert sum(c.startswith("put") for c in calls) == 3
    assert len(store.list(CHANGES)) == 2  # killed just before writing the third batch

    again = _sphere(project, "import", str(csv), "--json")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    report = json.loads(out)
    assert (report["added"], report["already"]) == (rows - 10_000, 10_000)
    subscribers = SubscriberList(store, key=lambda: b"k")
    emails = [r.email for r in subscribers.all()]
    assert len(emails) == len(set(emails)) == rows


def test_a_compaction_killed_at_any_moment_loses_and_doubles_nothing(project: Path) -> None:
    url = str(project / ".sphere/store")
    store = open_store(url)
    subscribers = SubscriberList(store, key=lambda: b"k")
    for n in range(30):
        subscribers.append([status_event("x@example.com", "bounced", at=f"t{n}")])
        subscribers.add(f"a{n}@example.com")
    subscribers.remove("a3@example.com")
    expected = _state(subscribers)
    changes = len(store.list(CHANGES))
    # Reading; about to write the first snapshot; written, nothing deleted; half deleted.
    for target, nth in [("get", 20), (f"put {SNAPSHOT}", 1), ("delete", 1), ("delete", 30)]:
        calls = _kill_at(url, "compact", target, nth)
        assert _state(subscribers) == expected, calls[-1]
        snapshot, left = store.get(SNAPSHOT), len(store.list(CHANGES))
        if target.startswith("delete"):  # where the kill landed: after the snapshot was written
            assert snapshot is not None
            json.loads(snapshot.data)  # never half-written
            assert left == changes if nth == 1 else 0 < left < changes
        else:  # before it
            assert (snapshot, left) == (None, changes)
    final = _sphere(project, "compact")
    assert final.wait(timeout=60) == 0
    assert _state(subscribers) == expected
    assert store.list(CHANGES) == []


BUSY = """
import sys, time
from sphere.errors import PreconditionFailed
from sphere.store.blobs import open_store
from sphere.subscribers.list import SubscriberList
subscribers = SubscriberList(open_store(sys.argv[1]), key=lambda: b"k")
n = 0
while True:  # a writer and a compactor in one: every compaction has something to fold
    n += 1
    subscribers.add(f"busy{n}@example.com")
    try:
        subscribers.compact(settle=0)
        print("compacted", flush=True)
    except PreconditionFailed:
        pass
"""


def test_erasure_finishes_on_a_list_of_100000_against_a_busy_compactor(tmp_path: Path) -> None:
    from sphere.subscribers.events import creation_event
    from sphere.subscribers.model import new_id

    url = str(tmp_path / "store")
    subscribers = SubscriberList(open_store(url), key=lambda: b"k")
    consent = ("2026-01-01T00:00:00Z", "import", "test")
    subscribers.append(
        creation_event(
            "add", f"p{n}@example.com", id=new_id(), at="t", status="subscribed", consent=consent
        )
        for n in range(100_000)
    )
    subscribers.add("friend@example.com", name="friend of p4242@example.com")
    subscribers.compact(settle=0)
    busy = [_python(BUSY, url)]
    try:
        for process in busy:  # compactions under way
            assert process.stdout is not None and process.stdout.readline() == "compacted\n"
        report = subscribers.erase("p4242@example.com")
    finally:
        for process in busy:
            process.kill()
            process.wait()
    assert report.found and report.others == 1
    every_file = [p for p in (tmp_path / "store").rglob("*") if p.is_file()]
    assert [p for p in every_file if b"p4242@example.com" in p.read_bytes()] == []
    emails = {r.email for r in subscribers.all()}
    assert len(emails) > 100_000 and "p4242@example.com" not in emails


def _python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
