"""A slow disk for the local store, at a chosen moment or on every write: the local
counterpart of tests/fault_proxy.py (used by the fault tests and benchmarks/store_faults.py).

`Paused` holds the next put or delete of a matching key until the test lets it go; `Slow`
makes every put and delete take longer. Everything else goes straight to the real LocalStore.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from sphere.store.blobs import Blob
from sphere.store.local import LocalStore


class Paused:
    """A local store whose next put (or delete) of a matching key waits until released: a
    slow disk at a chosen moment. Everything else goes straight to the real LocalStore."""

    def __init__(self, store: LocalStore):
        self.store = store
        self.url = store.url
        self._rules: list[tuple[str, str, threading.Event, threading.Event]] = []

    def pause(self, method: str, key: str) -> tuple[threading.Event, threading.Event]:
        """Hold the next `method` ("put" or "delete") of a key matching `key`: returns (reached,
        release)."""
        reached, release = threading.Event(), threading.Event()
        self._rules.append((method, key, reached, release))
        return reached, release

    def _wait(self, method: str, key: str) -> None:
        for rule in list(self._rules):
            if rule[0] == method and re.search(rule[1], key):
                self._rules.remove(rule)
                rule[2].set()
                rule[3].wait(30)
                return

    def put(self, key: str, data: bytes, **conditions: Any) -> str:
        self._wait("put", key)
        return self.store.put(key, data, **conditions)

    def delete(self, key: str) -> None:
        self._wait("delete", key)
        self.store.delete(key)

    def get(self, key: str) -> Blob | None:
        return self.store.get(key)

    def list(self, prefix: str = "") -> list[str]:
        return self.store.list(prefix)

    def exposure(self) -> str | None:
        return self.store.exposure()

    def sweep(self, **options: Any) -> int:
        return self.store.sweep(**options)


class Slow(Paused):
    """Every put and delete takes `seconds` longer: a slow disk."""

    def __init__(self, store: LocalStore, seconds: float):
        super().__init__(store)
        self.seconds = seconds

    def put(self, key: str, data: bytes, **conditions: Any) -> str:
        time.sleep(self.seconds)
        return super().put(key, data, **conditions)

    def delete(self, key: str) -> None:
        time.sleep(self.seconds)
        super().delete(key)
