"""The newsletter's settings: `[tool.sphere]` in pyproject.toml, overridden by `SPHERE_*`.

Everything is validated once, at load, into one frozen `Settings` object, and every problem is
reported at once, each as one line naming the file, the key and what was expected. Precedence is
resolved in `load_settings` alone: environment, then `[tool.sphere]`, then the default.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sphere import setting_values as parse
from sphere.clock import SYSTEM, Clock, SetClock, utc
from sphere.errors import SettingsError, SettingsErrors

# Re-exported: callers parse durations (--max-time) through sphere.settings.
from sphere.setting_values import parse_duration as parse_duration

PYPROJECT = "pyproject.toml"
ENV_PREFIX = "SPHERE_"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """The newsletter's identity, where things live, and how mail goes out."""

    root: Path
    source: Path  # the pyproject.toml the settings came from (for error messages)
    name: str
    tagline: str
    author: str
    sender: str  # `from` in pyproject.toml: "Name <address>"
    reply_to: str
    contact_email: str
    website: str
    phone: str
    postal_address: str
    base_url: str  # the web archive's absolute URL, always ending in "/"
    endpoint_url: str  # where the unsubscribe/subscribe endpoints are served, ending in "/"
    unsubscribe_mailto: str
    privacy_url: str
    list_id: str
    language: str
    cadence_months: int
    timezone: str = "UTC"  # an IANA zone: an issue is due on its date there, from send_time
    # The wall-clock time in `timezone` at which an issue goes out on its date (sphere.schedule);
    # an issue's front matter may name its own. Out of the repr (which keys the build cache):
    # no rendering depends on it.
    send_time: dt.time = field(default=dt.time(0, 0), repr=False)
    default_image: str = ""  # link previews' picture for pages without their own; in content/
    # who `{{ reader.first_name }}` is where no first name is known (archive, feed, previews,
    # test sends, a subscriber without a name): "Hi there,"
    greeting_fallback: str = "there"
    search: bool = True  # the archive's search box and the Pagefind index the build makes for it
    why_you_get_this: str
    blurb_insights: str
    blurb_roi: str
    blurb_subscribe: str
    content_dir: Path
    templates_dir: Path
    output_dir: Path
    store: str  # SPHERE_STORE: a folder, or s3://bucket/prefix
    site: str  # SPHERE_SITE: where `deploy` puts the archive
    transport: str  # SPHERE_TRANSPORT: ses, smtp://host:port, or outbox:FOLDER
    secret: str = field(repr=False)  # SPHERE_SECRET: signs tokens; never in a file
    # SPHERE_TODAY: the YYYY-MM-DD to take as today (previews, tests), or "". Out of the repr,
    # which keys the build cache: no rendering depends on it.
    fixed_today: str = field(default="", repr=False)
    # The one clock (sphere.clock): "now" for everything that asks the settings. Not a setting
    # of the newsletter, so neither shown nor compared (the build cache keys on the repr).
    clock: Clock = field(default=SYSTEM, repr=False, compare=False)
    # Which settings came from an environment variable (attribute -> its name), so that an
    # error about a value names the variable it must be fixed in, not pyproject.toml.
    from_env: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    send_rate: float  # messages per second (0: ask the transport)
    send_concurrency: int
    # sending (issue 10)
    ses_configuration_set: str  # SES configuration set for event publishing ("" for none)
    send_max_time: float  # seconds a send may run before it stops cleanly (0: no limit)
    # subscriber endpoints and feedback (issue 11)
    feedback_queue_url: str = ""  # the SQS queue of SES bounces and complaints ("" for none)
    soft_bounce_limit: int = 3  # transient bounces (distinct notifications) that mark bounced
    breaker_bounce_rate: float = 0.05  # a send pauses above this share of permanent bounces
    breaker_complaint_rate: float = 0.003  # ... or above this share of complaints
    breaker_min_messages: int = 50  # ... once this many of the messages were accepted
    seed_list: tuple[str, ...] = ()  # addresses that get the issue first (publish), or none
    seed_wait: float = 600.0  # seconds publish waits for the seed list's feedback
    # publishing (issue 12)
    late_after_days: int = 14  # `publish` sends a never-started issue this late only if told

    @property
    def website_label(self) -> str:
        """The website as people write it, without the scheme: www.jimwigg.com."""
        return self.website.split("://", 1)[-1].rstrip("/")

    @property
    def sender_name(self) -> str:
        """Who the mail is from, as the footer names them (the author if `from` has no name)."""
        return parseaddr(self.sender)[0] or self.author

    @property
    def sender_address(self) -> str:
        """The bare address of the sender: the envelope's MAIL FROM and SES's source."""
        return parseaddr(self.sender)[1]

    def now(self) -> dt.datetime:
        """This moment in the newsletter's time zone, from the settings' clock (SPHERE_NOW sets
        it). With SPHERE_TODAY, the last moment of that date: every send time of the day has
        come, as every issue of the day was due before there were send times."""
        zone = ZoneInfo(self.timezone)
        if self.fixed_today:
            return dt.datetime.combine(dt.date.fromisoformat(self.fixed_today), dt.time.max, zone)
        return utc(self.clock).astimezone(zone)

    def today(self, now: dt.datetime | None = None) -> dt.date:
        """The newsletter's date at `now` (an aware datetime; default the settings' clock) in
        its time zone: an issue is due from midnight of its date there. SPHERE_TODAY overrides
        it.
        """
        if self.fixed_today:
            return dt.date.fromisoformat(self.fixed_today)
        moment = now if now is not None else utc(self.clock)
        return moment.astimezone(ZoneInfo(self.timezone)).date()


# key in [tool.sphere] -> (attribute, validator, default; None means required)
_FILE_KEYS: dict[str, tuple[str, Callable[[Any], Any], Any]] = {
    "name": ("name", parse.required_text, None),
    "tagline": ("tagline", parse.required_text, None),
    "author": ("author", parse.required_text, None),
    "from": ("sender", parse.mailbox, None),
    "reply_to": ("reply_to", parse.allow_empty(parse.mailbox), ""),
    "contact_email": ("contact_email", parse.allow_empty(parse.bare_address), ""),
    "website": ("website", parse.allow_empty(parse.url), ""),
    "phone": ("phone", parse.plain_text, ""),
    "postal_address": ("postal_address", parse.required_text, None),
    "base_url": ("base_url", parse.base_url, None),
    "endpoint_url": ("endpoint_url", parse.base_url, None),
    "unsubscribe_mailto": ("unsubscribe_mailto", parse.allow_empty(parse.bare_address), ""),
    "privacy_url": ("privacy_url", parse.url, None),
    "list_id": ("list_id", parse.list_id, None),
    "language": ("language", parse.language, "en-GB"),
    "cadence_months": ("cadence_months", parse.positive_int, 2),
    "timezone": ("timezone", parse.timezone, "UTC"),
    "send_time": ("send_time", parse.send_time, "00:00"),
    "default_image": ("default_image", parse.image_path, ""),
    "search": ("search", parse.boolean, True),
    "why_you_get_this": ("why_you_get_this", parse.required_text, None),
    "blurb_insights": ("blurb_insights", parse.plain_text, ""),
    "blurb_roi": ("blurb_roi", parse.plain_text, ""),
    "blurb_subscribe": ("blurb_subscribe", parse.plain_text, ""),
    "content_dir": ("content_dir", parse.required_text, "content"),
    "templates_dir": ("templates_dir", parse.required_text, "templates"),
    "output_dir": ("output_dir", parse.required_text, "dist"),
    "send_rate": ("send_rate", parse.rate, 0),
    "send_concurrency": ("send_concurrency", parse.positive_int, 4),
    # sending (issue 10)
    "ses_configuration_set": ("ses_configuration_set", parse.plain_text, ""),
    "send_max_time": ("send_max_time", parse.parse_duration, "0"),
    # publishing (issue 12)
    "late_after_days": ("late_after_days", parse.positive_int, 14),
}

# subscriber endpoints, feedback, the bounce guard and the seed list (issue 11)
_FILE_KEYS.update(
    {
        "feedback_queue_url": ("feedback_queue_url", parse.allow_empty(parse.url), ""),
        "soft_bounce_limit": ("soft_bounce_limit", parse.positive_int, 3),
        "breaker_bounce_rate": ("breaker_bounce_rate", parse.fraction, 0.05),
        "breaker_complaint_rate": ("breaker_complaint_rate", parse.fraction, 0.003),
        "breaker_min_messages": ("breaker_min_messages", parse.positive_int, 50),
        "seed_list": ("seed_list", parse.address_list, ""),
        "seed_wait": ("seed_wait", parse.parse_duration, "10m"),
    }
)

# readers (issue 23): the greeting by name
_FILE_KEYS["greeting_fallback"] = ("greeting_fallback", parse.required_text, "there")

# What differs per environment, or is secret, comes from the environment only.
_ENV_ONLY: dict[str, tuple[str, Any]] = {
    "store": ("SPHERE_STORE", ".sphere/store"),
    "site": ("SPHERE_SITE", ".sphere/site"),
    "transport": ("SPHERE_TRANSPORT", "outbox:.sphere/outbox"),
    "secret": ("SPHERE_SECRET", ""),
    "fixed_today": ("SPHERE_TODAY", ""),
}
_PATH_KEYS = ("content_dir", "templates_dir", "output_dir")


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` whose pyproject.toml has a `[tool.sphere]` table."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PYPROJECT
        if candidate.is_file() and "[tool.sphere]" in candidate.read_text(encoding="utf-8"):
            return folder
    raise SettingsError(
        f"no {PYPROJECT} with a [tool.sphere] table in {here} or above; "
        "run sphere inside a newsletter project, or pass --root"
    )


def load_settings(root: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read, merge and validate the settings of the project at (or above) `root`."""
    env = os.environ if env is None else env
    root = find_root(root)
    source = root / PYPROJECT
    text = source.read_text(encoding="utf-8")
    try:
        table = tomllib.loads(text).get("tool", {}).get("sphere", {})
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"not valid TOML: {error}", path=source) from None

    errors: list[SettingsError] = []
    values: dict[str, Any] = {}
    from_env: dict[str, str] = {}
    for key in table:
        if key not in _FILE_KEYS:
            hint = (
                " (secrets and per-environment settings belong in SPHERE_* variables)"
                if (key in _ENV_ONLY)
                else ""
            )
            errors.append(_error(source, text, key, f"unknown key [tool.sphere].{key}{hint}"))
    for key, (attribute, check, default) in _FILE_KEYS.items():
        env_name = ENV_PREFIX + key.upper()
        if env_name in env:
            raw, where = env[env_name], f"environment variable {env_name}"
            from_env[attribute] = env_name
        elif key in table:
            raw, where = table[key], f"[tool.sphere].{key}"
        elif default is not None:
            raw, where = default, f"default of {key}"
        else:
            errors.append(_error(source, text, None, f"missing required key [tool.sphere].{key}"))
            continue
        try:
            values[attribute] = check(raw)
        except ValueError as problem:
            if where.startswith("environment"):
                errors.append(SettingsError(f"{where}: {problem}"))
            else:
                errors.append(_error(source, text, key, f"{where}: {problem}"))
    for attribute, (env_name, default) in _ENV_ONLY.items():
        values[attribute] = env.get(env_name, default).strip()
        if env_name in env:
            from_env[attribute] = env_name
    errors += _check_environment(env, values)
    if values["fixed_today"] and not parse.is_date(values["fixed_today"]):
        errors.append(
            SettingsError(
                f"environment variable SPHERE_TODAY: expected a date such as 2026-12-01, "
                f"got {values['fixed_today']!r}"
            )
        )
    clock = _clock(env, errors)
    if errors:
        raise SettingsErrors(errors)
    for key in _PATH_KEYS:
        values[key] = (root / values[key]).resolve()
    return Settings(root=root, source=source, from_env=from_env, clock=clock, **values)


def _clock(env: Mapping[str, str], errors: list[SettingsError]) -> Clock:
    """The machine's clock, or with SPHERE_NOW (an instant with its offset, for previews and
    tests) one set to that moment. One of SPHERE_NOW and SPHERE_TODAY: both would disagree."""
    text = env.get("SPHERE_NOW", "").strip()
    if not text:
        return SYSTEM
    moment = parse.moment(text)
    if env.get("SPHERE_TODAY", "").strip():
        problem = "set one of SPHERE_NOW and SPHERE_TODAY, not both"
    elif moment is None:
        problem = f"expected a moment with its offset such as 2027-02-01T09:00+01:00, got {text!r}"
    else:
        return SetClock(moment.timestamp())
    errors.append(SettingsError(f"environment variable SPHERE_NOW: {problem}"))
    return SYSTEM


MIN_SECRET = 32  # characters: a guessable secret lets anyone unsubscribe anyone


def _check_environment(env: Mapping[str, str], values: dict[str, Any]) -> list[SettingsError]:
    """What the SPHERE_* variables alone can get wrong: a store set but empty (it would be the
    project folder itself), a secret too short to keep links from being forged."""
    errors = []
    if "SPHERE_STORE" in env and not values["store"]:
        errors.append(
            SettingsError(
                "environment variable SPHERE_STORE is set but empty: set it to a folder or "
                "s3://bucket/prefix, or unset it for the local default (.sphere/store)"
            )
        )
    secret = values["secret"]
    if secret and len(secret) < MIN_SECRET:
        errors.append(
            SettingsError(
                f"environment variable SPHERE_SECRET is {len(secret)} characters long, fewer "
                f"than {MIN_SECRET}: anyone who guesses it can forge unsubscribe links; use a "
                "long random value, e.g. `openssl rand -base64 48`"
            )
        )
    return errors


def _error(source: Path, text: str, key: str | None, message: str) -> SettingsError:
    """A SettingsError at the key's line in pyproject.toml (the table's line if it is absent)."""
    line = _line_of(text, key) if key else _line_of_table(text)
    return SettingsError(message, path=source, line=line)


def _line_of_table(text: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() == "[tool.sphere]":
            return number
    return None


def _line_of(text: str, key: str) -> int | None:
    start = _line_of_table(text) or 0
    pattern = re.compile(rf'^\s*"?{re.escape(key)}"?\s*=')
    for number, line in enumerate(text.splitlines()[start:], start=start + 1):
        if line.startswith("["):
            break
        if pattern.match(line):
            return number
    return start or None


# The seed project's postal address, which its pyproject.toml says to replace before sending.
PLACEHOLDER_POSTAL_ADDRESSES = frozenset({"Sphere, c/o Jim Wigg, United Kingdom"})
_PLACEHOLDER_TEXT = re.compile(r"\b(todo|tbd|tbc|changeme|placeholder|example|xxx+)\b", re.I)


def placeholder_postal_address(address: str) -> bool:
    """Whether `address` is still the seed's, or says it is a placeholder: `send` refuses
    it, and `check` warns about it."""
    return address in PLACEHOLDER_POSTAL_ADDRESSES or bool(_PLACEHOLDER_TEXT.search(address))


def setting_line(settings: Settings, key: str) -> int:
    """The line of `key` in the settings' file (1 when it is not found there)."""
    try:
        text = settings.source.read_text(encoding="utf-8")
    except OSError:
        return 1
    return _line_of(text, key) or 1


def setting_names() -> list[str]:
    """Every `[tool.sphere]` key and environment variable, for docs and their test."""
    return [*_FILE_KEYS, *(name for name, _ in _ENV_ONLY.values())]
