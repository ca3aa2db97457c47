"""Erasure's parts: the key for the hashes kept of erased people, and scrubbing text of them.

The key. Erased people are kept off the list by an HMAC of their address, so the key must
stay the same for the life of the store and must not be guessable from the store alone:

- with `SPHERE_SECRET` set, the key is derived from it (HMAC with a fixed label): a key made
  for this one purpose, never written anywhere, and the secret itself is not the key;
- without it, a random key is kept in the store itself (`keys/erasure`, created once by an
  exclusive put: owner-only in a folder, encrypted in S3). A store that has such a key keeps
  using it when SPHERE_SECRET is set later.

Either way the store records the key's fingerprint with each erasure, and every command
refuses another key (`SubscriberList.read`). The same code for a folder and for S3.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import secrets
from typing import Any

from sphere.errors import PreconditionFailed
from sphere.store.blobs import BlobStore
from sphere.subscribers.model import FREE_TEXT, Subscriber

KEY_OBJECT = "keys/erasure"
_LABEL = b"sphere subscriber erasure key v1"


# Requests kept outside the list that name a person: the endpoints keep an erased person's new
# subscribe request here (one object each, holding the address) until they confirm it.
HELD_REQUESTS = "web/pending/"


def erasure_key(secret: str, store: BlobStore) -> bytes:
    """The HMAC key for erasure hashes (see the module's docstring for where it comes from)."""
    blob = store.get(KEY_OBJECT)
    if blob is None and secret:
        return hmac.new(secret.encode(), _LABEL, hashlib.sha256).digest()
    if blob is None:
        with contextlib.suppress(PreconditionFailed):  # the first process here decides the key
            store.put(KEY_OBJECT, secrets.token_hex(32).encode(), if_none_match=True)
        blob = store.get(KEY_OBJECT)
    assert blob is not None  # nothing deletes it  # noqa: S101
    return blob.data.strip()


def key_check(key: bytes) -> str:
    """A fingerprint of the erasure key, kept in the store: it reveals nothing of the key."""
    return hmac.new(key, b"sphere erasure key check", hashlib.sha256).hexdigest()[:16]


def mentions(address: str) -> re.Pattern[str]:
    """The address in any text, in any case, not as the tail of a longer one (`joann@x.com`),
    and in every spelling that still means it: percent-encoded (`?from=bob%40x.com`, twice
    encoded too), as HTML character references (`bob&#64;x.com`, `&commat;`, `&amp;#64;`), as
    JSON's `\\u0040`, any of them for any character, and with the domain in Unicode or in
    punycode (`bob@exämple.org`, `bob@xn--exmple-cua.org`).

    A dot may follow (`ann@x.com.csv`, a file named after them, is a mention): when it is
    another address (`ann@x.com.au`), only that person's free text is scrubbed, never their
    address.
    """
    # NOTE: `=`, `?`, `&` and `/` may start an address but are a query's and a path's
    # punctuation far more often (`?from=bob@x.com`): after them, it is a mention.
    before = r"(?:(?<![\w.!#$%'*+^`{|}~-])|(?<=%[0-9A-Fa-f]{2})|(?<=;))"
    after = r"(?![\w-])"
    spellings = "|".join("".join(map(_any_spelling, form)) for form in _forms(address))
    return re.compile(f"{before}(?:{spellings}){after}", re.IGNORECASE)


def _forms(address: str) -> list[str]:
    """The address with its domain in Unicode and in ASCII (punycode), when they differ."""
    import idna

    local, _, domain = address.rpartition("@")
    forms = [address]
    for convert in (lambda d: idna.encode(d, uts46=True), idna.decode):
        try:
            other = convert(domain)
        except (idna.IDNAError, UnicodeError, ValueError):
            continue
        other = other.decode() if isinstance(other, bytes) else other
        if f"{local}@{other}" not in forms:
            forms.append(f"{local}@{other}")
    return forms


def _entity_names() -> dict[str, list[str]]:
    from html.entities import html5

    names: dict[str, list[str]] = {}
    for name, char in html5.items():
        if len(char) == 1 and char.isascii():
            names.setdefault(char, []).append(name)
    return names


_ENTITIES = _entity_names()
_AMP = "&(?:amp;)*"  # an HTML reference, escaped once more for each time it was put in HTML


def _any_spelling(char: str) -> str:
    """A regex for one character of an address, written plainly or encoded (any case)."""
    options = [re.escape(char)]
    for variant in dict.fromkeys((char, char.lower(), char.upper())):
        options.append("".join(f"%(?:25)*{byte:02x}" for byte in variant.encode()))
        options.append(f"{_AMP}#0*{ord(variant)};?")
        options.append(f"{_AMP}#x0*{ord(variant):x};?")
        options.append(f"\\\\+u0*{ord(variant):04x}")  # JSON, escaped once or more
        options += [_AMP + re.escape(name) for name in _ENTITIES.get(variant, ())]
    return "(?:" + "|".join(options) + ")"


def scrub_value(value: Any, pattern: re.Pattern[str]) -> Any:
    """`value` with every string that quotes the address blanked (in lists and dicts too)."""
    if isinstance(value, str):
        return "" if pattern.search(value) else value
    if isinstance(value, list):
        return [scrub_value(v, pattern) for v in value]
    if isinstance(value, dict):
        return {k: scrub_value(v, pattern) for k, v in value.items()}
    return value


def scrub_event(event: dict[str, Any], pattern: re.Pattern[str]) -> dict[str, Any]:
    """Another person's event with every free-text field that quotes the address blanked."""
    return {
        k: v if k in ("op", "email", "id") else scrub_value(v, pattern) for k, v in event.items()
    }


def scrub_record(record: Subscriber, pattern: re.Pattern[str]) -> bool:
    """Blank each free-text field of another person's record that quotes the address."""
    changed = False
    for name in FREE_TEXT:
        value = getattr(record, name)
        if value and (clean := scrub_value(value, pattern)) != value:
            setattr(record, name, clean)
            changed = True
    return changed


_ADDRESS_LIKE = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_SEPARATORS = re.compile(r"[=&?/'{|}`]")  # a query's or a path's punctuation before an address


def quoted_addresses(record: Subscriber) -> set[str]:
    """Every address-like word in a record's free text, lower-cased, decoded from the
    spellings `mentions` knows (to check against hashes, which are of the plain address)."""
    found: set[str] = set()
    for name in FREE_TEXT:
        value = getattr(record, name)
        texts = value.values() if isinstance(value, dict) else [value] if value else []
        for text in texts:
            for word in _ADDRESS_LIKE.findall(decoded(text)):
                for candidate in [word, *(word[m.end() :] for m in _SEPARATORS.finditer(word))]:
                    found.update(_forms(candidate.lower()))
    return found


def decoded(text: str) -> str:
    """`text` with percent-encoding, HTML references and JSON's \\u escapes undone (each as
    many times as it was applied, up to a few)."""
    import html
    from urllib.parse import unquote

    for _ in range(4):
        plain = html.unescape(unquote(_JSON_ESCAPE.sub(lambda m: chr(int(m[1], 16)), text)))
        if plain == text:
            break
        text = plain
    return text


_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
