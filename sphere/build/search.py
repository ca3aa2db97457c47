"""The archive's search index: Pagefind run over the published issue pages, at build time.

Pagefind writes a static index (small hashed files and a WebAssembly search engine) that the
archive's own script queries in the reader's browser, so search needs no server and sends no
query anywhere. Its binary comes with the `pagefind[bin]` package; it is run as a command
(one process, about 10 ms for a small archive) rather than through the package's async
service API, which polls its pipe every 100 ms and took 0.4 s to index a single page.

Only what is public is indexed: Pagefind reads a scratch folder holding the published issues'
pages and nothing else, so a draft or a scheduled issue built by `sphere build --drafts` for a
preview can never be found, whatever the theme's templates say. Its output goes through the
build's `Output` like every other file, so an unchanged index is linked from the last build.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

from sphere.errors import SphereError
from sphere.output import Output, files_below

FOLDER = "pagefind"  # under the archive's root: the index and Pagefind's own script
# Pagefind's ready-made search interfaces, which the archive does not use (its own
# static/search.js draws the results): 400 KB not published.
UNUSED = re.compile(r"pagefind-(ui|component-ui|modular-ui|highlight)\.(js|css)")
TIMEOUT = 300.0  # seconds: Pagefind indexes thousands of pages a second; this is a hang


def write_index(output: Output, slugs: Iterable[str]) -> None:
    """Index the pages of the published issues `slugs` into `output` under `pagefind/`.

    A page is read where the build left it: in the staging folder, or, unchanged, in the
    previous build's (`output.previous`), from where it is linked later. Raises a SphereError
    in one line when Pagefind is missing or fails.
    """
    slugs = list(slugs)
    if not slugs:  # Pagefind refuses an empty site; the index page then shows no search box
        return
    sources = [output.root, *([output.previous] if output.previous else [])]
    if any(path.is_relative_to(output.root / FOLDER) for path in output.files):
        raise SphereError(
            f"content/{FOLDER}/ would be overwritten by the search index: rename that folder"
        )
    # Inside the staging folder (output.root's parent), which a failed build removes whole.
    scratch = Path(tempfile.mkdtemp(prefix=".search-", dir=output.root.parent))
    try:
        _gather(scratch / "site", slugs, sources)
        _run_pagefind(scratch / "site", scratch / FOLDER)
        for name, _ in sorted(files_below(scratch / FOLDER)):
            if UNUSED.fullmatch(name):
                continue
            output.write(f"{FOLDER}/{name}", (scratch / FOLDER / name).read_bytes())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _gather(into: Path, slugs: Iterable[str], sources: list[Path]) -> None:
    """Link (or copy) each published issue's page into `into`, at its place in the archive."""
    for slug in slugs:
        relative = f"issues/{slug}/index.html"
        page = next((s / relative for s in sources if (s / relative).is_file()), None)
        if page is None:  # every published issue has a page: a bug, not a user's mistake
            raise SphereError(f"search index: no built page for issue {slug!r}")
        target = into / relative
        target.parent.mkdir(parents=True)
        try:
            os.link(page, target)
        except OSError:  # a file system without hard links
            shutil.copyfile(page, target)


def _run_pagefind(site: Path, out: Path) -> None:
    binary = executable()
    command = [str(binary), "--site", str(site), "--output-path", str(out), "--silent"]
    try:
        done = subprocess.run(  # noqa: S603 (our arguments, no shell)
            command, capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
    except OSError as error:
        raise SphereError(f"search index: cannot run {binary}: {error.strerror}") from None
    except subprocess.TimeoutExpired:
        raise SphereError(f"search index: pagefind took over {TIMEOUT:.0f} s") from None
    if done.returncode != 0 or not (out / "pagefind.js").is_file():
        said = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        why = said[-1] if said else f"exit status {done.returncode}"
        raise SphereError(f"search index: pagefind failed: {why}")


def executable() -> Path:
    """Pagefind's binary (from `pagefind[bin]`, or PAGEFIND_BINARY_PATH), or a SphereError."""
    from pagefind.service import get_executable  # imported here: `sphere --help` stays fast

    binary = get_executable()
    if binary is None or not binary.is_file():
        raise SphereError(
            "search index: no pagefind binary (install the pagefind[bin] package, "
            "or set `search = false` in [tool.sphere])"
        )
    return binary
