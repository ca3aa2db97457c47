"""The search index as the build makes it: Pagefind's real binary, run only when something
changed, failing in one line. (The search itself, in a browser: tests/test_search_browser.py.)

Where Pagefind must be missing or broken, the test points PAGEFIND_BINARY_PATH (Pagefind's own
documented override) at a path with nothing there, or at a small script that fails as a
broken binary would: the real one cannot be made to fail on a valid archive.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures_project import Result, png_bytes, snapshot, write_issue

BROKEN = "#!/bin/sh\necho 'Error: Pagefind ran out of something' >&2\nexit 3\n"


def _broken_pagefind(tmp_path: Path) -> Path:
    script = tmp_path / "pagefind-broken"
    script.write_text(BROKEN, encoding="utf-8")
    script.chmod(0o755)
    return script


def _indexed_text(site: Path) -> str:
    """Every word the index holds (its fragments are gzipped JSON, one per page)."""
    fragments = sorted((site / "pagefind" / "fragment").iterdir())
    return "\n".join(gzip.decompress(f.read_bytes()).decode("utf-8", "replace") for f in fragments)


def test_only_published_issues_are_indexed_even_in_a_preview_build(
    project: Path, sphere: Callable[..., Result]
) -> None:
    write_issue(project, "2026-11-20-secret", body="Plans for zanzibar.\n", status="draft")
    write_issue(project, "2027-02-01-later", body="Later quixotic news.\n", date="2027-02-01")
    write_issue(project, "2026-10-01-older", body="An older mauve idea.\n")

    assert sphere("build", "--drafts").status == 0

    site = project / "dist" / "site"
    assert (site / "issues" / "secret" / "index.html").is_file()  # the preview shows them...
    words = _indexed_text(site)
    assert "mauve" in words and "prospect" in words  # ...the index holds the published ones
    assert "zanzibar" not in words and "quixotic" not in words  # and never the others
    assert len(list((site / "pagefind" / "fragment").iterdir())) == 2


def test_an_unchanged_build_does_not_run_pagefind_again(
    project: Path, sphere: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sphere("build").status == 0
    before = snapshot(project / "dist")
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(_broken_pagefind(tmp_path)))

    again = sphere("build")

    assert again.status == 0, again.err  # it would have failed, had it run
    assert snapshot(project / "dist") == before


@pytest.mark.parametrize(
    ("binary", "expected"),
    [
        (
            lambda tmp: tmp / "nowhere" / "pagefind",
            "error: search index: no pagefind binary (install the pagefind[bin] package, "
            "or set `search = false` in [tool.sphere])\n",
        ),
        (
            lambda tmp: _broken_pagefind(tmp),
            "error: search index: pagefind failed: Error: Pagefind ran out of something\n",
        ),
    ],
    ids=["missing", "failing"],
)
def test_a_missing_or_failing_pagefind_is_one_line_and_leaves_the_last_build(
    project: Path,
    sphere: Callable[..., Result],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    binary: Callable[[Path], Path],
    expected: str,
) -> None:
    assert sphere("build").status == 0
    before = snapshot(project / "dist")
    write_issue(project, "2026-10-01-older")
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(binary(tmp_path)))

    result = sphere("build")

    assert result.status == 1
    assert result.err == expected
    assert snapshot(project / "dist") == before
    assert not list(project.glob(".dist.*"))  # no staging folder left behind


def test_search_false_needs_no_pagefind(
    project: Path, sphere: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(tmp_path / "nowhere" / "pagefind"))
    monkeypatch.setenv("SPHERE_SEARCH", "false")

    result = sphere("build")

    assert result.status == 0, result.err
    assert not (project / "dist" / "site" / "pagefind").exists()
    assert "search" not in (project / "dist" / "site" / "index.html").read_text(encoding="utf-8")


def test_with_nothing_published_there_is_no_index_and_no_box(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPHERE_TODAY", "2026-11-30")  # the seed issue is due tomorrow

    result = sphere("build", "--drafts")

    assert result.status == 0, result.err
    site = project / "dist" / "site"
    assert (site / "issues" / "hard-sell-or-soft-sell" / "index.html").is_file()  # previewed
    assert not (site / "pagefind").exists()
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "search.js" not in index and "script-src 'none'" in index


def test_content_in_the_index_folder_is_refused_not_overwritten(
    project: Path, sphere: Callable[..., Result]
) -> None:
    (project / "content" / "pagefind").mkdir()
    (project / "content" / "pagefind" / "cover.png").write_bytes(png_bytes(600, 300))
    write_issue(project, "2026-10-01-older", image="pagefind/cover.png")

    result = sphere("build")

    assert result.status == 1
    assert result.err == (
        "error: content/pagefind/ would be overwritten by the search index: rename that folder\n"
    )
    assert not (project / "dist").exists()
