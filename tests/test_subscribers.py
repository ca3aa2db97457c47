"""The subscriber list on both stores: records, fold rules, compaction, erasure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sphere.errors import PreconditionFailed, SubscriberError
from sphere.settings import load_settings
from sphere.store.blobs import BlobStore, LocalStore, open_store
from sphere.subscribers.imports import import_file
from sphere.subscribers.list import (
    CHANGES,
    SNAPSHOT,
    SubscriberList,
    clean_name,
    erasure_key,
    normalise_email,
    open_list,
)

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
    from sphere.subscribers.list import creation_event

    subscribers.add("ann@example.com")
    first_id = subscribers.all()[0].id
    subscribers.remove("ann@example.com", status="complained")
    now = subscribers.now()
    consent = (now, "form", "https://example.org/subscribe")
    subscribers.append(
        [creation_event("add", "ann@example.com", at=now, status="subscribed", consent=consent)]
    )
    assert subscribers.all()[0].status == "complained"
    subscribers.append(
        [creation_event("confirm", "ann@example.com", at=now, status="subscribed", consent=consent)]
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
    from sphere.subscribers.list import change_key, creation_event

    late = change_key()  # a writer picks its key ... and stalls before its put lands
    subscribers.add("early@example.com")
    subscribers.compact(settle=0)
    now = subscribers.now()
    event = creation_event(
        "add", "late@example.com", at=now, status="subscribed", consent=(now, "cli", "")
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


def test_erasure_key_comes_from_the_secret_or_a_local_key_file(project: Path) -> None:
    settings = load_settings(project, env={})
    store = open_store(settings)
    assert isinstance(store, LocalStore)
    key = erasure_key(settings, store)
    assert len(key) == 64 and erasure_key(settings, store) == key
    assert (store.root / ".erasure-key").stat().st_mode & 0o777 == 0o600
    assert store.list("") == []  # the key file is not an object of the store
    # A local store keeps its key: setting SPHERE_SECRET later does not change it ...
    with_secret = load_settings(project, env={"SPHERE_SECRET": "s3cret"})
    assert erasure_key(with_secret, store) == key
    # ... and a new local store given SPHERE_SECRET from the start uses it.
    fresh = open_store(str(project / "other-store"))
    assert isinstance(fresh, LocalStore)
    assert erasure_key(with_secret, fresh) == b"s3cret"


def test_a_changed_erasure_key_is_refused(project: Path, s3_url: str) -> None:
    """Hashes made with one key do not recognise the erased under another: refuse, loudly."""
    before = open_list(load_settings(project, env={"SPHERE_STORE": s3_url, "SPHERE_SECRET": "one"}))
    before.add("gone@example.com")
    before.erase("gone@example.com")
    after = open_list(load_settings(project, env={"SPHERE_STORE": s3_url, "SPHERE_SECRET": "two"}))
    with pytest.raises(SubscriberError, match="the erasure key differs"):
        after.add("gone@example.com")
    assert before.add("gone@example.com").result == "erased"


def test_an_s3_store_needs_the_secret(project: Path, s3_url: str) -> None:
    settings = load_settings(project, env={"SPHERE_STORE": s3_url})
    subscribers = open_list(settings)
    subscribers.add("a@example.com")  # reading and writing need no key ...
    with pytest.raises(SubscriberError, match="SPHERE_SECRET is required with an S3 store"):
        subscribers.erase("a@example.com")  # ... erasure does
