"""Build 200 synthetic issues (~800 words each) with Sphere, and the same posts with Pelican.

    uv run --group bench python benchmarks/build.py [--issues 200] [--runs 3]

Prints milliseconds per issue for each stage of Sphere's build (Markdown, email HTML, text,
MIME template, archive), Sphere's whole build (in-process and as the `sphere build` command),
and Pelican's `pelican` command on the same posts. Both commands are timed the same way:
wall-clock of a fresh process, best of --runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _synthetic import make_project

PELICAN_CONF = """
AUTHOR = "Jim Wigg"
SITENAME = "Sphere"
SITEURL = ""
TIMEZONE = "Europe/London"
DEFAULT_LANG = "en"
PATH = "content"
FEED_ALL_ATOM = "feeds/all.atom.xml"
DEFAULT_PAGINATION = False
LOAD_CONTENT_CACHE = False
"""


def best_of(runs: int, action: Callable[[], object]) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def stage_times(project: Path) -> dict[str, float]:
    """Seconds spent in each stage for all issues, measured on the library directly."""
    from sphere.archive import write_archive
    from sphere.content.issues import load_issues
    from sphere.mail.message import MessageTemplate
    from sphere.render.email import RenderedIssue, Renderer
    from sphere.settings import load_settings

    settings = load_settings(project, env={})
    clock: dict[str, float] = dict.fromkeys(
        ["load", "markdown", "email html", "email text", "mime", "archive"], 0.0
    )

    def timed(stage: str, action: Callable[[], object]) -> object:
        start = time.perf_counter()
        result = action()
        clock[stage] += time.perf_counter() - start
        return result

    renderer = Renderer(settings)
    issues = timed("load", lambda: load_issues(settings.content_dir))
    rendered = []
    for issue in issues:  # type: ignore[attr-defined]
        body = timed("markdown", lambda issue=issue: renderer.markdown.render(issue))
        html = timed("email html", lambda issue=issue, body=body: renderer.email_html(issue, body))
        text = timed("email text", lambda issue=issue, body=body: renderer.email_text(issue, body))
        timed(
            "mime",
            lambda issue=issue, html=html, text=text: MessageTemplate.build(
                sender=settings.sender,
                reply_to=settings.reply_to,
                subject=issue.subject,
                list_id=settings.list_id,
                list_name=settings.name,
                text=text,
                html_body=html,
                language=settings.language,
            ),
        )
        rendered.append(RenderedIssue(issue, body, None, html, text))  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as site:
        timed(
            "archive", lambda: write_archive(settings, renderer.env, rendered, Path(site) / "site")
        )
    return clock


def pelican_project(project: Path, folder: Path) -> None:
    """The same posts as Pelican content (its Markdown reader and metadata header)."""
    content = folder / "content"
    content.mkdir(parents=True)
    for source in (project / "content" / "issues").glob("*.md"):
        front, body = source.read_text(encoding="utf-8").split("---\n", 2)[1:]
        meta = dict(line.split(": ", 1) for line in front.strip().splitlines())
        header = "\n".join(
            [f"Title: {meta['title'].strip(chr(34))}", f"Date: {meta['date']}",
             f"Summary: {meta['summary'].strip(chr(34))}", f"Slug: {source.stem}"]
        )  # fmt: skip
        (content / source.name).write_text(f"{header}\n\n{body}", encoding="utf-8")
    (folder / "pelicanconf.py").write_text(PELICAN_CONF, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--where", type=Path, default=None, help="folder to build in (default: the system's temp)"
    )
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(dir=args.where) as tmp:
        project = Path(tmp) / "sphere"
        issues = make_project(project, args.issues)
        words = statistics.mean(len(str(i["body"]).split()) for i in issues)
        print(f"{args.issues} issues, {words:.0f} words each on average\n")

        stages = stage_times(project)
        print("Sphere, by stage (ms per issue, one process):")
        for stage, seconds in stages.items():
            print(f"  {stage:<11} {seconds / args.issues * 1000:7.2f}")
        print(f"  {'total':<11} {sum(stages.values()) / args.issues * 1000:7.2f}\n")

        sphere_out = Path(tmp) / "dist"
        sphere = [str(bin_dir / "sphere"), "build", "--out", str(sphere_out)]
        pelican_dir = Path(tmp) / "pelican"
        pelican_project(project, pelican_dir)
        pelican = [
            str(bin_dir / "pelican"),
            "content",
            "-s",
            "pelicanconf.py",
            "-o",
            "output",
            "-q",
        ]
        if shutil.which(pelican[0]) is None:
            sys.exit("pelican not installed: run `uv run --group bench python benchmarks/build.py`")

        # As on a user's machine: Python may cache bytecode (some CI images forbid it).
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

        def run(command: list[str], cwd: Path, out: Path, *, cold: bool) -> None:
            if cold:  # no previous output, and no build cache either
                shutil.rmtree(out, ignore_errors=True)
                shutil.rmtree(cwd / ".sphere", ignore_errors=True)
            subprocess.run(command, cwd=cwd, check=True, capture_output=True, env=env)

        results = {}
        for label, cold in (
            ("cold (no previous output)", True),
            ("rebuild (nothing changed)", False),
        ):
            results[label] = (
                best_of(args.runs, lambda cold=cold: run(sphere, project, sphere_out, cold=cold)),
                best_of(
                    args.runs,
                    lambda cold=cold: run(pelican, pelican_dir, pelican_dir / "output", cold=cold),
                ),
            )
        pages = len(list((pelican_dir / "output").rglob("*.html")))
        print(f"Whole commands, best (median) of {args.runs}, seconds:")
        print(f"  {'':<27} {'sphere build':>14} {'pelican':>14}   ratio (target <= 0.50)")
        for label, ((s_best, s_median), (p_best, p_median)) in results.items():
            print(
                f"  {label:<27} {s_best:6.2f} ({s_median:4.2f}) {p_best:6.2f} ({p_median:4.2f})"
                f"   {s_best / p_best:.2f}"
            )
        print(f"\n(sphere writes {args.issues} emails as .html, .txt and .eml plus the archive;")
        print(f" pelican writes the archive alone: {pages} pages)")


if __name__ == "__main__":
    main()
