"""The build cache: a rebuild renders only what changed, and never serves a stale issue."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures_project import SEED_ISSUE, Result, png_bytes, write_issue

from sphere.build.cache import CACHE_FILE, RenderCache
from sphere.build.pipeline import render_issues
from sphere.settings import load_settings


def _hits(project: Path) -> int:
    settings = load_settings(project, env={})
    cache = RenderCache(settings)
    renderer, _ = render_issues(settings)
    from sphere.content.issues import load_issues

    return sum(cache.get(i, renderer) is not None for i in load_issues(settings.content_dir))


def test_a_rebuild_reuses_unchanged_issues(project: Path, sphere: Callable[..., Result]) -> None:
    write_issue(project, "2026-10-01-second", body="Second issue.\n")
    assert sphere("build").status == 0
    assert (project / CACHE_FILE).is_file()
    assert _hits(project) == 2
    before = (project / "dist/email/second.html").read_bytes()
    assert sphere("build").status == 0
    assert (project / "dist/email/second.html").read_bytes() == before


@pytest.mark.parametrize(
    "change",
    [
        lambda p: (p / SEED_ISSUE).write_text(
            (p / SEED_ISSUE).read_text("utf-8").replace("genius!", "brilliant!"), "utf-8"
        ),
        lambda p: (p / "templates/email/issue.mjml.j2").write_text(
            (p / "templates/email/issue.mjml.j2")
            .read_text("utf-8")
            .replace("View in browser", "Read online"),
            "utf-8",
        ),
        lambda p: (p / "pyproject.toml").write_text(
            (p / "pyproject.toml").read_text("utf-8").replace('phone = "+44', 'phone = "+33'),
            "utf-8",
        ),
    ],
    ids=["the issue", "a template", "a setting"],
)
def test_any_change_it_depends_on_renders_again(
    project: Path, sphere: Callable[..., Result], change: Callable[[Path], object]
) -> None:
    assert sphere("build").status == 0
    change(project)
    assert _hits(project) == 0
    assert sphere("build").status == 0
    html = (project / "dist/email/hard-sell-or-soft-sell.html").read_text("utf-8")
    text = (project / "dist/email/hard-sell-or-soft-sell.txt").read_text("utf-8")
    assert "brilliant!" in html or "Read online" in html or "+33" in text


def test_a_changed_or_missing_image_renders_again(
    project: Path, sphere: Callable[..., Result]
) -> None:
    (project / "content/images").mkdir(exist_ok=True)
    image = project / "content/images/chart.png"
    image.write_bytes(png_bytes(100, 50))
    write_issue(project, "2026-10-01-chart", body="![Chart](images/chart.png)\n")
    assert sphere("build").status == 0
    image.write_bytes(png_bytes(200, 80))
    assert sphere("build").status == 0
    html = (project / "dist/email/chart.html").read_text("utf-8")
    assert 'width="200"' in html and 'height="80"' in html
    image.unlink()
    result = sphere("build")
    assert result.status == 1
    assert "image 'images/chart.png' not found" in result.err


def test_a_damaged_cache_is_ignored(project: Path, sphere: Callable[..., Result]) -> None:
    assert sphere("build").status == 0
    (project / CACHE_FILE).write_text("{not json", encoding="utf-8")
    assert sphere("build").status == 0
    assert (project / "dist/email/hard-sell-or-soft-sell.eml").is_file()
    assert sphere("build", "--no-cache").status == 0
