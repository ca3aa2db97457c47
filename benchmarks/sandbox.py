"""What Jinja's sandbox costs: the seed issue's email rendered by the theme's sandboxed
environment and by a plain one with the same options, interleaved round by round.

    uv run python benchmarks/sandbox.py [--rounds 15] [--renders 200]

Prints milliseconds per email (HTML and text templates, MJML excluded), min and median.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import jinja2
from markupsafe import Markup

from sphere.content.issues import load_issue
from sphere.render.email import EMAIL_TEMPLATE, TEXT_TEMPLATE, Renderer
from sphere.render.environment import FILTERS, THEME_OPTIONS
from sphere.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "content/issues/2026-12-01-hard-sell-or-soft-sell.md"


def plain_environment(templates: Path) -> jinja2.Environment:
    env = jinja2.Environment(  # noqa: S701 (THEME_OPTIONS autoescapes; unsandboxed on purpose)
        loader=jinja2.FileSystemLoader(templates),
        undefined=jinja2.StrictUndefined,
        **THEME_OPTIONS,
    )
    env.filters.update(FILTERS)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--renders", type=int, default=200)
    args = parser.parse_args()
    settings = load_settings(ROOT, env={})
    renderer = Renderer(settings)
    issue = load_issue(SEED)
    body = renderer.markdown.render(issue)
    context = renderer.context(issue)
    html_body = Markup(body.html)  # noqa: S704 (Python-Markdown's output)
    environments = {
        "sandboxed": renderer.env,
        "plain": plain_environment(settings.templates_dir),
    }
    templates = {
        name: (env.get_template(EMAIL_TEMPLATE), env.get_template(TEXT_TEMPLATE))
        for name, env in environments.items()
    }
    times: dict[str, list[float]] = {name: [] for name in environments}
    for _ in range(args.rounds):
        for name, (email, text) in templates.items():  # interleaved, round by round
            start = time.perf_counter()
            for _ in range(args.renders):
                email.render(body=html_body, **context)
                text.render(body=body.html, references=[], **context)
            times[name].append((time.perf_counter() - start) / args.renders * 1000)
    for name, samples in times.items():
        print(f"{name:<10} min {min(samples):.3f} ms  median {statistics.median(samples):.3f} ms")


if __name__ == "__main__":
    main()
