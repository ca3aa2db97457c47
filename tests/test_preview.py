"""`sphere preview`: the page in headless Chromium against the real server on loopback.

The server runs in this process (`serve_preview`, the fixtures in fixtures_preview.py) in a
temporary project; each test edits the project's files as an author would and waits for the
page to change by itself.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.error import HTTPError
from urllib.parse import urlsplit

import pytest
from fixtures_project import SEED_ISSUE, png_bytes, write_issue

from sphere.errors import PreviewUnavailable
from sphere.preview.handler import PreviewHTTPServer, for_preview
from sphere.preview.origin import Origin
from sphere.preview.server import PreviewServer, serve_preview
from sphere.preview.workspace import Workspace
from sphere.screenshots import CHROMIUM_ARGS, chromium_executable
from sphere.settings import load_settings

if TYPE_CHECKING:
    from playwright.sync_api import Browser, FrameLocator, Page

SEED_SLUG = "hard-sell-or-soft-sell"
SEED_TITLE = "To Hard Sell or to Soft Sell? That is the Question"
SEED_SENTENCE = "Right now I’m doing a lot of work with sales teams"
WAIT_MS = 5000


def view(page: Page, name: str) -> FrameLocator:
    return page.frame_locator(f"iframe[data-view={name}]")


def expect_text(page: Page, name: str, text: str) -> None:
    from playwright.sync_api import expect

    expect(view(page, name).locator("body")).to_contain_text(text, timeout=WAIT_MS)


def edit(path: Path, old: str, new: str) -> None:
    """Save `path` with `old` replaced, as an editor saves: whole, in one rename.

    (`write_text` truncates the file, then writes it: the watcher, which looks every 50 ms,
    may see the empty file in between and report a change of its own, one that tests counting
    changes would take for the next edit.)
    """
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    saving = path.with_name(f".{path.name}.saving")  # hidden: the watcher skips it
    saving.write_text(text.replace(old, new, 1), encoding="utf-8")
    saving.replace(path)


# --- in the browser --------------------------------------------------------------------------


def test_the_page_shows_every_view_of_the_issue(open_preview, offsite: list[str]) -> None:
    page = open_preview()

    for name in ("desktop", "phone", "dark", "archive"):
        expect_text(page, name, SEED_TITLE)
    expect_text(page, "text", SEED_TITLE)
    assert page.url.endswith(f"/issue/{SEED_SLUG}")
    widths = page.evaluate(
        "Object.fromEntries([...document.querySelectorAll('iframe[data-view]')]"
        ".map(f => [f.dataset.view, f.contentWindow.innerWidth]))"
    )
    assert (widths["desktop"], widths["phone"], widths["dark"]) == (600, 375, 375)
    text_type = view(page, "text").locator("body").evaluate("() => document.contentType")
    assert text_type == "text/plain"
    assert offsite == []


def test_the_dark_view_uses_the_dark_colours(open_preview) -> None:
    page = open_preview()
    expect_text(page, "dark", SEED_TITLE)
    expect_text(page, "desktop", SEED_TITLE)

    def page_colour(name: str) -> str:
        return str(
            view(page, name)
            .locator(".sp-page")
            .first.evaluate("element => getComputedStyle(element).backgroundColor")
        )

    assert page_colour("dark") == "rgb(18, 18, 18)"  # theme.toml dark_page
    assert page_colour("desktop") == "rgb(243, 239, 230)"  # theme.toml page


def test_saving_the_markdown_updates_the_page_by_itself(open_preview, project: Path) -> None:
    page = open_preview()
    expect_text(page, "desktop", SEED_SENTENCE)
    page.evaluate("window.notReloaded = true")

    edit(project / SEED_ISSUE, SEED_SENTENCE, "Freshly saved words about sales teams")

    for name in ("desktop", "phone", "dark", "text", "archive"):
        expect_text(page, name, "Freshly saved words")
    assert page.evaluate("window.notReloaded") is True


def test_a_broken_file_shows_its_error_and_fixing_it_recovers(open_preview, project: Path) -> None:
    from playwright.sync_api import expect

    page = open_preview()
    expect_text(page, "desktop", SEED_TITLE)
    path = project / SEED_ISSUE
    good = path.read_text(encoding="utf-8")

    path.write_text(good.replace("status: ready", "status: [ready", 1), encoding="utf-8")

    error = page.locator("#error")
    expect(error).to_be_visible(timeout=WAIT_MS)
    expect(error).to_have_text(
        re.compile(
            r"^content/issues/2026-12-01-hard-sell-or-soft-sell\.md:\d+: error: "
            r"front matter is not valid YAML: .+$"
        )
    )
    expect(page.locator("#issues .badge.broken")).to_have_count(1)

    path.write_text(good.replace(SEED_SENTENCE, "Mended and saved again"), encoding="utf-8")

    expect(error).to_be_hidden(timeout=WAIT_MS)
    expect_text(page, "desktop", "Mended and saved again")
    expect(page.locator("#issues .badge.broken")).to_have_count(0)


def test_the_issue_list_switches_issues(open_preview, project: Path) -> None:
    from playwright.sync_api import expect

    page = open_preview(f"issue/{SEED_SLUG}")
    expect_text(page, "desktop", SEED_TITLE)

    write_issue(project, "2026-10-01-second-thoughts", title="Second thoughts", status="draft")

    link = page.get_by_role("link", name=re.compile("Second thoughts"))
    expect(link).to_contain_text("draft", timeout=WAIT_MS)
    link.click()
    expect(page).to_have_url(re.compile(r"/issue/second-thoughts$"))
    for name in ("desktop", "text", "archive"):
        expect_text(page, name, "Second thoughts")
    expect(page.locator("#issues [aria-current=page]")).to_contain_text("Second thoughts")


def test_a_template_edit_re_renders(open_preview, project: Path) -> None:
    from playwright.sync_api import expect

    page = open_preview()
    expect_text(page, "desktop", SEED_TITLE)
    mjml = project / "templates/email/issue.mjml.j2"
    good = mjml.read_text(encoding="utf-8")

    edit(mjml, "{{ site.tagline }}", "A tagline edited in the template")
    edit(project / "templates/web/issue.html.j2", "<h1>", "<h1>Archive: ")

    expect_text(page, "phone", "A tagline edited in the template")
    expect_text(page, "archive", "Archive: " + SEED_TITLE)

    mjml.write_text(good.replace("{{ site.tagline }}", "{{ site.no_such_key }}"), encoding="utf-8")
    expect(page.locator("#error")).to_have_text(
        re.compile(r"^templates/email/issue\.mjml\.j2:\d+: error: undefined template variable"),
        timeout=WAIT_MS,
    )
    mjml.write_text(good, encoding="utf-8")
    expect(page.locator("#error")).to_be_hidden(timeout=WAIT_MS)


def test_text_from_the_issue_is_escaped(open_preview, project: Path) -> None:
    from playwright.sync_api import expect

    write_issue(project, "2026-10-01-markup", title='"<img src=x id=injected>"')
    page = open_preview("issue/markup")

    expect(page.locator("#title")).to_have_text("<img src=x id=injected>", timeout=WAIT_MS)
    expect(page.locator("#issues")).to_contain_text("<img src=x id=injected>")
    assert page.locator("#injected").count() == 0


def test_local_images_come_from_the_preview_server(
    open_preview, project: Path, offsite: list[str]
) -> None:
    from playwright.sync_api import expect

    (project / "content/images").mkdir(exist_ok=True)
    (project / "content/images/chart.png").write_bytes(png_bytes(40, 20))
    write_issue(project, "2026-10-01-chart", title="Chart", body="![A chart](images/chart.png)\n")
    page = open_preview("issue/chart")

    for name in ("desktop", "archive"):
        image = view(page, name).get_by_alt_text("A chart")
        expect(image).to_have_js_property("naturalWidth", 40, timeout=WAIT_MS)  # loaded
    assert offsite == []


# --- the library, without a browser ---------------------------------------------------------


def test_a_change_re_renders_only_what_depends_on_it(project: Path) -> None:
    write_issue(project, "2026-10-01-other", title="Other")
    workspace = Workspace(load_settings(project))
    try:
        seed, other = (workspace.find(slug) for slug in (SEED_SLUG, "other"))
        assert seed is not None and other is not None
        first = workspace.render(seed), workspace.render(other)

        edit(project / SEED_ISSUE, SEED_SENTENCE, "Changed")
        assert workspace.poll()
        seed = workspace.find(SEED_SLUG)
        assert seed is not None
        assert workspace.render(seed) is not first[0]
        assert workspace.render(other) is first[1]  # kept: it depends on nothing that changed

        edit(project / "templates/web/issue.html.j2", "<h1>", "<h1>Web: ")
        assert workspace.poll()
        assert workspace.render(other) is first[1]  # the email does not use web templates

        edit(project / "templates/email/theme.toml", "#f3efe6", "#f3efe7")
        assert workspace.poll()
        assert workspace.render(other) is not first[1]
        assert not workspace.poll()  # nothing else changed
    finally:
        workspace.close()


def test_drafts_are_listed_unless_asked_not_to(project: Path) -> None:
    write_issue(project, "2026-10-01-a-draft", title="A draft", status="draft")
    for drafts, listed in ((True, ["a-draft", SEED_SLUG]), (False, [SEED_SLUG])):
        workspace = Workspace(load_settings(project), drafts=drafts)
        try:
            assert sorted(item["slug"] for item in workspace.state(None)["issues"]) == listed
        finally:
            workspace.close()


def test_broken_settings_show_in_the_state_and_recover(project: Path) -> None:
    workspace = Workspace(load_settings(project))
    try:
        pyproject = project / "pyproject.toml"
        good = pyproject.read_text(encoding="utf-8")
        pyproject.write_text(good.replace('language = "en-GB"', 'language = "English"'))
        workspace.poll()
        assert workspace.state(None)["error"].startswith("pyproject.toml:")

        pyproject.write_text(good)
        workspace.poll()
        state = workspace.state(None)
        assert state["error"] is None and state["slug"] == SEED_SLUG
    finally:
        workspace.close()


def test_dark_mode_is_forced_in_the_served_copy() -> None:
    email = (
        '<html><head><meta name="color-scheme" content="light dark"><style>'
        "@media (prefers-color-scheme: dark) { a { color: red } }"
        "@media only screen and (prefers-color-scheme : light) { a { color: blue } }"
        "</style></head><body></body></html>"
    )

    dark = for_preview(email, dark=True)

    assert '<meta name="color-scheme" content="dark">' in dark
    assert "@media (min-width: 0px) { a { color: red } }" in dark
    assert "@media only screen and (max-width: -1px)" in dark
    assert ":root{color-scheme:dark}</style></head>" in dark
    assert for_preview(email).startswith('<html><head><base target="_blank">')


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback)
            return response.status, response.headers["Content-Security-Policy"], response.read()
    except HTTPError as error:
        return error.code, error.headers["Content-Security-Policy"], error.read()


@pytest.mark.parametrize(
    "path",
    [
        "archive/%2e%2e/%2e%2e/pyproject.toml",
        "content/%2e%2e/pyproject.toml",
        "content/issues/2026-12-01-hard-sell-or-soft-sell.md",
        "email/no-such-issue.html",
        "_ui/../preview.py",
    ],
)
def test_nothing_outside_the_preview_is_served(preview: PreviewServer, path: str) -> None:
    status, csp, _ = get(preview.url + path)
    assert status == 404
    assert "default-src 'none'" in csp


def test_events_say_which_issues_changed_and_whether_they_render(
    preview: PreviewServer, project: Path
) -> None:
    events = urllib.request.urlopen(preview.url + "events", timeout=5)  # noqa: S310

    def next_change() -> dict[str, Any]:
        while not (line := events.readline()).startswith(b"data: "):
            pass
        return dict(json.loads(line.removeprefix(b"data: ")))

    first = next_change()
    preview.workspace.state(SEED_SLUG)  # the page asks for the issue: it is now watched
    edit(project / SEED_ISSUE, "status: ready", "status: [ready")
    broken = next_change()
    edit(project / SEED_ISSUE, "status: [ready", "status: ready")
    mended = next_change()
    events.close()

    stamps = [news["issues"][SEED_SLUG]["stamp"] for news in (first, broken, mended)]
    assert stamps[0] < stamps[1] < stamps[2]
    assert [news["issues"][SEED_SLUG]["ok"] for news in (broken, mended)] == [False, True]


def test_a_view_that_fails_shows_its_error_escaped(preview: PreviewServer, project: Path) -> None:
    write_issue(project, "2026-10-01-missing", title="Missing", body="![x](images/<b>.png)\n")
    preview.workspace.poll()

    status, _, body = get(preview.url + "email/missing.html")

    assert status == 500
    assert (
        b"2026-10-01-missing.md:8: error: image &#x27;images/&lt;b&gt;.png&#x27; not found" in body
    )
    assert b"<b>" not in body


def test_stop_ends_every_thread_and_closes_the_port(project: Path) -> None:
    server = serve_preview(load_settings(project), "127.0.0.1", 0)
    events = urllib.request.urlopen(server.url + "events", timeout=5)  # noqa: S310
    assert [events.readline() for _ in range(4)][:3] == [b"retry: 500\n", b"\n", b"event: change\n"]

    server.stop()

    assert not [t for t in threading.enumerate() if t.name.startswith("sphere-preview")]
    assert events.read() == b"\n"  # the first event's end, then the end: the stream was closed
    with pytest.raises(OSError):
        urllib.request.urlopen(server.url, timeout=2)  # noqa: S310
    events.close()


def request(
    server: PreviewServer, path: str = "", *, method: str = "GET", host: str | None = None
) -> http.client.HTTPResponse:
    """`method path` to the server, with `host` as the Host header (default: the server's own)."""
    url = urlsplit(server.url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=5)
    headers = {} if host is None else {"Host": host}
    connection.request(method, url.path + path, headers=headers)
    return connection.getresponse()


def port_of(server: PreviewServer) -> int:
    port = urlsplit(server.url).port
    assert port is not None
    return port


@pytest.mark.parametrize(
    "host",
    [
        "evil.test:{port}",
        "127.0.0.1.evil.test:{port}",
        "localhost.evil.test:{port}",
        "127.0.0.1:{other}",
        "localhost",  # port 80
        "",
        "127.0.0.1:x",
    ],
)
def test_a_request_for_another_host_is_refused(preview: PreviewServer, host: str) -> None:
    port = port_of(preview)
    host = host.format(port=port, other=port + 1)
    for path in ("", "api/state", f"email/{SEED_SLUG}.html", "events"):
        response = request(preview, path, host=host)
        body = response.read()
        assert response.status == 403, (host, path)
        assert b"this preview answers only its own address" in body
        assert SEED_TITLE.encode() not in body
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin"


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LocalHost:{port}"])
def test_its_own_address_and_localhost_are_answered(preview: PreviewServer, host: str) -> None:
    response = request(preview, "api/state", host=host.format(port=port_of(preview)))

    assert response.status == 200
    assert json.loads(response.read())["slug"] == SEED_SLUG
    assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin"
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]


def test_the_page_may_be_framed_by_nothing_and_its_views_only_by_it(
    preview: PreviewServer,
) -> None:
    page = request(preview, f"issue/{SEED_SLUG}").headers["Content-Security-Policy"]
    view_ = request(preview, f"email/{SEED_SLUG}.html").headers["Content-Security-Policy"]

    assert "frame-ancestors 'none'" in page
    assert "frame-ancestors 'self'" in view_


@pytest.mark.parametrize(
    ("listening", "allowed", "refused"),
    [
        ("127.0.0.1", ["127.0.0.1:8800", "localhost:8800"], ["evil.test:8800", "[::1]:8800"]),
        ("::1", ["[::1]:8800", "localhost:8800"], ["127.0.0.1:8800", "evil.test:8800"]),
        ("localhost", ["localhost:8800", "127.0.0.1:8800"], ["evil.test:8800"]),
        ("192.0.2.7", ["192.0.2.7:8800"], ["localhost:8800", "evil.test:8800"]),
        ("preview.lan", ["preview.lan:8800"], ["localhost:8800", "192.0.2.7:8800"]),
        # Every address: any address names this machine; a name may be an attacker's.
        ("0.0.0.0", ["192.0.2.7:8800", "localhost:8800"], ["evil.test:8800", "[::1]:8801"]),  # noqa: S104
    ],
)
def test_the_hosts_a_server_answers(listening: str, allowed: list[str], refused: list[str]) -> None:
    origin = Origin.listening_on(listening, 8800)

    assert [host for host in allowed if origin.allows(host)] == allowed
    assert [host for host in refused if origin.allows(host)] == []


def test_a_rebinding_page_in_chromium_reads_nothing(
    browser: Browser, preview: PreviewServer
) -> None:
    """A hostile name resolved to 127.0.0.1, as DNS rebinding does, with Chromium's own rules."""
    port = port_of(preview)
    rebinding = browser.browser_type.launch(
        executable_path=str(chromium_executable()),
        args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP evil.test 127.0.0.1"],
    )
    try:
        page = rebinding.new_page()
        own = page.goto(f"http://localhost:{port}/api/state")
        assert own is not None and own.status == 200  # the rule and the server work

        hostile = page.goto(f"http://evil.test:{port}/")
        assert hostile is not None and hostile.status == 403
        statuses = page.evaluate(
            "Promise.all(['/api/state', '/email/" + SEED_SLUG + ".html', '/_ui/preview.js']"
            ".map(path => fetch(path).then(response => response.status)))"
        )
        assert statuses == [403, 403, 403]
        assert SEED_TITLE not in page.content()
    finally:
        rebinding.close()


def test_head_is_answered_like_get_without_a_body(preview: PreviewServer) -> None:
    for path in ("", f"email/{SEED_SLUG}.html", "_ui/preview.css", "no-such-page", "events"):
        got = request(preview, path)
        got_body = got.read() if path != "events" else b""
        head = request(preview, path, method="HEAD")

        assert head.status == got.status, path
        assert head.read() == b""
        assert head.headers["Content-Type"] == got.headers["Content-Type"]
        if path != "events":
            assert head.headers["Content-Length"] == str(len(got_body))


def test_bad_names_are_not_found_and_the_server_goes_on(
    preview: PreviewServer, project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    images = project / "content/images"
    images.mkdir(exist_ok=True)
    (images / "loop.png").symlink_to(images / "loop.png")
    (images / "a.png").symlink_to(images / "b.png")
    (images / "b.png").symlink_to(images / "a.png")
    (images / "dir").symlink_to(images / "dir")

    for path in (
        "content/images/%00.png",
        "archive/%00",
        "archive/x%00y/",
        "content/images/" + "n" * 300 + ".png",
        "archive/" + "n" * 5000,
        "content/images/loop.png",
        "content/images/a.png",
        "content/images/dir/x.png",
        "email/%00.html",
    ):
        response = request(preview, path)
        assert response.status == 404, path
        assert b"not found" in response.read()
    assert request(preview, "api/state").status == 200
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []


# --- the command ------------------------------------------------------------------------------


def test_a_port_in_use_is_an_error_with_the_fix(project: Path, sphere) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = sphere("preview", "--port", str(port), "--no-open")

    assert result.status == 3
    assert result.err == (
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use;"
        " choose another --port (0: any)\n"
    )


@pytest.fixture
def temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder that `tempfile` makes folders in, for this test only."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.parametrize("port", ["99999", "-1", "65536"])
def test_a_port_out_of_range_is_a_usage_error(
    project: Path, sphere, temporary: Path, port: str
) -> None:
    result = sphere("preview", "--port", port, "--no-open")

    assert result.status == 2
    assert "Invalid value for '--port'" in result.err
    assert "Traceback" not in result.err
    assert list(temporary.iterdir()) == []


def test_serving_on_a_port_out_of_range_leaves_nothing_behind(
    project: Path, temporary: Path
) -> None:
    with pytest.raises(PreviewUnavailable, match=r"cannot listen on 127\.0\.0\.1:99999: "):
        serve_preview(load_settings(project), "127.0.0.1", 99999)
    assert list(temporary.iterdir()) == []


def _fail_to_bind(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(self: object) -> None:
        raise RuntimeError("no bind today")

    monkeypatch.setattr(PreviewHTTPServer, "server_bind", fail)


def _fail_to_start_the_watcher(monkeypatch: pytest.MonkeyPatch) -> None:
    start = threading.Thread.start

    def start_unless_watcher(self: threading.Thread) -> None:
        if self.name == "sphere-preview-watch":
            raise RuntimeError("can't start new thread")
        start(self)

    monkeypatch.setattr(threading.Thread, "start", start_unless_watcher)


def _fail_to_load(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(self: object) -> None:
        raise RuntimeError("cannot load")

    monkeypatch.setattr(Workspace, "_load_all", fail)


@pytest.mark.parametrize("failure", [_fail_to_bind, _fail_to_start_the_watcher, _fail_to_load])
def test_any_failure_while_starting_leaves_nothing_behind(
    project: Path, temporary: Path, monkeypatch: pytest.MonkeyPatch, failure
) -> None:
    failure(monkeypatch)
    with pytest.raises(RuntimeError):
        serve_preview(load_settings(project), "127.0.0.1", 0)

    assert list(temporary.iterdir()) == []
    assert not [t for t in threading.enumerate() if t.name.startswith("sphere-preview")]


def test_an_unknown_issue_is_an_error(project: Path, sphere) -> None:
    result = sphere("preview", "no-such-issue", "--port", "0", "--no-open")

    assert (result.status, result.out) == (1, "")
    assert result.err == "error: no issue 'no-such-issue' in content/issues/\n"
    assert not [t for t in threading.enumerate() if t.name.startswith("sphere-preview")]


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_command_prints_its_url_and_stops_cleanly(
    project: Path, tmp_path: Path, stop: signal.Signals
) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "sphere", "preview", SEED_ISSUE, "--port", "0", "--no-open"],
        cwd=project,
        env={**os.environ, "TMPDIR": str(temporary)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.fullmatch(
            r"Previewing at (http://127\.0\.0\.1:\d+/)(\S*) \(Ctrl-C to stop\)\n", line
        )
        assert match, line
        assert match[2] == f"issue/{SEED_SLUG}"
        status, _, body = get(match[1] + match[2])
        assert status == 200 and b"Sphere preview" in body
        assert [p.name[:15] for p in temporary.iterdir()] == ["sphere-preview-"]
    finally:
        process.send_signal(stop)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert out == "stopped\n"
    assert list(temporary.iterdir()) == []


@pytest.mark.parametrize(
    "host", ["192.0.2.1", "no-such-host.invalid"], ids=["not-this-machine", "unknown-name"]
)
def test_a_host_that_cannot_be_listened_on_says_to_change_the_host(
    project: Path, sphere, host: str
) -> None:
    result = sphere("preview", "--host", host, "--port", "0", "--no-open")

    assert (result.status, result.out) == (3, "")
    assert re.fullmatch(
        rf"error: cannot listen on {re.escape(host)}:0: [^;\n]+; "
        r"--host must be an address of this machine \(default 127\.0\.0\.1\)\n",
        result.err,
    ), result.err
