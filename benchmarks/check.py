"""How long `sphere check` (without --links) takes on 200 issues of ~800 words.

Run: `uv run python benchmarks/check.py [--issues 200] [--runs 5]`. It copies the project's
pyproject, content and templates into a temporary folder, adds synthetic issues (headings,
links, a list, a blockquote), and times the whole command in a fresh process each run: start-up,
settings, every issue and the templates. Target: under 2 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _synthetic import make_project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sphere-bench-check-") as tmp:
        root = Path(tmp)
        # Dated from next year on, so no issue is a "ready issue with a date far in the past".
        issues = make_project(root, args.issues, start=dt.date.today() + dt.timedelta(days=365))
        words = round(statistics.mean(len(str(i["body"]).split()) for i in issues))
        command = [sys.executable, "-m", "sphere", "--root", str(root), "check"]
        times, cpu = [], []
        for _ in range(args.runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            result = subprocess.run(command, capture_output=True, text=True, cwd=root, check=False)
            times.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            if result.returncode != 0:
                sys.exit(f"sphere check failed:\n{result.stdout}{result.stderr}")
        print(f"sphere check: {args.issues} issues of ~{words} words, {args.runs} runs")
        print(f"  {result.stderr.strip()}")
        print(f"  best {min(times):.2f} s, median {statistics.median(times):.2f} s (target < 2 s)")
        print(f"  CPU time (all processes): median {statistics.median(cpu):.2f} s")


if __name__ == "__main__":
    main()
