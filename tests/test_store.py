"""The blob-store contract, run against a local folder and against S3 (moto server over HTTP)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sphere.errors import PreconditionFailed, StoreError, StoreUnavailable
from sphere.store import aws
from sphere.store.blobs import BlobStore, get_many, open_store
from sphere.store.local import LocalStore
from sphere.store.s3 import S3Store


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return open_store("store", root=tmp_path)
    return open_store(request.getfixturevalue("s3_url"))


def test_get_missing_is_none(store: BlobStore) -> None:
    assert store.get("nothing/here.json") is None


def test_put_then_get_round_trips_bytes_and_etag(store: BlobStore) -> None:
    etag = store.put("a/b.json", b"\x00bytes\xff")
    blob = store.get("a/b.json")
    assert blob is not None
    assert (blob.data, blob.etag) == (b"\x00bytes\xff", etag)


def test_if_none_match_creates_once(store: BlobStore) -> None:
    store.put("lock", b"first", if_none_match=True)
    with pytest.raises(PreconditionFailed):
        store.put("lock", b"second", if_none_match=True)
    assert store.get("lock").data == b"first"  # type: ignore[union-attr]


def test_if_match_replaces_only_the_version_read(store: BlobStore) -> None:
    first = store.put("snapshot", b"v1")
    second = store.put("snapshot", b"v2", if_match=first)
    with pytest.raises(PreconditionFailed):
        store.put("snapshot", b"v3", if_match=first)
    assert store.get("snapshot").data == b"v2"  # type: ignore[union-attr]
    store.put("snapshot", b"v3", if_match=second)
    assert store.get("snapshot").data == b"v3"  # type: ignore[union-attr]


def test_if_match_on_a_missing_key_fails(store: BlobStore) -> None:
    etag = store.put("gone", b"x")
    store.delete("gone")
    with pytest.raises(PreconditionFailed):
        store.put("gone", b"y", if_match=etag)


def test_list_by_prefix_is_sorted_and_paginated(store: BlobStore) -> None:
    if isinstance(store, S3Store):
        store.page_size = 7  # several pages without a thousand slow puts
    names = [f"changes/{n:05d}.jsonl" for n in range(25)]
    for name in reversed(names):
        store.put(name, b"")
    store.put("changes-other", b"")
    store.put("snapshot.json", b"")
    assert store.list("changes/") == names
    assert store.list("changes/0000") == names[:10]
    assert store.list("nothing/") == []
    assert len(store.list()) == 27


def test_delete_removes_and_is_idempotent(store: BlobStore) -> None:
    store.put("x/y", b"1")
    store.delete("x/y")
    store.delete("x/y")
    assert store.get("x/y") is None
    assert store.list("x/") == []


def test_get_many_keeps_order(store: BlobStore) -> None:
    for n in range(10):
        store.put(f"k/{n}", str(n).encode())
    blobs = list(get_many(store, [f"k/{n}" for n in (9, 3, 5, 0, 1, 2)] + ["k/missing"]))
    assert [b.data if b else None for b in blobs] == [b"9", b"3", b"5", b"0", b"1", b"2", None]


@pytest.mark.parametrize("key", ["", "/abs", "a//b", "../up", ".hidden", "a/./b"])
def test_invalid_keys_are_refused(store: BlobStore, key: str) -> None:
    with pytest.raises(StoreError, match="invalid store key"):
        store.put(key, b"")


# --- S3 specifics ------------------------------------------------------------------------------


def test_s3_canary_the_stand_in_enforces_conditional_writes(s3_bucket: str) -> None:
    """Emulators have shipped bugs that ignore IfMatch/IfNoneMatch: prove this one does not."""
    from botocore.exceptions import ClientError

    s3 = aws.client("s3")
    first = s3.put_object(Bucket=s3_bucket, Key="canary", Body=b"1")["ETag"]
    s3.put_object(Bucket=s3_bucket, Key="canary", Body=b"2", IfMatch=first)
    with pytest.raises(ClientError) as stale:
        s3.put_object(Bucket=s3_bucket, Key="canary", Body=b"3", IfMatch=first)
    assert stale.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    with pytest.raises(ClientError) as exists:
        s3.put_object(Bucket=s3_bucket, Key="canary", Body=b"4", IfNoneMatch="*")
    assert exists.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert s3.get_object(Bucket=s3_bucket, Key="canary")["Body"].read() == b"2"


def test_s3_objects_are_encrypted_and_under_the_prefix(s3_bucket: str) -> None:
    store = open_store(f"s3://{s3_bucket}/news/letter/")
    store.put("a.json", b"{}")
    store.put("b.json", b"{}", if_none_match=True)
    s3 = aws.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert keys == ["news/letter/a.json", "news/letter/b.json"]
    for key in keys:
        assert s3.head_object(Bucket=s3_bucket, Key=key)["ServerSideEncryption"] == "AES256"


def test_s3_missing_bucket_is_unavailable_and_named(aws: str) -> None:
    store = open_store("s3://no-such-bucket-here/subs")
    with pytest.raises(StoreUnavailable, match="the S3 bucket 'no-such-bucket-here' does not"):
        store.list("x/")
    with pytest.raises(StoreUnavailable, match="no-such-bucket-here"):
        store.put("x", b"")


def test_s3_access_denied_is_unavailable_and_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from fixtures_aws import AWS_TEST_ENV, moto_server

    # With authentication on, moto rejects credentials it never issued, as AWS would.
    with moto_server({"INITIAL_NO_AUTH_ACTION_COUNT": "0"}) as url:
        for key, value in AWS_TEST_ENV.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        store = S3Store("private-bucket", "subs")
        with pytest.raises(
            StoreUnavailable, match="access denied to the S3 bucket 'private-bucket'"
        ) as denied:
            store.list("x/")
        # Both causes are named: a TLS-only bucket policy over plain HTTP looks the same.
        assert "the credentials lack s3:GetObject" in str(denied.value)
        assert "or the bucket policy refuses the request" in str(denied.value)
        with pytest.raises(StoreUnavailable, match="access denied"):
            store.get("x")


def test_open_store_refuses_other_schemes(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="expected a folder or s3://BUCKET/PREFIX"):
        open_store("gs://bucket/x", root=tmp_path)
    with pytest.raises(StoreError, match="expected s3://BUCKET/PREFIX"):
        open_store("s3:///x", root=tmp_path)


# --- local folder specifics ----------------------------------------------------------------------


def test_local_store_that_is_not_writable(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    store = LocalStore(tmp_path / "a-file" / "store")
    with pytest.raises(StoreUnavailable, match=r"cannot use the store folder .*a-file/store"):
        store.put("k", b"")
    with pytest.raises(StoreUnavailable, match="Not a directory"):
        store.list("k")


def test_local_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    etag = store.put("x/y", b"1")
    with pytest.raises(PreconditionFailed):
        store.put("x/y", b"2", if_match="stale")
    with pytest.raises(PreconditionFailed):
        store.put("x/y", b"3", if_none_match=True)
    store.put("x/y", b"4", if_match=etag)
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["y"]


def test_local_exclusive_create_has_one_winner_across_processes(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys; from sphere.store.local import LocalStore\n"
        "from sphere.errors import PreconditionFailed\n"
        "s = LocalStore(__import__('pathlib').Path(sys.argv[1]))\n"
        "won = 0\n"
        "for n in range(200):\n"
        "    try: s.put(f'c/{n}', sys.argv[2].encode(), if_none_match=True); won += 1\n"
        "    except PreconditionFailed: pass\n"
        "print(won)\n"
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path), str(w)], stdout=subprocess.PIPE
        )
        for w in range(3)
    ]
    wins = [int(w.communicate()[0]) for w in workers]
    assert sum(wins) == 200
    assert len(LocalStore(tmp_path).list("c/")) == 200


def test_only_the_store_package_talks_to_boto3() -> None:
    """DESIGN: boto3 clients come from one factory, botocore's errors are translated at the edge."""
    import re

    package = Path(__file__).resolve().parent.parent / "sphere"
    importing = re.compile(r"^\s*(?:import|from)\s+(?:boto3|botocore)\b", re.MULTILINE)
    found = {
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if importing.search(path.read_text(encoding="utf-8"))
    }
    assert found == {"store/aws.py", "store/s3.py"}
