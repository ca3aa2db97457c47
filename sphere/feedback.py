"""SES bounces and complaints, read from SQS, mark subscribers so they are not mailed again.

SES publishes each bounce, complaint and delivery of the configuration set to an SNS topic;
an SQS queue subscribed to that topic holds them until `sphere feedback sync` reads them (the
queue is reached with IAM credentials, so there is no public endpoint to forge notifications
at: see docs/aws.md). Each message is an SNS envelope (or, with raw delivery, the bare SES
notification), in either of SES's two shapes: `notificationType` (identity notifications) or
`eventType` (configuration-set event publishing).

- A permanent bounce marks the address `bounced`; a complaint marks it `complained` (but a
  complaint whose feedback type is `not-spam` is ignored).
- A transient bounce counts; `soft_bounce_limit` distinct ones mark the address `bounced`.
- Deliveries and everything else change no one's status; addresses not on the list are
  ignored. But every event tagged with a campaign and a recipient (SES's `Send` and
  `Delivery` above all) settles that recipient's outcome where a crashed send left it
  unknown (sphere.send.settle).
- Mail to `unsubscribe_mailto` (SES receiving, `Received`) unsubscribes the reader its
  subject's token names, or its authenticated sender (sphere.inbound).
- A processed message is deleted from the queue. A message that is not a notification is
  reported and left in the queue (its redrive policy moves it to the dead-letter queue), so
  nothing is lost. Processing the same notification twice changes nothing more.

No address or message body is logged: only counts and SQS message ids.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

from sphere import inbound
from sphere.errors import FeedbackError, FeedbackUnavailable, PreconditionFailed, TokenError
from sphere.inbound import Request
from sphere.store import aws

if TYPE_CHECKING:
    from sphere.settings import Settings
    from sphere.store.blobs import BlobStore
    from sphere.subscribers.members import Members
    from sphere.subscribers.model import Subscriber

log = logging.getLogger(__name__)

VISIBILITY = 120  # seconds a received message stays hidden: the whole run, so none comes twice
_TRANSIENT = "feedback/transient/"  # per address hash: ids of the transient bounces seen
_CAMPAIGNS = "feedback/campaigns/"  # per issue: ids of its permanent bounces and complaints


@dataclass(frozen=True, slots=True)
class Notice:
    """What one SES notification says: its kind, its recipients, and an id that names it."""

    kind: str  # permanent | transient | complaint | unsubscribe | delivery | ignored
    addresses: tuple[str, ...]
    feedback_id: str
    campaign: str = ""  # the issue's slug, from the message's SES `campaign` tag
    request: Request | None = None  # an unsubscribe by mail (kind "unsubscribe")
    recipient: str = ""  # the subscriber's opaque id, from the message's `recipient` tag
    mail_id: str = ""  # SES's message id


@dataclass
class FeedbackReport:
    """What a sync did, by count (no addresses)."""

    received: int = 0
    bounced: int = 0  # addresses newly marked bounced
    complained: int = 0  # addresses newly marked complained
    unsubscribed: int = 0  # addresses newly unsubscribed by mail to unsubscribe_mailto
    settled: int = 0  # unknown outcomes of a crashed send, now known to be accepted
    unknown_left: dict[str, int] = field(default_factory=dict)  # slug -> unknowns no event named
    transient: int = 0  # transient bounces counted, below the limit
    unchanged: int = 0  # recipients already marked, or not on the list
    ignored: int = 0  # deliveries and other notifications
    deleted: int = 0
    malformed: list[str] = field(default_factory=list)  # SQS message ids left in the queue

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse(body: str) -> Notice:
    """The notice in an SQS message body, or ValueError saying why it is not one."""
    try:
        outer = json.loads(body)
        inner = json.loads(outer["Message"]) if outer.get("Type") == "Notification" else outer
        kind = inner.get("notificationType") or inner.get("eventType")
    except (ValueError, TypeError, KeyError, AttributeError):
        raise ValueError("not JSON, or not an SNS notification") from None
    if not isinstance(kind, str):
        raise ValueError("no notificationType or eventType")
    mail = inner.get("mail") or {}
    mail_id = str(mail.get("messageId", ""))
    if kind == "Received":
        return Notice("unsubscribe", (), mail_id, request=inbound.request(inner))
    campaign = _tag(mail, "campaign")
    # What SES accepted: any event but a rejection (then SES did not send it after all).
    recipient = _tag(mail, "recipient") if kind not in _NOT_SENT else ""
    if kind == "Bounce":
        notice = _notice(inner.get("bounce"), "bouncedRecipients", mail_id, _bounce_kind)
    elif kind == "Complaint":
        notice = _notice(inner.get("complaint"), "complainedRecipients", mail_id, _complaint_kind)
    else:  # a delivery changes no one's status, but counts for its issue (sphere.issue_feedback)
        notice = Notice("delivery" if kind == "Delivery" else "ignored", (), mail_id)
    return Notice(
        notice.kind, notice.addresses, notice.feedback_id, campaign,
        recipient=recipient, mail_id=mail_id,
    )  # fmt: skip


_NOT_SENT = frozenset({"Reject", "Rendering Failure"})


def _tag(mail: dict[str, Any], name: str) -> str:
    """A tag SES sent the message with (event publishing keeps message tags): `campaign`,
    `recipient`; "" without one."""
    tags = mail.get("tags") if isinstance(mail, dict) else None
    values = tags.get(name) if isinstance(tags, dict) else None
    return str(values[0]) if isinstance(values, list) and values else ""


def _bounce_kind(detail: dict[str, Any]) -> str:
    return "permanent" if detail.get("bounceType") == "Permanent" else "transient"


def _complaint_kind(detail: dict[str, Any]) -> str:
    return "ignored" if detail.get("complaintFeedbackType") == "not-spam" else "complaint"


def _notice(detail: Any, recipients_key: str, mail_id: str, kind_of: Any) -> Notice:
    if not isinstance(detail, dict) or not isinstance(detail.get(recipients_key), list):
        raise ValueError(f"no {recipients_key}")
    addresses = []
    for recipient in detail[recipients_key]:
        if not isinstance(recipient, dict) or not isinstance(recipient.get("emailAddress"), str):
            raise ValueError(f"a recipient in {recipients_key} has no emailAddress")
        addresses.append(parseaddr(recipient["emailAddress"])[1] or recipient["emailAddress"])
    feedback_id = str(detail.get("feedbackId") or mail_id)
    if not feedback_id:
        raise ValueError("no feedbackId or mail.messageId")
    return Notice(kind_of(detail), tuple(addresses), feedback_id)


class FeedbackSync:
    """Reads the queue to the end once, applying each notice through `Members`."""

    def __init__(self, settings: Settings, *, client: Any, members: Members):
        if not settings.feedback_queue_url:
            raise FeedbackError(
                "feedback_queue_url is not set: set it in [tool.sphere] or "
                "SPHERE_FEEDBACK_QUEUE_URL (see docs/aws.md)"
            )
        self.queue = settings.feedback_queue_url
        self.mailbox = settings.unsubscribe_mailto.lower()
        self.secret = settings.secret
        self.limit = settings.soft_bounce_limit
        self.client = client
        self.members = members

    def run(self) -> FeedbackReport:
        from sphere.issue_feedback import Collector
        from sphere.send.settle import Settler

        report = FeedbackReport()
        settler = Settler(self.members.subscribers.store)
        tally = Collector(self.members.subscribers.store)
        seen: set[str] = set()
        while True:
            messages = [m for m in self._receive() if m["MessageId"] not in seen]
            if not messages:
                break
            done = []
            for message in messages:
                seen.add(message["MessageId"])
                report.received += 1
                try:
                    notice = parse(message.get("Body", ""))
                except ValueError as why:
                    report.malformed.append(message["MessageId"])
                    log.warning("SQS message %s is not an SES notification (%s): left in "
                                "the queue", message["MessageId"], why)  # fmt: skip
                    continue
                self.apply(notice, report)
                settler.add(notice.campaign, notice.recipient, notice.mail_id)
                tally.add(notice.campaign, notice.kind, notice.recipient or notice.feedback_id)
                done.append(message)
            report.settled += settler.flush()  # NOTE: before the events leave the queue
            tally.flush()
            self._delete(done, report)
        report.unknown_left = settler.left()
        log.info("feedback: %s", report)
        return report

    def apply(self, notice: Notice, report: FeedbackReport) -> None:
        """Mark each recipient as the notice says (idempotent)."""
        if notice.kind in ("ignored", "delivery"):
            report.ignored += 1
            return
        if notice.request is not None:
            self._unsubscribe(notice.request, report)
            return
        from sphere.subscribers.model import normalise_email

        self._tally(notice)

        for text in notice.addresses:
            try:
                address = normalise_email(text)
            except ValueError:
                report.unchanged += 1
                continue
            record = self.members.by_address(address)[0]
            if record is None:
                report.unchanged += 1
            elif notice.kind == "transient":
                if self._count_transient(address, notice.feedback_id) < self.limit:
                    report.transient += 1
                elif self.members.set_status(record, "bounced"):
                    report.bounced += 1
                else:
                    report.unchanged += 1
            else:
                status = "bounced" if notice.kind == "permanent" else "complained"
                if record.status != "complained" and self.members.set_status(record, status):
                    report.bounced += status == "bounced"
                    report.complained += status == "complained"
                else:
                    report.unchanged += 1

    def _unsubscribe(self, request: Request, report: FeedbackReport) -> None:
        """Unsubscribe whoever a mail to `unsubscribe_mailto` names (sphere.inbound)."""
        if request.unwanted or not self.mailbox or self.mailbox not in request.recipients:
            report.ignored += 1
            return
        from sphere.issue_feedback import record_unsubscribe

        record, issue = self._by_token(request.tokens)
        record = record or self._by_sender(request)
        if record is not None and self.members.set_status(record, "unsubscribed"):
            report.unsubscribed += 1
            record_unsubscribe(self.members.subscribers.store, issue, record.id,
                               at=self.members.now())  # fmt: skip
        else:
            report.unchanged += 1

    def _by_token(self, tokens: tuple[str, ...]) -> tuple[Subscriber | None, str]:
        """The reader a token names, and the issue it came in ("" if it names none)."""
        from sphere.mail.tokens import Tokens

        for token in tokens if self.secret else ():
            try:
                subscriber_id, issue = Tokens(self.secret).unsubscribe_origin(token)
            except TokenError:
                continue
            record = self.members.by_id(subscriber_id)
            if record is not None:
                return record, issue
        return None, ""

    def _by_sender(self, request: Request) -> Subscriber | None:
        from sphere.subscribers.model import normalise_email

        if not request.authentic or not request.sender:
            return None  # a From anyone can write must not unsubscribe someone else
        try:
            return self.members.by_address(normalise_email(request.sender))[0]
        except ValueError:
            return None

    def _count_transient(self, address: str, feedback_id: str) -> int:
        """Record this transient bounce (once per id); how many distinct ones there are."""
        key = f"{_TRANSIENT}{self.members.subscribers.hash(address)[:32]}.json"
        return len(add_id(self.members.subscribers.store, key, "ids", feedback_id, keep=50))

    def _tally(self, notice: Notice) -> None:
        """Count a permanent bounce or a complaint against its campaign (for the breaker)."""
        if notice.campaign and notice.kind in ("permanent", "complaint"):
            name = "bounces" if notice.kind == "permanent" else "complaints"
            add_id(self.members.subscribers.store, campaign_key(notice.campaign), name,
                   notice.feedback_id)  # fmt: skip

    def _receive(self) -> list[dict[str, Any]]:
        try:
            response = self.client.receive_message(
                QueueUrl=self.queue,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=0,
                VisibilityTimeout=VISIBILITY,
            )
        except aws.errors() as error:
            raise _translated(error, self.queue) from None
        return list(response.get("Messages", []))

    def _delete(self, messages: list[dict[str, Any]], report: FeedbackReport) -> None:
        if not messages:
            return
        entries = [
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)
        ]
        try:
            response = self.client.delete_message_batch(QueueUrl=self.queue, Entries=entries)
        except aws.errors() as error:
            raise _translated(error, self.queue) from None
        report.deleted += len(response.get("Successful", []))
        for failure in response.get("Failed", []):
            log.warning("could not delete an SQS message (%s): it will be read again, "
                        "harmlessly", failure.get("Code", "?"))  # fmt: skip


def campaign_key(slug: str) -> str:
    """Where a campaign's bounces and complaints are counted (by SES feedback id)."""
    return f"{_CAMPAIGNS}{slug}.json"


def campaign_tally(store: BlobStore, slug: str) -> dict[str, int]:
    """How many distinct permanent bounces and complaints the campaign has had so far."""
    blob = store.get(campaign_key(slug))
    data = json.loads(blob.data) if blob else {}
    return {name: len(data.get(name, [])) for name in ("bounces", "complaints")}


def add_id(store: BlobStore, key: str, name: str, item: str, *, keep: int = 0) -> list[str]:
    """Add `item` to the list `name` in the JSON object at `key`, once; return the list.

    A conditional write settles races between two syncs; `keep` bounds the list's length.
    """
    for _ in range(10):
        blob = store.get(key)
        data: dict[str, list[str]] = json.loads(blob.data) if blob else {}
        items = data.get(name, [])
        if item in items:
            return items
        items = [*items, item][-keep:] if keep else [*items, item]
        data[name] = items
        try:
            if blob is None:
                store.put(key, json.dumps(data).encode(), if_none_match=True)
            else:
                store.put(key, json.dumps(data).encode(), if_match=blob.etag)
            return items
        except PreconditionFailed:
            continue  # another sync wrote meanwhile: read it again
    raise FeedbackError(f"{store.url}: {key} kept changing; run the sync again")


def _translated(error: Exception, queue: str) -> FeedbackError:
    """An AWS error from the queue as ours."""
    failure = aws.classify(error)
    if failure.kind != "answered":  # no answer at all: the endpoint is unreachable
        return FeedbackUnavailable(f"cannot reach the feedback queue {queue}: {error}")
    code = failure.code
    if code in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
        return FeedbackError(f"no such queue: {queue} (check feedback_queue_url)")
    if code in ("AccessDenied", "AccessDeniedException", "InvalidClientTokenId"):
        return FeedbackUnavailable(f"access to the feedback queue {queue} was denied ({code})")
    return FeedbackUnavailable(f"the feedback queue {queue} answered {code or 'an error'}")


def sync(settings: Settings) -> FeedbackReport:
    """Read and apply every SES notification waiting in `feedback_queue_url`."""
    from sphere.subscribers.members import Members

    client = aws.client("sqs")
    return FeedbackSync(settings, client=client, members=Members.open(settings)).run()


__all__ = ["FeedbackReport", "FeedbackSync", "Notice", "campaign_tally", "parse", "sync"]
