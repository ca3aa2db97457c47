"""What `sphere report` costs on a large list: 100,000 subscribers and 20 issues sent.

    uv run python benchmarks/report.py [--people 100000] [--issues 20] [--rounds 5]

The store is a local folder: the list (compacted, as a list in use is) with 40 months of
history, a share of it unsubscribed, bounced or complained since (tests/fixtures_report.py),
and 20 finished campaigns of about 90,000 recipients each, with their feedback as sync and the
endpoint write it (deliveries, bounces, complaints, unsubscribes by subscriber id). Each round
times, interleaved:

1. `write_report` in this process (the page and the Markdown written, folder swapped in);
2. `sphere report --out DIR` in a fresh process: what CI pays, start-up included.

Target: under 2 s for the command. Each figure is the min and the median of the rounds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from fixtures_report import make_issue, make_list  # noqa: E402

from sphere.report import write_report  # noqa: E402
from sphere.settings import Settings, load_settings  # noqa: E402
from sphere.store.blobs import open_store  # noqa: E402
from sphere.subscribers.list import open_list  # noqa: E402

TODAY = "2026-12-01"


def _project(folder: Path, people: int, issues: int) -> Settings:
    shutil.copy(REPO / "pyproject.toml", folder / "pyproject.toml")
    for name in ("content", "templates"):
        shutil.copytree(REPO / name, folder / name)
    env = {"SPHERE_STORE": str(folder / "store"), "SPHERE_TODAY": TODAY}
    settings = load_settings(folder, env=env)
    subscribers = open_list(settings)
    ids = list(make_list(subscribers, people=people, months=40, today=settings.today()).values())
    subscribers.compact(settle=0)
    store = open_store(settings)
    start = dt.datetime(2026, 12, 1, 6, tzinfo=dt.UTC)
    for n in range(issues):
        sent = start - dt.timedelta(days=61 * (issues - n))
        make_issue(store, f"issue-{n:02d}", ids[: len(ids) * (80 + n) // 100], sent=sent, seed=n)
    return settings


def _command(folder: Path, out: Path) -> float:
    sphere = str(Path(sys.executable).parent / "sphere")
    env = {"SPHERE_STORE": str(folder / "store"), "SPHERE_TODAY": TODAY, "PATH": "/usr/bin:/bin"}
    start = time.perf_counter()
    subprocess.run(
        [sphere, "--root", str(folder), "report", "--out", str(out)],
        check=True, stdout=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    return time.perf_counter() - start


def _show(label: str, values: list[float]) -> None:
    print(f"{label:<46} min {min(values):6.2f} s   median {statistics.median(values):6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--issues", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        made = time.perf_counter()
        settings = _project(folder, args.people, args.issues)
        print(f"store of {args.people:,} people and {args.issues} issues made in "
              f"{time.perf_counter() - made:.0f} s")  # fmt: skip
        library, command = [], []
        for _ in range(args.rounds):
            start = time.perf_counter()
            data = write_report(settings, folder / "report-lib")
            library.append(time.perf_counter() - start)
            command.append(_command(folder, folder / "report-cli"))
        if len(data.issues) != args.issues:
            raise SystemExit(f"the report found {len(data.issues)} issues, not {args.issues}")
        size = (folder / "report-cli" / "index.html").stat().st_size
        print(f"{len(data.issues)} issues, {data.history.now('subscribed'):,} subscribed, "
              f"{len(data.history.months)} months; page {size / 1024:.0f} KB")  # fmt: skip
        _show("write_report (in process)", library)
        _show("sphere report --out DIR (fresh process)", command)


if __name__ == "__main__":
    main()
