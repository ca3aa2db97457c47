"""When an issue goes out: on its date, at its send time, in the newsletter's time zone.

`sphere publish` sends a ready issue (and `sphere send` without `--now` agrees to) once that
moment has come; `sphere status` says when it is. The send time is the issue's `send_time`
front matter, else the newsletter's `send_time` setting (default 00:00: from midnight of the
date, as before there was one). The wall clock of `timezone` decides, through zoneinfo, so a
send at 09:00 stays at 09:00 across daylight saving time. On the two days a year when the
clocks change:

- a time the clocks skip (01:30 in London on the last Sunday of March) goes at the moment they
  jump past it (02:00 BST): the first moment that time has come;
- a time that happens twice (01:30 on the last Sunday of October) goes at its first occurrence.

How late the send can be after that moment is the scheduler's business: the hourly run of
publish.yml (docs/publishing.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from sphere.content.issues import Issue
    from sphere.settings import Settings


def local_moment(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """`day` at `at` on the wall clock of `zone`, as an aware datetime (the module says what
    a skipped or doubled time means)."""
    wall = dt.datetime.combine(day, at)
    first = wall.replace(tzinfo=zone)  # fold=0: the first of a doubled time
    if _wall(first.astimezone(dt.UTC), zone) == wall:
        return first
    return _jump_past(wall, zone)


def _wall(moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def _jump_past(wall: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """The first second whose wall time is at or after `wall`, a time the clocks skip. It lies
    between `wall` read with the offset after the jump (earlier) and before it (later); zones
    change on whole seconds, so halving that span down to one second finds it exactly."""
    low = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = int(wall.replace(tzinfo=zone, fold=0).timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if _wall(dt.datetime.fromtimestamp(middle, dt.UTC), zone) >= wall:
            high = middle
        else:
            low = middle
    return dt.datetime.fromtimestamp(high, zone)


def send_at(settings: Settings, issue: Issue) -> dt.datetime:
    """When `issue` goes out: its date at its send time (its own, else the newsletter's)."""
    at = issue.send_time or settings.send_time
    return local_moment(issue.date, at, ZoneInfo(settings.timezone))


def has_come(settings: Settings, issue: Issue, now: dt.datetime) -> bool:
    """Whether `issue`'s send time has come at `now` (an aware datetime)."""
    return _until(send_at(settings, issue), now) <= 0


def _until(moment: dt.datetime, now: dt.datetime) -> float:
    """Seconds from `now` to `moment`. Not `moment - now`: two datetimes of the same zone
    subtract and compare by their wall clocks, an hour out across a clock change."""
    return moment.timestamp() - now.timestamp()


def when(settings: Settings, issue: Issue, now: dt.datetime) -> str:
    """`due 2027-02-01 09:00 Europe/Paris, in 3h` (or `..., 2h ago`): for people. Without the
    distance under SPHERE_TODAY, which sets a date and no time of day."""
    moment = send_at(settings, issue)
    due = f"due {moment:%Y-%m-%d %H:%M} {settings.timezone}"
    if settings.fixed_today:
        return due
    seconds = _until(moment, now)
    distance = f"in {_span(seconds)}" if seconds > 0 else f"{_span(-seconds)} ago"
    return f"{due}, {distance}"


def _span(seconds: float) -> str:
    """A rough distance in time: `45m`, `3h`, `2h30m`, `4 days`."""
    from sphere.setting_values import format_duration

    minutes = round(seconds / 60)
    if not minutes:
        return "under a minute"
    if seconds >= 2 * 86400:
        return f"{round(seconds / 86400)} days"
    return format_duration(minutes * 60)


def waiting(
    settings: Settings, *, now: dt.datetime | None = None, exclude: Collection[Path] = ()
) -> dict[str, Path]:
    """Ready issues dated today whose send time has not come (slug -> resolved path): the
    public archive leaves them out until it has, so that the page and the feed entry do not
    come hours before the email. `exclude`: broken files (sphere.broken)."""
    from sphere.content.issues import load_issues

    now = now or settings.now()
    today = settings.today(now)
    return {
        issue.slug: issue.path.resolve()
        for issue in load_issues(settings.content_dir, exclude=exclude)
        if issue.date == today and issue.is_due(today) and not has_come(settings, issue, now)
    }


def as_of(settings: Settings, text: str | None) -> dt.datetime:
    """The one moment a `publish` or `deploy` decides by: `text` (`--as-of`, a moment with its
    offset) or the settings' clock, read once. One moment for the archive and the sends, so a
    send time cannot fall between the two decisions; `--as-of` lets a later command decide as
    an earlier one did (publish.yml's publish job as its pages job). Never a future moment:
    that would send early, which is `sphere send --now`'s business. ValueError says why not.
    """
    from sphere.setting_values import moment

    now = settings.now()
    if not text:
        return now
    if settings.fixed_today:
        raise ValueError("use one of --as-of and SPHERE_TODAY, not both")
    given = moment(text.strip())
    if given is None:
        raise ValueError(
            f"expected a moment with its offset such as 2027-02-01T09:00Z, got {text!r}"
        )
    if given > now:
        raise ValueError(
            f"{text} is in the future: publish never sends early (`sphere send ISSUE --now` does)"
        )
    return given.astimezone(ZoneInfo(settings.timezone))
