"""Synthetic issues for benchmarks: ~800 words each, with what a real issue has."""

from __future__ import annotations

import datetime as dt
import random
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORDS = (  # noqa: SIM905 (a sentence is easier to edit than a list)
    "sales manager team prospect pipeline forecast coaching conversation customer quota "
    "territory account meeting question insight value process execution review deal stage "
    "objection referral discipline habit performance behaviour feedback target market the a "
    "of to and in that is for with on it as they we our their this be have not but about"
).split()


def sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def paragraph(rng: random.Random, words: int) -> str:
    sentences, left = [], words
    while left > 0:
        n = min(left, rng.randint(8, 18))
        sentences.append(sentence(rng, n))
        left -= n
    return " ".join(sentences)


def issue_body(rng: random.Random, number: int) -> str:
    """About 800 words: paragraphs, two headings, a list, a quote, links and emphasis."""
    parts = [paragraph(rng, 90), paragraph(rng, 80)]
    parts.append("## What the best managers do")
    parts.append(
        paragraph(rng, 70) + f" See [the research](https://www.jimwigg.com/notes/{number})."
    )
    parts.append("\n".join(f"- {sentence(rng, 9)}" for _ in range(4)))
    parts.append("> “" + sentence(rng, 25) + "”")
    parts.append(paragraph(rng, 90) + " It’s *not* about **more** training – it’s about habits.")
    parts.append("## Try this next week")
    parts += [paragraph(rng, 80) for _ in range(4)]
    return "\n\n".join(parts) + "\n"


def make_project(
    folder: Path, count: int, *, seed: int = 1, start: dt.date = dt.date(2000, 1, 1)
) -> list[dict[str, object]]:
    """A Sphere project in `folder` with `count` ready issues, every two months from `start`;
    returns their metadata."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "pyproject.toml", folder / "pyproject.toml")
    shutil.copytree(REPO / "templates", folder / "templates", dirs_exist_ok=True)
    shutil.copytree(REPO / "content" / "images", folder / "content" / "images", dirs_exist_ok=True)
    issues_dir = folder / "content" / "issues"
    issues_dir.mkdir(parents=True, exist_ok=True)
    issues = []
    for number in range(count):
        date = start + dt.timedelta(days=61 * number)
        slug = f"issue-{number:03d}"
        title = f"Issue {number}: {sentence(rng, 6).rstrip('.')}"
        summary = sentence(rng, 20)
        body = issue_body(rng, number)
        (issues_dir / f"{date.isoformat()}-{slug}.md").write_text(
            f'---\ntitle: "{title}"\ndate: {date.isoformat()}\nsummary: "{summary}"\n'
            f"status: ready\n---\n\n{body}",
            encoding="utf-8",
        )
        issues.append(
            {"slug": slug, "title": title, "date": date, "summary": summary, "body": body}
        )
    return issues
