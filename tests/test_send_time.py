"""A send time: an issue goes out on its date once `send_time` has come in the newsletter's
time zone (the setting, or the issue's own `send_time:`), daylight saving days included.

The time is set through the clock seam: SPHERE_NOW sets the clock of every command that runs,
as a newsletter's scheduled run would meet it. The project's zone is Europe/London (GMT in
December) and the seed issue is dated 2026-12-01.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fixtures_project import SEED_ISSUE, Result, write_issue
from fixtures_send import add_subscribers

from sphere import cli
from sphere.clock import SystemClock
from sphere.content.issues import load_issue
from sphere.errors import ContentError
from sphere.schedule import local_moment
from sphere.settings import SettingsErrors, load_settings

SLUG = "hard-sell-or-soft-sell"
PAGE = Path(".sphere/site/issues") / SLUG / "index.html"
FEED = Path(".sphere/site/feed.xml")
WAITING = f"waiting: {SLUG} is due 2026-12-01 09:00 Europe/London, in 3h"
NOTHING = "nothing to send: no ready issue is due and unsent"

Clock = Callable[[str], None]


@pytest.fixture
def at(project: Path, monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Sets the moment the next commands run at (SPHERE_NOW), with a send time of 09:00 and
    two subscribers."""
    monkeypatch.delenv("SPHERE_TODAY")  # a date alone: every send time of the day has come
    monkeypatch.setenv("SPHERE_SEND_TIME", "09:00")
    add_subscribers(load_settings(), [("ann@example.org", "Ann"), ("bob@example.org", "Bob")])

    def set_clock(moment: str) -> None:
        monkeypatch.setenv("SPHERE_NOW", moment)

    return set_clock


def _sent(project: Path) -> int:
    return len(list((project / ".sphere" / "outbox").glob("*.eml")))


def _set_front(project: Path, line: str) -> None:
    """Add `line` to the seed issue's front matter, after its date (line 3)."""
    path = project / SEED_ISSUE
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[2].startswith("date:")
    lines.insert(3, line + "\n")
    path.write_text("".join(lines), encoding="utf-8")


# The publish


def test_publish_waits_for_the_send_time_then_sends_and_publishes_the_page(
    project: Path, sphere: Callable[..., Result], at: Clock
) -> None:
    at("2026-12-01T06:00:00Z")  # 06:00 in London: its date has come, its time has not

    early = sphere("publish")

    assert early.status == 0, early.err
    assert early.out.splitlines()[-2:] == [NOTHING, WAITING]
    assert _sent(project) == 0
    # Nor its page or feed entry: the archive does not go ahead of the email.
    assert not (project / PAGE).exists()
    assert SLUG not in (project / FEED).read_text(encoding="utf-8")

    at("2026-12-01T09:00:00Z")
    on_time = sphere("publish")

    assert on_time.status == 0, on_time.err
    assert f"sent {SLUG}: 2 sent, 0 failed, 0 unknown, 0 skipped; 0 left (of 2)" in on_time.out
    assert "waiting" not in on_time.out
    assert _sent(project) == 2
    assert (project / PAGE).is_file()
    assert SLUG in (project / FEED).read_text(encoding="utf-8")


class TheBuildTakesAMinute(SystemClock):
    """08:59:30 until the public archive is built, 09:00:30 once it is: a send time of 09:00
    falls during the build. A real build takes a second or two; a minute makes it certain."""

    def __init__(self, built: Path) -> None:
        self.built = built

    def now(self) -> float:
        before = dt.datetime(2026, 12, 1, 8, 59, 30, tzinfo=dt.UTC).timestamp()
        return before + (60 if self.built.exists() else 0)


def test_a_send_time_passing_during_the_build_neither_sends_nor_publishes_half(
    project: Path, sphere: Callable[..., Result], at: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One moment decides the archive and the sends: before, the sends asked the clock again
    after the build, and mailed an issue whose page and feed entry the archive had left out."""
    clock = TheBuildTakesAMinute(project / ".sphere" / "deploy" / "site")
    loaded = cli.load  # the clock seam: the command's settings get this clock
    monkeypatch.setattr(cli, "load", lambda: dataclasses.replace(loaded(), clock=clock))

    during = sphere("publish")

    assert during.status == 0, during.err
    assert _sent(project) == 0  # the old code sent both emails here, with no page up
    assert not (project / PAGE).exists()
    assert f"waiting: {SLUG} is due 2026-12-01 09:00 Europe/London" in during.out

    after = sphere("publish")  # the clock reads 09:00:30 from the start

    assert after.status == 0, after.err
    assert _sent(project) == 2
    assert (project / PAGE).is_file()
    assert SLUG in (project / FEED).read_text(encoding="utf-8")


def test_publish_as_of_decides_as_an_earlier_deploy_did(
    project: Path, sphere: Callable[..., Result], at: Clock
) -> None:
    """publish.yml's publish job decides at the moment its pages job built the archive for."""
    at("2026-12-01T09:05:00Z")

    held = sphere("publish", "--as-of", "2026-12-01T08:58:00Z")

    assert held.status == 0, held.err
    assert _sent(project) == 0
    assert not (project / PAGE).exists()
    assert f"waiting: {SLUG} is due 2026-12-01 09:00 Europe/London, in 2m" in held.out
    assert sphere("deploy", "--as-of", "2026-12-01T08:58:00Z").status == 0
    assert not (project / PAGE).exists()

    assert sphere("publish", "--as-of", "2026-12-01T10:00:00+01:00").status == 0
    assert _sent(project) == 2
    assert (project / PAGE).is_file()


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("2026-12-01T09:06:00Z", "2026-12-01T09:06:00Z is in the future: publish never sends "
         "early (`sphere send ISSUE --now` does)"),
        ("2026-12-01 08:00", "expected a moment with its offset such as 2027-02-01T09:00Z, "
         "got '2026-12-01 08:00'"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("command", ["publish", "deploy"])
def test_a_bad_as_of_is_named_and_nothing_is_done(
    project: Path, sphere: Callable[..., Result], at: Clock, command: str, value: str,
    problem: str,
) -> None:  # fmt: skip
    at("2026-12-01T09:05:00Z")

    result = sphere(command, "--as-of", value)

    assert result.status == 2
    assert "Error: Invalid value for --as-of: " + problem in " ".join(result.err.split())
    assert "Traceback" not in result.err
    assert _sent(project) == 0
    assert not (project / ".sphere" / "site").exists()


def test_the_dry_run_plan_says_when_a_waiting_issue_goes(
    project: Path, sphere: Callable[..., Result], at: Clock
) -> None:
    at("2026-12-01T08:30:00Z")

    plan = sphere("publish", "--dry-run")
    machine = sphere("publish", "--dry-run", "--json")

    assert plan.status == 0, plan.err
    assert not any(line.startswith("would send") for line in plan.out.splitlines())
    assert f"waiting: {SLUG} is due 2026-12-01 09:00 Europe/London, in 30m" in plan.out
    report = json.loads(machine.out)
    assert report["send"] == []
    assert report["waiting"] == [{"issue": SLUG, "send_at": "2026-12-01T09:00:00+00:00"}]
    assert _sent(project) == 0


def test_an_issue_s_own_send_time_beats_the_newsletter_s(
    project: Path, sphere: Callable[..., Result], at: Clock
) -> None:
    _set_front(project, "send_time: 7:30")  # unquoted: YAML 1.1 would read the number 450
    at("2026-12-01T07:29:00Z")
    assert (
        f"waiting: {SLUG} is due 2026-12-01 07:30 Europe/London, in 1m"
        in sphere("publish").out.splitlines()
    )
    assert _sent(project) == 0

    at("2026-12-01T07:30:00Z")  # before the newsletter's 09:00
    result = sphere("publish")

    assert result.status == 0, result.err
    assert _sent(project) == 2


def test_a_late_issue_counts_whole_days_from_its_date_as_before(
    project: Path, sphere: Callable[..., Result], at: Clock
) -> None:
    # 14 days after, before the send time of that day: not late, and its own time long past.
    at("2026-12-15T06:00:00Z")
    assert sphere("publish", "--dry-run").out.count(f"would send {SLUG}") == 1

    at("2026-12-16T06:00:00Z")  # 15 days: held back, whatever the time of day
    late = sphere("publish")

    assert late.status == 0, late.err
    assert f"warning: {SLUG} is dated 2026-12-01, more than 14 days ago" in late.err
    assert _sent(project) == 0


# `sphere send` and `sphere status`


def test_send_refuses_an_issue_before_its_send_time_unless_now(
    project: Path, sphere: Callable[..., Result], at: Clock
) -> None:
    at("2026-12-01T06:00:00Z")

    early = sphere("send", SLUG)

    assert (early.status, early.err) == (1, (
        f"{SEED_ISSUE}:3: error: the issue is due 2026-12-01 09:00 Europe/London, in 3h, not "
        "yet: it goes out then; pass --now to send it now\n"
    ))  # fmt: skip
    assert _sent(project) == 0
    assert sphere("send", SLUG, "--now").status == 0
    assert _sent(project) == 2
    # A send started by hand keeps its page in the archive before the send time.
    assert sphere("deploy").status == 0
    assert (project / PAGE).is_file()


def test_send_names_the_issue_s_own_send_time_line(
    project: Path, sphere: Callable[..., Result], at: Clock
) -> None:
    _set_front(project, 'send_time: "10:15"')
    at("2026-12-01T09:30:00Z")

    early = sphere("send", SLUG)

    assert early.err == (
        f"{SEED_ISSUE}:4: error: the issue is due 2026-12-01 10:15 Europe/London, in 45m, not "
        "yet: it goes out then; pass --now to send it now\n"
    )


def test_status_says_when_a_scheduled_issue_goes(
    project: Path, sphere: Callable[..., Result], at: Clock
) -> None:
    write_issue(project, "2027-02-01-later", title="Later", date="2027-02-01")
    at("2026-12-01T06:00:00Z")

    rows = sphere("status").out.splitlines()[1:3]

    assert [row.split(None, 3) for row in rows] == [
        ["later", "2027-02-01", "scheduled", "due 2027-02-01 09:00 Europe/London, in 62 days"],
        [SLUG, "2026-12-01", "scheduled", "due 2026-12-01 09:00 Europe/London, in 3h"],
    ]

    at("2026-12-01T09:00:00Z")
    row = sphere("status").out.splitlines()[2]

    assert row.split(None, 3) == [SLUG, "2026-12-01", "due", "the next publish sends it"]


def test_deploy_leaves_out_an_issue_waiting_for_its_send_time(
    project: Path, sphere: Callable[..., Result], at: Clock
) -> None:
    at("2026-12-01T08:59:00Z")
    assert sphere("deploy").status == 0
    assert not (project / PAGE).exists()

    at("2026-12-01T09:00:00Z")
    assert sphere("deploy").status == 0
    assert (project / PAGE).is_file()


# Daylight saving time


@pytest.mark.parametrize(
    ("zone", "day", "wall", "utc"),
    [
        # London, 30 March 2025: clocks jump from 01:00 GMT to 02:00 BST. 01:30 never
        # happens: it goes when the clocks jump past it.
        ("Europe/London", "2025-03-30", "01:30", "2025-03-30T01:00:00+00:00"),
        ("Europe/London", "2025-03-30", "00:59", "2025-03-30T00:59:00+00:00"),
        ("Europe/London", "2025-03-30", "09:00", "2025-03-30T08:00:00+00:00"),
        # 26 October 2025: 01:00-02:00 happens twice (BST, then GMT): the first one.
        ("Europe/London", "2025-10-26", "01:30", "2025-10-26T00:30:00+00:00"),
        ("Europe/London", "2025-10-26", "09:00", "2025-10-26T09:00:00+00:00"),
        # Santiago, 8 September 2024: the day starts at 01:00 (midnight is skipped), so the
        # default send time (00:00, "from midnight") is the day's first moment.
        ("America/Santiago", "2024-09-08", "00:00", "2024-09-08T04:00:00+00:00"),
        # Lord Howe Island moves by half an hour (2024-10-06, 02:00 to 02:30).
        ("Australia/Lord_Howe", "2024-10-06", "02:15", "2024-10-05T15:30:00+00:00"),
    ],
)
def test_a_send_time_on_a_day_the_clocks_change(zone: str, day: str, wall: str, utc: str) -> None:
    moment = local_moment(dt.date.fromisoformat(day), dt.time.fromisoformat(wall), ZoneInfo(zone))

    assert moment.astimezone(dt.UTC).isoformat() == utc
    assert moment.astimezone(ZoneInfo(zone)).time() >= dt.time.fromisoformat(wall)


def test_publish_on_the_day_the_clocks_go_forward(
    project: Path, sphere: Callable[..., Result], at: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Paris, 28 March 2027: 02:00 CET becomes 03:00 CEST, so 02:30 never shows on a clock.
    monkeypatch.setenv("SPHERE_TIMEZONE", "Europe/Paris")
    monkeypatch.setenv("SPHERE_SEND_TIME", "02:30")
    write_issue(project, "2027-03-28-spring", title="Spring", date="2027-03-28")
    at("2027-03-28T00:59:00Z")  # 01:59 CET: a minute before the clocks jump

    early = sphere("publish")

    assert "waiting: spring is due 2027-03-28 03:00 Europe/Paris, in 1m" in early.out
    assert "sent spring" not in early.out

    at("2027-03-28T01:00:00Z")  # 03:00 CEST: the clocks have passed 02:30
    assert "sent spring: 2 sent" in sphere("publish").out


def test_publish_on_the_day_the_clocks_go_back(
    project: Path, sphere: Callable[..., Result], at: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Paris, 31 October 2027: 02:00-03:00 happens twice; the send goes at the first 02:30.
    monkeypatch.setenv("SPHERE_TIMEZONE", "Europe/Paris")
    monkeypatch.setenv("SPHERE_SEND_TIME", "02:30")
    write_issue(project, "2027-10-31-autumn", title="Autumn", date="2027-10-31")
    at("2027-10-31T00:29:00+00:00")  # 02:29 CEST
    assert "waiting: autumn is due 2027-10-31 02:30 Europe/Paris, in 1m" in sphere("publish").out

    at("2027-10-31T02:30:00+02:00")  # the first 02:30 (CEST); the second is an hour later
    assert "would send autumn (due 2027-10-31): 2 recipients" in sphere("publish", "--dry-run").out

    # 02:10 CET, the second time round: by the wall clock before 02:30, yet after the send time.
    at("2027-10-31T01:10:00Z")

    assert "sent autumn: 2 sent" in sphere("publish").out


# Bad values


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ('"25:00"', "expected a time such as \"09:00\" (24-hour HH:MM), got '25:00'"),
        ('"9am"', "expected a time such as \"09:00\" (24-hour HH:MM), got '9am'"),
        ("900", 'expected a time such as "09:00" (24-hour HH:MM, in quotes), got int'),
        ("09:00:00", 'expected a time such as "09:00" (24-hour HH:MM, in quotes), got time'),
    ],
)
def test_a_bad_send_time_setting_names_the_file_line_and_key(
    project: Path, sphere: Callable[..., Result], value: str, problem: str
) -> None:
    path = project / "pyproject.toml"
    lines = path.read_text(encoding="utf-8").splitlines()
    line = lines.index("[tool.sphere]") + 2
    lines.insert(line - 1, f"send_time = {value}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = f"pyproject.toml:{line}: error: [tool.sphere].send_time: {problem}"

    with pytest.raises(SettingsErrors) as caught:
        load_settings(project, env={})

    assert str(caught.value) == expected
    checked = sphere("check")
    assert (checked.status, checked.out, checked.err) == (1, "", expected + "\n")


def test_a_good_send_time_setting_loads(project: Path) -> None:
    assert load_settings(project, env={}).send_time == dt.time(0, 0)  # midnight, as before
    assert load_settings(project, env={"SPHERE_SEND_TIME": " 9:05 "}).send_time == dt.time(9, 5)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("25:00", "expected a time such as \"09:00\" (24-hour HH:MM), got '25:00'"),
        ("9am", "expected a time such as \"09:00\" (24-hour HH:MM), got '9am'"),
        ("[9]", 'expected a time such as "09:00" (24-hour HH:MM, in quotes), got list'),
        ("09:00:00", "expected a time such as \"09:00\" (24-hour HH:MM), got '09:00:00'"),
    ],
)
def test_a_bad_send_time_in_front_matter_names_the_file_and_line(
    project: Path, sphere: Callable[..., Result], value: str, problem: str
) -> None:
    _set_front(project, f"send_time: {value}")
    expected = f"{SEED_ISSUE}:4: error: 'send_time': {problem}"

    with pytest.raises(ContentError) as caught:
        load_issue(project / SEED_ISSUE)

    assert str(caught.value) == expected
    checked = sphere("check")
    assert checked.status == 1
    assert f"{SEED_ISSUE}:4: error: content/invalid 'send_time': {problem}" in checked.out


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"SPHERE_NOW": "2027-02-01T09:00"}, "expected a moment with its offset such as "
         "2027-02-01T09:00+01:00, got '2027-02-01T09:00'"),
        ({"SPHERE_NOW": "tomorrow"}, "expected a moment with its offset such as "
         "2027-02-01T09:00+01:00, got 'tomorrow'"),
        ({"SPHERE_NOW": "2027-02-30T09:00Z"}, "expected a moment with its offset such as "
         "2027-02-01T09:00+01:00, got '2027-02-30T09:00Z'"),
        ({"SPHERE_NOW": "2027-02-01T09:00Z", "SPHERE_TODAY": "2027-02-01"},
         "set one of SPHERE_NOW and SPHERE_TODAY, not both"),
    ],
)  # fmt: skip
def test_a_bad_sphere_now_is_named(project: Path, env: dict[str, str], problem: str) -> None:
    with pytest.raises(SettingsErrors) as caught:
        load_settings(project, env=env)

    assert str(caught.value) == f"error: environment variable SPHERE_NOW: {problem}"


def test_sphere_now_sets_a_clock_that_runs_on(project: Path) -> None:
    settings = load_settings(project, env={"SPHERE_NOW": "2027-02-01T09:00:00+01:00"})

    first = settings.now()

    assert first.tzinfo == ZoneInfo("Europe/London")
    assert (
        dt.timedelta(0)
        <= first - dt.datetime(2027, 2, 1, 8, tzinfo=dt.UTC)
        < dt.timedelta(seconds=5)
    )
    assert settings.now() >= first
