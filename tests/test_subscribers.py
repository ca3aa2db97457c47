"""The subscriber list on both stores: records, fold rules, compaction, erasure."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from sphere.errors import PreconditionFailed, SubscriberError
from sphere.settings import load_settings
from sphere.store.blobs import BlobStore, open_store
from sphere.store.local import LocalStore
from sphere.subscribers.erasure import KEY_OBJECT, erasure_key
from sphere.subscribers.events import CHANGES, ChangeKeys, creation_event, status_event
from sphere.subscribers.imports import import_file
from sphere.subscribers.list import SubscriberList, iter_changes, open_list
from sphere.subscribers.model import clean_name, new_id, normalise_email
from sphere.subscribers.snapshot import SNAPSHOT

DATA = Path(__file__).parent / "data" / "subscribers"


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return open_store("store", root=tmp_path)
    return open_store(request.getfixturevalue("s3_url"))


@pytest.fixture
def subscribers(store: BlobStore) -> SubscriberList:
    return SubscriberList(store, key=lambda: b"test-key")


def test_normalise_email() -> None:
    assert normalise_email(" Jane.Doe@Example.COM ") == "jane.doe@example.com"
    assert normalise_email("a@xn--mnchen-3ya.de") == "a@münchen.de"
    assert normalise_email("Ünï@例え.JP") == "ünï@例え.jp"
    for bad in ("", "no-at-sign", "a@b", "a@@b.com", "a b@c.com", "a@localhost", "<x@y.com>"):
        with pytest.raises(ValueError, match="invalid address"):
            normalise_email(bad)


def test_clean_name() -> None:
    assert clean_name("  Ann   Archer ") == "Ann Archer"
    assert clean_name("O'Brien & Sons") == "O'Brien & Sons"
    for bad, reason in [
        ("a\nb", "line break"),
        ("a\rb", "line break"),
        ("<script>x", "HTML"),
        ("a &amp; b", "HTML"),
        ("a\x00b", "control"),
        ("a\x85b", "control"),  # C1: NEL
        ("a\x9bb", "control"),  # C1: CSI, which starts a terminal escape sequence
        ("evil\u202egnp.exe", "bidirectional"),
        ("x\u2066y", "bidirectional"),
        ("x" * 201, "longer than 200"),
    ]:
        with pytest.raises(ValueError, match=reason):
            clean_name(bad)


def test_add_records_consent_and_an_opaque_id(subscribers: SubscriberList) -> None:
    outcome = subscribers.add("Ann@Example.com", name="Ann")
    assert outcome.result == "added"
    (ann,) = subscribers.all()
    assert (ann.email, ann.name, ann.status) == ("ann@example.com", "Ann", "subscribed")
    assert (ann.consent_method, ann.consent_source) == ("cli", "sphere subscribers add")
    assert ann.consent_at == ann.created == ann.updated
    assert len(ann.id) == 22 and "@" not in ann.id and "ann" not in ann.id.lower()
    assert subscribers.add("ANN@example.COM").result == "already"
    assert len(subscribers.all()) == 1


def test_remove_unsubscribes_and_an_add_does_not_undo_it(subscribers: SubscriberList) -> None:
    subscribers.add("ann@example.com")
    assert subscribers.remove("Ann@example.com").result == "unsubscribed"
    assert subscribers.remove("ann@example.com").result == "already"
    assert subscribers.add("ann@example.com").result == "suppressed"
    assert subscribers.counts() == {
        "pending": 0,
        "subscribed": 0,
        "unsubscribed": 1,
        "bounced": 0,
        "complained": 0,
    }
    with pytest.raises(SubscriberError, match=r"nobody@example\.com is not on the list"):
        subscribers.remove("nobody@example.com")


def test_only_confirming_again_resubscribes(subscribers: SubscriberList) -> None:
    subscribers.add("ann@example.com")
    first_id = subscribers.all()[0].id
    subscribers.remove("ann@example.com", status="complained")
    now = subscribers.now()
    consent = (now, "form", "https://example.org/subscribe")
    subscribers.append(
        [
            creation_event(
                "add", "ann@example.com", id=new_id(), at=now, status="subscribed", consent=consent
            )
        ]
    )
    assert subscribers.all()[0].status == "complained"
    subscribers.append(
        [
            creation_event(
                "confirm",
                "ann@example.com",
                id=new_id(),
                at=now,
                status="subscribed",
                consent=consent,
            )
        ]
    )
    (ann,) = subscribers.all()
    assert (ann.status, ann.consent_method, ann.id) == ("subscribed", "form", first_id)


def test_compact_folds_then_removes_changes_and_keeps_the_list(
    subscribers: SubscriberList,
) -> None:
    for n in range(5):
        subscribers.add(f"p{n}@example.com")
    subscribers.remove("p1@example.com")
    before = subscribers.all()
    report = subscribers.compact(settle=0)
    assert (report.folded, report.removed, report.subscribers) == (6, 6, 5)
    assert subscribers.store.list(CHANGES) == []
    assert subscribers.all() == before
    assert subscribers.compact(settle=0).written is False  # nothing new: no write


def test_compact_leaves_young_changes(subscribers: SubscriberList) -> None:
    subscribers.add("a@example.com")
    report = subscribers.compact(settle=3600)
    assert (report.folded, report.left) == (0, 1)
    assert len(subscribers.store.list(CHANGES)) == 1
    assert [r.email for r in subscribers.all()] == ["a@example.com"]


def test_a_change_landing_late_with_an_older_key_is_not_lost(subscribers: SubscriberList) -> None:
    late = ChangeKeys().new()  # a writer picks its key ... and stalls before its put lands
    subscribers.add("early@example.com")
    subscribers.compact(settle=0)
    now = subscribers.now()
    event = creation_event(
        "add",
        "late@example.com",
        id=new_id(),
        at=now,
        status="subscribed",
        consent=(now, "cli", ""),
    )
    subscribers.store.put(late, (json.dumps(event) + "\n").encode())
    assert [r.email for r in subscribers.all()] == ["early@example.com", "late@example.com"]
    subscribers.compact(settle=0)
    assert [r.email for r in subscribers.all()] == ["early@example.com", "late@example.com"]
    assert subscribers.store.list(CHANGES) == []


def test_a_compaction_that_lost_the_race_changes_nothing(subscribers: SubscriberList) -> None:
    subscribers.add("a@example.com")
    subscribers.compact(settle=0)
    subscribers.add("b@example.com")
    stale = subscribers.store.get(SNAPSHOT)
    assert stale is not None
    subscribers.store.put(SNAPSHOT, stale.data + b" ")  # another compaction wrote meanwhile

    class StaleSnapshot:  # the store as a compaction that read the snapshot earlier saw it
        def __init__(self, store: BlobStore) -> None:
            self.store, self.url = store, store.url

        def __getattr__(self, name: str) -> object:
            return getattr(self.store, name)

        def get(self, key: str) -> object:
            return stale if key == SNAPSHOT else self.store.get(key)

    late = SubscriberList(StaleSnapshot(subscribers.store), key=lambda: b"test-key")  # type: ignore[arg-type]
    with pytest.raises(PreconditionFailed):
        late.compact(settle=0)
    assert len(subscribers.store.list(CHANGES)) == 1
    assert [r.email for r in subscribers.all()] == ["a@example.com", "b@example.com"]


def _every_byte(store: BlobStore) -> list[tuple[str, bytes]]:
    return [(key, store.get(key).data) for key in store.list("")]  # type: ignore[union-attr]


def test_erasure_leaves_no_trace_and_keeps_them_off(
    subscribers: SubscriberList, tmp_path: Path
) -> None:
    import_file(subscribers, DATA / "mailchimp_subscribed.csv")  # ann and bob, with evidence
    subscribers.compact(settle=0)
    subscribers.remove("ann@example.com")  # a change not yet folded
    subscribers.add("friend@example.com", name="Friend of ann@example.com")
    report = subscribers.erase("ANN@example.com")
    assert report.found
    for key, data in _every_byte(subscribers.store):
        assert b"ann@example.com" not in data.lower(), key
        assert b"Archer" not in data, key
        assert b"192.0.2.1" not in data, key
    assert [r.email for r in subscribers.all()] == ["bob@example.com", "friend@example.com"]
    again = import_file(subscribers, DATA / "mailchimp_subscribed.csv")
    assert (again.added, again.skipped_erased, again.already) == (0, 1, 1)
    assert subscribers.add("ann@example.com").result == "erased"
    assert "ann@example.com" not in {r.email for r in subscribers.all()}
    for _key, data in _every_byte(subscribers.store):
        assert b"ann@example.com" not in data.lower()


def _files(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_the_secret_is_never_stored_and_keys_the_hashes_through_a_derived_key(
    project: Path, store: BlobStore
) -> None:
    key = erasure_key("s3cret-value", store)
    assert len(key) == 32 and b"s3cret-value" not in key  # made for the purpose, not the secret
    assert erasure_key("s3cret-value", store) == key
    subscribers = SubscriberList(store, key=lambda: erasure_key("s3cret-value", store))
    subscribers.add("gone@example.com")
    subscribers.erase("gone@example.com")
    for name, data in _every_byte(store):
        assert b"s3cret-value" not in data and key not in data, name
    assert store.get(KEY_OBJECT) is None  # nothing kept: the secret is enough
    assert erasure_key("another", store) != key


def test_without_a_secret_a_random_key_is_kept_in_the_store_owner_only(
    store: BlobStore, tmp_path: Path
) -> None:
    key = erasure_key("", store)
    assert len(key) == 64 and erasure_key("", store) == key
    assert store.get(KEY_OBJECT).data == key  # type: ignore[union-attr]
    # The store keeps its key: setting SPHERE_SECRET later does not change it.
    assert erasure_key("set-later", store) == key
    if isinstance(store, LocalStore):
        assert (store.root / KEY_OBJECT).stat().st_mode & 0o777 == 0o600


def test_personal_data_is_owner_only_from_the_start(tmp_path: Path) -> None:
    """With umask 000 nothing would narrow a file's mode: only os.open's own mode can."""
    import os

    old = os.umask(0)
    try:
        store = open_store("data/store", root=tmp_path)
        subscribers = SubscriberList(store, key=lambda: erasure_key("", store))
        subscribers.add("ann@example.com")
        subscribers.compact(settle=0)
        subscribers.erase("bob@example.com")
        from sphere.subscribers.export import export_to_file

        export_to_file(subscribers.all(), tmp_path / "out.csv")
    finally:
        os.umask(old)
    root = tmp_path / "data" / "store"
    folders = [root, *(p for p in root.rglob("*") if p.is_dir())]
    files = [p for p in root.rglob("*") if p.is_file()]
    assert {"snapshot.json", "erasure", ".lock"} <= {p.name for p in files}
    assert {p.relative_to(root).as_posix(): p.stat().st_mode & 0o777 for p in folders} == {
        ".": 0o700, "subscribers": 0o700, "subscribers/changes": 0o700,
        "subscribers/shards": 0o700, "keys": 0o700,
    }  # fmt: skip
    assert {p.name: p.stat().st_mode & 0o777 for p in files} == {p.name: 0o600 for p in files}
    assert (tmp_path / "out.csv").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o777  # not ours: left as the umask says


def test_a_store_others_can_read_is_reported(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    assert store.exposure() is None  # not made yet
    store.put("a", b"")
    assert store.exposure() is None
    (tmp_path / "store").chmod(0o755)
    assert store.exposure() == (
        f"the store folder {tmp_path / 'store'} can be read by others (mode 0755) and holds "
        f"personal data; make it owner-only: chmod -R go-rwx {tmp_path / 'store'}"
    )


def test_a_changed_erasure_key_is_refused(project: Path, s3_url: str) -> None:
    """Hashes made with one key do not recognise the erased under another: refuse, loudly."""
    before = open_list(
        load_settings(project, env={"SPHERE_STORE": s3_url, "SPHERE_SECRET": "one" * 11})
    )
    before.add("gone@example.com")
    before.erase("gone@example.com")
    after = open_list(
        load_settings(project, env={"SPHERE_STORE": s3_url, "SPHERE_SECRET": "two" * 11})
    )
    with pytest.raises(SubscriberError, match="the erasure key differs"):
        after.add("gone@example.com")
    assert before.add("gone@example.com").result == "erased"


def test_erasure_removes_a_request_held_outside_the_list(subscribers: SubscriberList) -> None:
    """An erased person who asks to subscribe again waits in web/pending/ until they confirm;
    erased again before that, the request goes too, and someone else's stays."""
    store = subscribers.store
    store.put("web/pending/a1.json", b'{"email": "ann@example.com", "name": "Ann"}')
    store.put("web/pending/b2.json", b'{"email": "bob@example.com", "name": "Bob"}')
    subscribers.erase("ann@example.com")
    assert store.get("web/pending/a1.json") is None
    assert store.get("web/pending/b2.json") is not None


def test_erasure_scrubs_the_address_from_other_peoples_free_text(
    subscribers: SubscriberList, tmp_path: Path
) -> None:
    """An import file named after the address, a name and some evidence quoting it."""
    named = tmp_path / "from ann@example.com.csv"
    named.write_text("email,name\nann@example.com,Ann\ncarl@example.com,Carl\n", encoding="utf-8")
    import_file(subscribers, named)
    now = subscribers.now()
    evidence = {"note": "referred by ANN@example.com", "ip": "192.0.2.9"}
    event = creation_event(
        "add", "dee@example.com", id=new_id(), at=now, status="subscribed", name="Dee (ann@example.com's)",
        consent=(now, "form", "invite from ann@example.com"), evidence=evidence,
    )  # fmt: skip
    subscribers.append([event])
    subscribers.add("joann@example.com", name="Jo")  # contains the address, is not it
    subscribers.compact(settle=0)
    subscribers.add("eve@example.com", name="friend of ann@example.com")  # still a change
    report = subscribers.erase("ann@example.com")
    assert report.found
    for key, data in _every_byte(subscribers.store):
        text = data.decode().lower().replace("joann@example.com", "")
        assert "ann@example.com" not in text, key
    records = {r.email: r for r in subscribers.all()}
    assert sorted(records) == [
        "carl@example.com", "dee@example.com", "eve@example.com", "joann@example.com",
    ]  # fmt: skip
    assert (records["carl@example.com"].consent_source, records["carl@example.com"].name) == (
        "",
        "Carl",
    )
    dee = records["dee@example.com"]
    assert (dee.name, dee.consent_source, dee.consent_evidence) == (
        "", "", {"note": "", "ip": "192.0.2.9"},
    )  # fmt: skip
    assert records["eve@example.com"].name == ""
    assert records["joann@example.com"].name == "Jo"
    assert subscribers.erase("ann@example.com").found is False  # a second run: nothing left


class Skewed:
    """The machine's clock, off by `offset` seconds (another machine's, say)."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def test_an_unsubscribe_from_a_clock_behind_sorts_after_the_add_it_saw(store: BlobStore) -> None:
    ahead = SubscriberList(store, key=lambda: b"k", clock=Skewed(+30))
    behind = SubscriberList(store, key=lambda: b"k", clock=Skewed(-30))
    ahead.add("ann@example.com")
    assert behind.remove("ann@example.com").result == "unsubscribed"
    (add_key, remove_key) = store.list(CHANGES)
    assert [event["op"] for _key, event in iter_changes(store)] == ["add", "status"]
    assert remove_key > add_key  # after the key it read, not at its own clock's time
    assert [r.status for r in behind.all()] == ["unsubscribed"]
    behind.compact(settle=0)
    assert [r.status for r in ahead.all()] == ["unsubscribed"]


@pytest.mark.parametrize("compact_between", [False, True])
def test_an_unsubscribe_whose_key_sorts_before_the_add_still_wins(
    subscribers: SubscriberList, compact_between: bool
) -> None:
    """A bounce for an address no add has reached yet (another writer's add lands later)."""
    early = SubscriberList(subscribers.store, key=lambda: b"test-key", clock=Skewed(-60))
    early.append([status_event("ann@example.com", "bounced", at=early.now())])
    if compact_between:
        subscribers.compact(settle=0)
    assert subscribers.add("ann@example.com").result == "suppressed"
    now = subscribers.now()
    subscribers.append(  # an import's add, blind to it, as a writer that read nothing would
        [
            creation_event(
                "add",
                "ann@example.com",
                id=new_id(),
                at=now,
                status="subscribed",
                consent=(now, "", ""),
            )
        ]
    )
    assert [(r.email, r.status) for r in subscribers.all()] == [("ann@example.com", "bounced")]
    subscribers.compact(settle=0)
    assert [(r.email, r.status) for r in subscribers.all()] == [("ann@example.com", "bounced")]
    confirm = creation_event(
        "confirm",
        "ann@example.com",
        id=new_id(),
        at=now,
        status="subscribed",
        consent=(now, "form", ""),
    )
    subscribers.append([confirm])  # the person asks again: the one way back
    assert [r.status for r in subscribers.all()] == ["subscribed"]


def test_leftover_temporary_files_are_swept_when_old(tmp_path: Path) -> None:
    import os

    store = LocalStore(tmp_path / "store")
    subscribers = SubscriberList(store, key=lambda: b"k")
    subscribers.add("ann@example.com")
    folder = tmp_path / "store" / "subscribers"
    old, young = folder / ".tmp-0123456789abcdef", folder / "changes" / ".tmp-fedcba9876543210"
    old.write_bytes(b"a killed compaction's copy: bob@example.com")
    young.write_bytes(b"a write still going on")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    subscribers.compact(settle=0)
    assert (old.exists(), young.exists()) == (False, True)
    # Erasure removes a leftover that holds the address once it is old enough to be dead.
    mentioning = folder / ".tmp-00000000000000aa"
    mentioning.write_bytes(b'{"email":"ann@example.com"}')
    os.utime(mentioning, (time.time() - 6, time.time() - 6))
    subscribers.erase("ann@example.com")
    assert (mentioning.exists(), young.exists()) == (False, True)


def test_an_erasure_that_loses_a_rewrite_race_tries_again(subscribers: SubscriberList) -> None:
    subscribers.add("ann@example.com")
    subscribers.append(
        [
            status_event("bob@example.com", "bounced", at="t"),
            status_event("ann@example.com", "bounced", at="t"),
        ]
    )
    real = subscribers.store
    raced: list[str] = []

    class Racing:  # another erasure rewrites the object between our read and our write
        url = real.url

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def put(self, key: str, data: bytes, **conditions: object) -> str:
            if conditions.get("if_match") and key.startswith(CHANGES) and not raced:
                raced.append(key)
                current = real.get(key)
                real.put(key, current.data + b"\n")  # type: ignore[union-attr]
            return real.put(key, data, **conditions)  # type: ignore[arg-type]

    racing = SubscriberList(Racing(), key=lambda: b"test-key")  # type: ignore[arg-type]
    racing.erase("ann@example.com")
    assert raced
    for key, data in _every_byte(real):
        assert b"ann@example.com" not in data, key


def test_one_address_reads_one_shard_not_the_whole_list(subscribers: SubscriberList) -> None:
    """A small list is one object (one request); from 1,000 records, 16 shards; then 256."""
    from sphere.subscribers.snapshot import SHARDS

    subscribers.append(
        [
            creation_event(
                "add",
                f"p{n}@example.com",
                id=new_id(),
                at="t",
                status="subscribed",
                consent=("t", "", ""),
            )
            for n in range(3000)
        ]
    )
    subscribers.compact(settle=0)
    assert len(subscribers.store.list(SHARDS)) == 16 + 16  # 3,000 addresses: 16 shards, and
    # the id index's 16
    real, read = subscribers.store, []

    class Counting:
        url = real.url

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def get(self, key: str) -> object:
            read.append(key)
            return real.get(key)

    one = SubscriberList(Counting(), key=lambda: b"test-key")  # type: ignore[arg-type]
    assert one.add("p7@example.com").result == "already"
    assert one.remove("p8@example.com").result == "unsubscribed"
    assert one.add("new@example.com").result == "added"
    assert sum(key.startswith(SHARDS) for key in read) == 3  # one for each, of 16
    assert {r.email: r.status for r in subscribers.all()}["p8@example.com"] == "unsubscribed"
    assert len(subscribers.all()) == 3001


def test_a_list_is_resharded_as_it_grows(store: BlobStore) -> None:
    from sphere.subscribers.snapshot import SHARDS

    subscribers = SubscriberList(store, key=lambda: b"test-key")
    subscribers.add("first@example.com")
    subscribers.compact(settle=0)
    assert sorted(key.rsplit("-", 1)[1] for key in store.list(SHARDS)) == ["all.json", "i.json"]
    consent = ("t", "", "")
    subscribers.append(
        creation_event(
            "add", f"p{n}@example.com", id=new_id(), at="t", status="subscribed", consent=consent
        )
        for n in range(1_500)
    )
    subscribers.compact(settle=0)
    assert len(store.list(SHARDS)) == 16 + 16  # and the id index's
    assert len(subscribers.all()) == 1_501


def test_a_snapshot_from_before_shards_is_read_and_converted(subscribers: SubscriberList) -> None:
    from sphere.subscribers.snapshot import SHARDS

    old = {
        "format": 1, "folded": [], "erased": [], "key_checks": [],
        "columns": ["id", "email", "name", "status", "created", "updated", "consent_at",
                    "consent_method", "consent_source", "consent_evidence"],
        "subscribers": [["i1", "ann@example.com", "Ann", "unsubscribed", "t", "t", "t", "cli",
                         "sphere subscribers add", None]],
    }  # fmt: skip
    subscribers.store.put(SNAPSHOT, json.dumps(old).encode())
    assert subscribers.add("ann@example.com").result == "suppressed"
    subscribers.add("bob@example.com")
    subscribers.compact(settle=0)
    assert json.loads(subscribers.store.get(SNAPSHOT).data)["format"] == 2  # type: ignore[union-attr]
    assert len(subscribers.store.list(SHARDS)) == 1 + 1  # and the id index
    assert [(r.email, r.status) for r in subscribers.all()] == [
        ("ann@example.com", "unsubscribed"),
        ("bob@example.com", "subscribed"),
    ]
