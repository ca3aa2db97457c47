"""A throwaway copy of this newsletter project, for tests that build or break it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


POSTAL_ADDRESS = "Sphere, 1 High Street, Bath BA1 1AA, United Kingdom"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the repository's pyproject, content and templates in a temporary folder.

    The working directory is the copy, and no SPHERE_* variable of the caller leaks in.
    """
    for name in ("pyproject.toml", ".gitignore"):  # as a clone has them (a git test needs both)
        shutil.copy(REPO / name, tmp_path / name)
    for name in ("content", "templates"):
        shutil.copytree(REPO / name, tmp_path / name)
    for key in list(os.environ):
        if key.startswith("SPHERE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("SPHERE_TODAY", SEED_DATE)  # the seed issue is due, whatever the clock
    # A real-looking address: the seed's placeholder is a `check` warning (tests/test_readers.py)
    # and `send` refuses it (tests/test_send_cli.py sets it back to test that).
    monkeypatch.setenv("SPHERE_POSTAL_ADDRESS", POSTAL_ADDRESS)
    monkeypatch.chdir(tmp_path)
    return tmp_path


SEED_ISSUE = "content/issues/2026-12-01-hard-sell-or-soft-sell.md"
SEED_DATE = "2026-12-01"


def write_issue(root: Path, name: str, *, body: str = "Some text.\n", **front: object) -> Path:
    """Write content/issues/NAME.md with the given front matter (sensible defaults)."""
    fields = {
        "title": "A test issue",
        "date": "2026-10-01",
        "summary": "A summary.",
        "status": "ready",
    }
    fields.update({key: value for key, value in front.items()})
    lines = ["---"]
    lines += [f"{key}: {value}" for key, value in fields.items() if value is not None]
    lines += ["---", "", body]
    path = root / "content" / "issues" / f"{name}.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_fillers(root: Path, count: int = 40) -> None:
    """Enough issues for a build's worker process (pool.MIN_PER_WORKER a worker), with what a
    build shares between processes: links to neighbours, the feed, the index."""
    for n in range(count):
        day = f"2025-{n // 28 + 1:02d}-{n % 28 + 1:02d}"
        write_issue(root, f"{day}-filler-{n}", date=day, title=f"Filler {n}")


def pretend_cores(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    """Make the build see `count` cores (the pool sizes itself by this process's affinity)."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(count)), raising=False)


def png_bytes(width: int, height: int) -> bytes:
    """A valid, tiny PNG of the given size (one grey colour), made without an imaging library."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes: to prove a failed build changed nothing."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@dataclass
class Result:
    status: int
    out: str
    err: str


@pytest.fixture
def sphere(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run the `sphere` CLI in this process, through the same `main()` the console script uses.

    The program's name is pinned: Click would take `python -m pytest` from `__main__`.
    """
    from sphere.cli import main

    def run(*args: str) -> Result:
        capsys.readouterr()
        try:
            main(list(args), prog_name="sphere")
            status = 0
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else 1
        captured = capsys.readouterr()
        return Result(status, captured.out, captured.err)

    return run


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="Rewrite tests/golden/ from the current output (review with `git diff tests/golden`).",
    )
