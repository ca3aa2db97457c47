"""Parsers for setting values: each takes what pyproject.toml or a `SPHERE_*` variable holds and
returns the cleaned value, or raises ValueError saying what was expected.

Apart from `sphere.settings` so that the rules for one value (a URL, a mailbox, a duration) read
on their own and can be reused (the CLI parses `--max-time` with `parse_duration`); the
settings module turns a ValueError into a SettingsError naming the file, line and key.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from email.headerregistry import Address
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def plain_text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {type(value).__name__}")
    return value.strip()


def required_text(value: Any) -> str:
    text = plain_text(value)
    if not text:
        raise ValueError("expected a non-empty string")
    return text


def url(value: Any, *, optional: bool = False) -> str:
    text = plain_text(value)
    if optional and not text:
        return ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"expected an absolute http(s) URL, got {text!r}")
    return text


def base_url(value: Any) -> str:
    text = url(value)
    return text if text.endswith("/") else text + "/"


def mailbox(value: Any, *, optional: bool = False) -> str:
    text = plain_text(value)
    if optional and not text:
        return ""
    display, address = parseaddr(text)
    if "@" not in address or " " in address:
        raise ValueError(f"expected an address such as 'Name <name@example.org>', got {text!r}")
    return str(Address(display_name=display, addr_spec=address)) if display else address


def bare_address(value: Any, *, optional: bool = False) -> str:
    text = mailbox(value, optional=optional)
    return parseaddr(text)[1] if text else ""


_LANGUAGE = re.compile(r"[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*")
_LIST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*\.[A-Za-z0-9-]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_IMAGE_PATH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]*\.(png|jpe?g)", re.IGNORECASE)


def language(value: Any) -> str:
    text = required_text(value)
    if not _LANGUAGE.fullmatch(text):
        raise ValueError(f"expected a language tag such as 'en-GB', got {text!r}")
    return text


def list_id(value: Any) -> str:
    text = required_text(value)
    if not _LIST_ID.fullmatch(text):
        raise ValueError(
            f"expected a dotted name such as 'sphere.example.org' (RFC 2919), got {text!r}"
        )
    return text


def timezone(value: Any) -> str:
    text = required_text(value)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"expected a time zone such as 'Europe/London' or 'UTC', got {text!r}"
        ) from None
    return text


_SEND_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def send_time(value: Any) -> dt.time:
    """A time of day, 24-hour `HH:MM` ("09:00", "17:30"), for `send_time` in the settings and
    in an issue's front matter. Only text: TOML's own time type would ask for seconds, and
    YAML 1.1 reads an unquoted 10:00 as the number 600 (the front matter's loader keeps it
    text)."""
    if not isinstance(value, str):
        kind = type(value).__name__
        raise ValueError(f'expected a time such as "09:00" (24-hour HH:MM, in quotes), got {kind}')
    parts = _SEND_TIME.fullmatch(value.strip())
    if parts is None:
        raise ValueError(f'expected a time such as "09:00" (24-hour HH:MM), got {value!r}')
    return dt.time(int(parts[1]), int(parts[2]))


_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})")


def moment(text: str) -> dt.datetime | None:
    """An ISO 8601 moment with its offset (SPHERE_NOW, `--as-of`), or None: fromisoformat
    alone takes a bare date, or a time without an offset that could be anywhere."""
    try:
        return dt.datetime.fromisoformat(text) if _MOMENT.fullmatch(text) else None
    except ValueError:  # 2027-02-30
        return None


def image_path(value: Any) -> str:
    text = plain_text(value)
    if text and (not _IMAGE_PATH.fullmatch(text) or ".." in text.split("/")):
        raise ValueError(
            f"expected a PNG or JPEG under content/, such as 'images/card.png', got {text!r}"
        )
    return text


def is_date(text: str) -> bool:
    """Whether `text` is a real YYYY-MM-DD date (SPHERE_TODAY); fromisoformat alone takes more."""
    try:
        return bool(_DATE.fullmatch(text)) and dt.date.fromisoformat(text) is not None
    except ValueError:
        return False


def positive_int(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"expected a whole number of 1 or more, got {value!r}")
    return value


def rate(value: Any) -> float:
    try:
        per_second = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number of messages per second, got {value!r}") from None
    if per_second < 0:
        raise ValueError(f"expected 0 (use the transport's own limit) or more, got {value!r}")
    return per_second


_DURATION = re.compile(r"(\d+(?:\.\d+)?)([hms]?)")


def parse_duration(value: Any) -> float:
    """Seconds from `90`, `45s`, `20m`, `1h30m`, or 0 for none (`send_max_time`, `--max-time`)."""
    text = str(value).strip().lower().replace(" ", "")
    parts = _DURATION.findall(text)
    if not text or "".join(number + unit for number, unit in parts) != text:
        raise ValueError(f"expected a duration such as 45m, 1h30m or 600 (seconds), got {value!r}")
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "": 1.0}
    return sum(float(number) * scale[unit] for number, unit in parts)


def format_duration(seconds: float) -> str:
    """A duration as `parse_duration` reads it and every command prints it: `0.4s`, `45s`,
    `12m5s`, `1h30m` (seconds left out past an hour)."""
    if seconds < 10:
        return f"{max(seconds, 0):.1f}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m{secs}s" if secs else f"{minutes}m"
    return f"{secs}s"


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def boolean(value: Any) -> bool:
    """true or false in pyproject.toml; in a `SPHERE_*` variable, also yes/no, on/off, 1/0."""
    if isinstance(value, bool):
        return value
    text = value.strip().lower() if isinstance(value, str) else None
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError(f"expected true or false, got {value!r}")


def allow_empty(check: Callable[..., Any]) -> Callable[[Any], Any]:
    """`check` with `optional=True`: an empty value is "" (unset), anything else is checked."""
    return lambda value: check(value, optional=True)


def fraction(value: Any) -> float:
    """A share such as 0.05 (5%), for the bounce guard's thresholds."""
    try:
        share = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a share between 0 and 1 such as 0.05, got {value!r}") from None
    if not 0 < share <= 1:
        raise ValueError(f"expected a share between 0 and 1 such as 0.05, got {value!r}")
    return share


def address_list(value: Any) -> tuple[str, ...]:
    """Addresses as a list or a comma-separated string (SPHERE_SEED_LIST)."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError(f"expected a list of addresses, got {type(value).__name__}")
    return tuple(bare_address(item) for item in items if str(item).strip())
