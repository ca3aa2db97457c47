"""The content-only pull-request job, timed step by step from a fresh clone (issue 12's figure).

Run with `uv run python benchmarks/content_job.py [ROUNDS]`. Each round clones the committed
repository afresh and runs the `run` steps of ci.yml's `content` job as written there, timing
each: the job's own work, excluding the runner's start, the container pull and the apt step
(Chromium is taken from the machine; that step's time on GitHub is not measured here). `uv sync`
uses uv's download cache, as setup-uv's `enable-cache` does on GitHub. Min and median per step.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SKIP = {"Install Chromium and fonts"}  # apt: the machine has Chromium already


def steps() -> list[tuple[str, str]]:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text("utf-8"))
    job = workflow["jobs"]["content"]
    return [(s["name"], s["run"]) for s in job["steps"] if "run" in s and s["name"] not in SKIP]


def one_round(tmp: Path) -> dict[str, float]:
    clone = tmp / "clone"
    started = time.perf_counter()
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    times = {"git clone": time.perf_counter() - started}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "SPHERE_"))}
    env["GITHUB_STEP_SUMMARY"] = str(tmp / "summary.md")
    for name, script in steps():
        started = time.perf_counter()
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=clone, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        times[name] = time.perf_counter() - started
        if done.returncode:
            raise SystemExit(f"step {name!r} failed:\n{done.stdout}\n{done.stderr}")
    return times


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    results = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(one_round(Path(tmp)))
    print(f"ci.yml content job from a fresh clone ({rounds} rounds; seconds, min / median):")
    for name in results[0]:
        values = [result[name] for result in results]
        print(f"  {name:<16} {min(values):6.1f} / {statistics.median(values):6.1f}")
    totals = [sum(result.values()) for result in results]
    print(f"  {'total':<16} {min(totals):6.1f} / {statistics.median(totals):6.1f}")


if __name__ == "__main__":
    main()
