"""Erasure finds a person's address however another record wrote it: percent-encoded in a
URL, as HTML character references, as a JSON escape, with the domain in punycode. Each is the
same address to anyone who reads it, so each goes (issue 21).
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from sphere.store.blobs import BlobStore, open_store
from sphere.subscribers.erasure import mentions
from sphere.subscribers.events import creation_event
from sphere.subscribers.list import SubscriberList
from sphere.subscribers.model import new_id

ADDRESS = "bob@exämple.org"  # as the list keeps it: the domain in Unicode
SPELLINGS = [
    "https://shop.test/?ref=1&from=bob%40ex%C3%A4mple.org",  # percent-encoded, in a query
    "https://shop.test/?from=bob%2540ex%25C3%25A4mple.org",  # and encoded twice
    "invited by bob&#64;exämple.org",  # a decimal reference
    "invited by bob&#x40;ex&#xe4;mple&period;org",  # hexadecimal and named references
    "&lt;bob&amp;commat;exämple.org&gt;",  # HTML-escaped twice
    "bob@xn--exmple-cua.org",  # punycode
    "BOB%40XN--EXMPLE-CUA.ORG",  # punycode, percent-encoded, upper case
    '{"from": "bob\\u0040ex\\u00e4mple.org"}',  # JSON's escapes
]


@pytest.mark.parametrize("text", SPELLINGS)
def test_every_spelling_is_a_mention(text: str) -> None:
    assert mentions(ADDRESS).search(text)


@pytest.mark.parametrize(
    "text",
    [
        "jbob%40exämple.org",  # another address that ends with it
        "bob%40exämple.organic",
        "bob&#64;example.org",  # another domain
        "rob%40xn--exmple-cua.org",
        "a.bob@xn--exmple-cua.org",
    ],
)
def test_other_addresses_are_not(text: str) -> None:
    assert not mentions(ADDRESS).search(text)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return open_store("store", root=tmp_path)
    return open_store(request.getfixturevalue("s3_url"))


def _unencoded(data: bytes) -> str:
    """Stored bytes with every encoding undone (by the standard library, not by Sphere), in
    lower case, punycode domains in Unicode."""
    text = data.decode("utf-8")
    for _ in range(3):
        text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), text)
        text = html.unescape(unquote(text))
    return text.lower().replace("xn--exmple-cua", "exämple")


@pytest.mark.parametrize("compact_first", [False, True])
def test_erasure_leaves_no_spelling_of_the_address(store: BlobStore, compact_first: bool) -> None:
    subscribers = SubscriberList(store, key=lambda: b"test-key")
    subscribers.add(ADDRESS, name="Bob")
    now = subscribers.now()
    for n, text in enumerate(SPELLINGS):
        event = creation_event(
            "add", f"reader{n}@example.com", id=new_id(), at=now, status="subscribed", name=f"Reader {n}",
            consent=(now, "form", text), evidence={"referrer": text, "ip": "192.0.2.9"},
        )  # fmt: skip
        subscribers.append([event])
    if compact_first:
        subscribers.compact(settle=0)  # half in the snapshot, half in changes
    subscribers.add("carol@example.com", name="bob%40exämple.org's friend")

    report = subscribers.erase(ADDRESS)

    assert report.found
    for key in store.list(""):
        blob = store.get(key)
        assert blob is not None
        if key.startswith("keys/"):
            continue
        assert "bob@exämple.org" not in _unencoded(blob.data), key
    records = {r.email: r for r in subscribers.all()}
    assert ADDRESS not in records
    for n in range(len(SPELLINGS)):
        reader = records[f"reader{n}@example.com"]
        assert (reader.name, reader.consent_source) == (f"Reader {n}", "")
        assert reader.consent_evidence == {"referrer": "", "ip": "192.0.2.9"}
    assert records["carol@example.com"].name == ""


def test_compaction_finishes_an_interrupted_erasure_whatever_the_spelling(
    tmp_path: Path,
) -> None:
    """Killed after its first write (the erase change), an erasure is finished by compaction:
    it finds the erased address in other records by decoding each spelling."""
    from sphere.subscribers.erasure import key_check

    subscribers = SubscriberList(open_store("store", root=tmp_path), key=lambda: b"test-key")
    subscribers.add(ADDRESS)
    now = subscribers.now()
    for n, text in enumerate(SPELLINGS):
        event = creation_event(
            "add", f"reader{n}@example.com", id=new_id(), at=now, status="subscribed", name="",
            consent=(now, "form", text),
        )  # fmt: skip
        subscribers.append([event])
    erase = {"op": "erase", "hash": subscribers.hash(ADDRESS), "key_check": key_check(b"test-key")}
    subscribers.append([erase])  # the first thing `erase` writes, and nothing after

    subscribers.compact(settle=0)

    sources = {r.email: r.consent_source for r in subscribers.all()}
    assert sources == {f"reader{n}@example.com": "" for n in range(len(SPELLINGS))}
