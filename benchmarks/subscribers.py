"""Subscriber figures: import 100,000 rows, then read the whole list; seconds and peak memory.

Run with `uv run python benchmarks/subscribers.py [ROWS]`. Each measurement runs in a fresh child
process, so its peak resident memory (ru_maxrss) is its own. The S3 case starts a moto server on
a loopback port (tests/fixtures_aws.py) and talks to it over HTTP, as it would to AWS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

CHILD = """
import json, resource, sys, time
from pathlib import Path
from sphere.subscribers.imports import import_file
from sphere.store.blobs import open_store
from sphere.subscribers.list import SubscriberList
what, url, csv = sys.argv[1:4]
subscribers = SubscriberList(open_store(url), key=lambda: b"benchmark")
start = time.perf_counter()
if what == "import":
    report = import_file(subscribers, Path(csv))
    count = report.added
elif what == "compact":
    count = subscribers.compact(settle=0).subscribers
else:
    count = len(subscribers.all())
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak, "count": count}))
"""


def measure(what: str, url: str, csv: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, what, url, str(csv)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    return dict(json.loads(out))


def run(label: str, url: str, csv: Path) -> None:
    for what in ("import", "read", "compact", "read"):
        name = {"read": "read (snapshot + changes)" if what == "read" else what}.get(what, what)
        result = measure(what, url, csv)
        print(
            f"{label:6} {name:28} {result['seconds']:6.2f} s  "
            f"peak {result['peak_mb']:6.1f} MB  ({int(result['count']):,} subscribers)"
        )
        if what == "compact":
            print(f"{label:6} {'(after compact: snapshot only)':28}")


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as folder:
        csv = Path(folder) / "list.csv"
        with csv.open("w", encoding="utf-8") as out:
            out.write("email,name\n")
            for n in range(rows):
                out.write(f"person.{n}@example{n % 500}.com,Person {n}\n")
        print(f"{rows:,} rows, {csv.stat().st_size / 2**20:.1f} MB CSV")
        run("local", str(Path(folder) / "store"), csv)

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
            run("s3", "s3://sphere-benchmark/newsletter", csv)


if __name__ == "__main__":
    main()
