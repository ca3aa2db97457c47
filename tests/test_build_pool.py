"""A build of many issues runs in several processes (sphere.pool): what it writes is what one
process writes, byte for byte, and the compiled templates its processes share are its own."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures_project import Result, pretend_cores, snapshot, write_fillers

from sphere.render import environment


def test_several_processes_build_what_one_builds(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_fillers(project)
    pretend_cores(monkeypatch, 1)
    assert sphere("build", "--no-cache", "--out", "alone").status == 0
    pretend_cores(monkeypatch, 2)
    assert sphere("build", "--no-cache", "--out", "pooled").status == 0
    alone, pooled = snapshot(project / "alone"), snapshot(project / "pooled")
    assert len(alone) > 3 * 40
    assert pooled == alone


def test_the_shared_compiled_templates_are_private_to_the_build_and_removed(
    project: Path,
    sphere: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Code is run from that folder, outside the sandbox: it is made by the build (mode 0700,
    in the temporary folder, never in the project a pull request could fill) and deleted."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    seen: list[tuple[Path, int]] = []
    make = environment.make_environment

    def watch(templates_dir: Path, **options: object) -> object:
        compiled = options.get("compiled")
        if isinstance(compiled, Path):
            seen.append((compiled, compiled.stat().st_mode & 0o777))
        return make(templates_dir, **options)  # type: ignore[arg-type]

    monkeypatch.setattr("sphere.render.email.make_environment", watch)
    write_fillers(project)
    pretend_cores(monkeypatch, 2)
    assert sphere("build").status == 0
    assert seen, "this process set itself up with the shared folder"
    folder, mode = seen[0]
    assert folder.parent == temporary and mode == 0o700
    assert list(temporary.iterdir()) == []


@pytest.mark.parametrize("cores", [1, 2])
def test_a_second_build_in_the_same_process_uses_the_changed_theme(
    project: Path, monkeypatch: pytest.MonkeyPatch, cores: int
) -> None:
    """A library caller that builds twice with the same settings (a preview does): the second
    build renders the theme as it is now, not the first build's compiled templates."""
    from sphere.build.pipeline import build_all
    from sphere.settings import load_settings

    write_fillers(project)
    pretend_cores(monkeypatch, cores)
    settings = load_settings(project)
    build_all(settings)
    index = project / "templates/web/index.html.j2"
    index.write_text(index.read_text(encoding="utf-8").replace(": the archive<", ": every issue<"))
    build_all(settings)
    page = (project / "dist/site/index.html").read_text(encoding="utf-8")
    assert ": every issue<" in page and ": the archive<" not in page
