"""`sphere status`: every issue in one table, and when the next one is due.

Each issue is a draft, scheduled (ready, its date and send time not come: when it goes out,
in the newsletter's time zone), due (its date and send time have come, not sent:
`publish` sends it, or holds it back when it is stale), sending (a campaign started and not
complete) or sent (complete, with its counts). Then the cadence: the next issue is due
`cadence_months` after the last one published, with a warning when that day has passed and
nothing is scheduled, and a warning when GitHub is about to turn off the daily publish schedule.
"""

from __future__ import annotations

import calendar
import datetime as dt
import subprocess
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from sphere import records

if TYPE_CHECKING:
    from sphere.settings import Settings

# GitHub turns scheduled workflows off in a public repository after 60 days without activity.
SCHEDULE_DIES_AFTER = 60
WARN_SCHEDULE_AFTER = 45


@dataclass
class Row:
    """One issue's line."""

    issue: str
    date: str
    state: str  # draft, scheduled, due, held, sending, sent
    detail: str = ""


@dataclass
class Overview:
    """The table, the next due date and the warnings."""

    rows: list[Row] = field(default_factory=list)
    next_due: str = ""
    warnings: list[str] = field(default_factory=list)
    welcomes: dict[str, int] = field(default_factory=dict)  # welcome emails by state

    def lines(self) -> list[str]:
        """A plain-text table, then the cadence line."""
        if not self.rows:
            return ["no issues yet"]
        header = Row("issue", "date", "state", "details")
        widths = [max(len(getattr(row, name)) for row in [header, *self.rows]) for name in _COLS]
        cells = [[getattr(row, name) for name in _COLS] for row in [header, *self.rows]]
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in cells
        ]
        if self.next_due:
            lines.append(f"next issue due by {self.next_due} (the cadence)")
        if self.welcomes:
            lines.append(welcome_line(self.welcomes))
        return lines

    def as_dict(self) -> dict[str, Any]:
        return {
            "issues": [asdict(row) for row in self.rows],
            "next_due": self.next_due,
            "warnings": self.warnings,
            "welcomes": self.welcomes,
        }


def welcome_line(counts: dict[str, int]) -> str:
    """The welcome emails that need saying, in one line: `welcome emails: 1 pending (publish
    sends it), 2 unknown (never sent again)`. Sent ones are not counted: that would read every
    record ever written (sphere.subscribers.welcomes)."""
    wording = {"pending": "pending (publish sends it)",
               "unknown": "unknown (handed over, no answer: never sent again)",
               "given up": "given up (failed 5 times)"}  # fmt: skip
    parts = [f"{counts[state]} {words}" for state, words in wording.items() if counts.get(state)]
    return "welcome emails: " + ", ".join(parts)


_COLS = ("issue", "date", "state", "detail")


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day when it is shorter)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def overview(settings: Settings, *, today: dt.date | None = None) -> Overview:
    """Every issue's state, newest first, and the cadence's next due date."""
    from sphere.content.issues import load_issues
    from sphere.publish import Sends, sent_subjects
    from sphere.schedule import has_come, when
    from sphere.send import seams
    from sphere.send.run import campaign_status
    from sphere.subscribers.welcomes import WelcomeQueue

    today = today or settings.today()
    now = settings.now()
    store = seams.open_store(settings)
    sends = Sends.read(store)
    done, started = sends.complete, sends.started
    subjects = sent_subjects(store, started)
    issues = load_issues(settings.content_dir, drafts=True)
    result = Overview()
    for issue in issues:
        row = Row(issue.slug, issue.date.isoformat(), issue.state(today))
        if issue.is_draft:
            row.state = "draft"
        elif issue.slug in done:
            row.state, row.detail = "sent", _sent(records.read(store, issue.slug).complete)
        elif issue.slug in started:
            entry = campaign_status(settings, issue.slug)[0]
            row.state = "sending"
            row.detail = (
                f"{entry['accepted']} of {entry['recipients']} sent, {entry['failed']} failed, "
                f"{entry['unknown']} unknown, {entry['pending']} to send"
                + sender_note(
                    sending_now=entry["sending_now"],
                    stopped=entry["sender_stopped"],
                    sender=entry["sender"],
                )
            )
        elif issue.date > today or (issue.date == today and not has_come(settings, issue, now)):
            row.state, row.detail = "scheduled", when(settings, issue, now)
        elif (today - issue.date).days > settings.late_after_days:
            row.state, row.detail = "held", "stale, never sent: publish --allow-late to send"
        elif issue.subject in subjects:
            earlier = subjects[issue.subject]
            row.state, row.detail = "held", f"its subject went out as {earlier}: not sent again"
        else:
            row.state, row.detail = "due", "the next publish sends it"
        result.rows.append(row)
    result.welcomes = dict(WelcomeQueue(store).counts())
    _cadence(settings, [i for i in issues if not i.is_draft], today, result)
    _schedule_warning(settings, today, result)
    return result


def _sent(complete: dict[str, Any] | None) -> str:
    if complete is None:
        return ""
    return (
        f"{complete['finished']}: {complete.get('accepted', 0)} sent, "
        f"{complete.get('failed', 0)} failed, {complete.get('unknown', 0)} unknown"
    )


def _cadence(settings: Settings, ready: list[Any], today: dt.date, result: Overview) -> None:
    published = [issue.date for issue in ready if issue.date <= today]
    if not published:
        return
    due = add_months(max(published), settings.cadence_months)
    result.next_due = due.isoformat()
    scheduled = [issue.date for issue in ready if issue.date > today]
    if today > due and not scheduled:
        result.warnings.append(
            f"the next issue was due by {due.isoformat()} ({(today - due).days} days ago, "
            f"every {settings.cadence_months} months) and none is scheduled"
        )


def _schedule_warning(settings: Settings, today: dt.date, result: Overview) -> None:
    """Warn before GitHub's 60-day rule turns the scheduled publish off (docs/publishing.md)."""
    try:
        done = subprocess.run(
            ["git", "log", "-1", "--format=%cs"],  # noqa: S607 (git from PATH)
            cwd=settings.root, capture_output=True, text=True, check=True, timeout=10,
        )  # fmt: skip
        last = dt.date.fromisoformat(done.stdout.strip())
    except (OSError, subprocess.SubprocessError, ValueError):
        return  # not a git repository: no GitHub schedule to lose
    quiet = (today - last).days
    if quiet >= WARN_SCHEDULE_AFTER:
        result.warnings.append(
            f"no commit for {quiet} days: GitHub turns off the scheduled publish after "
            f"{SCHEDULE_DIES_AFTER} days without activity unless publish.yml's keep-alive job "
            "runs (see docs/publishing.md)"
        )


def sender_note(*, sending_now: bool, stopped: bool, sender: str) -> str:
    """What to add after a campaign's counts: that a send holds it now, or that the one that
    held it stopped without finishing (who, and when it was last seen)."""
    if sending_now:
        return " (sending now)"
    if stopped:
        return f" (stopped: {sender}; the next publish or send resumes it)"
    return ""
