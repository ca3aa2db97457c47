"""`sphere publish`: the archive goes up, then every due and unsent issue goes out, once.

These run against the default local parts (the site and the store as folders, the outbox as
transport); tests/test_publish_flow.py runs the author's whole flow against S3 and SES.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from fixtures_project import Result, write_issue
from fixtures_send import add_subscribers

from sphere.mail.message import UNSUBSCRIBE_URL, fill
from sphere.settings import load_settings

SLUG = "hard-sell-or-soft-sell"  # the seed issue, due 2026-12-01 (the project's today)
SITE = Path(".sphere/site")


def _subscribe(count: int) -> None:
    add_subscribers(load_settings(), [(f"r{n}@example.org", f"R {n}") for n in range(count)])


def _outbox(project: Path) -> list[EmailMessage]:
    folder = project / ".sphere" / "outbox"
    return [
        message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted(folder.glob("*.eml"))
    ]


def _subjects_by_recipient(project: Path) -> list[tuple[str, str]]:
    return sorted(
        (str(m["To"].addresses[0].addr_spec), str(m["Subject"])) for m in _outbox(project)
    )


def test_publish_deploys_then_sends_and_a_second_run_does_nothing(
    project: Path, sphere: Callable[..., Result]
) -> None:
    _subscribe(3)

    first = sphere("publish")

    assert first.status == 0, first.err
    lines = first.out.splitlines()
    assert lines[0].startswith(f"{project / SITE}: 19 files uploaded (")
    assert f"sent {SLUG}: 3 sent, 0 failed, 0 unknown, 0 skipped; 0 left (of 3)" in lines
    assert (project / SITE / "issues" / SLUG / "index.html").is_file()
    assert len(_outbox(project)) == 3

    second = sphere("publish")

    assert second.status == 0, second.err
    assert second.out == (
        f"{project / SITE}: 0 files uploaded (0 bytes), 0 removed, 19 unchanged\n"
        "nothing to send: no ready issue is due and unsent\n"
    )
    assert len(_outbox(project)) == 3


def test_a_future_issue_waits_for_its_date_and_a_draft_never_goes(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    _subscribe(2)
    write_issue(project, "2027-02-01-later", title="Later", date="2027-02-01")
    write_issue(project, "2026-11-20-unfinished", title="Unfinished", status="draft")
    assert sphere("publish").status == 0
    assert not (project / SITE / "issues" / "later").exists()
    assert [s for _, s in _subjects_by_recipient(project)].count("Later") == 0

    monkeypatch.setenv("SPHERE_TODAY", "2027-02-01")  # the clock moves to its date
    result = sphere("publish")

    assert result.status == 0, result.err
    assert "sent later: 2 sent, 0 failed, 0 unknown, 0 skipped; 0 left (of 2)" in result.out
    assert (project / SITE / "issues" / "later" / "index.html").is_file()
    subjects = [subject for _, subject in _subjects_by_recipient(project)]
    assert subjects.count("Later") == 2
    assert "Unfinished" not in subjects
    assert not (project / SITE / "issues" / "unfinished").exists()


def test_nothing_due_says_so_and_exits_0(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    _subscribe(1)
    monkeypatch.setenv("SPHERE_TODAY", "2026-11-30")  # the seed issue is due tomorrow

    result = sphere("publish")

    assert result.status == 0, result.err
    assert result.out.splitlines()[-1] == "nothing to send: no ready issue is due and unsent"
    assert _outbox(project) == []
    assert not (project / SITE / "issues" / SLUG).exists()


def test_a_stale_issue_never_started_waits_for_allow_late(
    project: Path, sphere: Callable[..., Result]
) -> None:
    _subscribe(2)
    write_issue(project, "2026-09-01-old-news", title="Old news", date="2026-09-01")

    result = sphere("publish")

    assert result.status == 0, result.err
    assert (
        "warning: old-news is dated 2026-09-01, more than 14 days ago, and was never sent: not "
        "sending it (pass --allow-late old-news to send it, or set 'status: draft')"
    ) in result.err.splitlines()
    assert "Old news" not in [subject for _, subject in _subjects_by_recipient(project)]

    late = sphere("publish", "--allow-late", "old-news")

    assert late.status == 0, late.err
    assert "sent old-news: 2 sent, 0 failed, 0 unknown, 0 skipped; 0 left (of 2)" in late.out
    assert [s for _, s in _subjects_by_recipient(project)].count("Old news") == 2


def test_dry_run_shows_the_plan_and_does_nothing(
    project: Path, sphere: Callable[..., Result]
) -> None:
    _subscribe(4)

    result = sphere("publish", "--dry-run")

    assert result.status == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith(f"{project / SITE}: 19 files to upload (")
    assert f"would send {SLUG} (due 2026-12-01): 4 recipients" in lines
    assert "  4 messages, no rate limit; no quota reported" in lines
    assert lines[-1] == "dry run: nothing was uploaded or sent"
    assert not (project / SITE).exists()
    assert _outbox(project) == []
    plan = json.loads(sphere("publish", "--dry-run", "--json").out)
    assert plan["send"] == [{"issue": SLUG, "date": "2026-12-01", "why": "new", "recipients": 4}]


def test_a_broken_due_issue_fails_the_run_after_the_rest_goes_out(
    project: Path, sphere: Callable[..., Result]
) -> None:
    _subscribe(1)
    write_issue(project, "2026-11-01-broken", date="1/11/2026")  # ready: it may be due

    result = sphere("publish")

    assert result.status == 1
    assert _without_timing(result.err) == [
        "content/issues/2026-11-01-broken.md:3: error: content/invalid 'date' must be "
        "YYYY-MM-DD, got '1/11/2026'",
        f"{SLUG}: done: sent 1, failed 0, unknown 0, skipped 0 in …",
        "error: not sent: content/issues/2026-11-01-broken.md is due and has errors (above); "
        "everything else was published; fix it and publish again",
    ]
    assert (project / SITE / "issues" / SLUG / "index.html").is_file()
    assert _subjects_by_recipient(project) == [
        ("r0@example.org", "To Hard Sell or to Soft Sell? That is the Question")
    ]


def test_a_broken_draft_is_a_warning_and_the_due_issue_goes_out(
    project: Path, sphere: Callable[..., Result]
) -> None:
    _subscribe(1)
    write_issue(project, "2027-01-broken", date="1/2/2027", status="draft")

    result = sphere("publish")

    assert result.status == 0, result.err
    assert _without_timing(result.err) == [
        "content/issues/2027-01-broken.md:3: warning: content/invalid 'date' must be "
        "YYYY-MM-DD, got '1/2/2027'",
        "warning: content/issues/2027-01-broken.md is not due and has errors: left out of this "
        "publish; fix it before its date",
        f"{SLUG}: done: sent 1, failed 0, unknown 0, skipped 0 in …",
    ]
    assert f"sent {SLUG}: 1 sent, 0 failed, 0 unknown, 0 skipped; 0 left (of 1)" in result.out
    assert sorted(p.name for p in (project / SITE / "issues").iterdir()) == [SLUG]
    # `sphere check`, on a pull request, stays strict about the very same file.
    assert sphere("check").status == 1


def test_an_error_outside_the_issues_still_stops_everything(
    project: Path, sphere: Callable[..., Result]
) -> None:
    _subscribe(1)
    footer = project / "templates" / "email" / "issue.mjml.j2"
    footer.write_text("{% if %}", encoding="utf-8")

    result = sphere("publish")

    assert result.status == 1
    assert result.err.splitlines()[-1].startswith("error: not publishing: checked 1 issue: 1 error")
    assert not (project / SITE).exists()
    assert _outbox(project) == []


def test_a_sent_issue_broken_later_stops_everything_rather_than_drop_its_page(
    project: Path, sphere: Callable[..., Result]
) -> None:
    _subscribe(1)
    assert sphere("publish").status == 0
    issue = project / "content" / "issues" / "2026-12-01-hard-sell-or-soft-sell.md"
    issue.write_text(issue.read_text().replace("date: 2026-12-01", "date: 1/12/2026"))

    result = sphere("publish")

    assert result.status == 1
    assert result.err.splitlines()[-1] == (
        "error: not publishing: content/issues/2026-12-01-hard-sell-or-soft-sell.md went out "
        "already and has errors: the archive would lose its page; fix the errors above"
    )
    assert (project / SITE / "issues" / SLUG / "index.html").is_file()


def _parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n")


def test_the_campaign_record_keeps_what_recipients_got(
    project: Path, sphere: Callable[..., Result]
) -> None:
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.org", "commit", "-qm", "issue"],
        cwd=project, check=True,
    )  # fmt: skip
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True, check=True
    ).stdout.strip()
    _subscribe(2)
    assert sphere("publish").status == 0

    kept = project / ".sphere" / "store" / "published" / SLUG
    record = json.loads((kept / "record.json").read_text(encoding="utf-8"))
    assert record["commit"] == head
    stored_html = (kept / "email.html").read_text(encoding="utf-8")
    stored_text = (kept / "email.txt").read_text(encoding="utf-8")
    stored = message_from_bytes((kept / "message.eml").read_bytes(), policy=policy.default)
    for received in _outbox(project):
        link = str(received["List-Unsubscribe"]).split("<")[1].split(">")[0]
        text, html = _parts(received)  # line ends as MIME carries them: CRLF
        assert _lf(html) == _lf(fill(stored_html, {UNSUBSCRIBE_URL: link}, escape_html=True))
        assert _lf(text) == _lf(fill(stored_text, {UNSUBSCRIBE_URL: link}, escape_html=False))
        personal = {"To", "Date", "Message-ID", "List-Unsubscribe"}
        assert [(k, v) for k, v in received.items() if k not in personal] == [
            (k, v) for k, v in stored.items() if k not in personal
        ]
    complete = json.loads((kept / "complete.json").read_text(encoding="utf-8"))
    assert (complete["recipients"], complete["accepted"]) == (2, 2)
    assert record["subject"] == "To Hard Sell or to Soft Sell? That is the Question"


def test_a_placeholder_setting_stops_publish_before_the_upload(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    _subscribe(1)
    monkeypatch.setenv("SPHERE_TRANSPORT", "ses")  # real mail: the footer must be real too
    monkeypatch.setenv("SPHERE_SECRET", "a-long-random-test-secret-0123456789")
    monkeypatch.delenv("SPHERE_POSTAL_ADDRESS")  # the seed's placeholder, from pyproject.toml

    result = sphere("publish")

    assert result.status == 1
    assert result.err.startswith(
        "error: pyproject.toml: refusing to send: postal_address is still a placeholder"
    )
    assert not (project / SITE).exists()


def test_a_placeholder_from_the_environment_names_the_variable(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    _subscribe(1)
    monkeypatch.setenv("SPHERE_TRANSPORT", "ses")
    monkeypatch.setenv("SPHERE_SECRET", "a-long-random-test-secret-0123456789")
    monkeypatch.setenv("SPHERE_POSTAL_ADDRESS", "TODO: our address")

    result = sphere("publish")

    assert result.status == 1
    assert result.err.startswith(
        "error: refusing to send: SPHERE_POSTAL_ADDRESS is still a placeholder "
        "('TODO: our address'): the law wants"
    )


def test_a_store_with_nothing_in_it_named_in_sphere_store_stops_publish_before_the_upload(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    _subscribe(1)  # in the right store, .sphere/store
    monkeypatch.setenv("SPHERE_STORE", ".sphere/stor")  # a typo

    result = sphere("publish")

    assert result.status == 1
    assert result.err == (
        f"error: SPHERE_STORE ({project / '.sphere' / 'stor'}) holds nothing: no subscriber "
        "list and no earlier send (a typo?); check it, or add subscribers there first. "
        "Nothing was deployed or sent\n"
    )
    assert not (project / SITE).exists() and not (project / ".sphere" / "stor").exists()


def test_a_store_whose_list_is_gone_after_earlier_sends_stops_publish(
    project: Path, sphere: Callable[..., Result]
) -> None:
    _subscribe(1)
    assert sphere("publish").status == 0
    shutil.rmtree(project / ".sphere" / "store" / "subscribers")
    write_issue(project, "2026-11-30-next", title="Next", date="2026-11-30")

    result = sphere("publish")

    assert result.status == 1
    assert result.err.endswith(
        "has no subscriber list, but 1 earlier sends from it recorded one: is it the right "
        "store? Nothing was deployed or sent\n"
    )


def test_an_empty_list_does_not_use_an_issue_up(
    project: Path, sphere: Callable[..., Result]
) -> None:
    empty = sphere("publish")  # a wrong SPHERE_STORE looks like this: nobody subscribed

    assert empty.status == 0, empty.err
    assert empty.err.startswith(
        f"warning: nobody is subscribed in {project / '.sphere' / 'store'}: not starting the "
        f"send of {SLUG} (check SPHERE_STORE)"
    )
    assert empty.out.splitlines()[-1] == "nothing to send: no ready issue is due and unsent"
    _subscribe(2)

    later = sphere("publish")

    assert f"sent {SLUG}: 2 sent, 0 failed, 0 unknown, 0 skipped; 0 left (of 2)" in later.out


class _Account:
    """SES's GetAccount answer with a chosen quota. moto's server does not implement SES v2
    GetAccount (see tests/test_send_cli.py), and a dry run makes no other call."""

    def __init__(self, *, max_rate: float, max_24h: int, sent_24h: int):
        self.quota = {"MaxSendRate": max_rate, "Max24HourSend": max_24h, "SentLast24Hours": sent_24h}  # fmt: skip

    def get_account(self) -> dict[str, object]:
        return {"SendQuota": self.quota}


@pytest.mark.parametrize(
    ("sent_24h", "verdict"),
    [
        (0, "fits the 24-hour quota (50000 left)"),
        (49_998, "does NOT fit the 24-hour quota (2 left): it resumes later"),
    ],
)
def test_dry_run_says_how_long_at_the_rate_and_whether_the_quota_fits(
    project: Path, sent_24h: int, verdict: str
) -> None:
    from sphere.build.pipeline import build_all
    from sphere.publish import publish
    from sphere.send.ses import SesTransport

    _subscribe(3)
    settings = load_settings()
    build_all(settings)
    account = _Account(max_rate=14, max_24h=50_000, sent_24h=sent_24h)

    report = publish(settings, project / "dist" / "site", dry_run=True, transport=SesTransport(account))  # fmt: skip

    assert report.lines()[-1] == f"  3 messages, about 0.3s at 11.2/s; {verdict}"
    assert _outbox(project) == [] and not (project / SITE).exists()


def test_a_renamed_issue_file_is_not_sent_again(
    project: Path, sphere: Callable[..., Result]
) -> None:
    _subscribe(2)
    assert sphere("publish").status == 0
    issues = project / "content" / "issues"
    (issues / f"2026-12-01-{SLUG}.md").rename(issues / "2026-12-01-hard-or-soft.md")

    again = sphere("publish")

    assert again.status == 0, again.err
    assert (
        f"warning: hard-or-soft has the subject of {SLUG}, which went out already: not sending "
        "it again (a new issue needs a subject of its own)"
    ) in again.err.splitlines()
    assert len(_outbox(project)) == 2
    row = next(
        line for line in sphere("status").out.splitlines() if line.startswith("hard-or-soft ")
    )
    assert row.split()[2:] == ["held", "its", "subject", "went", "out", "as", SLUG + ":", "not", "sent", "again"]  # fmt: skip


def _without_timing(err: str) -> list[str]:
    """Standard error's lines, the send summary's time and rate cut (sphere.cli.progress)."""
    return [re.sub(r" in \d+s \([\d.]+/s\)$", " in …", line) for line in err.splitlines()]
