"""The welcome email: `content/welcome.md`, sent once to each subscriber who confirms, through
`sphere serve` and the outbox; queued in the store so that a second click, a retry or a crash
never sends it twice, and what failed is sent by `sphere publish`."""

from __future__ import annotations

import re
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fixtures_project import POSTAL_ADDRESS, Result, write_issue
from fixtures_send import add_subscribers
from fixtures_smtp import SmtpServer
from fixtures_web import Endpoint
from test_web_lambda import lambda_env, url_event  # noqa: F401 (the function URL's event, env)

from sphere.errors import ContentError, StoreError
from sphere.mail.personalise import tokens_for
from sphere.send.outcome import Outcome
from sphere.send.seams import people
from sphere.settings import Settings, load_settings
from sphere.status import overview
from sphere.store.blobs import open_store
from sphere.subscribers.list import open_list
from sphere.subscribers.welcomes import WelcomeQueue
from sphere.welcome.deliver import Welcomer, send_welcomes

SUBJECT = "Welcome to Sphere"


def _messages(folder: Path) -> list[EmailMessage]:
    found = []
    for path in sorted(folder.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def _welcomes(folder: Path) -> list[EmailMessage]:
    return [m for m in _messages(folder) if m["Subject"] == SUBJECT]


def _subscribe_and_confirm(endpoint: Endpoint, address: str, name: str = "") -> str:
    """Subscribe through the form, confirm by the emailed link; the confirm token."""
    before = len(endpoint.outbox())
    endpoint.post_form("/subscribe", {"email": address, "name": name})
    (message,) = endpoint.outbox()[before:]
    found = re.search(r"/confirm\?t=(\S+)$", message.read_text(), re.M)
    assert found
    token = found.group(1)
    assert endpoint.post_form("/confirm", {"t": token}).status == 200
    return token


def test_confirming_through_serve_sends_one_welcome_even_after_a_second_click(
    endpoint: Endpoint,
) -> None:
    token = _subscribe_and_confirm(endpoint, "new@example.org", "Ada Lovelace")
    again = endpoint.post_form("/confirm", {"t": token})
    assert again.status == 200 and "You are subscribed" in again.text

    (welcome,) = _welcomes(endpoint.root / "outbox")
    assert welcome["To"].addresses[0].addr_spec == "new@example.org"
    text, html = (part.get_content() for part in welcome.iter_parts())  # type: ignore[attr-defined]
    assert "Hi Ada," in text and "Hi Ada," in html
    # The latest published issue, linked, and the reader's own one-click unsubscribe link.
    latest = "https://www.jimwigg.com/sphere/issues/hard-sell-or-soft-sell/"
    assert latest in text and f'href="{latest}"' in html
    settings = load_settings(endpoint.root)
    (link,) = re.findall(
        r"<(http://127\.0\.0\.1:\d+/unsubscribe\?t=[^>]+)>", welcome["List-Unsubscribe"]
    )
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    subscriber = tokens_for(settings).check_unsubscribe(link.split("t=", 1)[1])
    assert link in text and link.replace("&", "&amp;") in html
    queue = WelcomeQueue(open_store(settings))
    assert queue.state(subscriber) == "sent"
    one_click = endpoint.post_form(f"{urlsplit(link).path}?{urlsplit(link).query}", {})
    assert one_click.status == 200
    status = {r.email: r.status for r in open_list(settings).all()}
    assert status["new@example.org"] == "unsubscribed"
    log = endpoint.log.read_text()
    assert "new@example.org" not in log and "Ada" not in log


def test_a_resubscribe_is_not_welcomed_again(endpoint: Endpoint) -> None:
    _subscribe_and_confirm(endpoint, "back@example.org")
    settings = load_settings(endpoint.root)
    (welcome,) = _welcomes(endpoint.root / "outbox")
    text = welcome.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Hi there," in text  # no name given: the fallback
    path = re.search(r"http://127\.0\.0\.1:\d+(/unsubscribe\?t=\S+)", text)
    assert path and endpoint.post_form(path.group(1), {}).status == 200
    status = {r.email: r.status for r in open_list(settings).all()}
    assert status["back@example.org"] == "unsubscribed"
    # Confirming again (a fresh link: the form mails one per inbox a day) subscribes them
    # again, and their welcome, sent once already, is not sent twice.
    tokens = tokens_for(settings)
    fresh = tokens.confirm(tokens.check_unsubscribe(path.group(1).split("t=", 1)[1]))
    assert endpoint.post_form("/confirm", {"t": fresh}).status == 200
    status = {r.email: r.status for r in open_list(settings).all()}
    assert status["back@example.org"] == "subscribed"
    assert len(_welcomes(endpoint.root / "outbox")) == 1


def test_no_welcome_md_means_no_welcome(endpoint: Endpoint) -> None:
    (endpoint.root / "content" / "welcome.md").unlink()
    _subscribe_and_confirm(endpoint, "plain@example.org")
    assert _welcomes(endpoint.root / "outbox") == []
    assert not (endpoint.root / "store" / "welcome").exists()


class _Refusing:
    """A transport that refuses for a while (a mail service having a bad minute), then takes
    everything: a stand-in, since what is tested is what the queue does with the refusal."""

    description = "refusing"

    def __init__(self) -> None:
        self.refuse = True
        self.sent: list[str] = []

    def check(self) -> None: ...

    def send(self, *, sender: str, to: str, message: bytes, recipient: str = "") -> Outcome:
        if self.refuse:
            return Outcome.retry("421 try again later")
        self.sent.append(to)
        return Outcome.accepted(f"<{len(self.sent)}@test>")

    def close(self) -> None: ...

    def limits(self) -> None:
        return None


@pytest.fixture
def settings(project: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SPHERE_STORE", str(project / "store"))
    monkeypatch.setenv("SPHERE_TRANSPORT", "outbox:outbox")
    return load_settings(project)


def test_a_failed_welcome_keeps_the_confirmation_and_publish_sends_it_once(
    settings: Settings,
) -> None:
    ids = add_subscribers(settings, [("late@example.org", "Late Reader")])
    subscriber = ids["late@example.org"]
    queue = WelcomeQueue(open_store(settings))
    assert queue.enqueue(subscriber) and not queue.enqueue(subscriber)
    refusing = _Refusing()
    everyone = people(settings)
    welcomer = Welcomer(settings, queue=queue, transport=lambda: refusing, lookup=everyone.get)
    assert welcomer.send(subscriber) == "failed"
    assert queue.state(subscriber) == "failed"
    assert people(settings)[subscriber].status == "subscribed"  # the confirmation stands
    assert "welcome emails: 1 pending (publish sends it)" in overview(settings).lines()
    refusing.refuse = False
    report = send_welcomes(settings, transport=refusing)  # what `sphere publish` runs
    assert (report.sent, report.failed) == (1, 0) and refusing.sent == ["late@example.org"]
    again = send_welcomes(settings, transport=refusing)
    assert again.sent == 0 and refusing.sent == ["late@example.org"]
    assert not again.happened()  # publish prints no welcome line for a round that did nothing
    assert not [line for line in overview(settings).lines() if "welcome" in line]


def test_a_claim_whose_outcome_was_lost_is_never_sent_again(settings: Settings) -> None:
    ids = add_subscribers(settings, [("lost@example.org", "")])
    subscriber = ids["lost@example.org"]
    store = open_store(settings)
    queue = WelcomeQueue(store)
    queue.enqueue(subscriber)
    claim = queue.claim(subscriber)
    assert claim is not None
    assert queue.claim(subscriber) is None  # a double click, or publish at the same moment
    # The process dies here, after the transport may have taken the message. At first it
    # may be in flight (another process sending it now): left alone.
    report = send_welcomes(settings)
    assert (report.sent, report.unknown) == (0, 0) and not report.happened()
    # An hour on, no process holds it any more: recorded unknown, said once, never sent.
    import dataclasses
    import time

    from sphere.clock import SetClock

    later = dataclasses.replace(settings, clock=SetClock(time.time() + 3700))
    report = send_welcomes(later)
    assert (report.sent, report.unknown) == (0, 1) and report.happened()
    assert queue.state(subscriber) == "unknown"
    again = send_welcomes(later)  # the next hourly run: nothing new to say
    assert (again.unknown, again.happened()) == (0, False)
    assert "welcome emails: 1 unknown (handed over, no answer: never sent again)" in (
        overview(later).lines()
    )
    assert _welcomes(settings.root / "outbox") == []


def test_a_claim_written_with_its_answer_lost_is_still_ours(settings: Settings) -> None:
    ids = add_subscribers(settings, [("flaky@example.org", "")])
    subscriber = ids["flaky@example.org"]
    store = open_store(settings)

    class LosesAnswers:
        """The store writes the object, then the reply is lost (a timeout after S3 wrote it)."""

        def __getattr__(self, name: str) -> object:
            return getattr(store, name)

        def put(self, key: str, data: bytes, **conditions: object) -> str:
            store.put(key, data, **conditions)  # type: ignore[arg-type]
            if b'"sending"' in data:
                raise StoreError("the store did not answer")
            return "unused"

    queue = WelcomeQueue(store)
    queue.enqueue(subscriber)
    claim = WelcomeQueue(LosesAnswers()).claim(subscriber)  # type: ignore[arg-type]
    assert claim is not None and claim.tries == 1


def test_sphere_check_checks_welcome_md_and_names_its_line(project: Path) -> None:
    from sphere.checks.project import check_project

    path = project / "content" / "welcome.md"
    path.write_text(
        "---\nsubject: Hello\n---\n\nHi {{ reader.first_name }},\n\n{{ latest.titel }}\n",
        encoding="utf-8",
    )
    report = check_project(load_settings(project))
    found = [(f.rule, f.line, f.message) for f in report.findings if f.path == path]
    assert found == [("content/invalid", 7, "undefined template variable latest.titel")]
    path.write_text("---\nsubject: [a, list]\n---\n\nHi.\n", encoding="utf-8")
    found = [
        (f.rule, f.line) for f in check_project(load_settings(project)).findings if f.path == path
    ]
    assert found == [("content/invalid", 2)]


def test_sphere_welcome_sends_what_is_queued_and_previews(
    settings: Settings, sphere: Callable[..., Result]
) -> None:
    ids = add_subscribers(settings, [("queued@example.org", "Queued Reader")])
    WelcomeQueue(open_store(settings)).enqueue(ids["queued@example.org"])
    done = sphere("welcome")
    assert (done.status, done.err) == (0, "")
    assert done.out.startswith("welcome emails: 1 sent, 0 failed")
    (welcome,) = _welcomes(settings.root / "outbox")
    text = welcome.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    head = "SPHERE: Ideas for improving execution in the sales process\r\n\r\nWelcome to Sphere\r\n"
    assert text.startswith(head)  # no date under the masthead: a welcome is not an issue
    assert "Hi Queued," in text
    assert sphere("welcome").out.startswith("welcome emails: 0 sent")  # once

    shown = sphere("welcome", "--preview")
    folder = settings.root / ".sphere" / "welcome"
    assert shown.out.splitlines() == [
        f"wrote {folder / 'welcome.html'}",
        f"wrote {folder / 'welcome.txt'}",
    ]
    assert "Hi there," in (folder / "welcome.txt").read_text()
    assert len(_welcomes(settings.root / "outbox")) == 1  # a preview sends nothing
    (settings.root / "content" / "welcome.md").unlink()
    missing = sphere("welcome", "--preview")
    assert missing.status == 1
    assert missing.err == ("content/welcome.md: error: does not exist: there is no welcome email\n")


def test_a_broken_welcome_holds_back_welcomes_and_never_an_issue(settings: Settings) -> None:
    from sphere.broken import pass_over
    from sphere.checks.project import check_project

    path = settings.root / "content" / "welcome.md"
    path.write_text("---\nsubject: Hello\n---\n\n{{ latest.titel }}\n", encoding="utf-8")
    checked = check_project(settings)
    passed = pass_over(
        checked, issues_dir=settings.content_dir / "issues", today=settings.today(), started=()
    )  # no ContentError: the publish goes on
    assert passed.files == frozenset() and passed.due == []
    assert passed.warning_lines() == [
        "content/welcome.md:5: warning: content/invalid undefined template variable latest.titel",
        "warning: content/welcome.md has errors: no welcome email goes out until it is fixed "
        "(they stay queued)",
    ]
    ids = add_subscribers(settings, [("waits@example.org", "")])
    queue = WelcomeQueue(open_store(settings))
    queue.enqueue(ids["waits@example.org"])
    with pytest.raises(ContentError):  # publish warns of it (a SphereError) and goes on
        send_welcomes(settings)
    assert queue.state(ids["waits@example.org"]) == "due"  # still queued, not claimed


def test_a_transport_that_never_answers_does_not_hold_back_the_confirmation(
    serve_endpoint: Callable[..., Endpoint],
) -> None:
    """An SMTP server that accepts the connection and never says a word (a mail service
    hanging): a real socket, since the point is what a real hang does to the answer."""
    import http.client
    import socket
    import time

    from sphere.subscribers.members import Members

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        endpoint = serve_endpoint(
            SPHERE_TRANSPORT=f"smtp://user:pw@127.0.0.1:{port}",
            # A real transport sends nothing with the placeholder postal address or endpoint.
            SPHERE_POSTAL_ADDRESS=POSTAL_ADDRESS,
            SPHERE_ENDPOINT_URL="https://www.jimwigg.com/sphere/api/",
        )
        settings = load_settings(endpoint.root)
        subscriber = Members.open(settings).add_pending(
            "patient@example.org", name="Pat", source="test", evidence={}
        )
        token = tokens_for(settings).confirm(subscriber)
        target = urlsplit(endpoint.url)
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=20)
        started = time.monotonic()
        connection.request(
            "POST", "/confirm", body=f"t={token}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
        answer = connection.getresponse()
        page = answer.read().decode()
        took = time.monotonic() - started
        connection.close()
        assert answer.status == 200 and "You are subscribed" in page
        assert took < 5  # the SMTP client would wait 30 s for the server's greeting
        assert people(settings)[subscriber].status == "subscribed"
        # ...meanwhile, after the answer, the welcome was claimed and waits on the transport.
        queue, deadline = WelcomeQueue(open_store(settings)), time.monotonic() + 10
        while queue.state(subscriber) == "due" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert queue.state(subscriber) == "sending"


def test_confirming_through_the_lambda_handler_welcomes_once(
    project: Path,
    lambda_env: dict[str, str],  # noqa: F811 (the fixture, imported above)
) -> None:
    from sphere.subscribers.members import Members
    from sphere.web.lambda_handler import make_handler

    settings = load_settings(project, lambda_env)  # the S3 store on moto
    subscriber = Members.open(settings).add_pending(
        "cloud@example.org", name="Cleo Cloud", source="test", evidence={}
    )
    token = tokens_for(settings).confirm(subscriber)
    handler = make_handler(lambda_env)
    form = {"content-type": "application/x-www-form-urlencoded"}
    for _ in range(2):  # a double click
        answer = handler(url_event("POST", "/confirm", "", f"t={token}".encode(), **form), None)
        assert answer["statusCode"] == 200 and "You are subscribed" in answer["body"]
    (welcome,) = _welcomes(project / "outbox")
    assert welcome["To"].addresses[0].addr_spec == "cloud@example.org"
    assert "Hi Cleo," in welcome.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert WelcomeQueue(open_store(settings)).state(subscriber) == "sent"


@pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS", "ignore:Session.login_data is deprecated"
)
def test_welcomes_go_through_smtp_when_the_settings_say_so(
    project: Path, monkeypatch: pytest.MonkeyPatch, smtp_server: SmtpServer
) -> None:
    monkeypatch.setenv("SPHERE_STORE", str(project / "store"))
    monkeypatch.setenv("SPHERE_TRANSPORT", smtp_server.url)
    monkeypatch.setenv("SPHERE_SECRET", "a-long-random-test-secret-0123456789")
    settings = load_settings(project)
    ids = add_subscribers(settings, [("smtp@example.org", "Sam Smith"), ("b@example.org", "")])
    queue = WelcomeQueue(open_store(settings))
    for subscriber in ids.values():
        queue.enqueue(subscriber)
    assert send_welcomes(settings).sent == 2
    got = {}
    for _, recipients, data in smtp_server.recorder.messages:
        message = message_from_bytes(data, policy=policy.default)
        assert message["Subject"] == SUBJECT
        got[recipients[0]] = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Hi Sam," in got["smtp@example.org"] and "Hi there," in got["b@example.org"]


NO_ALT = (
    "\n![](https://www.jimwigg.com/sphere/chart.png)\n"  # renders; `sphere check`: image/no-alt
)


def _break_welcome(root: Path) -> None:
    path = root / "content" / "welcome.md"
    path.write_text(path.read_text(encoding="utf-8") + NO_ALT, encoding="utf-8")


def test_a_welcome_with_check_errors_is_sent_by_nobody_and_stays_queued(
    endpoint: Endpoint, sphere: Callable[..., Result], caplog: pytest.LogCaptureFixture
) -> None:
    from sphere.welcome.deliver import welcome_round

    _break_welcome(endpoint.root)
    _subscribe_and_confirm(endpoint, "held@example.org", "Held Back")  # the endpoint's send
    settings = load_settings(endpoint.root)
    (subscriber,) = people(settings)
    queue = WelcomeQueue(open_store(settings))
    assert queue.state(subscriber) == "due"
    assert welcome_round(settings, None) is None  # publish's round: a warning, and on it goes
    assert "image/no-alt" in caplog.text and "they stay queued" in caplog.text
    published = sphere("publish")
    assert published.status == 0
    assert "content/welcome.md has errors: no welcome email goes out" in published.err
    done = sphere("welcome")
    assert done.status == 1 and "Traceback" not in done.err
    assert done.err.startswith("content/welcome.md: error: has 1 check error(s)")
    assert len(done.err.strip().splitlines()) == 1
    assert _welcomes(endpoint.root / "outbox") == [] and queue.state(subscriber) == "due"
    path = endpoint.root / "content" / "welcome.md"  # fixed: the queued one goes, once
    path.write_text(path.read_text(encoding="utf-8").replace(NO_ALT, "\n"), encoding="utf-8")
    assert send_welcomes(settings).sent == 1 and len(_welcomes(endpoint.root / "outbox")) == 1


def test_a_draft_welcome_queues_nobody_so_making_it_ready_welcomes_nobody_late(
    endpoint: Endpoint,
) -> None:
    path = endpoint.root / "content" / "welcome.md"
    path.write_text(path.read_text(encoding="utf-8").replace("---\n", "---\nstatus: draft\n", 1))
    _subscribe_and_confirm(endpoint, "early@example.org")
    assert not (endpoint.root / "store" / "welcome").exists()  # nothing queued
    path.write_text(path.read_text(encoding="utf-8").replace("status: draft\n", ""))
    settings = load_settings(endpoint.root)
    assert send_welcomes(settings).sent == 0
    assert _welcomes(endpoint.root / "outbox") == []


class _Clock:
    """The clock seam, set by the test (sphere.clock.Clock): now() is what it was told."""

    def __init__(self, moment: str) -> None:
        self.set(moment)

    def set(self, moment: str) -> None:
        import datetime as dt

        self.at = dt.datetime.fromisoformat(moment).timestamp()

    def now(self) -> float:
        return self.at

    def monotonic(self) -> float:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.at += seconds


def test_the_welcome_links_todays_issue_only_from_its_send_time(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    from sphere.send.transports import open_transport

    monkeypatch.delenv("SPHERE_TODAY")
    monkeypatch.setenv("SPHERE_STORE", str(project / "store"))
    monkeypatch.setenv("SPHERE_TRANSPORT", "outbox:outbox")
    monkeypatch.setenv("SPHERE_SEND_TIME", "09:00")
    write_issue(project, "2026-12-15-fresh", title="Fresh", date="2026-12-15")
    clock = _Clock("2026-12-15T08:00:00+00:00")  # London: its date has come, its time not
    settings = dataclasses.replace(load_settings(project), clock=clock)
    ids = add_subscribers(settings, [("early@example.org", ""), ("later@example.org", "")])
    queue = WelcomeQueue(open_store(settings))
    for subscriber in ids.values():
        queue.enqueue(subscriber)
    transport = open_transport(settings)
    transport.check()  # (makes the outbox folder)
    welcomer = Welcomer(
        settings, queue=queue, transport=lambda: transport, lookup=people(settings).get
    )
    base = "https://www.jimwigg.com/sphere/issues/"
    assert welcomer.send(ids["early@example.org"]) == "sent"
    clock.set("2026-12-15T09:30:00+00:00")  # the same process (a warm Lambda), later that day
    assert welcomer.send(ids["later@example.org"]) == "sent"
    links = {}
    for message in _welcomes(project / "outbox"):
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        links[message["To"].addresses[0].addr_spec] = text
    assert f"{base}hard-sell-or-soft-sell/" in links["early@example.org"]
    assert f"{base}fresh/" not in links["early@example.org"]  # its page is not up before 09:00
    assert f"{base}fresh/" in links["later@example.org"]


@pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS", "ignore:Session.login_data is deprecated"
)
def test_a_real_transport_sends_no_welcome_with_the_placeholder_postal_address(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    smtp_server: SmtpServer,
    sphere: Callable[..., Result],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from sphere.errors import SendError
    from sphere.welcome.deliver import welcome_round

    monkeypatch.setenv("SPHERE_STORE", str(project / "store"))
    monkeypatch.setenv("SPHERE_TRANSPORT", smtp_server.url)
    monkeypatch.setenv("SPHERE_SECRET", "a-long-random-test-secret-0123456789")
    monkeypatch.delenv("SPHERE_POSTAL_ADDRESS")  # the seed's placeholder, in pyproject.toml
    settings = load_settings(project)
    ids = add_subscribers(settings, [("real@example.org", "Real Reader")])
    queue = WelcomeQueue(open_store(settings))
    queue.enqueue(ids["real@example.org"])
    with pytest.raises(SendError, match="postal_address is still a placeholder"):
        send_welcomes(settings)
    assert welcome_round(settings, None) is None and "they stay queued" in caplog.text
    done = sphere("welcome")
    assert done.status != 0 and "refusing to send" in done.err and "Traceback" not in done.err
    assert smtp_server.recorder.messages == []
    assert queue.state(ids["real@example.org"]) == "due"


def test_a_round_reads_only_what_is_pending_however_many_were_welcomed(
    settings: Settings,
) -> None:
    from collections import Counter

    from sphere.welcome.deliver import WelcomeReport

    store = open_store(settings)
    calls: Counter[str] = Counter()

    class Counting:
        """The real store, its calls counted (what an S3 bill counts)."""

        def __getattr__(self, name: str) -> object:
            calls[name] += 1
            return getattr(store, name)

    ids = add_subscribers(settings, [(f"r{n}@example.org", "") for n in range(12)])
    queue = WelcomeQueue(store)
    for subscriber in ids.values():
        queue.enqueue(subscriber)
    assert send_welcomes(settings).sent == 12
    queue.enqueue(ids["r0@example.org"])  # a re-confirm: queues nothing, its marker is tidied
    assert send_welcomes(settings).sent == 0
    counting = WelcomeQueue(Counting())  # type: ignore[arg-type]
    welcomer = Welcomer(settings, queue=counting, transport=lambda: None, lookup=lambda _: None)  # type: ignore[arg-type,return-value]
    report = welcomer.send_due()
    assert calls == Counter(list=1) and not report.happened()  # one listing, no record read
    calls.clear()
    assert counting.counts() == Counter() and calls == Counter(list=3)  # `sphere status`
    assert not WelcomeReport(waiting=3, skipped=1).happened()  # publish prints no zeros


def test_erasing_a_subscriber_deletes_their_welcome_objects(settings: Settings) -> None:
    ids = add_subscribers(settings, [("gone@example.org", ""), ("stays@example.org", "")])
    queue = WelcomeQueue(open_store(settings))
    for subscriber in ids.values():
        queue.enqueue(subscriber)
    queue.claim(ids["gone@example.org"])  # left `sending`: its due marker stays
    open_list(settings).erase("gone@example.org")
    store = settings.root / "store" / "welcome"
    left = [p.relative_to(store).as_posix() for p in store.rglob("*") if p.is_file()]
    assert not [name for name in left if ids["gone@example.org"] in name]
    assert sorted(left) == sorted(
        [f"{ids['stays@example.org']}.json", f"due/{ids['stays@example.org']}"]
    )


def test_erasing_a_subscriber_with_an_id_from_before_keyed_ids_deletes_their_welcome(
    settings: Settings,
) -> None:
    """A record made before ids were keyed hashes keeps its random id: erasure finds the
    welcome by the record's own id, not by the id the address would get today."""
    from sphere.subscribers.events import creation_event

    subscribers = open_list(settings)
    now = subscribers.now()
    old_id = "0123456789abcdef0123456789abcdef"
    subscribers.append([
        creation_event("add", "old@example.org", id=old_id, at=now, status="subscribed",
                       consent=(now, "cli", "test"))
    ])  # fmt: skip
    assert subscribers.id_for("old@example.org") != old_id
    queue = WelcomeQueue(open_store(settings))
    queue.enqueue(old_id)
    open_list(settings).erase("old@example.org")
    store = settings.root / "store" / "welcome"
    assert not [p for p in store.rglob("*") if p.is_file() and old_id in p.name]
