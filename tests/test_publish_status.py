"""`sphere status` without an issue: one table of every issue, the cadence, and warnings."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures_project import Result, write_issue
from fixtures_send import add_subscribers

from sphere import records
from sphere.send.ledger import Ledger
from sphere.settings import load_settings
from sphere.status import add_months
from sphere.store.blobs import open_store

SLUG = "hard-sell-or-soft-sell"


def test_one_table_of_every_issue(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    add_subscribers(load_settings(), [("a@example.org", "A"), ("b@example.org", "B")])
    write_issue(project, "2026-11-28-half-way", title="Half way", date="2026-11-28")
    monkeypatch.setenv("SPHERE_TODAY", "2026-11-27")
    assert sphere("publish").status == 0  # sends nothing: nothing is due yet
    monkeypatch.setenv("SPHERE_TODAY", "2026-12-01")
    assert sphere("publish", "--dry-run").status == 0
    # A send that started and stopped: its list frozen, nobody sent yet.
    Ledger(open_store(load_settings()), "half-way").freeze(["x1", "x2"], subject="Half way")
    sent = sphere("send", SLUG, "--now")
    assert sent.status == 0, sent.err
    sphere("publish")  # resumes half-way
    write_issue(project, "2027-02-01-later", title="Later", date="2027-02-01")
    write_issue(project, "2026-12-10-idea", title="Idea", date="2026-12-10", status="draft")
    write_issue(project, "2026-09-01-old-news", title="Old news", date="2026-09-01")

    result = sphere("status")

    assert result.status == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["issue", "date", "state", "details"]
    rows = {line.split()[0]: line for line in lines[1:-1]}
    assert list(rows) == ["later", "idea", SLUG, "half-way", "old-news"]  # newest first
    assert rows["later"].split()[1:] == [
        "2027-02-01", "scheduled", "due", "2027-02-01", "00:00", "Europe/London"
    ]  # fmt: skip
    assert rows["idea"].split()[1:] == ["2026-12-10", "draft"]
    assert rows[SLUG].split()[2] == "sent"
    assert rows[SLUG].endswith(": 2 sent, 0 failed, 0 unknown")
    assert rows["half-way"].split()[2] == "sent"  # the publish resumed and finished it
    assert "stale, never sent: publish --allow-late to send" in rows["old-news"]
    assert lines[-1] == "next issue due by 2027-02-01 (the cadence)"
    assert result.err == ""


def test_a_finished_send_keeps_the_same_record_as_publish_with_its_own_finish_time(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Once, `sphere send` left "sending ... 0 to send" and no record; the next publish wrote
    # the record, with its own time.
    add_subscribers(load_settings(), [("a@example.org", "A"), ("b@example.org", "B")])
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    assert sphere("send", SLUG, "--now").status == 0
    after = dt.datetime.now(dt.UTC)

    row = sphere("status").out.splitlines()[1]

    assert row.split()[:3] == [SLUG, "2026-12-01", "sent"]
    assert row.endswith(": 2 sent, 0 failed, 0 unknown")
    kept = records.read(open_store(load_settings()), SLUG)
    assert kept.record is not None
    assert kept.record["subject"] == "To Hard Sell or to Soft Sell? That is the Question"
    assert kept.complete is not None
    finished = dt.datetime.strptime(kept.complete["finished"], "%Y-%m-%dT%H:%M:%SZ")
    assert before <= finished.replace(tzinfo=dt.UTC) <= after
    # A later publish finds it complete and leaves its record as the send wrote it.
    monkeypatch.setenv("SPHERE_TODAY", "2026-12-02")
    assert sphere("publish").status == 0
    assert records.read(open_store(load_settings()), SLUG) == kept


def test_a_started_send_shows_its_progress(project: Path, sphere: Callable[..., Result]) -> None:
    store = open_store(load_settings())
    Ledger(store, SLUG).freeze(["x1", "x2", "x3"], subject="S")

    row = sphere("status").out.splitlines()[1]

    assert row.split()[:3] == [SLUG, "2026-12-01", "sending"]
    assert row.endswith("0 of 3 sent, 0 failed, 0 unknown, 3 to send")


def test_an_overdue_issue_is_warned_about(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPHERE_TODAY", "2027-02-11")

    result = sphere("status", "--json")

    assert result.status == 0
    found = json.loads(result.out)
    assert found["next_due"] == "2027-02-01"
    assert found["warnings"] == [
        "the next issue was due by 2027-02-01 (10 days ago, every 2 months) and none is scheduled"
    ]
    assert sphere("status").err.startswith("warning: the next issue was due by 2027-02-01")


def test_a_quiet_repository_is_warned_about_the_schedule(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.org", "commit", "-qm", "x"],
        cwd=project, check=True, env={"GIT_COMMITTER_DATE": "2026-10-01T12:00:00Z", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    monkeypatch.setenv("SPHERE_TODAY", "2026-11-20")  # 50 days after the last commit

    result = sphere("status")

    assert (
        "warning: no commit for 50 days: GitHub turns off the scheduled publish after 60 days "
        "without activity unless publish.yml's keep-alive job runs (see docs/publishing.md)"
    ) in result.err.splitlines()


def test_add_months_keeps_to_the_month() -> None:
    assert add_months(dt.date(2026, 12, 31), 2) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2026, 11, 15), 2) == dt.date(2027, 1, 15)


def test_whether_a_send_still_holds_its_campaign_goes_by_the_settings_clock(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A send on another machine renewed its lease at 2030-01-01 00:00 UTC, for two minutes.
    store = open_store(load_settings())
    Ledger(store, SLUG).freeze(["x1", "x2"], subject="S")
    renewed = dt.datetime(2030, 1, 1, tzinfo=dt.UTC).timestamp()
    lease = {"owner": "o", "host": "another-host", "pid": 4242, "renewed": renewed}
    store.put(
        f"campaigns/{SLUG}/lease.json", json.dumps({**lease, "expires": renewed + 120}).encode()
    )
    monkeypatch.delenv("SPHERE_TODAY")
    monkeypatch.setenv("SPHERE_NOW", "2030-01-01T00:01:00Z")

    assert sphere("status").out.splitlines()[1].endswith("2 to send (sending now)")

    monkeypatch.setenv("SPHERE_NOW", "2030-01-01T00:10:00Z")  # its lease expired 8 minutes ago
    assert (
        sphere("status")
        .out.splitlines()[1]
        .endswith(
            "2 to send (stopped: pid 4242 on another-host, last seen 2030-01-01 00:00:00 UTC, "
            "10 min ago; the next publish or send resumes it)"
        )
    )
