"""A seeded, time-bounded torture run of the subscriber store, on a folder and on S3 (moto).

Writer processes whose clocks are off by up to ±30 s add addresses and unsubscribe addresses
that other writers added; a compactor runs in a loop; erasures run now and then; processes are
SIGKILLed at random (a killed writer is restarted and repeats the command it had not
acknowledged). Afterwards:

- every acknowledged unsubscribe holds, and every acknowledged add is on the list, subscribed,
  unless it was unsubscribed or erased after;
- no erased address is in the bytes of any object of the store, dot files included;
- nobody is on the list twice;
- an address's id never changes: some addresses are added by two writers at once (an import
  and the form, both seeing it absent), and an observer notes each id when it first reads it.

The clock skew is made the way another machine would have it: the process's `time.time` is
off, so the test needs nothing from the code under test but its public operations (it runs
unchanged against older versions; the one before hybrid-logical-clock keys loses unsubscribes).
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sphere.errors import SphereError
from sphere.store.blobs import open_store
from sphere.subscribers.list import SubscriberList

SEED = 20261126
# Of random operations and kills, per store, at least ... (TORTURE_SECONDS=300 for a long run,
# with `pytest -s` to see its figures.)
SECONDS = float(os.environ.get("TORTURE_SECONDS", "3"))
ENOUGH = (24, 5, 2)  # ... and until this many adds, unsubscribes and erasures (a slow machine)
LIMIT = SECONDS + 37  # seconds, whatever happens
KILLS = 8  # SIGKILLs at least (a loaded machine needs longer than SECONDS to deal them)
WRITERS = 3
KEY = b"torture"

# Sets this process's clock off by argv[2] seconds before anything reads it.
SKEWED = """
import sys, time
_skew = float(sys.argv[2])
_time, _time_ns = time.time, time.time_ns
time.time = lambda: _time() + _skew
time.time_ns = lambda: _time_ns() + int(_skew * 1e9)
from sphere.errors import SphereError, PreconditionFailed
from sphere.errors import SphereError
from sphere.store.blobs import open_store
from sphere.subscribers.list import SubscriberList
subscribers = SubscriberList(open_store(sys.argv[1]), key=lambda: b"torture")
"""

WRITER = (
    SKEWED
    + """
import json
print("ready", flush=True)
for line in sys.stdin:
    op, address = line.split()
    try:
        result = (subscribers.add if op == "add" else subscribers.remove)(address).result
    except SphereError as error:
        result = f"error: {error}"
    print(json.dumps([op, address, result]), flush=True)
"""
)

COMPACTOR = (
    SKEWED
    + """
while True:
    try:
        subscribers.compact(settle=0.2)
    except (PreconditionFailed, SphereError):
        pass
    time.sleep(0.05)
"""
)

ERASER = SKEWED + "subscribers.erase(sys.argv[3])\n"


def _python(code: str, *args: str, stdin: bool = False) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


@dataclass
class Run:
    """What the run did, as acknowledged by the processes that did it."""

    url: str
    rng: random.Random
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    added: set[str] = field(default_factory=set)  # acknowledged adds
    removed: set[str] = field(default_factory=set)  # acknowledged unsubscribes
    erased: set[str] = field(default_factory=set)  # erasures that returned
    busy: set[str] = field(default_factory=set)  # a command or an erasure is under way
    processes: list[subprocess.Popen[str]] = field(default_factory=list)
    counter: int = 0
    twin: str | None = None  # an address being added that a second writer adds too
    holds: Counter[str] = field(default_factory=Counter)  # commands under way per address
    ids: dict[str, str] = field(default_factory=dict)  # each address's id when first read
    kills: int = 0
    problems: list[str] = field(default_factory=list)

    def enough(self) -> bool:
        with self.lock:
            done = (len(self.added), len(self.removed), len(self.erased))
        return all(have >= want for have, want in zip(done, ENOUGH, strict=True))

    def skew(self) -> str:
        return f"{self.rng.uniform(-30, 30):.3f}"

    def start(self, code: str, *args: str, stdin: bool = False) -> subprocess.Popen[str]:
        process = _python(code, self.url, self.skew(), *args, stdin=stdin)
        with self.lock:
            self.processes.append(process)
        return process

    def command(self) -> tuple[str, str]:
        """A random command: add a new address, or unsubscribe one another writer added."""
        with self.lock:
            candidates = sorted(self.added - self.removed - self.erased - self.busy)
            if candidates and self.rng.random() < 0.4:
                address = self.rng.choice(candidates)
                self.busy.add(address)
                self.holds[address] += 1
                return "remove", address
            if self.twin is not None and self.rng.random() < 0.5:
                address, self.twin = self.twin, None  # a second creation of the same address
                self.holds[address] += 1
                return "add", address
            self.counter += 1
            address = f"p{self.counter}@example.com"
            self.busy.add(address)
            self.holds[address] += 1
            if self.rng.random() < 0.2:
                self.twin = address
            return "add", address


def _writer(run: Run) -> None:
    process = run.start(WRITER, stdin=True)
    pending: tuple[str, str] | None = None
    while True:
        if pending is None:
            if run.stop.is_set():
                break
            pending = run.command()
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(" ".join(pending) + "\n")
            process.stdin.flush()
            line = process.stdout.readline()
            while line == "ready\n":
                line = process.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line.endswith("\n"):  # killed (mid-line, perhaps): start another and repeat
            process.kill()  # the command it did not acknowledge
            process.wait()
            process = run.start(WRITER, stdin=True)
            continue
        op, address, result = json.loads(line)
        with run.lock:
            expected = {"add": ("added", "already"), "remove": ("unsubscribed", "already")}
            if result not in expected[op]:
                run.problems.append(f"{op} {address}: {result}")
            (run.added if op == "add" else run.removed).add(address)
            run.holds[address] -= 1
            if run.holds[address] <= 0 and run.twin != address:  # a twin add still to come
                run.busy.discard(address)
        pending = None
    process.stdin.close()  # type: ignore[union-attr]
    process.wait(timeout=30)


def _eraser(run: Run) -> None:
    while not run.stop.wait(run.rng.uniform(0.3, 0.8)):
        with run.lock:
            candidates = sorted(run.added - run.erased - run.busy)
            if not candidates:
                continue
            address = run.rng.choice(candidates)
            run.busy.add(address)
        while True:  # an erasure killed half-way is run again until it returns
            process = run.start(ERASER, address)
            if not run.stop.is_set() and run.rng.random() < 0.2:
                time.sleep(run.rng.uniform(0, 0.3))
                process.send_signal(signal.SIGKILL)
            if process.wait(timeout=120) == 0:
                break
        with run.lock:
            run.erased.add(address)


def _observer(run: Run) -> None:
    """Read the list now and then, as the send does, and note each address's id."""
    while not run.stop.wait(0.2):
        try:
            records = SubscriberList(open_store(run.url), key=lambda: KEY).all()
        except SphereError:
            continue  # a reader racing compactions may be told to try again
        with run.lock:
            for record in records:
                run.ids.setdefault(record.email, record.id)


def _torture(url: str, every_byte: object) -> None:
    run = Run(url, random.Random(SEED))
    threads = [threading.Thread(target=_writer, args=(run,)) for _ in range(WRITERS)]
    threads.append(threading.Thread(target=_eraser, args=(run,)))
    threads.append(threading.Thread(target=_observer, args=(run,)))
    for thread in threads:
        thread.start()
    compactor = run.start(COMPACTOR)
    start = time.monotonic()
    try:
        while time.monotonic() < start + LIMIT and (
            time.monotonic() < start + SECONDS or not run.enough() or run.kills < KILLS
        ):
            time.sleep(run.rng.uniform(0.15, 0.5))
            if time.monotonic() > start + SECONDS and run.kills >= KILLS:
                continue  # no more kills: let a slow machine catch up
            with run.lock:
                alive = [p for p in run.processes if p.poll() is None and p is not compactor]
            victim = compactor if run.rng.random() < 0.3 else run.rng.choice(alive or [compactor])
            victim.send_signal(signal.SIGKILL)
            run.kills += 1
            if victim is compactor:
                compactor.wait()
                compactor = run.start(COMPACTOR)
    finally:
        run.stop.set()
        compactor.kill()
        compactor.wait()
        for thread in threads:
            thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert run.problems == []
    assert run.kills >= KILLS and run.enough()

    print(  # noqa: T201 - the run's figures, seen with `pytest -s`
        f"\n{url}: {len(run.added)} adds, {len(run.removed)} unsubscribes and {len(run.erased)} "
        f"erasures acknowledged, {run.kills} SIGKILLs, {len(run.ids)} ids watched"
    )
    subscribers = SubscriberList(open_store(url), key=lambda: KEY)
    for address in sorted(run.erased):  # running erase again finishes an interrupted one
        subscribers.erase(address)
    _check(run, subscribers, every_byte)
    subscribers.compact(settle=0)
    _check(run, subscribers, every_byte)


def _check(run: Run, subscribers: SubscriberList, every_byte: object) -> None:
    records = subscribers.all()
    assert len({r.email for r in records}) == len(records) == len({r.id for r in records})
    status = {r.email: r.status for r in records}
    lost = sorted(a for a in run.removed - run.erased if status.get(a) != "unsubscribed")
    assert lost == [], "unsubscribes lost"
    missing = sorted(
        a for a in run.added - run.removed - run.erased if status.get(a) != "subscribed"
    )
    assert missing == [], "adds lost"
    assert sorted(run.erased & set(status)) == []
    ids = {r.email: r.id for r in records}
    flips = sorted(a for a, first in run.ids.items() if a in ids and ids[a] != first)
    assert flips == [], "ids changed after they were read (a mailed link would stop working)"
    assert run.ids  # the observer did read the list
    erased = re.compile("|".join(rf"(?<![\w.+-]){re.escape(a)}(?![\w-])" for a in run.erased))
    for name, data in every_byte():  # type: ignore[operator]
        assert not erased.search(data.decode("utf-8", "replace")), name


def _folder_bytes(root: Path) -> object:
    def every_byte() -> list[tuple[str, bytes]]:
        return [
            (str(Path(folder, name)), Path(folder, name).read_bytes())
            for folder, _, names in os.walk(root)
            for name in names
        ]

    return every_byte


def _bucket_bytes(url: str) -> object:
    from sphere.store import aws

    bucket = url[len("s3://") :].split("/")[0]

    def every_byte() -> list[tuple[str, bytes]]:
        s3 = aws.client("s3")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        return [(key, s3.get_object(Bucket=bucket, Key=key)["Body"].read()) for key in keys]

    return every_byte


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_skewed_writers_a_compactor_erasures_and_kills_lose_nothing(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if kind == "local":
        url = str(tmp_path / "store")
        _torture(url, _folder_bytes(tmp_path / "store"))
    else:
        url = request.getfixturevalue("s3_url")
        _torture(url, _bucket_bytes(url))
