"""What the archive's search index costs a cold `sphere build`: with it and without it
(`SPHERE_SEARCH=false`), for the seed and for N synthetic issues.

    uv run python benchmarks/search.py [--issues 200] [--rounds 7] [--where DIR] [--settle 420]

Each round builds every case cold (no previous output, no `.sphere/cache`), as a fresh command,
the order rotating round by round so that a busy moment of a shared machine hits them alike.
Cold builds move the previous output aside rather than delete it, and the script waits for the
disk to settle first: see benchmarks/build.py, whose machinery this reuses. Reported: wall
time, min and median, and the index's share of the build (min with it over min without).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _synthetic import REPO, make_project
from build import SCRATCH, Tool, Trash, creation_cost, file_system, run, settle


def seed_project(folder: Path) -> Path:
    """A copy of this repository's newsletter: the seed issue, its image, the theme."""
    folder.mkdir(parents=True)
    shutil.copy(REPO / "pyproject.toml", folder / "pyproject.toml")
    for name in ("content", "templates"):
        shutil.copytree(REPO / name, folder / name)
    return folder


def cases(tmp: Path, issues: int) -> list[tuple[Tool, dict[str, str]]]:
    """(the build, its environment) for each project, with and without the index."""
    sphere = str(Path(sys.executable).parent / "sphere")
    base = {k: v for k, v in os.environ.items() if not k.startswith("SPHERE_")}
    base.pop("PYTHONDONTWRITEBYTECODE", None)  # as on a user's machine
    base["SPHERE_TODAY"] = dt.date.today().isoformat()
    # Every synthetic issue dated in the past, so that the archive (and the index) holds all.
    start = dt.date.today() - dt.timedelta(days=61 * issues)
    projects = {"seed": seed_project(tmp / "seed")}
    projects[str(issues)] = tmp / "many"
    make_project(projects[str(issues)], issues, start=start)
    found = []
    for name, project in projects.items():
        for search in ("on", "off"):
            out = tmp / f"dist-{name}-{search}"
            tool = Tool(
                f"{name}, search {search}",
                [sphere, "build", "--out", str(out)],
                project,
                [out, project / ".sphere"],
            )
            found.append((tool, {**base, "SPHERE_SEARCH": "true" if search == "on" else "false"}))
    return found


def report(found: list[tuple[Tool, dict[str, str]]]) -> None:
    print(f"{'cold build':<22}{'min':>10}{'median':>10}")
    best = {}
    for tool, _ in found:
        walls = [wall for wall, _, _ in tool.times["cold"]]
        best[tool.name] = min(walls)
        print(f"{tool.name:<22}{min(walls):>9.3f}s{statistics.median(walls):>9.3f}s")
    print()
    for name in dict.fromkeys(tool.name.split(",")[0] for tool, _ in found):
        ratio = best[f"{name}, search on"] / best[f"{name}, search off"]
        print(f"{name}: the index makes the cold build x{ratio:.2f} (min over min)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--where", type=Path, default=SCRATCH, help="folder to build in")
    parser.add_argument("--settle", type=float, default=420, help="seconds to wait at most")
    args = parser.parse_args()
    args.where.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=args.where, prefix="search-bench-"))
    try:
        trash = Trash(tmp / "trash", delete=False)
        found = cases(tmp, args.issues)
        for tool, env in found:  # once untimed: bytecode and the file cache are warm
            run(tool, trash, cold=True, env=env, memory=False)
        before = settle(tmp, trash, args.settle)
        print(
            f"seed and {args.issues} issues, {args.rounds} interleaved rounds of cold builds, "
            f"on {file_system(tmp)}, {os.cpu_count()} cores"
        )
        for round_ in range(args.rounds):
            shift = round_ % len(found)
            for tool, env in found[shift:] + found[:shift]:
                result = run(tool, trash, cold=True, env=env, memory=False)
                tool.times.setdefault("cold", []).append(result)
        after = creation_cost(tmp, trash)
        print(f"creating a page here cost {before:.3f} ms before the rounds, {after:.3f} after\n")
        report(found)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
