"""The shape of the `sphere` package: lines per module and the depth of its import graph.

    uv run python benchmarks/layout.py [--rev GIT_REV]

With --rev, measures the tree as it was at that commit (read through `git show`), so that a
before/after pair comes from one command. Every import counts, the lazy ones inside functions
too, since they are dependencies all the same. The depth is the longest chain of imports between
Sphere's own modules (a module that imports nothing of Sphere's has depth 0).
"""

from __future__ import annotations

import argparse
import ast
import functools
import statistics
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def sources(rev: str | None) -> dict[str, str]:
    """Module name -> source, for every module under sphere/ (at `rev`, or in the work tree)."""
    if rev is None:
        paths = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "sphere").rglob("*.py"))
        read = lambda p: (REPO / p).read_text(encoding="utf-8")  # noqa: E731
    else:
        listing = git("ls-tree", "-r", "--name-only", rev, "sphere")
        paths = [p for p in listing.splitlines() if p.endswith(".py")]
        read = lambda p: git("show", f"{rev}:{p}")  # noqa: E731
    return {module_name(p): read(p) for p in paths}


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout


def module_name(path: str) -> str:
    parts = path.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(name: str, source: str, known: set[str]) -> set[str]:
    """Sphere's own modules that `source` imports, at any depth of the file (Sphere uses
    absolute imports only)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {m for m in found if m in known and m != name}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", help="a git revision to measure instead of the work tree")
    args = parser.parse_args()
    modules = sources(args.rev)
    known = set(modules)
    graph = {name: imports(name, src, known) for name, src in modules.items()}

    @functools.cache
    def depth(name: str, seen: frozenset[str] = frozenset()) -> int:
        nexts = [m for m in graph[name] if m not in seen and m != "sphere"]
        return 1 + max((depth(m, seen | {name}) for m in nexts), default=-1)

    lines = {name: src.count("\n") for name, src in modules.items()}
    counted = [n for n in lines.values() if n > 10]
    print(f"{'module':<34} {'lines':>5} {'depth':>5}")
    for name in sorted(modules):
        print(f"{name:<34} {lines[name]:>5} {depth(name):>5}")
    print(
        f"\n{len(modules)} modules, {sum(lines.values())} lines; modules over 10 lines: "
        f"median {statistics.median(counted):.0f}, largest {max(lines.values())}; "
        f"over 400 lines: {sum(n > 400 for n in lines.values())}; "
        f"import depth: max {max(depth(n) for n in modules)}"
    )


if __name__ == "__main__":
    main()
