"""How long `sphere check` (without --links) takes on 200 issues of ~800 words.

Run: `uv run python benchmarks/check.py [--issues 200] [--runs 5]`. It copies the project's
pyproject, content and templates into a temporary folder, adds synthetic issues (headings,
links, a list, a blockquote), and times the whole command in a fresh process each run: start-up,
settings, every issue and the templates. Target: under 2 s.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_VOCABULARY = """sales prospect question meeting homework research pipeline manager coaching
team message value customer conversation forecast quarter territory account buyer decision
budget champion objection proposal renewal discount margin quota playbook cadence referral"""
WORDS = _VOCABULARY.split()


def sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def paragraph(rng: random.Random, words: int) -> str:
    out, left = [], words
    while left > 0:
        n = min(left, rng.randint(8, 18))
        out.append(sentence(rng, n))
        left -= n
    return " ".join(out)


def synthetic_issue(rng: random.Random, number: int) -> str:
    """About 800 words: four sections with prose, a link or two, a list and a quote."""
    parts = []
    for section in range(1, 5):
        parts.append(f"## Part {section}: {sentence(rng, 4)[:-1]}")
        parts.append(
            paragraph(rng, 70)
            + f" See [the {rng.choice(WORDS)} notes](https://www.jimwigg.com/notes/{number}-{section})."
        )
        parts.append("\n".join(f"- {sentence(rng, 7)}" for _ in range(4)))
        parts.append("> " + paragraph(rng, 30))
        parts.append(paragraph(rng, 70))
    body = "\n\n".join(parts)
    return (
        "---\n"
        f'title: "Synthetic issue {number}"\n'
        f"date: 2027-{number % 12 + 1:02}-01\n"
        f'summary: "A synthetic issue for the check benchmark, number {number}."\n'
        "status: ready\n"
        "---\n\n"
        f"{body}\n"
    )


def make_project(folder: Path, issues: int) -> None:
    shutil.copy(REPO / "pyproject.toml", folder / "pyproject.toml")
    for name in ("content", "templates"):
        shutil.copytree(REPO / name, folder / name)
    rng = random.Random(2026)
    for number in range(issues):
        path = folder / "content" / "issues" / f"2027-01-01-synthetic-{number:03}.md"
        path.write_text(synthetic_issue(rng, number), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sphere-bench-check-") as tmp:
        root = Path(tmp)
        make_project(root, args.issues)
        words = len((root / "content/issues/2027-01-01-synthetic-000.md").read_text().split())
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
        print(f"sphere check: {args.issues + 1} issues of ~{words} words, {args.runs} runs")
        print(f"  {result.stderr.strip()}")
        print(f"  best {min(times):.2f} s, median {statistics.median(times):.2f} s (target < 2 s)")
        print(f"  CPU time (all processes): median {statistics.median(cpu):.2f} s")


if __name__ == "__main__":
    main()
