"""`sphere build` replaces only a folder it made: never the project, its sources or a stranger's files.

Each refusal is one line naming the folder and what to do, exit 1, and every file that was there
is still there byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures_project import Result, snapshot, write_issue

from sphere.errors import OutputFolderError
from sphere.output import MARKER, check_replaceable, make_temporary, remove
from sphere.settings import load_settings


@pytest.fixture
def with_git(project: Path) -> Path:
    """The project with a (stand-in) .git folder, so that losing it would show."""
    (project / ".git/objects").mkdir(parents=True)
    (project / ".git/HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    (project / ".git/objects/ab").write_bytes(b"\x00\x01 not text")
    return project


def _refused(result: Result, line: str) -> None:
    assert (result.status, result.out, result.err) == (1, "", f"error: {line}\n")


@pytest.mark.parametrize(
    ("out", "line"),
    [
        ("content", "refusing to replace content: it is the content folder; choose another --out"),
        (
            "templates",
            "refusing to replace templates: it is the templates folder; choose another --out",
        ),
        (".", "refusing to replace .: it is the project folder; choose another --out"),
        ("..", "refusing to replace {parent}: it holds the project folder; choose another --out"),
        (
            ".sphere",
            "refusing to replace .sphere: it holds the subscriber store; choose another --out",
        ),
        (".git", "refusing to write into .git: it is inside a .git folder; choose another --out"),
        (
            ".git/dist",
            "refusing to write into .git/dist: it is inside a .git folder; choose another --out",
        ),
    ],
)
def test_the_project_and_its_sources_are_never_replaced(
    with_git: Path, sphere: Callable[..., Result], out: str, line: str
) -> None:
    (with_git / ".sphere/store").mkdir(parents=True)
    (with_git / ".sphere/store/snapshot.json").write_text("{}\n", encoding="utf-8")
    before = snapshot(with_git)
    result = sphere("build", "--out", out)
    _refused(result, line.format(parent=with_git.parent))
    assert snapshot(with_git) == before
    assert not list(with_git.parent.glob(f".{with_git.name}.*"))  # no staging left beside it


def test_the_output_setting_is_held_to_the_same_rule(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(project / "templates")
    monkeypatch.setenv("SPHERE_OUTPUT_DIR", "templates")
    result = sphere("build")
    _refused(
        result, "refusing to replace templates: it is the templates folder; choose another --out"
    )
    assert snapshot(project / "templates") == before


def test_a_folder_of_someone_elses_files_is_refused(
    project: Path, sphere: Callable[..., Result]
) -> None:
    mine = project / "notes"
    (mine / "drafts").mkdir(parents=True)
    (mine / "todo.txt").write_text("call Anna\n", encoding="utf-8")
    (mine / "drafts/idea.md").write_bytes(b"# An idea\n\xe2\x80\x94 mine\n")
    before = snapshot(mine)
    result = sphere("build", "--out", "notes")
    _refused(
        result,
        "refusing to replace notes: it holds files Sphere did not make;"
        " move them away or choose another --out",
    )
    assert snapshot(mine) == before


def test_a_marked_folder_that_holds_a_repository_is_refused(
    project: Path, sphere: Callable[..., Result]
) -> None:
    assert sphere("build", "--out", "public").status == 0
    (project / "public/.git").mkdir()
    (project / "public/.git/HEAD").write_text("ref: refs/heads/gh-pages\n", encoding="utf-8")
    before = snapshot(project / "public")
    result = sphere("build", "--out", "public")
    _refused(result, "refusing to replace public: it holds a .git folder; choose another --out")
    assert snapshot(project / "public") == before


def test_a_store_set_elsewhere_is_protected_too(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "data").mkdir()
    monkeypatch.setenv("SPHERE_STORE", "data")
    result = sphere("build", "--out", "data")
    _refused(result, "refusing to replace data: it is the subscriber store; choose another --out")
    assert (project / "data").is_dir()  # empty, and still refused: it is the store


def test_a_folder_sphere_made_is_replaced_whole(
    project: Path, sphere: Callable[..., Result]
) -> None:
    extra = write_issue(project, "2026-10-01-second", body="Second.\n")
    assert sphere("build", "--out", "public").status == 0
    assert (project / "public" / MARKER).is_file()
    assert (project / "public/email/second.html").is_file()
    extra.unlink()
    result = sphere("build", "--out", "public")
    assert result.status == 0, result.err
    assert not (project / "public/email/second.html").exists()  # the old output is gone
    assert (project / "public/email/hard-sell-or-soft-sell.html").is_file()
    assert (project / "public" / MARKER).is_file()


def test_an_empty_folder_is_used(project: Path, sphere: Callable[..., Result]) -> None:
    (project / "public").mkdir()
    result = sphere("build", "--out", "public")
    assert result.status == 0, result.err
    assert (project / "public/site/index.html").is_file()


def test_the_preview_removes_only_its_own_temporary_folder(tmp_path: Path) -> None:
    own = make_temporary("sphere-test-")
    assert (own / MARKER).is_file()
    remove(own)
    assert not own.exists()
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "keep.txt").write_text("keep\n", encoding="utf-8")
    remove(stranger)
    assert (stranger / "keep.txt").read_text(encoding="utf-8") == "keep\n"


def test_every_command_can_ask_the_same_question(project: Path) -> None:
    """The rule is one library function: a later `deploy` to a local folder calls it too."""
    settings = load_settings(project, env={})
    check_replaceable(project / "dist", settings)  # missing: fine
    with pytest.raises(OutputFolderError, match=r"content folder; choose another SPHERE_SITE$"):
        check_replaceable(project / "content", settings, option="SPHERE_SITE")
