"""Subscriber store figures, on a folder and on S3 (a moto server over HTTP, as AWS would be).

    uv run python benchmarks/subscribers.py [--rows 100000] [--import-rows 1000000]
                                            [--rounds 40] [--where local,s3]

For each store:

1. one address on a list of `--rows`, while another process compacts in a loop: `add` then
   `remove` of a new address, `--rounds` times, in one warm process (as the unsubscribe
   endpoint's Lambda runs it: start-up excluded); p50, p95, min and max in seconds; then the
   one-click POST's look-up of a subscriber by the token's id, `--rounds` times, likewise;
2. the whole `sphere subscribers add` command (start-up included), five times: min and median;
3. `erase` of one address on that list, with the compactor still running: seconds;
4. import of `--import-rows` rows into an empty store: wall seconds and peak memory (MB).

Every measurement runs in a child process, so its peak resident memory (ru_maxrss) is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

CHILD = """
import json, resource, sys, time
from pathlib import Path
from sphere.errors import PreconditionFailed
from sphere.store.blobs import open_store
from sphere.subscribers.imports import import_file
from sphere.subscribers.list import SubscriberList
what, url, arg = sys.argv[1:4]
subscribers = SubscriberList(open_store(url), key=lambda: b"benchmark")
result = {}
start = time.perf_counter()
if what == "import":
    result["count"] = import_file(subscribers, Path(arg)).added
elif what == "populate":
    import_file(subscribers, Path(arg))
    result["count"] = subscribers.compact(settle=0).subscribers
elif what == "ops":
    subscribers.lookup("warm-up@example.com")  # imports and connections, as a warm Lambda
    times = []
    for n in range(int(arg)):
        address = f"bench-{time.time_ns()}@example.com"
        for operation in (subscribers.add, subscribers.remove):
            began = time.perf_counter()
            operation(address)
            times.append(time.perf_counter() - began)
    result["times"] = times
elif what == "by-id":
    from sphere.subscribers.members import Members
    members = Members(subscribers)
    wanted = [subscribers.id_for(f"p{n}@ex{n % 500}.com") for n in range(0, 100_000, 997)]
    members.by_id(wanted[0])  # imports and connections, as a warm Lambda
    times = []
    for subscriber_id in wanted[1 : int(arg) + 1]:
        began = time.perf_counter()
        assert members.by_id(subscriber_id) is not None
        times.append(time.perf_counter() - began)
    result["times"] = times
elif what == "erase":
    result["found"] = subscribers.erase(arg).found
elif what == "compactor":
    while True:
        try:
            subscribers.compact(settle=0)
        except PreconditionFailed:
            pass
        time.sleep(0.2)
result["seconds"] = time.perf_counter() - start
result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
"""


def child(what: str, url: str, arg: str = "") -> dict[str, object]:
    """Run one measurement in a fresh process; its JSON result."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, what, url, arg],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    result: dict[str, object] = json.loads(out)
    return result


def write_csv(path: Path, rows: int) -> None:
    """A plain `email,name` file with `rows` distinct addresses."""
    with path.open("w", encoding="utf-8") as out:
        out.write("email\n")
        for n in range(rows):
            out.write(f"p{n}@ex{n % 500}.com\n")


def command(url: str) -> float:
    """Seconds for one whole `sphere subscribers add` (start-up included)."""
    env = {**os.environ, "SPHERE_STORE": url, "SPHERE_SECRET": "benchmark-secret-0123456789abcdef"}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "sphere", "subscribers", "add", f"cmd-{time.time_ns()}@example.com"],
        check=True,
        capture_output=True,
        cwd=ROOT,
        env=env,
    )
    return time.perf_counter() - start


def run(label: str, url: str, folder: Path, args: argparse.Namespace) -> None:
    """Every figure for one store."""
    csv = folder / "list.csv"
    write_csv(csv, args.rows)
    populated = child("populate", url, str(csv))
    print(f"{label:5} list of {populated['count']:,} subscribers ({populated['seconds']:.1f} s)")
    compactor = subprocess.Popen(
        [sys.executable, "-c", CHILD, "compactor", url, ""], cwd=ROOT, stdout=subprocess.DEVNULL
    )
    try:
        times = sorted(child("ops", url, str(args.rounds))["times"])  # type: ignore[type-var]
        p95 = times[int(0.95 * (len(times) - 1))]
        print(
            f"{label:5} add/remove one address, warm, compactor running: "
            f"p50 {statistics.median(times):.3f} s  p95 {p95:.3f} s  "
            f"min {times[0]:.3f} s  max {times[-1]:.3f} s  ({len(times)} operations)"
        )
        times = sorted(child("by-id", url, str(args.rounds))["times"])  # type: ignore[type-var]
        p95 = times[int(0.95 * (len(times) - 1))]
        print(
            f"{label:5} one-click look-up by id, warm, compactor running: "
            f"p50 {statistics.median(times):.3f} s  p95 {p95:.3f} s  "
            f"min {times[0]:.3f} s  max {times[-1]:.3f} s  ({len(times)} look-ups)"
        )
        commands = [command(url) for _ in range(5)]
        print(
            f"{label:5} `sphere subscribers add`, whole command: "
            f"min {min(commands):.2f} s  median {statistics.median(commands):.2f} s"
        )
        erased = child("erase", url, "p4242@ex242.com")
        print(
            f"{label:5} erase one address, compactor running: {erased['seconds']:.2f} s  "
            f"(found: {erased['found']})"
        )
    finally:
        compactor.kill()
        compactor.wait()
    big = folder / "big.csv"
    write_csv(big, args.import_rows)
    empty = f"{url.rstrip('/')}-import" if url.startswith("s3://") else str(folder / "empty")
    imported = child("import", empty, str(big))
    print(
        f"{label:5} import of {args.import_rows:,} rows ({big.stat().st_size / 2**20:.0f} MB): "
        f"{imported['seconds']:.1f} s, peak {imported['peak_mb']:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--import-rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--where", default="local,s3")
    args = parser.parse_args()
    where = args.where.split(",")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        if "local" in where:
            run("local", str(folder / "store"), folder, args)
        if "s3" in where:
            from fixtures_aws import AWS_TEST_ENV, moto_server

            with moto_server() as endpoint:
                os.environ.update(AWS_TEST_ENV, AWS_ENDPOINT_URL=endpoint)
                from sphere.store import aws

                aws.client("s3").create_bucket(
                    Bucket="sphere-benchmark",
                    CreateBucketConfiguration={
                        "LocationConstraint": AWS_TEST_ENV["AWS_DEFAULT_REGION"]
                    },
                )
                run("s3", "s3://sphere-benchmark/newsletter", folder, args)


if __name__ == "__main__":
    main()
