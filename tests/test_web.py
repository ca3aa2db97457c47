"""The endpoints over real HTTP against `sphere serve` on loopback: unsubscribe, subscribe, confirm."""

from __future__ import annotations

import email
import html
import re
import socket
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from fixtures_clock import ManualClock
from fixtures_project import Result
from fixtures_send import add_subscribers
from fixtures_web import Endpoint, free_port

from sphere.mail.personalise import tokens_for
from sphere.mail.tokens import Tokens
from sphere.settings import load_settings
from sphere.subscribers.list import CHANGES, Subscriber, open_list


def people(root: Path) -> dict[str, Subscriber]:
    return {record.email: record for record in open_list(load_settings(root)).all()}


def changes(root: Path) -> list[str]:
    folder = root / "store" / CHANGES
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def subscribe_one(root: Path, address: str = "reader@example.org") -> tuple[str, str]:
    """Subscribe `address`; return its id and its unsubscribe token."""
    ids = add_subscribers(load_settings(root), [(address, "Reader")])
    return ids[address], tokens_for(load_settings(root)).unsubscribe(ids[address])


# As Gmail sends it (RFC 8058): a POST to the List-Unsubscribe URL, this body, no cookies.
GMAIL_HEADERS = {
    "Content-Type": "application/x-www-form-urlencoded",
    "User-Agent": "Mozilla/5.0 (compatible; Google-Unsubscribe)",
}
ONE_CLICK = b"List-Unsubscribe=One-Click"


def test_a_get_shows_a_button_and_changes_nothing(endpoint: Endpoint) -> None:
    _, token = subscribe_one(endpoint.root)
    before = changes(endpoint.root)

    reply = endpoint.request("GET", f"/unsubscribe?t={token}")

    assert reply.status == 200
    assert '<button type="submit">Unsubscribe</button>' in reply.text
    assert f'action="{endpoint.url}unsubscribe?t={token}"' in reply.text
    assert changes(endpoint.root) == before
    assert people(endpoint.root)["reader@example.org"].status == "subscribed"


def test_the_one_click_post_as_gmail_sends_it_unsubscribes_once(endpoint: Endpoint) -> None:
    _, token = subscribe_one(endpoint.root)

    first = endpoint.request("POST", f"/unsubscribe?t={token}", ONE_CLICK, GMAIL_HEADERS)
    written = changes(endpoint.root)
    second = endpoint.request("POST", f"/unsubscribe?t={token}", ONE_CLICK, GMAIL_HEADERS)

    assert (first.status, second.status) == (200, 200)
    assert "You are unsubscribed" in first.text
    assert second.text == first.text
    assert people(endpoint.root)["reader@example.org"].status == "unsubscribed"
    assert changes(endpoint.root) == written, "the second POST wrote something"


def test_a_one_click_post_for_an_id_on_no_record_never_says_unsubscribed(
    endpoint: Endpoint,
) -> None:
    """A token is valid but its id matches nobody (the person was erased, or the id changed
    in an older version): the endpoint acted on no one, so it must not answer success."""
    _, token = subscribe_one(endpoint.root)
    open_list(load_settings(endpoint.root)).erase("reader@example.org")
    written = changes(endpoint.root)

    reply = endpoint.request("POST", f"/unsubscribe?t={token}", ONE_CLICK, GMAIL_HEADERS)

    assert reply.status == 404
    assert "You are unsubscribed" not in reply.text
    assert "not on the list (it may have been erased). Nothing was changed." in reply.text
    assert changes(endpoint.root) == written


def test_the_one_click_post_in_multipart_form_data_unsubscribes(endpoint: Endpoint) -> None:
    _, token = subscribe_one(endpoint.root)
    body = (
        b'--foo\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
        b"One-Click\r\n--foo--\r\n"
    )  # RFC 8058's own example
    headers = {"Content-Type": "multipart/form-data; boundary=foo"}

    reply = endpoint.request("POST", f"/unsubscribe?t={token}", body, headers)

    assert reply.status == 200
    assert people(endpoint.root)["reader@example.org"].status == "unsubscribed"


def test_the_unsubscribe_button_of_the_page_unsubscribes(endpoint: Endpoint) -> None:
    _, token = subscribe_one(endpoint.root)
    page = endpoint.request("GET", f"/unsubscribe?t={token}").text
    action = re.search(r'action="http://127\.0\.0\.1:\d+(/unsubscribe\?t=[^"]+)"', page)
    assert action

    reply = endpoint.post_form(action.group(1).replace("&amp;", "&"), {})

    assert reply.status == 200
    assert people(endpoint.root)["reader@example.org"].status == "unsubscribed"


@pytest.mark.parametrize(
    "bad",
    ["", "nonsense", "TAMPER", "CONFIRM", "OTHER-SECRET", "TRUNCATED"],
)
def test_a_bad_unsubscribe_token_gets_a_friendly_page_and_changes_nothing(
    endpoint: Endpoint, bad: str
) -> None:
    subscriber_id, token = subscribe_one(endpoint.root)
    tokens = {
        "TAMPER": token[:-1] + ("A" if token[-1] != "A" else "B"),
        "CONFIRM": tokens_for(load_settings(endpoint.root)).confirm(subscriber_id),
        "OTHER-SECRET": Tokens("another-secret-entirely-0123456789").unsubscribe(subscriber_id),
        "TRUNCATED": token[: len(token) // 2],
    }
    sent = quote(tokens.get(bad, bad), safe="")
    before = changes(endpoint.root)

    for method in ("GET", "POST"):
        reply = endpoint.request(method, f"/unsubscribe?t={sent}", ONE_CLICK, GMAIL_HEADERS)
        assert reply.status == 400
        assert "This link does not work" in reply.text
        assert "Nothing was changed" in reply.text
    assert changes(endpoint.root) == before
    assert people(endpoint.root)["reader@example.org"].status == "subscribed"


SUBMISSIONS = {
    "new": {"email": "new@example.org", "name": "New Reader"},
    "known": {"email": "reader@example.org", "name": "Someone"},
    "unsubscribed": {"email": "gone@example.org"},
    "invalid": {"email": "not an address"},
    "honeypot": {"email": "bot@example.org", "website": "http://spam.example"},
    "script name": {"email": "xss@example.org", "name": "<script>alert(1)</script>"},
}


def test_every_subscribe_submission_gets_the_same_answer(endpoint: Endpoint) -> None:
    subscribe_one(endpoint.root)
    _, gone = subscribe_one(endpoint.root, "gone@example.org")
    endpoint.request("POST", f"/unsubscribe?t={gone}", ONE_CLICK, GMAIL_HEADERS)

    replies = {kind: endpoint.post_form("/subscribe", form) for kind, form in SUBMISSIONS.items()}

    assert {reply.status for reply in replies.values()} == {200}
    assert len({reply.text for reply in replies.values()}) == 1, "an answer differs"
    assert {k: v for k, v in replies["new"].headers.items() if k != "date"} == {
        k: v for k, v in replies["invalid"].headers.items() if k != "date"
    }
    mailed = sorted(email.message_from_bytes(path.read_bytes())["To"] for path in endpoint.outbox())
    assert mailed == ["gone@example.org", "new@example.org", "xss@example.org"]
    everyone = people(endpoint.root)
    assert everyone["new@example.org"].status == "pending"
    assert everyone["reader@example.org"].status == "subscribed"
    assert everyone["gone@example.org"].status == "unsubscribed"  # until they confirm
    assert "bot@example.org" not in everyone


def test_an_address_no_send_could_reach_is_refused_with_a_clear_line(endpoint: Endpoint) -> None:
    # A browser's type="email" field refuses it already; a plain POST must not get past.
    reply = endpoint.post_form("/subscribe", {"email": "josé@example.org"})

    assert reply.status == 400
    assert "letters before the @ that are not plain ASCII" in html.unescape(reply.text)
    assert 'name="email"' in reply.text  # the form again, to give another address
    assert endpoint.outbox() == [] and "josé@example.org" not in people(endpoint.root)


def test_the_confirmation_email_holds_nothing_the_visitor_typed(endpoint: Endpoint) -> None:
    endpoint.post_form("/subscribe", {"email": "new@example.org", "name": "Buy cheap pills now"})
    endpoint.post_form("/subscribe", SUBMISSIONS["script name"])

    texts = [path.read_text(encoding="utf-8") for path in endpoint.outbox()]

    assert len(texts) == 2
    for text in texts:
        assert "pills" not in text.lower()
        assert "<script" not in text and "alert(1)" not in text
        assert re.search(r"^http://127\.0\.0\.1:\d+/confirm\?t=\S+$", text, re.MULTILINE)


def test_a_name_holding_markup_is_shown_nowhere_unescaped(endpoint: Endpoint) -> None:
    reply = endpoint.post_form("/subscribe", SUBMISSIONS["script name"])

    stored = b"".join(path.read_bytes() for path in (endpoint.root / "store").rglob("*.json*"))
    assert "<script>" not in reply.text
    assert b"<script>" not in stored
    assert b"<script>" not in b"".join(path.read_bytes() for path in endpoint.outbox())


def test_the_sixth_request_in_a_day_sends_nothing(endpoint: Endpoint) -> None:
    replies = [
        endpoint.post_form("/subscribe", {"email": "new@example.org"}).text for _ in range(6)
    ]

    assert len(endpoint.outbox()) == 1
    assert len(set(replies)) == 1


def confirm_link(endpoint: Endpoint) -> str:
    (message,) = endpoint.outbox()
    found = re.search(r"^http://127\.0\.0\.1:\d+(/confirm\?t=\S+)$", message.read_text(), re.M)
    assert found
    return found.group(1)


def test_confirming_subscribes_with_the_consent_evidence(endpoint: Endpoint) -> None:
    page = "https://www.jimwigg.com/sphere/issues/hard-sell-or-soft-sell/"
    endpoint.post_form("/subscribe", {"email": "new@example.org", "page": page})
    link = confirm_link(endpoint)

    shown = endpoint.request("GET", link)
    assert shown.status == 200 and "Yes, subscribe me" in shown.text
    assert people(endpoint.root)["new@example.org"].status == "pending"
    token = re.search(r'name="t" value="([^"]+)"', shown.text)
    assert token
    done = endpoint.post_form("/confirm", {"t": token.group(1)})
    again = endpoint.post_form("/confirm", {"t": token.group(1)})

    assert done.status == 200 and "You are subscribed" in done.text
    assert again.text == done.text
    record = people(endpoint.root)["new@example.org"]
    assert (record.status, record.consent_method, record.consent_source) == (
        "subscribed", "form", page,
    )  # fmt: skip
    evidence = record.consent_evidence or {}
    assert evidence["request_ip"] == evidence["confirm_ip"] == "127.0.0.1"
    assert evidence["request_page"] == page
    assert evidence["requested_at"] <= evidence["confirmed_at"]


def test_an_expired_or_forged_confirm_token_changes_nothing(endpoint: Endpoint) -> None:
    endpoint.post_form("/subscribe", {"email": "new@example.org"})
    subscriber_id = people(endpoint.root)["new@example.org"].id
    old = Tokens(load_settings(endpoint.root).secret, clock=ManualClock(1_700_000_000.0))
    expired = old.confirm(subscriber_id)
    unsubscribe = tokens_for(load_settings(endpoint.root)).unsubscribe(subscriber_id)
    before = changes(endpoint.root)

    for token, why in ((expired, "expired"), (unsubscribe, "not valid"), ("x.y.z", "not valid")):
        shown = endpoint.request("GET", f"/confirm?t={quote(token)}")
        posted = endpoint.post_form("/confirm", {"t": token})
        assert (shown.status, posted.status) == (400, 400)
        assert why in posted.text and "Nothing was changed" in posted.text
    assert changes(endpoint.root) == before
    assert people(endpoint.root)["new@example.org"].status == "pending"


def test_the_unsubscribed_page_offers_to_subscribe_again_by_double_opt_in(
    endpoint: Endpoint,
) -> None:
    _, token = subscribe_one(endpoint.root)
    page = endpoint.request("POST", f"/unsubscribe?t={token}", ONE_CLICK, GMAIL_HEADERS).text
    hidden = re.search(r'name="t" value="([^"]+)"', page)
    assert hidden and 'action="http://127.0.0.1' in page

    reply = endpoint.post_form("/subscribe", {"t": hidden.group(1)})

    assert "Check your inbox" in reply.text
    assert people(endpoint.root)["reader@example.org"].status == "unsubscribed"
    endpoint.request("GET", confirm_link(endpoint))  # a scanner following the link: no change
    assert people(endpoint.root)["reader@example.org"].status == "unsubscribed"


def test_pages_carry_security_headers_and_ignore_the_host_header(endpoint: Endpoint) -> None:
    _, token = subscribe_one(endpoint.root)

    reply = endpoint.request("GET", f"/unsubscribe?t={token}", headers={"Host": "evil.example"})

    assert reply.status == 200
    assert "evil.example" not in reply.text
    policy = reply.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert f"form-action {endpoint.url}" in policy
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["referrer-policy"] == "no-referrer"
    assert reply.headers["cache-control"] == "no-store"
    assert "location" not in reply.headers
    for url in re.findall(r'(?:href|action|src)="([^"]+)"', reply.text):
        assert url.startswith(("https://www.jimwigg.com", endpoint.url, "#", "tel:", "mailto:")), (
            url
        )


@pytest.mark.parametrize(
    "path",
    ["//evil.example/", "/unsubscribe/../../etc/passwd", "/redirect?to=https://evil.example"],
)
def test_unknown_paths_are_not_found_and_never_redirect(endpoint: Endpoint, path: str) -> None:
    reply = endpoint.request("GET", path)

    assert reply.status == 404
    assert "location" not in reply.headers
    assert "evil.example" not in reply.text


def test_a_wrong_method_is_refused(endpoint: Endpoint) -> None:
    reply = endpoint.request("PUT", "/unsubscribe?t=x")

    assert reply.status == 405
    assert reply.headers["allow"] == "GET, POST, HEAD"


def test_a_huge_body_is_refused_without_reading_it(endpoint: Endpoint) -> None:
    reply = endpoint.post_form("/subscribe", {"email": "a@example.org", "name": "x" * 20_000})

    assert reply.status == 413
    assert endpoint.outbox() == []


def test_the_logs_hold_no_address_token_or_link(endpoint: Endpoint) -> None:
    subscriber_id, token = subscribe_one(endpoint.root)
    endpoint.request("GET", f"/unsubscribe?t={token}")
    endpoint.request("POST", f"/unsubscribe?t={token}", ONE_CLICK, GMAIL_HEADERS)
    endpoint.post_form("/subscribe", {"email": "new@example.org", "name": "New Reader"})
    link = confirm_link(endpoint)
    endpoint.request("GET", link)
    confirm_token = link.split("t=", 1)[1]
    endpoint.post_form("/confirm", {"t": confirm_token})
    endpoint.process.terminate()
    endpoint.process.wait(timeout=10)

    log = endpoint.log.read_text()
    assert "POST /unsubscribe 200" in log  # the log is there, and says what happened
    for secret in ("example.org", subscriber_id, token, confirm_token, "t=", "New Reader"):
        assert secret not in log


def test_serve_on_a_busy_port_says_so(project: Path, sphere: Callable[..., Result]) -> None:
    import socket

    port = free_port()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        result = sphere("serve", "--port", str(port))

    assert result.status == 3
    assert result.err.startswith(f"error: cannot listen on 127.0.0.1:{port}: ")
    assert len(result.err.splitlines()) == 1


def test_an_erased_person_can_come_back_only_by_confirming(endpoint: Endpoint) -> None:
    subscribe_one(endpoint.root, "back@example.org")
    open_list(load_settings(endpoint.root)).erase("back@example.org")
    assert "back@example.org" not in people(endpoint.root)

    reply = endpoint.post_form("/subscribe", {"email": "back@example.org"})

    assert "Check your inbox" in reply.text
    assert "back@example.org" not in people(endpoint.root)  # not until they confirm
    waiting = list((endpoint.root / "store" / "web" / "pending").glob("*.json"))
    assert len(waiting) == 1
    link = confirm_link(endpoint)
    token = link.split("t=", 1)[1]
    assert endpoint.post_form("/confirm", {"t": token}).status == 200
    record = people(endpoint.root)["back@example.org"]
    assert (record.status, record.consent_method) == ("subscribed", "form")
    assert (record.consent_evidence or {})["confirm_ip"] == "127.0.0.1"
    assert not waiting[0].exists(), "the request outlived its confirmation"
    open_list(load_settings(endpoint.root)).counts()  # a read finishes erasures: not this one
    assert people(endpoint.root)["back@example.org"].status == "subscribed"
    folder = endpoint.root / "store" / CHANGES
    assert any(b"back@example.org" in path.read_bytes() for path in folder.iterdir())


def _answer_within(connection: socket.socket, seconds: float) -> bytes:
    """What the server sends until it closes the connection (at most `seconds` of waiting)."""
    connection.settimeout(seconds)
    received = b""
    while chunk := connection.recv(4096):
        received += chunk
    return received


@pytest.mark.parametrize(
    "sent",
    [
        b"POST /subscribe HTTP/1.1\r\nHost: x\r\n",  # stops inside the headers
        b"POST /subscribe HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-"
        b"urlencoded\r\nContent-Length: 200\r\n\r\nemail=slow%40example.org",  # in the body
    ],
)
def test_a_client_that_stops_half_way_is_cut_off(
    serve_endpoint: Callable[..., Endpoint], sent: bytes
) -> None:
    endpoint = serve_endpoint("--timeout", "1")
    port = int(endpoint.url.rsplit(":", 1)[1].strip("/"))
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(sent)
        received = _answer_within(connection, 6)  # the server closes it after 1 s

    assert received == b"" or received.startswith(b"HTTP/1.0 408 ")  # dropped, or told why
    assert endpoint.outbox() == []  # the half a form did nothing
    # and the server still answers everyone else
    assert endpoint.request("GET", "/subscribe").status == 200


def test_a_client_trickling_its_request_is_cut_off_at_the_deadline(
    serve_endpoint: Callable[..., Endpoint],
) -> None:
    """A byte every half-second never trips the read timeout alone: the request's deadline does."""
    endpoint = serve_endpoint("--timeout", "1")
    port = int(endpoint.url.rsplit(":", 1)[1].strip("/"))
    with socket.create_connection(("127.0.0.1", port)) as connection:
        closed = False
        for byte in b"GET /subscribe HTTP/1.1\r\nX-Slow: " + b"a" * 20:
            try:
                connection.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            time.sleep(0.5)  # 10 s in all, were it never cut
        if not closed:
            assert _answer_within(connection, 1) == b""


# --- the form cannot flood an inbox (issue 21) ------------------------------------------------

ONE_INBOX = [
    *(f"victim+{n}@gmail.com" for n in range(20)),
    *(f"Victim+news{n}@googlemail.com" for n in range(5)),
    "v.ictim@gmail.com", "vi.ctim@gmail.com", "vic.tim@gmail.com", "vict.im@gmail.com",
    "victi.m@gmail.com", "v.i.c.t.i.m@gmail.com", "V.ICTIM@GMAIL.COM", "victim@gmail.com",
    "v.ictim+a@googlemail.com", "vi.ctim+b@gmail.com", "victim+@gmail.com",
    "vic.tim+x.y@gmail.com", "victim+1+2@gmail.com", "victim@googlemail.com", "VICTIM@gmail.com",
]  # fmt: skip


def test_forty_spellings_of_one_inbox_get_one_confirmation(endpoint: Endpoint) -> None:
    """Plus-tags, Gmail's dots and googlemail.com: one inbox, one email a day, one record."""
    assert len(ONE_INBOX) == 40
    replies = {endpoint.post_form("/subscribe", {"email": address}).text for address in ONE_INBOX}

    assert len(replies) == 1
    assert len(endpoint.outbox()) == 1
    assert list(people(endpoint.root)) == ["victim+0@gmail.com"]


def test_one_client_gets_five_confirmations_an_hour(endpoint: Endpoint) -> None:
    """Eight different people asked for by one client: five emails; the others wait."""
    replies = {
        endpoint.post_form("/subscribe", {"email": f"person{n}@example.org"}).text for n in range(8)
    }

    assert len(replies) == 1
    assert len(endpoint.outbox()) == 5
    stored = b"".join(p.read_bytes() for p in (endpoint.root / "store" / "web").rglob("*.json"))
    assert b"127.0.0.1" not in stored  # the bucket is named by a keyed hash
