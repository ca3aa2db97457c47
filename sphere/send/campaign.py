"""The campaign loop: one issue to everyone on its frozen list, once, resumably.

Under the campaign's lease, the loop takes the recipients still to send a batch at a time. Just
before each batch it reads the subscriber list, so whoever unsubscribed, bounced, complained or
was erased since the start is skipped; it records the batch as attempted, lets a pool of
workers personalise and send each message at the token bucket's pace (retrying what is
retry-safe, with backoff), then records every outcome. A stop (quota, sending paused, the time
limit, Ctrl-C) ends the loop after the batch in flight, leaving the rest to the next run; so
does a `should_pause` hook (the bounce guard, sphere.send.bounce_guard) that answers a reason before
a batch.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sphere.clock import SYSTEM, Clock
from sphere.errors import SendError, TokenError, TransportError
from sphere.mail.personalise import envelope_address
from sphere.send.lease import Lease
from sphere.send.ledger import Ledger, LedgerState
from sphere.send.outcome import Kind, Outcome
from sphere.send.pace import TokenBucket, backoff

if TYPE_CHECKING:
    from sphere.mail.message import MessageTemplate
    from sphere.mail.personalise import Personaliser
    from sphere.send.transports import Transport
    from sphere.store.blobs import BlobStore

log = logging.getLogger(__name__)

MIN_BATCH, MAX_BATCH = 10, 5000  # recipients per check of the subscriber list
CHUNK_SECONDS = 0.2  # of sending per attempt record: what a crash can leave unknown
# ...but at least this many, so a slow send (SES's 14/s) does not leave thousands of tiny
# ledger objects for a resume to read back: 100,000 recipients make about 4,000 objects.
MIN_CHUNK = 50
MAX_TRIES = 8  # per recipient per run; a recipient still refused after that stops the run
_LEDGER_STATE = {
    Kind.ACCEPTED: "accepted",
    Kind.FAILED: "failed",
    Kind.UNKNOWN: "unknown",
    Kind.RETRY: "released",
    Kind.STOP: "released",
}


class Person(Protocol):
    """What the loop needs of a subscriber record."""

    id: str
    email: str
    name: str
    status: str


@dataclass(frozen=True, kw_only=True)
class SendOptions:
    """How fast, how many at once, and what to do about earlier runs."""

    rate: float = 0.0  # messages per second; 0: no limit
    concurrency: int = 4
    resend_unknown: bool = False
    take_over: bool = False
    max_time: float = 0.0  # seconds; 0: no limit
    batch: int = 0  # recipients per ledger batch; 0: about two seconds' worth
    quota_left: int | None = None  # messages the service's 24-hour quota still allows


@dataclass
class Report:
    """What a run did, and what the ledger says now."""

    slug: str
    recipients: int = 0  # on the frozen list
    sent: int = 0  # accepted in this run
    failed: int = 0  # in this run
    unknown: int = 0  # in this run: may or may not have been delivered
    skipped: int = 0  # in this run: no longer subscribed when their turn came
    done_before: int = 0  # accepted, failed or skipped by earlier runs
    accepted_before: int = 0  # accepted by earlier runs (what bounce rates are a share of)
    unknown_before: int = 0  # unknown from earlier runs, not resent (see --resend-unknown)
    left: int = 0  # still to send
    stopped: str = ""  # why the run stopped early; empty when it finished
    paused: bool = False  # stopped by the should_pause hook (its reason says how to resume)
    elapsed: float = 0.0
    failures: dict[str, int] = field(default_factory=dict)  # reason -> count
    notes: list[str] = field(default_factory=list)  # things the person sending should know

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Result:
    index: int
    outcome: Outcome
    error: BaseException | None = None  # to re-raise once the batch is recorded


class Campaign:
    """Sends one rendered issue to its campaign's recipients."""

    def __init__(
        self,
        *,
        store: BlobStore,
        slug: str,
        subject: str,
        template: MessageTemplate,
        personaliser: Personaliser,
        transport: Transport,
        sender: str,
        people: Callable[[], Mapping[str, Person]],
        options: SendOptions,
        clock: Clock = SYSTEM,
        on_batch: Callable[[Report], None] | None = None,
        should_pause: Callable[[Report], str] | None = None,
        rng: random.Random | None = None,
    ):
        self.store = store
        self.slug = slug
        self.subject = subject
        self.template = template
        self.personaliser = personaliser
        self.transport = transport
        self.sender = envelope_address(sender)
        self.people = people
        self.options = options
        self.clock = clock
        self.on_batch = on_batch or (lambda _report: None)
        self.should_pause = should_pause or (lambda _report: "")
        self.rng = rng or random.Random()  # noqa: S311 (jitter, not secrets)
        self.bucket = TokenBucket(options.rate, clock=clock)
        self.ledger = Ledger(store, slug, clock=clock)
        self._stop = threading.Event()
        self._read_seconds = 0.0  # how long the last read of the subscriber list took
        self._throughput = float(MIN_BATCH)  # messages per second in the last batch

    def run(self) -> Report:
        """Send to everyone still to send; return the report (with `stopped` set if cut short)."""
        lease = Lease.acquire(
            self.store, self.ledger.prefix + "lease.json", what=self.slug,
            take_over=self.options.take_over, clock=self.clock,
        )  # fmt: skip
        try:
            return self._run(lease)
        finally:
            self.transport.close()
            lease.release()

    def _run(self, lease: Lease) -> Report:
        started = self.clock.monotonic()
        state = self.ledger.load() or self._freeze()
        report = Report(self.slug, recipients=len(state.ids))
        todo = state.todo(resend_unknown=self.options.resend_unknown)
        counts = state.counts()
        report.done_before = counts["accepted"] + counts["failed"] + counts["skipped"]
        report.accepted_before = counts["accepted"]
        report.unknown_before = 0 if self.options.resend_unknown else counts["unknown"]
        report.left = len(todo)
        if not self._quota_fits(report, len(todo)):
            return report
        if todo:
            self.transport.check()
        with ThreadPoolExecutor(self.options.concurrency, thread_name_prefix="send") as pool:
            position = 0
            while position < len(todo) and not report.stopped:
                elapsed = self.clock.monotonic() - started
                if self.options.max_time and elapsed >= self.options.max_time:
                    report.stopped = "the time limit (--max-time) was reached"
                    break
                reason = self.should_pause(report)
                if reason:
                    report.stopped, report.paused = reason, True
                    break
                lease.renew()
                batch = todo[position : position + self._batch_size()]
                position += len(batch)
                self._batch(pool, lease, state, batch, report)
                report.elapsed = self.clock.monotonic() - started
                self.on_batch(report)
        report.elapsed = self.clock.monotonic() - started
        return report

    def _quota_fits(self, report: Report, todo: int) -> bool:
        """Say so when the 24-hour quota will not cover the recipients left; stop if it is 0."""
        left = self.options.quota_left
        if left is None or left >= todo:
            return True
        if left == 0:
            report.stopped = "the 24-hour sending quota is used up: run the send again tomorrow"
            return False
        report.notes.append(
            f"the 24-hour sending quota allows {left} more messages, for {todo} recipients "
            "left: the send will stop when it runs out; run it again after the quota resets"
        )
        return True

    def _freeze(self) -> LedgerState:
        people = sorted(
            (p for p in self.people().values() if p.status == "subscribed"), key=lambda p: p.email
        )
        return self.ledger.freeze([p.id for p in people], subject=self.subject)

    def _batch_size(self) -> int:
        """About a second of sending, or ten times as long as reading the list takes, so the
        check before each batch costs at most a tenth of the time (a 100,000-person list takes
        about half a second to read)."""
        if self.options.batch:
            return self.options.batch
        speed = self.bucket.rate if self.bucket.rate > 0 else self._throughput
        seconds = max(1.0, 10 * self._read_seconds)
        return max(MIN_BATCH, min(MAX_BATCH, int(speed * seconds)))

    def _chunk_size(self) -> int:
        """About a fifth of a second of sending (at least MIN_CHUNK, and two per worker): each
        chunk is recorded as attempted before the transport sees it, so a crash leaves at most
        one chunk unknown."""
        speed = self.bucket.rate if self.bucket.rate > 0 else self._throughput
        return max(2 * self.options.concurrency, MIN_CHUNK, int(speed * CHUNK_SECONDS))

    def _batch(
        self,
        pool: ThreadPoolExecutor,
        lease: Lease,
        state: LedgerState,
        batch: list[int],
        report: Report,
    ) -> None:
        """Skip who left since the start, then send to the rest a chunk at a time."""
        began = self.clock.monotonic()
        current = self.people()
        self._read_seconds = self.clock.monotonic() - began
        skipped: list[tuple[int, str, str, str]] = []
        jobs: list[tuple[int, Person]] = []
        for index in batch:
            person = current.get(state.ids[index])
            if person is None or person.status != "subscribed":
                skipped.append((index, "skipped", "", person.status if person else "erased"))
            else:
                jobs.append((index, person))
        if skipped:
            self.ledger.outcomes(skipped)
            self._count(report, skipped, [])
        position = 0
        while position < len(jobs) and not self._stop.is_set():
            lease.renew()  # a batch slowed by throttling can outlast the lease
            chunk = jobs[position : position + self._chunk_size()]
            position += len(chunk)
            self._chunk(pool, chunk, report)

    def _chunk(
        self, pool: ThreadPoolExecutor, chunk: list[tuple[int, Person]], report: Report
    ) -> None:
        """Record the attempt, send, record the outcomes."""
        self.ledger.attempt(index for index, _ in chunk)
        began = self.clock.monotonic()
        results = self._deliver_all(pool, chunk)
        if len(chunk) >= 2 * self.options.concurrency:
            self._throughput = len(chunk) / max(self.clock.monotonic() - began, 1e-6)
        records = [
            (r.index, _LEDGER_STATE[r.outcome.kind], r.outcome.message_id, r.outcome.detail)
            for r in results
        ]
        self.ledger.outcomes(records)
        self._count(report, records, results)
        errors = [r.error for r in results if r.error is not None]
        if errors:
            raise errors[0]

    def _count(
        self, report: Report, records: list[tuple[int, str, str, str]], results: list[_Result]
    ) -> None:
        for _, state, _, detail in records:
            if state == "accepted":
                report.sent += 1
            elif state == "failed":
                report.failed += 1
                report.failures[detail] = report.failures.get(detail, 0) + 1
            elif state == "unknown":
                report.unknown += 1
            elif state == "skipped":
                report.skipped += 1
        report.left -= sum(1 for _, state, _, _ in records if state != "released")
        stops = [r.outcome.detail for r in results if r.outcome.kind is Kind.STOP]
        stops = [detail for detail in stops if detail]  # released ones carry no reason
        if stops:
            report.stopped = stops[0]
        elif self._stop.is_set():
            report.stopped = "interrupted"

    def _deliver_all(
        self, pool: ThreadPoolExecutor, jobs: list[tuple[int, Person]]
    ) -> list[_Result]:
        """Each worker takes the batch's next recipient until none is left (one task per
        worker, not per message: a future per message costs as much as building it)."""
        queue = iter(jobs)
        lock = threading.Lock()

        def work() -> list[_Result]:
            done: list[_Result] = []
            while True:
                with lock:
                    job = next(queue, None)
                if job is None:
                    return done
                done.append(self._deliver(*job))

        workers = min(self.options.concurrency, len(jobs))
        return _gather([pool.submit(work) for _ in range(workers)], self._stop)

    def _deliver(self, index: int, person: Person) -> _Result:
        """Personalise and send one message, retrying what is retry-safe."""
        if self._stop.is_set():
            return _Result(index, Outcome.stop(""))
        try:
            recipient = self.personaliser.recipient(
                subscriber_id=person.id, address=person.email, name=person.name
            )
            message = self.template.render(recipient)
            to = envelope_address(person.email)
        except (SendError, TokenError, UnicodeError) as error:
            return _Result(index, Outcome.failed(str(error)))
        outcome = Outcome.retry("")
        for attempt in range(MAX_TRIES):
            self.bucket.acquire()
            if self._stop.is_set():
                return _Result(index, Outcome.stop(""))
            try:
                outcome = self.transport.send(
                    sender=self.sender, to=to, message=message, recipient=person.id
                )
            except TransportError as error:
                self._stop.set()
                return _Result(index, Outcome.stop(str(error)), error)
            # A bug, or an error no transport sorted: the message may have gone, so it is
            # recorded as unknown (never sent twice) and the send stops, whatever the error.
            except Exception as error:  # noqa: BLE001
                self._stop.set()
                return _Result(index, Outcome.unknown(type(error).__name__), error)
            if outcome.kind is not Kind.RETRY:
                break
            self.bucket.slow_down()
            log.info("retrying in a moment: %s", outcome.detail)
            if self._stop.wait(backoff(attempt, rng=self.rng)):
                return _Result(index, Outcome.stop(""))
        else:
            outcome = Outcome.stop(f"still refused after {MAX_TRIES} tries: {outcome.detail}")
        if outcome.kind is Kind.ACCEPTED:
            self.bucket.recover()
        elif outcome.kind is Kind.STOP:
            self._stop.set()
        return _Result(index, outcome)


def _gather(futures: list[Future[list[_Result]]], stop: threading.Event) -> list[_Result]:
    """Every worker's results; on Ctrl-C, stop the workers and still collect what they did."""
    try:
        return [result for future in futures for result in future.result()]
    except KeyboardInterrupt:
        stop.set()
        return [result for future in futures for result in future.result()]


__all__ = ["Campaign", "Report", "SendOptions"]
