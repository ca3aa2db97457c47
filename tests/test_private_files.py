"""What Sphere keeps on this machine about people is owner-only: the outbox's `.eml` files
(addresses, working unsubscribe links) and the build cache, files 0600 in 0700 folders, as the
local store already is. The umask is set to the common 022, under which a plain write is 0644.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fixtures_project import Result

from sphere.send.transports import OutboxTransport


@pytest.fixture(autouse=True)
def common_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def modes(folder: Path) -> dict[str, str]:
    """Every path under `folder` (itself included) with its permission bits, as ls shows them."""
    found = {".": stat.filemode(folder.stat().st_mode)}
    for path in folder.rglob("*"):
        found[path.relative_to(folder).as_posix()] = stat.filemode(path.stat().st_mode)
    return found


def test_the_outbox_keeps_each_message_owner_only(tmp_path: Path) -> None:
    transport = OutboxTransport(tmp_path / ".sphere" / "outbox")
    transport.check()
    transport.send(sender="n@example.org", to="reader@example.org", message=b"To: reader\r\n\r\nhi")

    found = modes(tmp_path / ".sphere")
    assert len(found) == 3, found  # .sphere, outbox and the one message
    assert {mode for path, mode in found.items() if path.endswith(".eml")} == {"-rw-------"}
    assert {mode for path, mode in found.items() if not path.endswith(".eml")} == {"drwx------"}


def test_an_outbox_an_older_sphere_left_open_is_closed(tmp_path: Path) -> None:
    folder = tmp_path / "outbox"
    folder.mkdir(mode=0o755)
    OutboxTransport(folder).check()
    assert stat.filemode(folder.stat().st_mode) == "drwx------"


def test_the_build_cache_is_owner_only(project: Path, sphere: Callable[..., Result]) -> None:
    assert sphere("build").status == 0

    found = modes(project / ".sphere")
    assert any(path.startswith("cache/pack-") for path in found), found
    assert any(path == "cache/build.json" for path in found), found
    opened = {
        path: mode for path, mode in found.items() if mode not in ("-rw-------", "drwx------")
    }
    assert opened == {}
