"""The build cache: a rebuild renders only what changed, and never serves a stale issue."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures_project import SEED_ISSUE, Result, png_bytes, write_issue

from sphere.build.cache import CACHE_DIR, OLD_CACHE_FILE, read_index
from sphere.render.email import Renderer
from sphere.settings import load_settings

SEED = "hard-sell-or-soft-sell"


def _entries(project: Path) -> int:
    """How many issues the build cache holds, by its index."""
    return len(read_index(load_settings(project, env={})))


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The slugs of the issues `sphere build` rendered (rather than took from the cache).

    A few issues build in the test's own process (the pool starts at 16 per core), so the
    count is exact: the real Renderer runs, and is only counted.
    """
    rendered: list[str] = []
    render = Renderer.render

    def counting(self: Renderer, issue):  # type: ignore[no-untyped-def]
        rendered.append(issue.slug)
        return render(self, issue)

    monkeypatch.setattr(Renderer, "render", counting)
    return rendered


def test_a_rebuild_renders_nothing_that_did_not_change(
    project: Path, sphere: Callable[..., Result], renders: list[str]
) -> None:
    write_issue(project, "2026-10-01-second", body="Second issue.\n")
    assert sphere("build").status == 0
    assert sorted(renders) == [SEED, "second"]
    assert _entries(project) == 2
    before = (project / "dist/email/second.html").read_bytes()
    renders.clear()
    assert sphere("build").status == 0
    assert renders == []
    assert (project / "dist/email/second.html").read_bytes() == before


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new), "utf-8")


@pytest.mark.parametrize(
    ("change", "file", "expected"),
    [
        (lambda p: _edit(p / SEED_ISSUE, "genius!", "brilliant!"), "html", "brilliant!"),
        (
            lambda p: _edit(p / "templates/email/issue.mjml.j2", "View in browser", "Read online"),
            "html",
            "Read online",
        ),
        (lambda p: _edit(p / "pyproject.toml", 'phone = "+44', 'phone = "+33'), "txt", "+33"),
    ],
    ids=["the issue", "a template", "a setting"],
)
def test_any_change_it_depends_on_renders_again(
    project: Path,
    sphere: Callable[..., Result],
    renders: list[str],
    change: Callable[[Path], object],
    file: str,
    expected: str,
) -> None:
    assert sphere("build").status == 0
    change(project)
    renders.clear()
    assert sphere("build").status == 0
    assert renders == [SEED]
    assert expected in (project / f"dist/email/{SEED}.{file}").read_text("utf-8")


def test_only_the_changed_issue_renders_again(
    project: Path, sphere: Callable[..., Result], renders: list[str]
) -> None:
    second = write_issue(project, "2026-10-01-second", body="Second issue.\n")
    assert sphere("build").status == 0
    _edit(second, "Second issue.", "Second issue, edited.")
    renders.clear()
    assert sphere("build").status == 0
    assert renders == ["second"]
    assert _entries(project) == 2  # the stale entry is gone
    assert len(list((project / CACHE_DIR).glob("pack-*"))) == 2  # the first build's and this


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


def test_a_damaged_cache_entry_is_reported_and_rendered_again(
    project: Path,
    sphere: Callable[..., Result],
    renders: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert sphere("build").status == 0
    (pack,) = (project / CACHE_DIR).glob("pack-*")
    pack.write_bytes(b"{not json" + pack.read_bytes()[9:])
    shutil.rmtree(project / "dist")  # (else nothing needs building, and the cache is not read)
    renders.clear()
    result = sphere("build")
    assert result.status == 0
    assert renders == [SEED]
    warning = f"{pack.relative_to(project)}: ignoring a damaged build cache entry (Expecting"
    assert [m for m in caplog.messages if m.startswith(warning)], caplog.messages
    renders.clear()
    shutil.rmtree(project / "dist")
    assert sphere("build").status == 0
    assert renders == []  # rendered again, and cached whole


def test_a_cut_short_cache_entry_is_reported_and_rendered_again(
    project: Path,
    sphere: Callable[..., Result],
    renders: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An entry's texts follow its JSON line raw: a pack cut short (a full disk) is noticed by
    their sizes, not read as a shorter email."""
    assert sphere("build").status == 0
    (pack,) = (project / CACHE_DIR).glob("pack-*")
    pack.write_bytes(pack.read_bytes()[:-100])
    shutil.rmtree(project / "dist")
    renders.clear()
    assert sphere("build").status == 0
    assert renders == [SEED]
    warning = f"{pack.relative_to(project)}: ignoring a damaged build cache entry (the entry's"
    assert [m for m in caplog.messages if m.startswith(warning)], caplog.messages
    golden = Path(__file__).parent / "golden" / "email" / "hard-sell-or-soft-sell.html"
    assert (project / "dist/email/hard-sell-or-soft-sell.html").read_bytes() == golden.read_bytes()


def test_no_cache_renders_everything(
    project: Path, sphere: Callable[..., Result], renders: list[str]
) -> None:
    assert sphere("build").status == 0
    renders.clear()
    assert sphere("build", "--no-cache").status == 0
    assert renders == [SEED]


def test_the_old_single_file_cache_is_removed(project: Path, sphere: Callable[..., Result]) -> None:
    (project / OLD_CACHE_FILE).parent.mkdir(parents=True, exist_ok=True)
    (project / OLD_CACHE_FILE).write_text('{"format": 1, "entries": {}}', encoding="utf-8")
    assert sphere("build").status == 0
    assert not (project / OLD_CACHE_FILE).exists()


def test_stale_entries_do_not_pile_up(
    project: Path, sphere: Callable[..., Result], renders: list[str]
) -> None:
    second = write_issue(project, "2026-10-01-second", body="Version 0.\n")
    assert sphere("build").status == 0
    sizes = []
    for version in range(1, 12):
        second.write_text(second.read_text("utf-8").replace(f"{version - 1}.", f"{version}."))
        assert sphere("build").status == 0
        packs = list((project / CACHE_DIR).glob("pack-*"))
        sizes.append(sum(pack.stat().st_size for pack in packs))
        assert len(packs) <= 2
    assert max(sizes) < 3 * min(sizes)  # rewritten when mostly stale, not growing per edit
    renders.clear()
    assert sphere("build").status == 0
    assert renders == []  # every entry still found after the rewrites
    assert "Version 11." in (project / "dist/email/second.html").read_text("utf-8")


def test_a_mostly_stale_pack_is_rewritten(
    project: Path, sphere: Callable[..., Result], renders: list[str]
) -> None:
    issues = [
        write_issue(project, f"2026-09-{n + 1:02d}-n{n}", body=f"Issue {n}.\n") for n in range(12)
    ]
    assert sphere("build").status == 0
    (first,) = (project / CACHE_DIR).glob("pack-*")
    for issue in issues[:8]:  # one at a time: each build leaves more of the first pack stale
        issue.write_text(issue.read_text("utf-8") + "\nEdited.\n", "utf-8")
        assert sphere("build").status == 0
    assert not first.exists()  # its live entries were copied out, and it was removed
    packs = list((project / CACHE_DIR).glob("pack-*"))
    live = sum(length for _, _, length in read_index(load_settings(project, env={})).values())
    assert sum(pack.stat().st_size for pack in packs) <= 2 * live
    renders.clear()
    assert sphere("build").status == 0
    assert renders == []


def test_a_rebuild_that_changes_nothing_leaves_the_output_untouched(
    project: Path, sphere: Callable[..., Result]
) -> None:
    assert sphere("build").status == 0
    eml = project / f"dist/email/{SEED}.eml"
    before = (eml.stat().st_ino, (project / "dist").stat().st_ino)
    assert sphere("build").status == 0
    assert (eml.stat().st_ino, (project / "dist").stat().st_ino) == before
    assert [p.name for p in project.iterdir() if p.name.startswith(".dist")] == []
    # One file more in dist/ (say, a stray one): replaced whole, as always.
    (project / "dist/site/stray.html").write_text("stray\n", encoding="utf-8")
    assert sphere("build").status == 0
    assert not (project / "dist/site/stray.html").exists()
    assert eml.read_bytes()
