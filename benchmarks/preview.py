"""How long from saving an issue to seeing the change in `sphere preview`'s page.

Starts the preview server on a temporary copy of this project, opens its page in headless
Chromium, then N times writes a new sentence into the issue's Markdown and measures the
milliseconds until the desktop view shows it (polled in the page on every animation frame).
Reports the median and the 90th percentile; the target is a median under 300 ms.

    uv run python benchmarks/preview.py [--runs 20] [--poll-ms 50]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sphere.preview import serve_preview
from sphere.screenshots import open_browser
from sphere.settings import load_settings

REPO = Path(__file__).resolve().parent.parent
ISSUE = "content/issues/2026-12-01-hard-sell-or-soft-sell.md"
SENTENCE = "Right now I’m doing a lot of work with sales teams"
TARGET_MS = 300
SHOWN = """token => {
  const frame = document.querySelector('iframe[data-view=desktop]');
  const body = frame && frame.contentDocument && frame.contentDocument.body;
  return Boolean(body && body.textContent.includes(token));
}"""


def copy_project(folder: Path) -> Path:
    shutil.copy(REPO / "pyproject.toml", folder / "pyproject.toml")
    for name in ("content", "templates"):
        shutil.copytree(REPO / name, folder / name)
    return folder


def measure(runs: int, poll_ms: float) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="sphere-bench-preview-") as tmp:
        root = copy_project(Path(tmp))
        issue = root / ISSUE
        original = issue.read_text(encoding="utf-8")
        server = serve_preview(load_settings(root), "127.0.0.1", 0, poll_seconds=poll_ms / 1000)
        try:
            with open_browser() as browser:
                context = browser.new_context(viewport={"width": 1500, "height": 900})
                page = context.new_page()
                page.goto(server.url)
                page.wait_for_function(SHOWN, arg=SENTENCE, polling="raf")
                timings = []
                for run in range(runs):
                    token = f"Benchmark sentence number {run} at {time.time_ns()}"
                    started = time.perf_counter()
                    issue.write_text(original.replace(SENTENCE, token, 1), encoding="utf-8")
                    page.wait_for_function(SHOWN, arg=token, polling="raf", timeout=10_000)
                    timings.append((time.perf_counter() - started) * 1000)
                    time.sleep(0.1)  # let the page settle, as between two saves by hand
                context.close()
        finally:
            server.stop()
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--poll-ms", type=float, default=50, help="the watcher's polling interval")
    args = parser.parse_args()
    timings = measure(args.runs, args.poll_ms)
    median = statistics.median(timings)
    p90 = statistics.quantiles(timings, n=10, method="inclusive")[-1]
    print(f"save to visible in the preview page, {len(timings)} saves:")
    low, high = min(timings), max(timings)
    print(f"  median {median:.0f} ms, p90 {p90:.0f} ms, min {low:.0f} ms, max {high:.0f} ms")
    print(f"  target: median under {TARGET_MS} ms: {'met' if median < TARGET_MS else 'NOT met'}")
    return 0 if median < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
