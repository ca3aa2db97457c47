"""The rendering shortcuts taken for speed give exactly what the slow, general path gives."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import jinja2
import pytest
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from sphere.archive import CardImage, FeedEntry
from sphere.render.environment import (
    IssueFields,
    Link,
    Site,
    make_body_environment,
    make_environment,
    wrap_filter,
)
from sphere.render.plaintext import wrap

OBJECTS: dict[str, Any] = {
    "site": Site(name="Sphere", phone="", _hidden="x", items="a key named like a method"),
    "issue": IssueFields(title="T", date=dt.date(2026, 1, 1), state="draft"),
    "dict": {"ink": "#000", "get": "shadowed", "": "empty"},
    "nested": {"colors": {"ink": "#111"}},
    "link": Link("text", "https://example.com/"),
    "link holding a method": Link("text", "{}".format),  # type: ignore[arg-type]
    "card": CardImage("https://example.com/card.png", 1200, 630),
    "feed entry": FeedEntry(IssueFields(title="T"), "https://example.com/x/", "<p>x</p>"),
    "feed entry holding a method": FeedEntry("{}".format_map, "u", "h"),  # type: ignore[arg-type]
    "loop": LoopContext(iter("abc"), jinja2.StrictUndefined),
    "date": dt.date(2026, 1, 1),
    "str": "text",
}
NAMES = (
    "name", "phone", "title", "date", "state", "ink", "colors", "_hidden", "items", "get",
    "keys", "clear", "pop", "update", "__class__", "__init__", "__dict__", "mro", "missing",
    "", "text", "url", "isoformat", "format", "upper", "width", "height", "first", "last",
    "length", "index0", "revindex", "revindex0", "depth", "depth0", "cycle", "changed",
    "previtem", "nextitem", "count", "_fields", "_asdict", "__hash__", "issue", "html",
)  # fmt: skip


def _same(fast: Any, slow: Any) -> bool:
    if isinstance(slow, jinja2.Undefined):
        return type(fast) is type(slow) and _complaint(fast) == _complaint(slow)
    if type(fast) is not type(slow):
        return False
    if callable(slow) and getattr(slow, "__wrapped__", None) is not None:  # sandboxed str.format
        return bool(fast.__wrapped__ == slow.__wrapped__)
    return bool(fast == slow)


def _complaint(value: jinja2.Undefined) -> tuple[type[Exception], str]:
    """What using an undefined value raises (StrictUndefined raises on str())."""
    with pytest.raises(jinja2.TemplateError) as raised:
        str(value)
    return type(raised.value), str(raised.value)


@pytest.mark.parametrize("make", [make_environment, make_body_environment])
def test_lookup_shortcuts_match_the_sandboxs_lookups(make: Any, tmp_path: Path) -> None:
    env = make(tmp_path) if make is make_environment else make()
    for label, obj in OBJECTS.items():
        for name in NAMES:
            fast = env.getattr(obj, name)
            slow = ImmutableSandboxedEnvironment.getattr(env, obj, name)
            assert _same(fast, slow), (label, name, fast, slow)
            fast = env.getitem(obj, name)
            slow = ImmutableSandboxedEnvironment.getitem(env, obj, name)
            assert _same(fast, slow), ("item", label, name, fast, slow)


def test_site_and_issue_fields_have_no_instance_attributes() -> None:
    # The shortcut relies on it: an instance attribute would win over a key in Jinja's lookup.
    for kind in (Site, IssueFields):
        with pytest.raises(AttributeError):
            kind().__dict__  # noqa: B018


def test_templates_see_the_same_values_through_the_shortcut(tmp_path: Path) -> None:
    source = (
        "{{ site.name }}|{{ site.items is callable }}|{{ issue.date.isoformat() }}|"
        "{{ d.get }}|{{ d.ink }}|{{ site.missing is undefined }}|{{ nested.colors.ink }}"
    )
    fast = make_environment(tmp_path).from_string(source)
    slow = ImmutableSandboxedEnvironment().from_string(source)
    context = {"site": OBJECTS["site"], "issue": OBJECTS["issue"], "d": OBJECTS["dict"]}
    context["nested"] = OBJECTS["nested"]
    assert fast.render(context) == slow.render(context)
    assert fast.render(context).startswith("Sphere|True|2026-01-01|<built-in method get")


WRAP_CALLS: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = [
    ("a few words " * 20, (), {}),
    ("a few words " * 20, (30,), {}),
    ("a few words " * 20, (True,), {}),
    ("a few words " * 20, (1,), {}),
    ("a few words " * 20, (20.0,), {}),
    ("a few <b> & words " * 10, (40,), {"indent": "> "}),
    ("a few <b> & words " * 10, (40,), {"indent": Markup("> ")}),
    (Markup("a few <b> &amp; words ") * 10, (40,), {}),
    ("a few <b> & words " * 10, (40,), {"indent": "  ", "hanging": ""}),
    ("", (), {}),
]


def test_the_remembered_wrap_filter_is_wrap() -> None:
    for _ in range(2):  # the second time from the cache
        for text, args, options in WRAP_CALLS:
            fast = wrap_filter(text, *args, **options)
            slow = wrap(text, *args, **options)
            assert fast == slow and type(fast) is type(slow), (text, args, options)
