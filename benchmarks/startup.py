"""How long `sphere --help` takes, as a user runs it (a fresh process each time).

    uv run python benchmarks/startup.py [--runs 20]

Prints the best and median wall-clock time, and whether any heavy module (boto3, Markdown,
MJML, Jinja2, Playwright) was imported at start-up. Target: under 0.15 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

HEAVY = ("boto3", "botocore", "markdown", "mjml", "jinja2", "playwright", "yaml")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    sphere = str(Path(sys.executable).parent / "sphere")
    subprocess.run([sphere, "--help"], check=True, capture_output=True)  # warm the file cache
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run([sphere, "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    probe = f"import sys, sphere.cli; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    heavy = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    print(f"sphere --help: best {min(times):.3f} s, median {statistics.median(times):.3f} s "
          f"over {args.runs} runs (target < 0.15 s)")  # fmt: skip
    print(f"heavy modules imported at start-up: {heavy.stdout.strip() or 'none'}")


if __name__ == "__main__":
    main()
