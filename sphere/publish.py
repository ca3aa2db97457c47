"""`sphere publish`: deploy the archive, then send every issue that is due and not yet sent.

The CLI checks and builds (only it may import the build) and hands the built archive here.
The archive goes up first, so "view in browser" works when the email arrives. Then each
`ready` issue whose date has come in the newsletter's time zone, oldest first, is sent through
`sphere.send.run.send_issue`, which resumes a campaign an earlier run left unfinished. An issue
more than `late_after_days` past that was never started waits for `--allow-late ISSUE`: a
restored backup or a forgotten schedule must not mail a stale issue to everyone.

With `feedback_queue_url` set, `sphere feedback sync` runs before any send (who bounced or
complained is not mailed), each send runs under the bounce guard, and a new issue goes to
`seed_list` first, the real send only starting if no seed bounced or complained (send/bounce_guard).

Running it again does nothing: the deploy finds nothing changed, and a complete campaign is
skipped from one listing of the campaign records (sphere.records).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sphere import records
from sphere.errors import SendStopped, SettingsError
from sphere.held import hold_back
from sphere.held import sent_subjects as sent_subjects  # where sphere.status looks
from sphere.setting_values import format_duration

if TYPE_CHECKING:
    from sphere.checks import CheckReport
    from sphere.content.issues import Issue
    from sphere.feedback import FeedbackReport
    from sphere.send.campaign import Report
    from sphere.send.outcome import Outcome
    from sphere.send.transports import Transport
    from sphere.settings import Settings
    from sphere.site.deploy import Plan
    from sphere.site.targets import SiteTarget
    from sphere.store.blobs import BlobStore
    from sphere.subscribers.list import CompactReport
    from sphere.welcome.deliver import WelcomeReport

log = logging.getLogger(__name__)

# new: never started; resume: started, unfinished; late: never started and stale (held back);
# nobody: never started, and the list has nobody subscribed (held back: a wrong SPHERE_STORE
# must not use an issue up on an empty list); resent: never started, but its subject went out
# already (a renamed file must not mail the list the same issue twice); waiting: dated today,
# its send time not come yet (sphere.schedule)
Why = Literal["new", "resume", "late", "nobody", "resent", "waiting"]
HELD = ("late", "nobody", "resent", "waiting")


@dataclass
class Due:
    """An issue whose date has come and whose send is not complete."""

    issue: Issue
    why: Why
    recipients: int = 0  # still to send (the dry run counts them)
    # waiting: when it goes out, and that for people ("due 2027-02-01 09:00 Europe/Paris, in 3h")
    at: dt.datetime | None = None
    when: str = ""


@dataclass
class PublishReport:
    """What a publish deployed and sent (or, in a dry run, would)."""

    deploy: Plan
    due: list[Due] = field(default_factory=list)
    sent: list[Report] = field(default_factory=list)
    late: list[Due] = field(default_factory=list)
    dry_run: bool = False
    rate: float = 0.0  # messages per second the sends would go at (dry run)
    quota_left: int | None = None  # what the 24-hour quota still allows (dry run)
    feedback: FeedbackReport | None = None  # what the feedback sync before sending did
    compacted: CompactReport | None = None  # the subscriber list's compaction, if it was due
    welcomes: WelcomeReport | None = None  # welcome emails the endpoint could not send

    @property
    def sending(self) -> list[Due]:
        return [item for item in self.due if item.why not in HELD]

    def lines(self) -> list[str]:
        """The report for people."""
        lines = self.deploy.lines(done=not self.dry_run)
        if self.feedback is not None:
            by_mail = self.feedback.unsubscribed
            lines.append(
                f"feedback: {self.feedback.received} notifications read, "
                f"{self.feedback.bounced} bounced and {self.feedback.complained} complaining "
                "addresses marked" + (f", {by_mail} unsubscribed by mail" if by_mail else "")
            )
        if self.compacted is not None:
            lines.append(
                f"subscribers: {self.compacted.folded} changes folded into the snapshot "
                f"({self.compacted.subscribers} subscribers)"
            )
        if self.welcomes is not None and self.welcomes.happened():
            lines.append(self.welcomes.line())
        for report in self.sent:
            lines.append(
                f"sent {report.slug}: {report.sent} sent, {report.failed} failed, "
                f"{report.unknown} unknown, {report.skipped} skipped; {report.left} left "
                f"(of {report.recipients})"
            )
        if self.dry_run:
            lines += self._plan_lines()
        if not self.sending:
            lines.append("nothing to send: no ready issue is due and unsent")
        lines += [f"waiting: {item.issue.slug} is {item.when}" for item in self.waiting]
        return lines

    @property
    def waiting(self) -> list[Due]:
        """Issues dated today whose send time has not come: a later run sends them."""
        return [item for item in self.due if item.why == "waiting"]

    def _plan_lines(self) -> list[str]:
        lines = []
        total = sum(item.recipients for item in self.sending)
        for item in self.sending:
            verb = "resume" if item.why == "resume" else "send"
            lines.append(
                f"would {verb} {item.issue.slug} (due {item.issue.date}): "
                f"{item.recipients} recipients"
            )
        if total:
            rate = (
                f"about {format_duration(total / self.rate)} at {self.rate:g}/s"
                if self.rate
                else "no rate limit"
            )
            fits = (
                "no quota reported"
                if self.quota_left is None
                else f"fits the 24-hour quota ({self.quota_left} left)"
                if total <= self.quota_left
                else f"does NOT fit the 24-hour quota ({self.quota_left} left): it resumes later"
            )
            lines.append(f"  {total} messages, {rate}; {fits}")
        return lines

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "deploy": self.deploy.as_dict(),
            "send": [
                {
                    "issue": item.issue.slug,
                    "date": item.issue.date.isoformat(),
                    "why": item.why,
                    "recipients": item.recipients,
                }
                for item in self.sending
            ],
            "sent": [report.as_dict() for report in self.sent],
            "late": [item.issue.slug for item in self.late],
            "waiting": [
                {"issue": item.issue.slug, "send_at": item.at.isoformat() if item.at else None}
                for item in self.waiting
            ],
            "rate": self.rate,
            "quota_left": self.quota_left,
            "feedback": self.feedback.as_dict() if self.feedback is not None else None,
            "compacted": self.compacted.folded if self.compacted is not None else None,
            "welcomes": self.welcomes.as_dict() if self.welcomes is not None else None,
        }


@dataclass(frozen=True)
class Sends:
    """Which campaigns are complete and which have started: two listings of the store, read
    once per run and shared by the check and the plan."""

    complete: frozenset[str]
    started: frozenset[str]  # the recipient list is frozen (complete ones included)

    @classmethod
    def read(cls, store: BlobStore) -> Sends:
        started = {
            key.split("/")[1] for key in store.list("campaigns/") if key.endswith("/campaign.json")
        }
        return cls(frozenset(records.completed(store)), frozenset(started))


def read_sends(settings: Settings) -> Sends:
    """`Sends` of the store SPHERE_STORE names."""
    from sphere.send import seams

    return Sends.read(seams.open_store(settings))


def check_before_publish(
    settings: Settings,
    *,
    allow_late: Collection[str] = (),
    sends: Sends | None = None,
    today: dt.date | None = None,
) -> CheckReport:
    """`sphere check`, told which issues have gone out (or let out late), on `today`."""
    from sphere.checks import check_project

    sends = sends or read_sends(settings)
    out = sends.complete | sends.started | set(allow_late)
    today = today or settings.today()

    def handled(issue: Issue) -> bool:
        # An issue this late is held back by `publish` itself (a warning, --allow-late): the
        # check's stale-date error must not stop the deploy and the other sends for it.
        return issue.slug in out or (today - issue.date).days > settings.late_after_days

    return check_project(settings, today=today, is_sent=handled)


def due_issues(
    settings: Settings,
    store: BlobStore,
    *,
    today: dt.date,
    allow_late: Collection[str] = (),
    record: bool = True,
    sends: Sends | None = None,
    exclude: Collection[Path] = (),
    now: dt.datetime | None = None,
) -> list[Due]:
    """Ready issues whose date has come and whose send is not complete, oldest first.

    A new send waits (`waiting`) until the issue's send time on its date (sphere.schedule;
    `now`, default the settings' clock); a started one resumes whenever.

    Two listings of the store (`sends`) decide for every issue; a ledger is read only for a
    campaign that started and has no completion record (sent by `sphere send`, or
    interrupted). With `record`, such a campaign found complete gets its record, so the next
    run skips it unread. `exclude`: broken issue files left out (sphere.broken).
    """
    from sphere.content.issues import load_issues
    from sphere.schedule import has_come, send_at, when
    from sphere.send.ledger import Ledger

    now = now or settings.now()
    sends = sends or Sends.read(store)
    done, started = sends.complete, sends.started
    found = []
    issues = load_issues(settings.content_dir, exclude=exclude)
    for issue in sorted(issues, key=lambda item: item.date):
        if not issue.is_due(today) or issue.slug in done:
            continue
        if issue.slug in started:
            state = Ledger(store, issue.slug).load()
            if state is not None and not state.todo():
                if record:
                    records.mark_complete(store, issue.slug, ids=state.ids, counts=state.counts())
                continue
            found.append(Due(issue, "resume", len(state.todo()) if state else 0))
            continue
        if issue.date == today and not has_come(settings, issue, now):
            at = send_at(settings, issue)
            found.append(Due(issue, "waiting", at=at, when=when(settings, issue, now)))
            continue
        stale = (today - issue.date).days > settings.late_after_days
        late = stale and issue.slug not in allow_late
        found.append(Due(issue, "late" if late else "new"))
    return found


def publish(
    settings: Settings,
    site_folder: Path,
    *,
    dry_run: bool = False,
    allow_late: Collection[str] = (),
    target: SiteTarget | None = None,
    transport: Transport | None = None,
    today: dt.date | None = None,
    sends: Sends | None = None,
    exclude: Collection[Path] = (),
    on_batch: Callable[[Report], None] | None = None,
    now: dt.datetime | None = None,
) -> PublishReport:
    """Deploy the archive built in `site_folder`, then send what is due (see the module).

    `on_batch` hears each send's report after every batch (the CLI's progress lines).

    `now`: the moment the archive was built for (default the settings' clock): read again
    after the build, a send time in between would send an issue whose page was left out.

    `sends`: the campaigns' state as `check_before_publish` read it (default: read it here).
    `exclude`: broken issue files to leave out, as the build did (sphere.broken).
    """
    from sphere.send import seams
    from sphere.send.run import is_real, refuse_placeholders
    from sphere.site.deploy import deploy_archive

    now = now or settings.now()
    today = today or settings.today(now)
    store = seams.open_store(settings)
    due = due_issues(
        settings, store, today=today, allow_late=allow_late, record=not dry_run, sends=sends,
        exclude=exclude, now=now,
    )  # fmt: skip
    hold_back(settings, store, [item for item in due if item.why == "new"], sends)
    if any(item.why not in HELD for item in due) and transport is None and is_real(settings):
        refuse_placeholders(settings)  # before anything is uploaded, not after
    if settings.seed_list and not settings.feedback_queue_url:
        raise SettingsError(
            "seed_list is set but feedback_queue_url is not: the seed send's bounces and "
            "complaints could not be read; set feedback_queue_url, or empty seed_list"
        )
    plan = deploy_archive(settings, site_folder, dry_run=dry_run, target=target, exclude=exclude)
    report = PublishReport(deploy=plan, due=due, dry_run=dry_run)
    report.late = [item for item in due if item.why == "late"]
    for item in report.late:
        log.warning(
            "%s is dated %s, more than %d days ago, and was never sent: not sending it "
            "(pass --allow-late %s to send it, or set 'status: draft')",
            item.issue.slug, item.issue.date, settings.late_after_days, item.issue.slug,
        )  # fmt: skip
    if dry_run:
        _estimate(settings, report, transport)
        return report
    if settings.feedback_queue_url:
        from sphere.feedback import sync

        report.feedback = sync(settings)
    from sphere.subscribers.upkeep import compact_settings_list
    from sphere.welcome.deliver import welcome_round

    report.compacted = compact_settings_list(settings)  # after the sync, before the sends read
    report.welcomes = welcome_round(settings, transport)
    for item in report.sending:
        if item.why == "new":
            _seed_check(settings, store, item, transport=transport)
        sent = _send(settings, item, today=today, transport=transport, on_batch=on_batch)
        report.sent.append(sent)
        if sent.paused:  # the bounce guard: its reason says how to resume
            raise SendStopped(sent.stopped)
        if sent.stopped:
            raise SendStopped(
                f"the send of {item.issue.slug} stopped: {sent.stopped}; run `sphere publish` "
                "again to resume"
            )
    return report


def _send(
    settings: Settings,
    item: Due,
    *,
    today: dt.date,
    transport: Transport | None,
    on_batch: Callable[[Report], None] | None,
) -> Report:
    """Send the issue (send_issue keeps its record and marks it complete when it is)."""
    from sphere.send.run import SendRequest, send_issue

    request = SendRequest(issue=str(item.issue.path))
    return send_issue(settings, request, today=today, transport=transport, on_batch=on_batch)


def _seed_check(
    settings: Settings, store: BlobStore, item: Due, *, transport: Transport | None
) -> None:
    """Send a new issue to `seed_list` first and wait for its feedback (the bounce guard's)."""
    from sphere.feedback import sync
    from sphere.send.bounce_guard import seed_check
    from sphere.send.run import SendRequest, send_test

    def send(addresses: Sequence[str]) -> list[tuple[str, Outcome]]:
        request = SendRequest(issue=str(item.issue.path), test=tuple(addresses))
        return send_test(settings, request, transport=transport)

    seed_check(settings, item.issue.slug, store=store, send=send, sync=lambda: sync(settings))


def _estimate(settings: Settings, report: PublishReport, transport: Transport | None) -> None:
    """Fill in the dry run's recipients, rate and quota."""
    from sphere.send import seams
    from sphere.send.transports import open_transport

    sending = report.sending
    if not sending:
        return
    people = seams.people(settings).values()
    subscribed = sum(1 for person in people if person.status == "subscribed")
    for item in sending:
        if item.why == "new":
            item.recipients = subscribed
    transport = transport or open_transport(settings)
    limits = transport.limits()
    report.rate = settings.send_rate or (0.8 * limits.max_rate if limits is not None else 0.0)
    report.quota_left = limits.left_24h if limits is not None else None
