"""Endpoint figures: one-click unsubscribes per second against `sphere serve`, and how long
from the POST until `sphere subscribers list` shows the reader unsubscribed.

Run with `uv run python benchmarks/web.py [SUBSCRIBERS] [ROUNDS]` (defaults 1000 and 3).

Each round, for each store (a local folder, then S3 on a moto server on loopback, interleaved
round by round): a fresh list of SUBSCRIBERS people, compacted into a snapshot as a deployed
list would be; `sphere serve` started on it in its own process; then

- latency: 20 one-click POSTs (body `List-Unsubscribe=One-Click`, as Gmail sends it), one at a
  time: the time from sending the POST until the subscriber list, read as `sphere subscribers
  list` reads it (SubscriberList.all), shows the reader unsubscribed (median of the 20);
- throughput: 200 more from 8 client threads, each for a different reader;
- latency again, now that 220 change objects wait to be compacted.

Min and median (of the per-round figures) over the rounds are printed. The figures include a
full read of the list per request: the endpoint finds a token's subscriber by reading the list
(see docs/endpoints.md).
"""

from __future__ import annotations

import http.client
import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

POSTS, CLIENTS, LATENCY_SAMPLES = 200, 8, 20
ONE_CLICK = b"List-Unsubscribe=One-Click"
HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


def project(folder: Path) -> Path:
    for name in ("pyproject.toml",):
        shutil.copy(ROOT / name, folder / name)
    shutil.copytree(ROOT / "templates", folder / "templates")
    return folder


def post(port: int, token: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", f"/unsubscribe?t={quote(token, safe='')}", ONE_CLICK, HEADERS)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def unsubscribe_and_wait(port: int, token: str, email: str, people: Any) -> float:
    """Seconds from sending the one-click POST until the list shows `email` unsubscribed."""
    start = time.perf_counter()
    if post(port, token) != 200:
        raise SystemExit("the one-click POST failed: see serve.log")
    while {r.email: r.status for r in people.all()}[email] != "unsubscribed":
        pass
    return time.perf_counter() - start


def one_round(store: str, size: int) -> tuple[float, float, float]:
    """Requests per second, and the median seconds from POST to visible on the freshly
    compacted list and after the burst of POSTs (each leaves a change object to read)."""
    from fixtures_web import free_port, serve_env, start_serve

    from sphere.mail.personalise import tokens_for
    from sphere.settings import load_settings
    from sphere.subscribers.events import creation_event
    from sphere.subscribers.list import open_list

    with tempfile.TemporaryDirectory() as folder:
        root = project(Path(folder))
        port = free_port()
        env = serve_env(root, port, SPHERE_STORE=store)
        settings = load_settings(root, env)
        people = open_list(settings)
        now = people.now()
        consent = (now, "cli", "benchmark")
        events = [
            creation_event(
                "add", a, id=people.id_for(a), at=now, status="subscribed", consent=consent
            )
            for a in (f"reader{n}@example.org" for n in range(size))
        ]
        people.append(events)
        people.compact(settle=0)
        tokens = tokens_for(settings)
        token = [tokens.unsubscribe(event["id"]) for event in events]
        emails = [event["email"] for event in events]
        process = start_serve(root, env, port, root / "serve.log")
        try:
            fresh = [
                unsubscribe_and_wait(port, token[n], emails[n], people)
                for n in range(LATENCY_SAMPLES)
            ]
            burst = token[LATENCY_SAMPLES : LATENCY_SAMPLES + POSTS]
            start = time.perf_counter()
            with ThreadPoolExecutor(CLIENTS) as pool:
                statuses = set(pool.map(lambda t: post(port, t), burst))
            rate = len(burst) / (time.perf_counter() - start)
            if statuses != {200}:
                raise SystemExit(f"some one-click POSTs failed ({statuses}): see serve.log")
            after = [
                unsubscribe_and_wait(port, token[n], emails[n], people)
                for n in range(LATENCY_SAMPLES + POSTS, 2 * LATENCY_SAMPLES + POSTS)
            ]
        finally:
            process.terminate()
            process.wait(timeout=10)
        return rate, statistics.median(fresh), statistics.median(after)


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    from fixtures_aws import AWS_TEST_ENV, moto_server

    with moto_server() as endpoint:
        os.environ.update(AWS_TEST_ENV, AWS_ENDPOINT_URL=endpoint)
        from sphere.store import aws

        aws.client("s3").create_bucket(
            Bucket="sphere-web-benchmark",
            CreateBucketConfiguration={"LocationConstraint": AWS_TEST_ENV["AWS_DEFAULT_REGION"]},
        )
        results: dict[str, list[tuple[float, float, float]]] = {"local": [], "s3": []}
        for number in range(rounds):
            for label in results:  # interleaved, round by round
                with tempfile.TemporaryDirectory() as folder:
                    store = (
                        str(Path(folder) / "store")
                        if label == "local"
                        else f"s3://sphere-web-benchmark/round{number}"
                    )
                    results[label].append(one_round(store, size))
        print(
            f"{size:,} subscribers, {POSTS} one-click POSTs from {CLIENTS} clients, "
            f"{LATENCY_SAMPLES} latency samples, {rounds} rounds"
        )
        for label, rows in results.items():
            rates, fresh, after = (list(column) for column in zip(*rows, strict=True))
            print(
                f"{label:6} one-click POSTs/s: min {min(rates):6.1f} median "
                f"{statistics.median(rates):6.1f} | POST until listed, compacted list: "
                f"{_ms(fresh)} | after the burst: {_ms(after)}"
            )


def _ms(values: list[float]) -> str:
    return f"min {min(values) * 1000:5.0f} ms median {statistics.median(values) * 1000:5.0f} ms"


if __name__ == "__main__":
    main()
