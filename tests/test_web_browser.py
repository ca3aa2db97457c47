"""A reader's whole path in headless Chromium: join from the archive, confirm, leave in one press.

Real parts throughout: the archive built by `sphere build` and served over HTTP on loopback,
`sphere serve` with the outbox transport, the confirmation email read from the outbox, and an
issue sent with `sphere send` to the outbox. Screenshots land in the test's folder
(or in $KEEP_SCREENSHOTS_IN when it is set, to look at them).
"""

from __future__ import annotations

import email
import functools
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from email.message import Message
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fixtures_project import Result
from fixtures_web import Endpoint, StartEndpoint, free_port
from playwright.sync_api import Browser, Page

from sphere.settings import load_settings
from sphere.subscribers.list import open_list

ADDRESS = "reader@example.org"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, _fmt: str, *_args: object) -> None:
        pass


@pytest.fixture
def archive_port() -> int:
    return free_port()


@pytest.fixture
def served_archive(project: Path, archive_port: int) -> Iterator[Path]:
    """The project's dist/site/ (built by the test) served on loopback at `archive_port`."""
    site = project / "dist" / "site"  # served once the test has built it
    handler = functools.partial(_Quiet, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", archive_port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield site
    server.shutdown()
    server.server_close()


def shot(page: Page, folder: Path, name: str) -> None:
    keep = os.environ.get("KEEP_SCREENSHOTS_IN")
    target = Path(keep) if keep else folder
    target.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target / f"{name}.png"), full_page=True)


def the_message(endpoint: Endpoint, to: str, *, newsletter: bool, subject: str = "") -> Message:
    """The one confirmation email (or issue, or the welcome: by `subject`) sent to `to`."""
    messages = [email.message_from_bytes(p.read_bytes()) for p in endpoint.outbox()]
    found = [
        m
        for m in messages
        if m["To"]
        and to in m["To"]
        and bool(m["List-Unsubscribe"]) == newsletter
        and (not subject or m["Subject"] == subject)
    ]
    assert len(found) == 1, f"{len(found)} such messages to {to} in the outbox"
    return found[0]


def status_of(root: Path, address: str) -> tuple[str, dict[str, str]]:
    record = {r.email: r for r in open_list(load_settings(root)).all()}[address]
    return record.status, dict(record.consent_evidence or {})


def test_a_reader_joins_from_the_archive_and_leaves_with_one_press(
    serve_endpoint: StartEndpoint,
    served_archive: Path,
    archive_port: int,
    browser: Browser,
    sphere: Callable[..., Result],
    tmp_path: Path,
) -> None:
    base = f"http://127.0.0.1:{archive_port}/"
    endpoint = serve_endpoint(SPHERE_BASE_URL=base)
    built = sphere("build")
    assert built.status == 0, built.err
    context = browser.new_context(viewport={"width": 600, "height": 900})
    page = context.new_page()

    # The archive's index: the form is there, and works without JavaScript.
    page.goto(base)
    shot(page, tmp_path, "1-archive-form")
    page.fill("#subscribe-email", ADDRESS)
    page.fill("#subscribe-name", "Rea <b>der</b>")
    page.click("form.subscribe-form button[type=submit]")
    page.wait_for_selector("text=Check your inbox")
    assert page.url == f"{endpoint.url}subscribe"
    shot(page, tmp_path, "2-check-your-inbox")
    assert status_of(endpoint.root, ADDRESS)[0] == "pending"

    # The confirmation email's link, then the button.
    confirmation = the_message(endpoint, ADDRESS, newsletter=False)
    body = confirmation.get_payload(decode=True)
    assert isinstance(body, bytes)
    link = re.search(rf"^{re.escape(endpoint.url)}confirm\?t=\S+", body.decode(), re.M)
    assert link
    page.goto(link.group(0))
    shot(page, tmp_path, "3-confirm")
    assert status_of(endpoint.root, ADDRESS)[0] == "pending"  # opening the link is not consent
    page.click("button:has-text('Yes, subscribe me')")
    page.wait_for_selector("text=You are subscribed")
    shot(page, tmp_path, "4-subscribed")
    status, evidence = status_of(endpoint.root, ADDRESS)
    assert status == "subscribed"
    assert evidence["request_page"] == base
    assert evidence["request_ip"] == evidence["confirm_ip"] == "127.0.0.1"
    assert {"requested_at", "confirmed_at"} <= set(evidence)
    deadline = time.monotonic() + 10  # the welcome goes once the page is sent: wait for it
    while len(endpoint.outbox()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    welcome = the_message(endpoint, ADDRESS, newsletter=True, subject="Welcome to Sphere")
    assert b"Hi there," in welcome.get_payload()[0].get_payload(decode=True)  # type: ignore[index]

    # An issue sent to them; its unsubscribe link; one press.
    sent = sphere("send", "--now", "hard-sell-or-soft-sell")
    assert sent.status == 0, sent.err
    issue = the_message(
        endpoint,
        ADDRESS,
        newsletter=True,
        subject="To Hard Sell or to Soft Sell? That is the Question",
    )
    unsubscribe = re.search(
        r"<(http://127\.0\.0\.1:\d+/unsubscribe\?t=[^>]+)>", issue["List-Unsubscribe"]
    )
    assert unsubscribe and unsubscribe.group(1).startswith(endpoint.url)
    page.goto(unsubscribe.group(1))
    shot(page, tmp_path, "5-unsubscribe")
    assert status_of(endpoint.root, ADDRESS)[0] == "subscribed"
    page.click("button:has-text('Unsubscribe')")
    page.wait_for_selector("text=You are unsubscribed")
    shot(page, tmp_path, "6-unsubscribed")
    assert status_of(endpoint.root, ADDRESS)[0] == "unsubscribed"
    context.close()


def test_an_address_no_send_could_reach_gets_one_clear_line_in_the_browser(
    serve_endpoint: StartEndpoint, browser: Browser, tmp_path: Path
) -> None:
    endpoint = serve_endpoint()
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    answer = page.goto(f"{endpoint.url}subscribe")
    assert answer is not None and answer.status == 200, page.content()[:500]
    page.fill("#subscribe-email", "josé@example.org")
    # Chromium's own check of type="email" refuses it already...
    assert page.eval_on_selector("#subscribe-email", "field => field.validity.valid") is False
    # ...and a client without that check (or with it switched off) gets the server's answer.
    page.eval_on_selector("form.subscribe-form", "form => { form.noValidate = true; }")
    page.click("form.subscribe-form button[type=submit]")
    alert = page.wait_for_selector("[role=alert]")
    assert alert is not None and "not plain ASCII" in alert.inner_text()
    assert page.is_visible("#subscribe-email")  # the form again, for another address
    shot(page, tmp_path, "undeliverable-address")
    assert endpoint.outbox() == []
    context.close()
