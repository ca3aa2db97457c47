"""`{{ reader.first_name }}`: each email greets its own reader by their first name (the first
word of their `name`), or by the `greeting_fallback` setting where there is none: the archive,
the feed, previews, test sends, and readers who gave no name. Substituted per recipient like
the unsubscribe link, escaped in HTML, and never logged."""

from __future__ import annotations

import logging
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from fixtures_project import Result, write_issue
from fixtures_send import add_subscribers
from fixtures_smtp import SmtpServer

from sphere.mail.personalise import first_name
from sphere.send.run import SendRequest, send_issue, send_test
from sphere.settings import Settings, load_settings

pytestmark = pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS", "ignore:Session.login_data is deprecated"
)
SECRET = "a-long-random-test-secret-0123456789"
GREETED = "greeted"
HOSTILE = '<b>&"Bob</b> Smith'
PEOPLE = [
    ("ada@example.org", "Ada Lovelace"),
    ("nameless@example.org", ""),
    ("hostile@example.org", HOSTILE),
    ("zoe@example.org", "Zoë Ångström-Łukasiewicz 山田"),
]
EXPECTED = {  # what each greeting says, in the text part (the HTML escapes it)
    "ada@example.org": "Ada",
    "nameless@example.org": "there",
    "hostile@example.org": '<b>&"Bob</b>',
    "zoe@example.org": "Zoë",
}


def _greeted_issue(root: Path) -> Path:
    return write_issue(
        root, f"2026-12-01-{GREETED}", title="Greeted", date="2026-12-01",
        body="Hi {{ reader.first_name }},\n\nThe rest of the issue.\n",
    )  # fmt: skip


@pytest.fixture
def settings(project: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SPHERE_SECRET", SECRET)
    monkeypatch.setenv("SPHERE_STORE", str(project / "store"))
    monkeypatch.setenv("SPHERE_TRANSPORT", "outbox:outbox")
    _greeted_issue(project)
    return load_settings(project)


def _parts(raw: bytes) -> tuple[str, str, str]:
    """(To's address, the text part, the HTML part) of a message, decoded."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert not any(part.defects for part in message.walk())
    text, html = (part.get_content() for part in message.iter_parts())  # type: ignore[attr-defined]
    return message["To"].addresses[0].addr_spec, text, html


def _check_greetings(messages: list[bytes]) -> None:
    import html as html_module

    seen = set()
    for raw in messages:
        to, text, html = _parts(raw)
        seen.add(to)
        assert f"Hi {EXPECTED[to]}," in text
        assert f"Hi {html_module.escape(EXPECTED[to], quote=True)}," in html
        others = [name for address, name in EXPECTED.items() if address != to]
        assert not any(f"Hi {other}," in text for other in others)  # nobody else's name
        assert "%%sphere" not in text + html
    assert seen == set(EXPECTED)


def test_each_reader_in_the_outbox_is_greeted_by_their_own_name(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    add_subscribers(settings, PEOPLE)
    outbox = settings.root / "outbox"
    with caplog.at_level(logging.DEBUG):
        report = send_issue(settings, SendRequest(issue=GREETED, concurrency=4))
    assert report.sent == len(PEOPLE)
    _check_greetings([path.read_bytes() for path in outbox.glob("*.eml")])
    logged = caplog.text
    assert "Lovelace" not in logged and "Ada" not in logged and "Bob" not in logged


def test_many_readers_over_smtp_get_their_own_names_from_concurrent_workers(
    project: Path, monkeypatch: pytest.MonkeyPatch, smtp_server: SmtpServer
) -> None:
    monkeypatch.setenv("SPHERE_SECRET", SECRET)
    monkeypatch.setenv("SPHERE_STORE", str(project / "store"))
    monkeypatch.setenv("SPHERE_TRANSPORT", smtp_server.url)
    _greeted_issue(project)
    settings = load_settings(project)
    crowd = [(f"r{n:03d}@example.org", f"Reader{n:03d} Surname") for n in range(80)]
    add_subscribers(settings, [*PEOPLE, *crowd])
    report = send_issue(settings, SendRequest(issue=GREETED, concurrency=6))
    assert report.sent == len(PEOPLE) + len(crowd)
    raw = [data for _, _, data in smtp_server.recorder.messages]
    named = {address: name.split()[0] for address, name in crowd}
    for data in raw:
        to, text, html = _parts(data)
        if to in named:
            assert f"Hi {named[to]}," in text and f"Hi {named[to]}," in html
    _check_greetings([data for data in raw if _parts(data)[0] in EXPECTED])


def test_a_long_name_survives_quoted_printable_folding(settings: Settings) -> None:
    long = "Ŵ" * 10 + "é" * 30  # 40 characters, 70 bytes of UTF-8: folded lines in QP
    add_subscribers(settings, [("long@example.org", long + " Surname")])
    send_issue(settings, SendRequest(issue=GREETED))
    (raw,) = [path.read_bytes() for path in (settings.root / "outbox").glob("*.eml")]
    body = raw.split(b"\r\n\r\n", 1)[1]
    assert max(len(line) for line in body.split(b"\r\n")) <= 76  # quoted-printable's limit
    _, text, html = _parts(raw)
    assert f"Hi {long}," in text and f"Hi {long}," in html


def test_test_sends_the_archive_and_the_feed_greet_with_the_fallback(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sphere.build.pipeline import build_all

    monkeypatch.setenv("SPHERE_SECRET", SECRET)
    monkeypatch.setenv("SPHERE_GREETING_FALLBACK", 'friend & "co"')
    _greeted_issue(project)
    settings = load_settings(project)
    send_test(settings, SendRequest(issue=GREETED, test=("me@example.org",)))
    (raw,) = [path.read_bytes() for path in (project / ".sphere" / "outbox").glob("*.eml")]
    _, text, html = _parts(raw)
    assert 'Hi friend & "co",' in text and "Hi friend &amp; &quot;co&quot;," in html
    build_all(settings)
    out = project / settings.output_dir
    page = next(out.glob(f"**/{GREETED}/index.html")).read_text()
    assert "Hi friend &amp; &quot;co&quot;," in page
    assert "%%sphere" not in page
    feed = next(out.glob("**/feed.xml")).read_text()
    assert "%%sphere" not in feed and "Hi friend" in feed
    preview = next(out.glob(f"**/{GREETED}*.html"), None) or next(out.glob("**/email/*.html"))
    assert "%%sphere" not in preview.read_text()


def test_first_name_is_the_first_word() -> None:
    assert first_name("Ada Lovelace") == "Ada"
    assert first_name("  Dr  Jane Smith ") == "Dr"
    assert first_name("") == ""
    assert first_name("Bell\x07ringer Jones") == "Bell"
    assert len(first_name("x" * 500)) == 40


def test_check_knows_the_variable_and_names_the_line_of_a_misspelt_one(project: Path) -> None:
    from sphere.checks.project import check_project

    typo = write_issue(
        project, "2026-12-01-typo", date="2026-12-01", body="Intro.\n\nHi {{ reader.firstname }},\n"
    )
    greeted = _greeted_issue(project)
    report = check_project(load_settings(project))
    invalid = [(f.path, f.line, f.message) for f in report.findings if f.rule == "content/invalid"]
    assert invalid == [(typo, 10, "undefined template variable reader.firstname")]
    assert not [f for f in report.findings if f.path == greeted and f.level == "error"]


def test_after_erasure_no_stored_object_holds_the_name_the_send_used(settings: Settings) -> None:
    from sphere.subscribers.list import open_list

    add_subscribers(settings, [("ada@example.org", "Ada Lovelace"), ("bo@example.org", "Bo")])
    assert send_issue(settings, SendRequest(issue=GREETED)).sent == 2
    open_list(settings).erase("ada@example.org")
    store = settings.root / "store"
    holding = [p for p in store.rglob("*") if p.is_file() and b"Lovelace" in p.read_bytes()]
    assert holding == []  # the ledger froze ids, never names
    assert any(b"Bo" in p.read_bytes() for p in store.rglob("*") if p.is_file())  # (it looks)


MISUSES = [
    "Hi {{ reader.first_name | upper }},",
    "Hi {{ reader.first_name | title }},",
    "Hi {{ reader.first_name[:3] }},",
    '{% if reader.first_name == "there" %}Hello, stranger.{% endif %}',
    "{% filter upper %}Hi {{ reader.first_name }},{% endfilter %}",
    "{% set who = reader.first_name %}Hi {{ who }},",
]


@pytest.mark.parametrize("misuse", MISUSES)
def test_check_names_the_line_of_a_first_name_that_a_filter_or_test_would_garble(
    project: Path, misuse: str
) -> None:
    from sphere.checks.project import check_project

    path = write_issue(
        project, "2026-12-01-filtered", date="2026-12-01",
        body=f"Intro.\n\nHi {{{{ reader.first_name }}}}, again.\n\n{misuse}\n",
    )  # fmt: skip
    report = check_project(load_settings(project))
    found = [(f.path, f.line, f.level) for f in report.findings if f.rule == "content/first-name"]
    assert found == [(path, 12, "error")]  # the misuse's line only, not the bare use above


@pytest.mark.parametrize(
    "misuse",
    [
        *MISUSES[:2],
        "Hi {{ reader.first_name[:12] }},",
        '{{ reader.first_name | replace("-", " ") }}',
    ],
)
def test_build_and_send_refuse_a_garbled_placeholder_and_write_nothing(
    settings: Settings, misuse: str, sphere: Callable[..., Result]
) -> None:
    write_issue(
        settings.root, f"2026-12-01-{GREETED}", title="Greeted", date="2026-12-01",
        body=f"{misuse}\n\nThe rest of the issue.\n",
    )  # fmt: skip
    add_subscribers(settings, [("ada@example.org", "Ada Lovelace")])
    built = sphere("build")
    assert built.status != 0 and "Traceback" not in built.err
    assert f"{GREETED}.md" in built.err and "changed placeholder '%%" in built.err
    assert len(built.err.strip().splitlines()) == 1
    assert not (settings.root / settings.output_dir).exists()
    sent = sphere("send", GREETED, "--now")
    assert sent.status != 0 and "changed placeholder" in sent.err
    assert list((settings.root / "outbox").glob("*.eml")) == []
