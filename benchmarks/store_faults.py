"""The subscriber store under injected faults: per fault kind, commands run, commands that
failed, and records lost (the figure that must be 0).

    uv run python benchmarks/store_faults.py [--commands 120] [--seed 20261207]

Each fault kind gets a fresh store: S3 on a moto server reached through the suite's fault
proxy (tests/fault_proxy.py), or a local folder whose every write is slowed. One process runs
a seeded sequence of commands (add, unsubscribe, import a batch of 20, erase) while another
thread compacts in a loop, so erasures and compactions meet. What each command acknowledged is
the ground truth; afterwards the list is read back and compared:

- lost: an acknowledged add missing (neither unsubscribed nor erased after), an acknowledged
  unsubscribe not holding, an erased address still on the list or in any object's bytes, or a
  shard the head points to that is gone;
- failed: commands that raised (a store that could not tell whether a write landed says so and
  changes nothing; the command's own effect is then unknown and not counted either way).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fault_proxy import FaultProxy  # noqa: E402
from fault_store import Slow  # noqa: E402
from fixtures_aws import AWS_TEST_ENV, moto_server  # noqa: E402

from sphere.errors import SphereError  # noqa: E402
from sphere.store.blobs import BlobStore, open_store  # noqa: E402
from sphere.store.local import LocalStore  # noqa: E402
from sphere.subscribers.events import creation_event  # noqa: E402
from sphere.subscribers.list import SubscriberList  # noqa: E402
from sphere.subscribers.snapshot import SNAPSHOT  # noqa: E402

KEY = b"faults"


@dataclass
class Tally:
    """What one fault kind's run did and found."""

    commands: int = 0
    failed: int = 0
    compactions: int = 0
    added: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)
    erased: set[str] = field(default_factory=set)
    unsure: set[str] = field(default_factory=set)  # a failed command's address: either way
    errors: list[str] = field(default_factory=list)


def _commands(subscribers: SubscriberList, rng: random.Random, count: int, tally: Tally) -> None:
    for n in range(count):
        roll = rng.random()
        live = sorted(tally.added - tally.removed - tally.erased - tally.unsure)
        address = f"a{n}@example.org"
        try:
            tally.commands += 1
            if roll < 0.4 or not live:
                subscribers.add(address)
                tally.added.add(address)
            elif roll < 0.65:
                address = rng.choice(live)
                subscribers.remove(address)
                tally.removed.add(address)
            elif roll < 0.85:
                batch = [f"i{n}-{k}@example.org" for k in range(20)]
                now = subscribers.now()
                subscribers.append(
                    creation_event(
                        "add",
                        a,
                        id=subscribers.id_for(a),
                        at=now,
                        status="subscribed",
                        consent=(now, "import", "bench"),
                    )
                    for a in batch
                )
                tally.added.update(batch)
            else:
                address = rng.choice(live)
                subscribers.erase(address)
                tally.erased.add(address)
        except SphereError as error:
            tally.failed += 1
            tally.unsure.add(address)
            tally.errors.append(f"{type(error).__name__}: {error}")


def _compactor(store: BlobStore, stop: threading.Event, tally: Tally) -> None:
    subscribers = SubscriberList(store, key=lambda: KEY)
    while not stop.wait(0.05):
        with contextlib.suppress(SphereError):
            subscribers.compact(settle=0)
            tally.compactions += 1


def _lost(store: BlobStore, tally: Tally) -> tuple[int, str]:
    """Records lost, and a word on what: the figure that must be 0."""
    records = {r.email: r.status for r in SubscriberList(store, key=lambda: KEY).all()}
    lost = []
    for address in tally.added - tally.removed - tally.erased - tally.unsure:
        if records.get(address) != "subscribed":
            lost.append(f"add {address}")
    for address in tally.removed - tally.erased - tally.unsure:
        if records.get(address) != "unsubscribed":
            lost.append(f"unsubscribe {address}")
    lost += [f"erased {a} listed" for a in tally.erased if a in records]
    blobs = {key: store.get(key) for key in store.list("")}
    for address in tally.erased:
        lost += [
            f"erased {address} in {k}" for k, b in blobs.items() if b and address.encode() in b.data
        ]
    head = blobs.get(SNAPSHOT)
    if head is not None:
        lost += [
            f"shard {k} gone" for k in json.loads(head.data)["shards"].values() if k not in blobs
        ]
    return len(lost), "; ".join(lost[:3])


def _run(store: BlobStore, seed: int, count: int) -> Tally:
    tally = Tally()
    stop = threading.Event()
    compactor = threading.Thread(target=_compactor, args=(store, stop, tally))
    compactor.start()
    try:
        _commands(SubscriberList(store, key=lambda: KEY), random.Random(seed), count, tally)
    finally:
        stop.set()
        compactor.join()
    # Erase again what may be half-done, then compact, as an operator would after failures.
    subscribers = SubscriberList(store, key=lambda: KEY)
    for address in sorted(tally.erased):
        subscribers.erase(address)
    subscribers.compact(settle=0)
    return tally


def _bucket() -> BlobStore:
    """A store in a new bucket (boto3 reaches S3 through the proxy: AWS_ENDPOINT_URL_S3)."""
    from sphere.store import aws

    bucket = f"faults-{secrets.token_hex(4)}"
    aws.client("s3").create_bucket(
        Bucket=bucket,
        CreateBucketConfiguration={"LocationConstraint": AWS_TEST_ENV["AWS_DEFAULT_REGION"]},
    )
    return open_store(f"s3://{bucket}/list")


KINDS: dict[str, Callable[[FaultProxy], None]] = {
    "S3, no fault": lambda _proxy: None,
    "S3, every write's first reply lost": lambda proxy: (
        proxy.add("lose", "PUT", "/list/", times=-1, first_only=True),
        proxy.add("lose", "DELETE", "/list/", times=-1, first_only=True),
    ),
    "S3, 1 write in 5 answered 503 (retried)": lambda proxy: _every_fifth(proxy),
    "S3, every head write held 0.3 s": lambda proxy: proxy.add(
        "hold", "PUT", r"snapshot\.json", times=-1, seconds=0.3
    ),
}


def _every_fifth(proxy: FaultProxy) -> None:
    rule = proxy.add("fail", "PUT", "/list/", times=-1)
    counter = iter(range(10**9))
    plain = rule.matches
    rule.matches = lambda m, p, b=b"": plain(m, p, b) and next(counter) % 5 == 0  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--commands", type=int, default=120)
    parser.add_argument("--seed", type=int, default=20261207)
    options = parser.parse_args()
    import os

    os.environ.update(AWS_TEST_ENV)
    rows = []
    with moto_server() as endpoint:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        for name, inject in KINDS.items():
            with FaultProxy(endpoint) as proxy:
                os.environ["AWS_ENDPOINT_URL_S3"] = proxy.url
                store = _bucket()
                inject(proxy)
                started = time.monotonic()
                tally = _run(store, options.seed, options.commands)
                proxy.clear()
                rows.append((name, tally, _lost(store, tally), time.monotonic() - started))
        with tempfile.TemporaryDirectory(dir=ROOT) as folder:
            store = Slow(LocalStore(Path(folder) / "store"), 0.02)
            started = time.monotonic()
            tally = _run(store, options.seed, options.commands)
            rows.append(
                (
                    "folder, every write 20 ms slow",
                    tally,
                    _lost(store, tally),
                    time.monotonic() - started,
                )
            )
    print(f"{'fault':42} {'commands':>8} {'failed':>6} {'compactions':>11} {'lost':>4}  seconds")
    for name, tally, (lost, what), seconds in rows:
        counts = f"{tally.commands:8} {tally.failed:6} {tally.compactions:11} {lost:4}"
        print(f"{name:42} {counts}  {seconds:7.1f}  {what}")
    for name, tally, *_ in rows:
        for error in tally.errors:
            print(f"  {name}: {error}")


if __name__ == "__main__":
    main()
