"""Golden files: the seed issue's email and archive, byte for byte.

When a change to templates or rendering is intended, refresh them and review the diff:

    uv run pytest tests/test_golden.py --update-golden && git diff tests/golden
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures_project import Result

GOLDEN = Path(__file__).parent / "golden"
FILES = [
    "email/hard-sell-or-soft-sell.html",
    "email/hard-sell-or-soft-sell.txt",
    "email/hard-sell-or-soft-sell.eml",
    "site/index.html",
    "site/issues/hard-sell-or-soft-sell/index.html",
    "site/feed.xml",
    "site/sitemap.xml",
    "site/404.html",
]


@pytest.mark.parametrize("name", FILES)
def test_output_matches_golden(
    name: str, project: Path, sphere: Callable[..., Result], request: pytest.FixtureRequest
) -> None:
    result = sphere("build")
    assert result.status == 0, result.err
    # Nothing needs normalising: a build is reproducible, the .eml's Date and Message-ID too.
    actual = (project / "dist" / name).read_bytes()
    golden = GOLDEN / name
    if request.config.getoption("--update-golden"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(actual)
    assert golden.is_file(), f"no golden file {golden}: run with --update-golden"
    assert actual == golden.read_bytes(), (
        f"{name} differs from tests/golden/{name}; if intended, run "
        "`uv run pytest tests/test_golden.py --update-golden` and review `git diff tests/golden`"
    )
