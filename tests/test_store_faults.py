"""The store under the faults S3 really has: a lost reply, a held request, a failed one.

Every S3 request goes through the fault proxy (tests/fault_proxy.py) in front of moto. A lost
reply means the request landed and its answer did not: botocore sends it again, and the store
must recognise its own write before it concludes that it lost a race.
"""

from __future__ import annotations

import pytest
from fault_proxy import FaultProxy

from sphere.errors import PreconditionFailed, WriteUncertain
from sphere.store.s3 import S3Store


@pytest.fixture
def s3(s3_bucket: str, s3_faults: FaultProxy) -> S3Store:
    return S3Store(s3_bucket, "faults")


def test_a_lost_reply_to_an_exclusive_create_is_our_own_write(
    s3: S3Store, s3_faults: FaultProxy
) -> None:
    s3_faults.add("lose", "PUT", r"/faults/a\.json")
    etag = s3.put("a.json", b"first", if_none_match=True)
    assert s3_faults.count("PUT", r"/faults/a\.json") == 2  # botocore sent it again: 412
    blob = s3.get("a.json")
    assert blob is not None and (blob.data, blob.etag) == (b"first", etag)


def test_a_lost_reply_to_a_compare_and_swap_is_our_own_write(
    s3: S3Store, s3_faults: FaultProxy
) -> None:
    first = s3.put("a.json", b"first")
    s3_faults.add("lose", "PUT", r"/faults/a\.json")
    etag = s3.put("a.json", b"second", if_match=first)
    blob = s3.get("a.json")
    assert blob is not None and (blob.data, blob.etag) == (b"second", etag)
    with pytest.raises(PreconditionFailed):  # a real lost race is still one
        s3.put("a.json", b"third", if_match=first)


def test_another_writers_object_is_still_a_lost_race(s3: S3Store, s3_faults: FaultProxy) -> None:
    s3.put("a.json", b"theirs")
    with pytest.raises(PreconditionFailed):
        s3.put("a.json", b"ours", if_none_match=True)
    assert s3_faults.count("PUT", r"/faults/a\.json") == 2
    assert s3_faults.count("HEAD", r"/faults/a\.json") == 1  # it looked before it believed


def test_a_write_that_never_gets_a_reply_is_uncertain(s3: S3Store, s3_faults: FaultProxy) -> None:
    s3_faults.add("fail", "PUT", r"/faults/a\.json", times=-1)  # never lands, never answers 2xx
    with pytest.raises(WriteUncertain, match=r"faults/a\.json.*may still land"):
        s3.put("a.json", b"data", if_none_match=True)
    assert s3.get("a.json") is None
