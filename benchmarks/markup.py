"""In-process time per synthetic issue of the Markdown body and of its plain-text part.

    uv run python benchmarks/markup.py [--issues 200] [--rounds 5] [--where /dev/shm]

Times `MarkdownRenderer.render` and `html_to_text` over the same issues (~800 words each, see
_synthetic.py) and prints the best round's milliseconds per issue: the minimum, because on a
shared machine every other figure holds someone else's work too.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _synthetic import make_project

from sphere.content.issues import load_issues
from sphere.content.markup import MarkdownRenderer
from sphere.render.plaintext import html_to_text


def best(run: Callable[[], object], rounds: int) -> float:
    """The fastest of `rounds` runs of `run`, in seconds, after one to warm up."""
    run()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--where", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.where) as folder:
        make_project(Path(folder), args.issues)
        issues = load_issues(Path(folder) / "content")
        renderer = MarkdownRenderer(Path(folder) / "content")
        htmls = [renderer.render(issue).html for issue in issues]
        markdown = best(lambda: [renderer.render(issue) for issue in issues], args.rounds)
        text = best(lambda: [html_to_text(html) for html in htmls], args.rounds)
    print(f"markdown      {markdown / len(issues) * 1000:.3f} ms per issue")
    print(f"html_to_text  {text / len(issues) * 1000:.3f} ms per issue")


if __name__ == "__main__":
    main()
