"""Does the subscribe form's answer time tell who is subscribed? (docs/endpoints.md)

Run with `uv run python benchmarks/subscribe_timing.py [PAIRS] [ROUNDS]` (defaults 20 and 3).

Each round: a fresh project with a local store holding PAIRS subscribed readers, `sphere
serve` on loopback in its own process, then PAIRS pairs of subscribe POSTs, one for a
subscribed address and one for a new address, their order alternating pair by pair. Each
time is from sending the POST to having read the whole answer (what a visitor, or a script
probing the list, can measure); the next request waits until the server has closed the
connection, so no work of one request overlaps the next one's answer.

Printed: per kind, the min and median over all rounds of the answer time, and in how many
pairs the new address's answer was the slower one (about half when the time says nothing).
"""

from __future__ import annotations

import http.client
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


def project(folder: Path) -> Path:
    shutil.copy(ROOT / "pyproject.toml", folder / "pyproject.toml")
    shutil.copytree(ROOT / "templates", folder / "templates")
    return folder


def subscribe(port: int, address: str) -> float:
    """Seconds from sending the POST to the whole answer; returns once the server closed."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        started = time.perf_counter()
        connection.request("POST", "/subscribe", urlencode({"email": address}), HEADERS)
        if connection.sock is None:
            raise RuntimeError("no connection")
        closed = connection.sock.dup()
        response = connection.getresponse()
        response.read()
        took = time.perf_counter() - started
        closed.settimeout(60)
        with closed:
            while closed.recv(4096):
                pass
        return took
    finally:
        connection.close()


def one_round(pairs: int, round_number: int) -> tuple[list[float], list[float]]:
    from fixtures_send import add_subscribers
    from fixtures_web import free_port, serve_env, start_serve

    from sphere.settings import load_settings

    with tempfile.TemporaryDirectory() as folder:
        root = project(Path(folder))
        port = free_port()
        env = serve_env(root, port)
        known = [f"reader{n}@example.org" for n in range(pairs)]
        add_subscribers(load_settings(root, env), [(address, "") for address in known])
        process = start_serve(root, env, port, root / "serve.log")
        try:
            old, new = [], []
            for n in range(pairs):
                fresh = f"new{round_number}-{n}@example.org"
                if n % 2:
                    new.append(subscribe(port, fresh))
                    old.append(subscribe(port, known[n]))
                else:
                    old.append(subscribe(port, known[n]))
                    new.append(subscribe(port, fresh))
        finally:
            process.terminate()
            process.wait(timeout=10)
        return old, new


def main() -> None:
    pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    old: list[float] = []
    new: list[float] = []
    for number in range(rounds):
        known, fresh = one_round(pairs, number)
        old += known
        new += fresh
    slower = sum(b > a for a, b in zip(old, new, strict=True))
    print(f"{pairs} pairs x {rounds} rounds, sphere serve on a local store")
    print(f"subscribed address: {_ms(old)}")
    print(f"new address:        {_ms(new)}")
    print(f"the new address's answer was the slower in {slower} of {len(old)} pairs")


def _ms(values: list[float]) -> str:
    return f"min {min(values) * 1000:.1f} ms, median {statistics.median(values) * 1000:.1f} ms"


if __name__ == "__main__":
    main()
