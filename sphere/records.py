"""What was sent is kept: each campaign's exact email, its hashes and the commit it came from.

Store layout, per issue (beside the send ledger in `campaigns/`, under a prefix of its own):

    published/<slug>/email.html     the HTML as rendered, before personalisation (placeholders)
    published/<slug>/email.txt      the text part, likewise
    published/<slug>/message.eml    the whole MIME message for a stand-in recipient
    published/<slug>/record.json    written last: hashes, subject, git commit, when
    published/<slug>/complete.json  the send is complete: counts, the recipient list's hash

The record is written once, before the first message goes out; a resumed send keeps it (and
says so when the issue changed since). `complete.json` lets `sphere publish` skip a finished
campaign from one listing, without reading its ledger. No address or name is kept here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sphere.errors import PreconditionFailed

if TYPE_CHECKING:
    from sphere.mail.message import MessageTemplate
    from sphere.render.email import RenderedIssue
    from sphere.store.blobs import BlobStore

log = logging.getLogger(__name__)

PREFIX = "published/"
STAND_IN = "recipient@personal.invalid"  # where each reader's own address goes in message.eml


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def git_commit(root: Path) -> str:
    """The commit being published: GITHUB_SHA in Actions, else `git rev-parse HEAD`, or ""."""
    if os.environ.get("GITHUB_SHA"):
        return os.environ["GITHUB_SHA"]
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 (git from PATH, as a developer runs it)
            cwd=root, capture_output=True, text=True, check=True, timeout=10,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def ci_run() -> dict[str, str]:
    """The GitHub Actions run this process is part of ({} outside Actions): who sent an issue,
    beside the commit. Its id, attempt, workflow and address; no person's name."""
    env = os.environ
    if not env.get("GITHUB_RUN_ID"):
        return {}
    found = {
        "id": env["GITHUB_RUN_ID"],
        "attempt": env.get("GITHUB_RUN_ATTEMPT", ""),
        "workflow": env.get("GITHUB_WORKFLOW", ""),
        "event": env.get("GITHUB_EVENT_NAME", ""),
    }
    if env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        found["url"] = f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    return {key: value for key, value in found.items() if value}


@dataclass(frozen=True)
class Kept:
    """What a campaign's record says."""

    slug: str
    record: dict[str, Any] | None
    complete: dict[str, Any] | None


def completed(store: BlobStore) -> set[str]:
    """The slugs whose send is complete, from one listing."""
    return {
        key[len(PREFIX) :].split("/")[0]
        for key in store.list(PREFIX)
        if key.endswith("/complete.json")
    }


def keep_record(
    store: BlobStore,
    item: RenderedIssue,
    template: MessageTemplate,
    *,
    commit: str,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Store the issue's email as it goes out, unless a first run stored it already."""
    from sphere.mail.message import Recipient, date_header

    slug = item.issue.slug
    prefix = f"{PREFIX}{slug}/"
    html, text = item.email_html.encode("utf-8"), item.email_text.encode("utf-8")
    midnight = dt.datetime.combine(item.issue.date, dt.time(), dt.UTC).timestamp()
    stand_in = Recipient(
        address=STAND_IN,
        first_name="(first name)",  # each reader's own, or the greeting_fallback setting
        unsubscribe_url="https://personal.invalid/unsubscribe",
        unsubscribe_mailto="mailto:personal@personal.invalid",
    )
    eml = template.render(
        stand_in, date=date_header(midnight), message_id="<personal@personal.invalid>"
    )
    record = {
        "slug": slug,
        "subject": item.issue.subject,
        "issue_date": item.issue.date.isoformat(),
        "commit": commit,
        "run": ci_run(),
        "recorded": (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sha256": {"html": sha256(html), "text": sha256(text), "eml": sha256(eml)},
    }
    existing = store.get(prefix + "record.json")
    if existing is not None:
        return _kept_already(json.loads(existing.data), record)
    store.put(prefix + "email.html", html)
    store.put(prefix + "email.txt", text)
    store.put(prefix + "message.eml", eml)
    try:
        store.put(prefix + "record.json", _dumps(record), if_none_match=True)
    except PreconditionFailed:  # another run recorded it first: theirs stands
        blob = store.get(prefix + "record.json")
        return json.loads(blob.data) if blob is not None else record
    return record


def _kept_already(kept: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    if kept["sha256"]["html"] != now["sha256"]["html"]:
        log.warning(
            "%s changed since its send began (commit %s): the record keeps what was sent first",
            kept["slug"],
            kept.get("commit") or "unknown",
        )
    return kept


def mark_complete(
    store: BlobStore,
    slug: str,
    *,
    ids: list[str],
    counts: dict[str, int],
    now: dt.datetime | None = None,  # default: the system clock (a test passes its own)
    commit: str = "",
) -> None:
    """Say the send is complete, with the recipient list's hash and the final counts, and
    the commit and CI run that finished it."""
    body = {
        "slug": slug,
        "commit": commit,
        "run": ci_run(),
        "finished": (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "recipients": len(ids),
        "recipients_sha256": sha256("\n".join(ids).encode("utf-8")),
        **counts,
    }
    store.put(f"{PREFIX}{slug}/complete.json", _dumps(body))


def read_complete(store: BlobStore, slug: str) -> dict[str, Any] | None:
    """The campaign's completion record, or None while its send is not complete."""
    blob = store.get(f"{PREFIX}{slug}/complete.json")
    return json.loads(blob.data) if blob is not None else None


def count_settled(store: BlobStore, slug: str, settled: int) -> None:
    """Move `settled` recipients from unknown to accepted in the completion record, if any
    (SES's events showed they were mailed: sphere.send.settle)."""
    complete = read_complete(store, slug)
    if complete is None:
        return
    complete["unknown"] = max(0, int(complete.get("unknown", 0)) - settled)
    complete["accepted"] = int(complete.get("accepted", 0)) + settled
    store.put(f"{PREFIX}{slug}/complete.json", _dumps(complete))


def read(store: BlobStore, slug: str) -> Kept:
    """A campaign's record and completion, as far as they exist."""
    found = []
    for name in ("record.json", "complete.json"):
        blob = store.get(f"{PREFIX}{slug}/{name}")
        found.append(json.loads(blob.data) if blob is not None else None)
    return Kept(slug, found[0], found[1])


def _dumps(value: dict[str, Any]) -> bytes:
    return json.dumps(value, indent=1, sort_keys=True).encode("utf-8") + b"\n"
