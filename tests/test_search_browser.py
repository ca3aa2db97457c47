"""The archive's search, end to end: `sphere build`, the archive served over HTTP at a
sub-path as a web server would serve it (types from sphere/site/files.py), and a reader typing
into the search box in headless Chromium. Nothing is mocked: Pagefind's own binary indexes,
its own script and WebAssembly search, and the page's Content-Security-Policy applies."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fixtures_project import write_issue

from sphere.site.files import content_type

SEED_PHRASE = "killer question"  # from the seed issue's body
SEED_LINK = "issues/hard-sell-or-soft-sell/"
DRAFT_PHRASE = "zanzibar"


class _Archive(SimpleHTTPRequestHandler):
    """Serves a folder with the deploy's content types, quietly."""

    def guess_type(self, path: str | Path) -> str:  # type: ignore[override]
        return content_type(str(path))

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the stdlib's name)
        pass


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[Path], str]]:
    """`serve(site)`: the built archive served at http://127.0.0.1:PORT/sphere/ (a sub-path, as
    the seed's base_url has one); returns that URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(site: Path) -> str:
        root = tmp_path / f"web{len(servers)}"
        shutil.copytree(site, root / "sphere")
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Archive, directory=str(root)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/sphere/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _open(browser, url: str, *, javascript: bool = True, worker: bool = True):  # type: ignore[no-untyped-def]
    """The page at `url`, with what its console said (CSP violations are reported there).
    Without `worker`, Pagefind's worker script does not load, as where workers are not
    allowed: Pagefind then searches on the page itself, under the page's own policy."""
    context = browser.new_context(java_script_enabled=javascript)
    if not worker:
        context.route("**/pagefind-worker.js", lambda route: route.abort())
    page = context.new_page()
    said: list[str] = []
    page.on("console", lambda message: said.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: said.append(f"pageerror: {error}"))
    page.goto(url, wait_until="load")
    return page, said


def _search(page, phrase: str) -> str:  # type: ignore[no-untyped-def]
    """Type `phrase` into the box as a reader would, and wait for the status line's answer."""
    box = page.get_by_label("Search the archive")
    box.wait_for(state="visible")
    box.fill("")
    box.press_sequentially(phrase)
    status = page.locator(".search-status")
    status.filter(has_text=phrase).wait_for()
    return str(status.inner_text())


def test_a_phrase_from_the_seed_finds_its_issue(browser, project: Path, sphere, serve) -> None:
    assert sphere("build").status == 0
    page, said = _open(browser, serve(project / "dist" / "site"))

    assert _search(page, SEED_PHRASE) == f"1 issue matches “{SEED_PHRASE}”"

    result = page.locator(".search-results a")
    assert result.inner_text() == "To Hard Sell or to Soft Sell? That is the Question"
    assert result.get_attribute("href") == page.url + SEED_LINK
    marked = " ".join(page.locator(".search-results mark").all_inner_texts()).lower()
    assert "question" in marked  # the excerpt marks the words found
    result.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/sphere/{SEED_LINK}")
    assert not [line for line in said if "Content Security Policy" in line or "error" in line]
    page.context.close()


def test_without_its_worker_search_runs_on_the_page_within_its_policy(
    browser, project: Path, sphere, serve
) -> None:
    assert sphere("build").status == 0
    page, said = _open(browser, serve(project / "dist" / "site"), worker=False)

    assert _search(page, SEED_PHRASE) == f"1 issue matches “{SEED_PHRASE}”"

    assert any("falling back to main thread" in line for line in said)  # the path tested
    assert not [line for line in said if "Content Security Policy" in line]
    page.context.close()


def test_a_drafts_phrase_finds_nothing_even_in_a_preview_build(
    browser, project: Path, sphere, serve
) -> None:
    write_issue(project, "2026-11-20-secret", body=f"Plans for {DRAFT_PHRASE}.\n", status="draft")
    write_issue(
        project, "2027-02-01-later", body=f"Later {DRAFT_PHRASE} news.\n", date="2027-02-01"
    )
    assert sphere("build", "--drafts").status == 0
    page, said = _open(browser, serve(project / "dist" / "site"))
    assert page.locator("ol.issues li").count() == 3  # the preview lists them...

    assert _search(page, DRAFT_PHRASE) == f"No issue matches “{DRAFT_PHRASE}”"  # ...never finds

    assert page.locator(".search-results li").count() == 0
    assert _search(page, SEED_PHRASE) == f"1 issue matches “{SEED_PHRASE}”"  # the index works
    assert not [line for line in said if "Content Security Policy" in line]
    page.context.close()


def test_without_javascript_the_page_is_the_list_of_issues(browser, project: Path, sphere, serve):
    assert sphere("build").status == 0
    page, _ = _open(browser, serve(project / "dist" / "site"), javascript=False)

    assert not page.get_by_label("Search the archive").is_visible()
    links = page.locator("ol.issues h2 a")
    assert links.count() == 1
    assert links.get_attribute("href") == SEED_LINK
    page.context.close()


def test_search_false_builds_no_index_and_no_box(browser, project: Path, sphere, serve) -> None:
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("[tool.sphere]\n", "[tool.sphere]\nsearch = false\n")
    )
    assert sphere("build").status == 0
    site = project / "dist" / "site"
    assert not (site / "pagefind").exists()
    page, said = _open(browser, serve(site))

    assert page.locator("search").count() == 0
    assert page.locator("ol.issues h2 a").count() == 1
    assert not said
    page.context.close()
