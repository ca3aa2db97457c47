"""Damaged objects in the store: a truncated, empty or non-UTF-8 change object, snapshot head
or shard, ledger object, campaign.json or lease.json. Each command that meets one stops with
one line naming it and what to do, exits 1, and leaves it where it is; compaction never folds
away or deletes an object it could not read."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures_project import Result
from fixtures_send import add_subscribers

from sphere.settings import load_settings
from sphere.subscribers.list import SETTLE_SECONDS, open_list

SLUG = "hard-sell-or-soft-sell"  # the seed issue, due 2026-12-01
STORE = Path(".sphere/store")

# How each kind of damage is made from an object's good bytes.
DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda data: b"",
    "truncated": lambda data: data[: len(data) // 2],
    "not UTF-8": lambda data: data[:8] + b"\xff\xfe" + data[10:],
}


def _damage(path: Path, kind: str) -> bytes:
    damaged = DAMAGE[kind](path.read_bytes())
    path.write_bytes(damaged)
    return damaged


def _one_error_line(result: Result, key: str) -> None:
    assert result.status == 1, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: ") and "Traceback" not in result.err
    assert f"{key}: damaged object (" in lines[0]
    assert "nothing was changed: restore it from a backup" in lines[0]


@pytest.fixture
def listed(project: Path, sphere: Callable[..., Result]) -> Path:
    """Three subscribers, one in the snapshot and two in change objects."""
    assert sphere("subscribers", "add", "ann@example.org").status == 0
    open_list(load_settings()).compact(settle=0)
    assert sphere("subscribers", "add", "bob@example.org").status == 0
    assert sphere("subscribers", "add", "cy@example.org").status == 0
    time.sleep(SETTLE_SECONDS)  # old enough for `subscribers compact` to read them
    return project / STORE


@pytest.mark.parametrize("kind", sorted(DAMAGE))
@pytest.mark.parametrize("what", ["change", "head", "shard"])
def test_a_damaged_list_object_stops_every_command_and_stays(
    listed: Path, sphere: Callable[..., Result], what: str, kind: str
) -> None:
    if what == "change":
        path = sorted((listed / "subscribers" / "changes").iterdir())[0]
    elif what == "head":
        path = listed / "subscribers" / "snapshot.json"
    else:
        path = next((listed / "subscribers" / "shards").glob("*-all.json"))
    damaged = _damage(path, kind)
    before = sorted(p.relative_to(listed) for p in listed.rglob("*") if p.is_file())
    key = path.relative_to(listed).as_posix()
    for command in (["subscribers", "count"], ["subscribers", "compact"],
                    ["subscribers", "add", "dee@example.org"]):  # fmt: skip
        _one_error_line(sphere(*command), key)
    assert path.read_bytes() == damaged  # left in place for a person to look at
    after = sorted(p.relative_to(listed) for p in listed.rglob("*") if p.is_file())
    assert after == before  # nothing folded away, nothing deleted


def test_a_damaged_id_index_is_named_too(listed: Path, sphere: Callable[..., Result]) -> None:
    path = next((listed / "subscribers" / "shards").glob("*-i.json"))
    damaged = _damage(path, "truncated")
    key = path.relative_to(listed).as_posix()
    for command in (["subscribers", "count"], ["subscribers", "compact"]):
        _one_error_line(sphere(*command), key)
    assert path.read_bytes() == damaged


def test_a_zero_byte_change_is_never_folded_away(
    listed: Path, sphere: Callable[..., Result]
) -> None:
    path = sorted((listed / "subscribers" / "changes").iterdir())[-1]  # cy's
    path.write_bytes(b"")
    _one_error_line(sphere("subscribers", "compact"), path.relative_to(listed).as_posix())
    assert path.exists() and path.read_bytes() == b""
    path.unlink()  # the operator moves it aside, as the message says: the rest carries on
    assert sphere("subscribers", "compact").status == 0
    assert sphere("subscribers", "count", "--json").out.count('"subscribed": 2') == 1


@pytest.fixture
def sent(project: Path, sphere: Callable[..., Result]) -> Path:
    add_subscribers(load_settings(), [(f"r{n}@example.org", "") for n in range(3)])
    assert sphere("send", SLUG, "--now").status == 0
    return project / STORE / "campaigns" / SLUG


@pytest.mark.parametrize("kind", sorted(DAMAGE))
@pytest.mark.parametrize("what", ["campaign.json", "recipients", "log", "lease.json"])
def test_a_damaged_ledger_object_stops_send_and_status_and_stays(
    sent: Path, sphere: Callable[..., Result], what: str, kind: str
) -> None:
    path = sorted((sent / what).iterdir())[0] if what in ("recipients", "log") else sent / what
    damaged = _damage(path, kind)
    key = path.relative_to(sent.parent.parent).as_posix()
    # `status` of a finished campaign reads its completion record, not the recipients or the
    # log: the commands that read an object are the ones that must name it.
    readers = [["send", SLUG, "--now"]]
    if what in ("campaign.json", "lease.json"):
        readers.append(["status", SLUG])
    for command in readers:
        _one_error_line(sphere(*command), key)
    assert path.read_bytes() == damaged
