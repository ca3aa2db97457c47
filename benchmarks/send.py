"""What sending costs Sphere itself: per recipient through a null transport, and a large dry run.

    uv run python benchmarks/send.py [--recipients 20000] [--dry-run-recipients 100000] [--rounds 3]

1. The campaign loop, ledger and all, on one worker thread through a transport that accepts
   every message and keeps none: per recipient, the signed token, the personalised message
   built and serialised, the ledger's attempt and outcome records (a local store, fsynced),
   and the subscriber list read before each batch. Reported in µs per recipient and messages
   per second (target: 5,000/s, so that SES's rate, never Sphere, is the limit). The same
   messages built without the campaign around them are timed in the same rounds, interleaved,
   to show what the loop and the ledger add.
2. `sphere send ISSUE --dry-run` on a list of 100,000 in a fresh process: wall time and peak
   memory (targets: under 30 s and 300 MB).

Each figure is the best (min, or max for a rate) and the median of the rounds.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from fixtures_send import add_subscribers  # noqa: E402

from sphere.content.issues import load_issues  # noqa: E402
from sphere.mail.personalise import Personaliser  # noqa: E402
from sphere.send import seams  # noqa: E402
from sphere.send.campaign import Campaign, SendOptions  # noqa: E402
from sphere.send.run import render_issue  # noqa: E402
from sphere.send.transports import NullTransport  # noqa: E402
from sphere.settings import Settings, load_settings  # noqa: E402
from sphere.subscribers.list import open_list  # noqa: E402

_MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def _project(folder: Path, recipients: int) -> Settings:
    """A copy of this newsletter with `recipients` subscribers in its local store."""
    shutil.copy(REPO / "pyproject.toml", folder / "pyproject.toml")
    for name in ("content", "templates"):
        shutil.copytree(REPO / name, folder / name)
    settings = load_settings(folder, env={"SPHERE_SECRET": "benchmark-secret-0123456789abcdef"})
    people = [(f"reader{n:06d}@example.org", f"Reader {n}") for n in range(recipients)]
    add_subscribers(settings, people)
    open_list(settings).compact(settle=0)  # a list in use is a snapshot plus a few changes
    return settings


def _campaign_round(settings: Settings, slug: str, round_: int) -> tuple[float, int]:
    issue = next(i for i in load_issues(settings.content_dir) if i.slug == slug)
    transport = NullTransport()
    campaign = Campaign(
        store=seams.open_store(settings),
        slug=f"{slug}-round-{round_}",  # a fresh ledger each round
        subject=issue.subject,
        template=render_issue(settings, issue),
        personaliser=Personaliser.from_settings(settings),
        transport=transport,
        sender=settings.sender_address,
        people=lambda: seams.people(settings),
        options=SendOptions(concurrency=1),
    )
    start = time.perf_counter()
    report = campaign.run()
    elapsed = time.perf_counter() - start
    if report.sent != transport.sent or report.stopped:
        raise SystemExit(f"the benchmark's send went wrong: {report}")
    return elapsed, report.sent


def _build_round(settings: Settings, slug: str) -> tuple[float, int]:
    issue = next(i for i in load_issues(settings.content_dir) if i.slug == slug)
    template = render_issue(settings, issue)
    personaliser = Personaliser.from_settings(settings)
    people = [p for p in seams.people(settings).values() if p.status == "subscribed"]
    start = time.perf_counter()
    for person in people:
        template.render(
            personaliser.recipient(subscriber_id=person.id, address=person.email, name=person.name)
        )
    return time.perf_counter() - start, len(people)


def _dry_run_round(folder: Path, slug: str) -> tuple[float, float]:
    sphere = str(Path(sys.executable).parent / "sphere")
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, sphere, "--root", str(folder), "send", slug, "--dry-run"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    seconds, kilobytes = done.stdout.split()
    return float(seconds), int(kilobytes) / 1024


def _report(label: str, values: list[float], unit: str, *, higher_is_better: bool = False) -> None:
    best, word = (max(values), "max") if higher_is_better else (min(values), "min")
    median = statistics.median(values)
    print(f"{label:<44} {word} {best:10.1f} {unit}   median {median:10.1f} {unit}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--dry-run-recipients", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as small, tempfile.TemporaryDirectory() as large:
        settings = _project(Path(small), args.recipients)
        slug = load_issues(settings.content_dir)[0].slug
        _project(Path(large), args.dry_run_recipients)
        loop_us, build_us, rates, walls, peaks = [], [], [], [], []
        for round_ in range(args.rounds):  # interleaved: the same load on the machine for each
            seconds, count = _campaign_round(settings, slug, round_)
            loop_us.append(seconds / count * 1e6)
            rates.append(count / seconds)
            seconds, count = _build_round(settings, slug)
            build_us.append(seconds / count * 1e6)
            wall, peak = _dry_run_round(Path(large), slug)
            walls.append(wall)
            peaks.append(peak)
    print(f"{args.recipients:,} recipients, null transport, one worker; {args.rounds} rounds")
    _report("campaign loop incl. ledger: per recipient", loop_us, "µs")
    _report("campaign loop incl. ledger: messages/s", rates, "/s", higher_is_better=True)
    _report("token + message alone: per recipient", build_us, "µs")
    print(f"sphere send --dry-run, {args.dry_run_recipients:,} recipients, fresh process")
    _report("wall time", walls, "s")
    _report("peak memory (max RSS)", peaks, "MB")


if __name__ == "__main__":
    main()
