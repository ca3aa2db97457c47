"""A throwaway copy of this newsletter project, for tests that build or break it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the repository's pyproject, content and templates in a temporary folder.

    The working directory is the copy, and no SPHERE_* variable of the caller leaks in.
    """
    for name in ("pyproject.toml",):
        shutil.copy(REPO / name, tmp_path / name)
    for name in ("content", "templates"):
        shutil.copytree(REPO / name, tmp_path / name)
    for key in list(__import__("os").environ):
        if key.startswith("SPHERE_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return tmp_path
