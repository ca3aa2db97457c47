"""`sphere send` and `sphere status` as library functions.

Find the issue, refuse what must not go out (a draft, an issue not yet due, a placeholder
postal address or endpoint, no secret for a real transport), render the issue once, then run
the campaign, a test send or a dry run. The CLI only turns flags into a `SendRequest` and
reports what comes back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sphere.errors import ContentError, SendError
from sphere.send import seams
from sphere.send.campaign import Campaign, Report, SendOptions
from sphere.send.outcome import Outcome, redact
from sphere.settings import placeholder_postal_address

if TYPE_CHECKING:
    from sphere.content.issues import Issue
    from sphere.mail.message import MessageTemplate
    from sphere.results import IssueResult
    from sphere.send.transports import Transport
    from sphere.settings import Settings

_PLACEHOLDER_HOSTS = re.compile(r"(^|\.)(example\.(com|org|net)|example|invalid|test|localhost)$")
TEST_SUBJECT = "[TEST] "
TEST_SUBSCRIBER_ID = "test-send-not-a-subscriber"


@dataclass(frozen=True, kw_only=True)
class SendRequest:
    """What `sphere send` was asked to do."""

    issue: str  # a slug, or the path of the issue's Markdown file
    dry_run: bool = False
    test: tuple[str, ...] = ()  # send only to these addresses
    rate: float | None = None  # messages per second (None: the setting, then the transport)
    concurrency: int | None = None
    resend_unknown: bool = False
    take_over: bool = False
    now: bool = False  # send a ready issue before its date and send time
    max_time: float | None = None  # seconds (None: the setting)
    resume_past_breaker: bool = False  # judge only the bounces and complaints from now on


@dataclass
class DryRun:
    """What a dry run built."""

    slug: str
    messages: int = 0
    total_bytes: int = 0
    largest: int = 0
    elapsed: float = 0.0
    refused: dict[str, int] = field(default_factory=dict)  # reason -> count


def find_issue(settings: Settings, ref: str) -> Issue:
    """The issue `ref` names: a slug, its file's name without .md, or the file's path."""
    from sphere.content.issues import load_issue, load_issues

    if ref.endswith(".md") or "/" in ref:
        path = Path(ref)
        if not path.is_file():
            raise ContentError(f"no issue file at {ref}")
        return load_issue(path)
    issues = load_issues(settings.content_dir, drafts=True)
    for issue in issues:
        if ref in (issue.slug, issue.path.stem):
            return issue
    known = ", ".join(issue.slug for issue in issues) or "none"
    raise ContentError(f"no issue {ref!r} in {settings.content_dir.name}/issues/ (slugs: {known})")


def refuse_unready(settings: Settings, issue: Issue, *, today: dt.date, now: bool) -> None:
    """A draft never goes to the list; a ready issue waits for its date and send time (in the
    newsletter's time zone, as `publish` waits: sphere.schedule) unless `now`."""
    from sphere.schedule import has_come, when

    if issue.is_draft:
        raise ContentError(
            "the issue is a draft: set 'status: ready' to send it "
            "(--test and --dry-run work on drafts)",
            path=issue.path,
            line=issue.line_of("status"),
        )
    if now or issue.date < today:
        return
    moment = settings.now()
    if issue.date > today or not has_come(settings, issue, moment):
        key = "send_time" if issue.date == today and "send_time" in issue.key_lines else "date"
        raise ContentError(
            f"the issue is {when(settings, issue, moment)}, not yet: it goes out then; "
            "pass --now to send it now",
            path=issue.path,
            line=issue.line_of(key),
        )


def refuse_placeholders(settings: Settings) -> None:
    """A real send needs a real postal address and a reachable unsubscribe endpoint."""
    problems, named = [], settings.from_env
    postal = settings.postal_address
    if placeholder_postal_address(postal):
        problems.append(
            f"{named.get('postal_address', 'postal_address')} is still a placeholder "
            f"({postal!r}): the law wants the sender's real postal address in every message"
        )
    host = urlsplit(settings.endpoint_url).hostname or ""
    if _PLACEHOLDER_HOSTS.search(host) or settings.endpoint_url.startswith("http://"):
        problems.append(
            f"{named.get('endpoint_url', 'endpoint_url')} is not a public HTTPS address "
            f"({settings.endpoint_url!r}): readers' unsubscribe links would not work"
        )
    if problems:
        # The file is named where a value came from it; a variable names itself.
        where = (
            "" if all(p.startswith("SPHERE_") for p in problems) else f"{settings.source.name}: "
        )
        raise SendError(f"{where}refusing to send: " + "; ".join(problems))


def render_issue(settings: Settings, issue: Issue, *, test: bool = False) -> MessageTemplate:
    """The issue's MIME template, rendered once (its subject marked for a test send)."""
    from sphere.mail.issue import issue_message
    from sphere.render.email import Renderer

    if test:
        issue = dataclasses.replace(issue, subject=TEST_SUBJECT + issue.subject)
    return issue_message(settings, Renderer(settings).render(issue))


def is_real(settings: Settings) -> bool:
    """Whether SPHERE_TRANSPORT reaches people (anything but the outbox)."""
    return not settings.transport.startswith("outbox:")


def send_issue(
    settings: Settings,
    request: SendRequest,
    *,
    today: dt.date | None = None,
    on_batch: Callable[[Report], None] | None = None,
    transport: Transport | None = None,
) -> Report:
    """Send the issue to its campaign's recipients (resuming an earlier run).

    With `feedback_queue_url` set, the bounce guard (sphere.send.bounce_guard) is checked before
    each batch, and pauses the send when the issue's bounces or complaints run high. `sphere
    send` and `sphere publish` both come here, so both keep the same record of what went out
    (before the first message) and of the send's end (when the list is done, at its own
    finish time): sphere.records.
    """
    from sphere.mail.personalise import Personaliser
    from sphere.send.bounce_guard import bounce_guard_for
    from sphere.send.transports import open_transport

    issue = find_issue(settings, request.issue)
    refuse_unready(settings, issue, today=today or settings.today(), now=request.now)
    if is_real(settings):
        refuse_placeholders(settings)
    # No secret for a real transport: refused here. The links name the issue (sphere.outcome).
    personaliser = Personaliser.from_settings(settings, issue=issue.slug)
    template = render_and_record(settings, issue)
    transport = transport or open_transport(settings, campaign=issue.slug)
    limits = transport.limits()
    rate = request.rate if request.rate is not None else settings.send_rate
    if not rate and limits is not None:
        rate = 0.8 * limits.max_rate
    max_time = request.max_time if request.max_time is not None else settings.send_max_time
    options = SendOptions(
        rate=rate,
        concurrency=request.concurrency or settings.send_concurrency,
        resend_unknown=request.resend_unknown,
        take_over=request.take_over,
        max_time=max_time,
        quota_left=limits.left_24h if limits is not None else None,
    )
    store = seams.open_store(settings)
    guard = bounce_guard_for(settings, issue.slug, store, from_now=request.resume_past_breaker)
    campaign = Campaign(
        store=store,
        slug=issue.slug,
        subject=issue.subject,
        template=template,
        personaliser=personaliser,
        transport=transport,
        sender=settings.sender_address,
        people=lambda: seams.people(settings),
        options=options,
        clock=settings.clock,
        on_batch=on_batch,
        should_pause=guard.should_pause if guard else None,
    )
    report = campaign.run()
    if not report.stopped:
        record_finish(settings, issue.slug)
    return report


def render_and_record(settings: Settings, issue: Issue) -> MessageTemplate:
    """Render the issue's message once, and keep it as sent (sphere.records) unless an earlier
    run kept it already."""
    from sphere import records
    from sphere.mail.issue import issue_message
    from sphere.render.email import Renderer

    rendered = Renderer(settings).render(issue)
    template = issue_message(settings, rendered)
    commit = records.git_commit(settings.root)
    records.keep_record(seams.open_store(settings), rendered, template, commit=commit)
    return template


def record_finish(settings: Settings, slug: str) -> None:
    """Say the campaign is complete, at this moment, if its list is done (its completion
    record then lets publish and status skip the ledger)."""
    from sphere import records
    from sphere.clock import utc
    from sphere.send.ledger import Ledger

    store = seams.open_store(settings)
    state = Ledger(store, slug).load()
    if state is not None and not state.todo():
        records.mark_complete(
            store, slug, ids=state.ids, counts=state.counts(), now=utc(settings.clock),
            commit=records.git_commit(settings.root),
        )  # fmt: skip


def send_test(
    settings: Settings, request: SendRequest, *, transport: Transport | None = None
) -> list[tuple[str, Outcome]]:
    """Send the issue, subject marked as a test, to the named addresses only: no ledger."""
    from sphere.mail.personalise import Personaliser, envelope_address
    from sphere.send.transports import open_transport

    issue = find_issue(settings, request.issue)
    if is_real(settings):
        refuse_placeholders(settings)
    personaliser = Personaliser.from_settings(settings)
    template = render_issue(settings, issue, test=True)
    transport = transport or open_transport(settings, campaign=issue.slug)
    transport.check()
    results = []
    try:
        for address in request.test:
            try:
                recipient = personaliser.recipient(
                    subscriber_id=TEST_SUBSCRIBER_ID, address=seams.normalise_address(address)
                )
                message = template.render(recipient)
            except (ValueError, SendError) as error:
                results.append((address, Outcome.failed(str(error))))
                continue
            to = envelope_address(recipient.address)
            outcome = transport.send(sender=_sender(settings), to=to, message=message)
            results.append((address, outcome))
    finally:
        transport.close()
    return results


def dry_run(settings: Settings, request: SendRequest) -> DryRun:
    """Build every subscriber's message, as a send would, and send none."""
    from sphere.mail.personalise import Personaliser

    issue = find_issue(settings, request.issue)
    personaliser = Personaliser.from_settings(settings, issue=issue.slug)  # sizes as sent
    template = render_issue(settings, issue)
    report = DryRun(issue.slug)
    started = time.perf_counter()
    for person in seams.people(settings).values():
        if person.status != "subscribed":
            continue
        recipient = personaliser.recipient(
            subscriber_id=person.id, address=person.email, name=person.name
        )
        try:
            size = len(template.render(recipient))
        except SendError as error:
            reason = redact(str(error))
            report.refused[reason] = report.refused.get(reason, 0) + 1
            continue
        report.messages += 1
        report.total_bytes += size
        report.largest = max(report.largest, size)
    report.elapsed = time.perf_counter() - started
    return report


def campaign_results(settings: Settings, ref: str | None) -> list[tuple[str, IssueResult | None]]:
    """How one issue's campaign did (sphere.results), or every campaign in the store; None
    for an issue not sent yet."""
    from sphere.results import issue_result

    store = seams.open_store(settings)
    if ref is not None:
        slugs = [find_issue(settings, ref).slug]
    else:
        slugs = sorted({key.split("/")[1] for key in store.list("campaigns/")})
    return [(slug, issue_result(store, slug, clock=settings.clock)) for slug in slugs]


def campaign_status(settings: Settings, ref: str | None) -> list[dict[str, Any]]:
    """`campaign_results` as plain data (`sphere status ISSUE --json`): the ledger's counts,
    the feedback with rates, when, and from which commit and CI run."""
    found: list[dict[str, Any]] = []
    for slug, result in campaign_results(settings, ref):
        if result is None:
            found.append({"issue": slug, "started": False, "sending_now": False})
            continue
        entry = result.as_dict()
        entry.update(started=True, started_at=result.started, created=result.started)
        found.append(entry)
    return found


def _sender(settings: Settings) -> str:
    from sphere.mail.personalise import envelope_address

    return envelope_address(settings.sender_address)


__all__ = [
    "DryRun",
    "SendRequest",
    "campaign_results",
    "campaign_status",
    "dry_run",
    "find_issue",
    "send_issue",
    "send_test",
]
