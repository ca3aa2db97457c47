"""What sanitising every body costs: the seed issue built with and without nh3.

    uv run python benchmarks/sanitise.py [--rounds 15]

Two figures, each for the body sanitised (as the build does) and not: the seed issue rendered
in-process (`Renderer.render`: Markdown, sanitiser, MJML, text), and a whole cold `build_all` of
the seed project (no cache) into a fresh folder. Rounds interleave the two variants, so that a
neighbour's load on a shared machine falls on both alike; the minimum and the median are
printed. "Without" swaps the module's `sanitise` for the identity in this process only: it is
how the build ran before issue 20, not a setting.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sphere.build.pipeline import build_all
from sphere.content import markup
from sphere.content.issues import load_issues
from sphere.render.email import Renderer
from sphere.settings import load_settings

REPO = Path(__file__).resolve().parent.parent
VARIANTS: dict[str, Callable[[str], str]] = {
    "sanitised": markup.sanitise,
    "unsanitised": lambda html: html,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for name in ("pyproject.toml", "content", "templates"):
            source = REPO / name
            if source.is_dir():
                shutil.copytree(source, root / name)
            else:
                shutil.copy(source, root / name)
        settings = load_settings(root)
        issue = load_issues(settings.content_dir)[0]
        renderer = Renderer(settings)
        render: dict[str, list[float]] = {name: [] for name in VARIANTS}
        build: dict[str, list[float]] = {name: [] for name in VARIANTS}
        for round_ in range(args.rounds + 1):  # the first round warms up, and is not counted
            for name, function in VARIANTS.items():
                markup.sanitise = function  # type: ignore[assignment]
                start = time.perf_counter()
                for _ in range(20):
                    renderer.render(issue)
                rendered = (time.perf_counter() - start) / 20
                out = root / f"dist-{name}-{round_}"
                start = time.perf_counter()
                build_all(settings, out=out, cache=False)
                built = time.perf_counter() - start
                shutil.rmtree(out)
                if round_:
                    render[name].append(rendered)
                    build[name].append(built)
        markup.sanitise = VARIANTS["sanitised"]  # type: ignore[assignment]
    for label, figures in (("render", render), ("build", build)):
        for name, times in figures.items():
            print(
                f"{label:6} {name:11}  min {min(times) * 1000:7.2f} ms"
                f"  median {statistics.median(times) * 1000:7.2f} ms  ({len(times)} rounds)"
            )


if __name__ == "__main__":
    main()
