"""How an issue did: feedback from SES (through SNS and SQS on moto) and readers' unsubscribes,
counted against the right issue, shown by `sphere status ISSUE` with who sent it and when.

Two issues go out to the same ten readers through the outbox; the unsubscribe links in their
messages are the real ones, posted to the endpoint's WSGI app (and one mailed, through SES
receiving's notification); SES's events are shaped as SES publishes them with the tags
Sphere sends each message with (campaign, recipient).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fixtures_aws import FeedbackQueue, ses_notification, ses_received
from fixtures_project import Result, write_issue
from fixtures_send import add_subscribers
from fixtures_web import call_app

from sphere.errors import StoreError, TokenError
from sphere.feedback import sync
from sphere.mail.tokens import Tokens
from sphere.settings import Settings, load_settings
from sphere.store.blobs import open_store
from sphere.subscribers.erasure import erasure_key
from sphere.subscribers.list import SubscriberList, open_list
from sphere.subscribers.members import Members
from sphere.web import make_app
from sphere.web.app import Endpoints
from sphere.web.optin import TransportMailer

SLUG = "hard-sell-or-soft-sell"  # the seed issue, due 2026-12-01
OTHER = "an-older-issue"
SECRET = "issue-results-test-secret-0123456789abcdef"
PEOPLE = [f"r{n}@example.org" for n in range(10)]


@pytest.fixture
def settings(
    project: Path, feedback_queue: FeedbackQueue, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    for key, value in {
        "SPHERE_STORE": str(project / "store"),
        "SPHERE_SECRET": SECRET,
        "SPHERE_FEEDBACK_QUEUE_URL": feedback_queue.url,
        "SPHERE_TRANSPORT": "outbox:outbox",
        # As in GitHub Actions: the record says which commit and which run sent the issue.
        "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_REPOSITORY": "jimwigg/sphere",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_WORKFLOW": "publish",
    }.items():
        monkeypatch.setenv(key, value)
    write_issue(project, f"2026-10-01-{OTHER}", title="An older issue")
    return load_settings(project)


def _unsubscribe_token(project: Path, address: str, subject_start: str) -> str:
    """The token in the List-Unsubscribe link of the message `address` got."""
    for path in (project / "outbox").glob("*.eml"):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        if message["To"].addresses[0].addr_spec == address and message["Subject"].startswith(
            subject_start
        ):
            link = str(message["List-Unsubscribe"]).split("<")[1].split(">")[0]
            return parse_qs(urlsplit(link).query)["t"][0]
    raise AssertionError(f"no message to {address}")


def _one_click(settings: Settings, token: str) -> str:
    """A mail client's RFC 8058 one-click POST to the endpoint."""
    app = make_app(settings)
    return call_app(app, "POST", "/unsubscribe", f"t={token}", b"List-Unsubscribe=One-Click")


def test_feedback_is_counted_against_the_right_issue(
    settings: Settings,
    project: Path,
    feedback_queue: FeedbackQueue,
    sphere: Callable[..., Result],
) -> None:
    ids = add_subscribers(settings, [(address, "") for address in PEOPLE])
    assert sphere("send", OTHER, "--now").status == 0
    assert sphere("send", SLUG, "--now").status == 0

    # Readers unsubscribe through this issue's link, the older issue's mailto, an old link.
    link = _unsubscribe_token(project, PEOPLE[4], "To Hard Sell")
    assert link.split(".")[0] == f"{ids[PEOPLE[4]]}~{SLUG}"  # the token names its issue
    assert _one_click(settings, link) == "200 OK"
    mailed = _unsubscribe_token(project, PEOPLE[6], "An older issue")
    feedback_queue.publish(ses_received("someone@elsewhere.example", f"unsubscribe {mailed}"))
    old_link = Tokens(SECRET).unsubscribe(ids[PEOPLE[7]])  # made before tokens named issues
    assert _one_click(settings, old_link) == "200 OK"
    # SES's events, tagged with each message's campaign and reader.
    event = _events(ids)
    feedback_queue.publish(
        event("Bounce", 0, SLUG),
        event("Bounce", 0, SLUG),  # reported twice: one reader, counted once
        event("Bounce", 1, SLUG),
        event("Bounce", 2, SLUG, bounceType="Transient"),
        event("Complaint", 3, SLUG),
        event("Complaint", 5, SLUG, complaintFeedbackType="not-spam"),  # not a complaint
        *(event("Delivery", n, SLUG) for n in range(3, 10)),
        event("Bounce", 8, OTHER),
    )
    sync(settings)

    found = {entry["issue"]: entry for entry in _status_json(sphere)}
    ours, older = found[SLUG], found[OTHER]
    assert (ours["recipients"], ours["accepted"], ours["failed"]) == (10, 10, 0)
    assert ours["feedback"] == {
        "delivered": 7, "bounced_hard": 2, "bounced_soft": 1, "complained": 1,
        "unsubscribed": 1, "delivery_events": True,
    }  # fmt: skip
    assert ours["rates"]["bounced_hard"] == pytest.approx(0.2)
    assert ours["rates"]["complained"] == pytest.approx(0.1)
    assert older["feedback"] == {
        "delivered": None, "bounced_hard": 1, "bounced_soft": 0, "complained": 0,
        "unsubscribed": 1, "delivery_events": False,
    }  # fmt: skip
    assert older["rates"]["delivered"] is None  # no delivery events: not known, not 0%
    assert ours["commit"] == "0123456789abcdef0123456789abcdef01234567"
    assert ours["run"]["url"] == "https://github.com/jimwigg/sphere/actions/runs/4242"
    assert ours["finished_by"]["id"] == "4242" and ours["finished"] >= ours["started_at"]

    text = sphere("status", SLUG).out.splitlines()
    assert text[0].startswith(f"{SLUG}: 10 recipients since ")
    assert text[1].startswith(f"  started {ours['started_at']}, finished {ours['finished']}; ")
    assert text[1].endswith(
        "commit 0123456789ab, run https://github.com/jimwigg/sphere/actions/runs/4242"
    )
    assert text[2] == (
        "  delivered 7 (70.00%); bounced 2 hard (20.00%), 1 soft (10.00%); "
        "complained 1 (10.00%); unsubscribed through its links 1 (10.00%)"
    )
    _assert_no_address_under(project / "store" / "campaigns")


def _events(ids: dict[str, str]) -> Callable[..., str]:
    def event(kind: str, reader: int, campaign: str, **detail: str) -> str:
        address = PEOPLE[reader]
        return ses_notification(
            kind, address, shape="eventType", campaign=campaign, recipient=ids[address], **detail
        )

    return event


def _status_json(sphere: Callable[..., Result]) -> list[dict[str, object]]:
    result = sphere("status", SLUG, "--json")
    assert result.status == 0, result.err
    found: list[dict[str, object]] = json.loads(result.out)
    other = sphere("status", OTHER, "--json")
    return found + json.loads(other.out)


def _assert_no_address_under(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            assert b"@" not in path.read_bytes(), path


def test_an_issue_not_sent_yet(settings: Settings, sphere: Callable[..., Result]) -> None:
    assert sphere("status", OTHER).out == f"{OTHER}: not sent yet\n"
    assert json.loads(sphere("status", OTHER, "--json").out) == [
        {"issue": OTHER, "started": False, "sending_now": False}
    ]


def test_a_link_that_names_an_issue_cannot_be_moved_to_another() -> None:
    tokens = Tokens(SECRET)
    token = tokens.unsubscribe("Id_0123-abcdefgh", issue=SLUG)
    assert tokens.unsubscribe_origin(token) == ("Id_0123-abcdefgh", SLUG)
    assert tokens.check_unsubscribe(token) == "Id_0123-abcdefgh"
    moved = token.replace(f"~{SLUG}.", f"~{OTHER}.")
    with pytest.raises(TokenError, match="not valid"):
        tokens.unsubscribe_origin(moved)
    old = tokens.unsubscribe("Id_0123-abcdefgh")  # tokens made before: still valid, no issue
    assert tokens.unsubscribe_origin(old) == ("Id_0123-abcdefgh", "")


class _RefusingCampaigns:
    """The local store, refusing writes under campaigns/ as an endpoint role scoped without
    them would (a stand-in: a local folder has no IAM, and moto's server enforces none)."""

    def __init__(self, store: Any):
        self.store = store

    def put(self, key: str, data: bytes, **conditions: Any) -> Any:
        if key.startswith("campaigns/"):
            raise StoreError(f"AccessDenied on {key}")
        return self.store.put(key, data, **conditions)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_an_unsubscribe_that_cannot_be_counted_still_unsubscribes(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPHERE_STORE", str(project / "store"))
    monkeypatch.setenv("SPHERE_SECRET", SECRET)
    settings = load_settings(project)
    ids = add_subscribers(settings, [(PEOPLE[0], "")])
    store = _RefusingCampaigns(open_store(settings))
    members = Members(SubscriberList(store, key=lambda: erasure_key(SECRET, store)))  # type: ignore[arg-type]
    app = Endpoints(
        settings, members=members, tokens=Tokens(SECRET), mailer=TransportMailer(settings)
    )
    token = Tokens(SECRET).unsubscribe(ids[PEOPLE[0]], issue=SLUG)

    status = call_app(app, "POST", "/unsubscribe", f"t={token}", b"List-Unsubscribe=One-Click")

    assert status == "200 OK"
    assert [r.status for r in open_list(settings).all()] == ["unsubscribed"]
    assert not (project / "store" / "campaigns").exists()
