"""Looking a subscriber up by their opaque id (the one-click unsubscribe's token names only
the id): one shard of the id index and one address shard, not the whole list."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sphere.store.blobs import Blob
from sphere.store.local import LocalStore
from sphere.subscribers.events import creation_event
from sphere.subscribers.list import SubscriberList
from sphere.subscribers.snapshot import SNAPSHOT


class Counting(LocalStore):
    """A folder that counts the objects read (what a look-up costs on S3, in requests)."""

    gets = 0

    def get(self, key: str) -> Blob | None:
        self.gets += 1
        return super().get(key)


def _listed(root: Path, count: int) -> SubscriberList:
    subscribers = SubscriberList(LocalStore(root), key=lambda: b"k")
    now = subscribers.now()
    consent = (now, "import", "test")
    subscribers.append(
        creation_event(
            "add", a, id=subscribers.id_for(a), at=now, status="subscribed", consent=consent
        )
        for a in (f"p{n}@example.org" for n in range(count))
    )
    subscribers.compact(settle=0)
    return subscribers


def test_an_id_costs_an_index_shard_and_an_address_shard_on_a_list_of_20000(
    tmp_path: Path,
) -> None:
    writer = _listed(tmp_path / "store", 20_000)
    writer.add("late@example.org")  # not folded yet: found in the changes
    counting = Counting(tmp_path / "store")
    reader = SubscriberList(counting, key=lambda: b"k")
    record = reader.find_id(writer.id_for("p12345@example.org"))
    assert record is not None and record.email == "p12345@example.org"
    assert counting.gets <= 7  # head, index shard, shard, change; then the lookup's own
    late = reader.find_id(writer.id_for("late@example.org"))
    assert late is not None and late.email == "late@example.org"
    assert reader.find_id("no-such-id") is None
    writer.remove("p7@example.org")
    unsubscribed = reader.find_id(writer.id_for("p7@example.org"))
    assert unsubscribed is not None and unsubscribed.status == "unsubscribed"
    writer.erase("p8@example.org")
    assert reader.find_id(writer.id_for("p8@example.org")) is None


def test_the_index_names_no_address(tmp_path: Path) -> None:
    _listed(tmp_path / "store", 1_500)
    head = json.loads((tmp_path / "store" / SNAPSHOT).read_bytes())
    index = [key for shard, key in head["shards"].items() if shard.startswith("i")]
    assert len(index) == 16
    for key in index:
        assert b"@" not in (tmp_path / "store" / key).read_bytes()


def test_a_snapshot_from_before_the_index_is_read_whole(tmp_path: Path) -> None:
    writer = _listed(tmp_path / "store", 50)
    path = tmp_path / "store" / SNAPSHOT
    head: dict[str, Any] = json.loads(path.read_bytes())
    head["shards"] = {k: v for k, v in head["shards"].items() if not k.startswith("i")}
    path.write_text(json.dumps(head))  # as an older Sphere wrote it
    record = writer.find_id(writer.id_for("p3@example.org"))
    assert record is not None and record.email == "p3@example.org"
