"""Front matter's fast path: simple `key: value` lines read without YAML's parser must give
exactly what YAML gives (values and key lines), and anything else must go to YAML."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from sphere.content import issues
from sphere.content.issues import parse_front_matter
from sphere.errors import ContentError

PATH = Path("content/issues/2026-10-01-x.md")
KEYS = ["title", "date", "summary", "status", "slug", "on", "yes", "null", "No", "x-y", "_k"]
VALUES = [
    '"A quoted title"', '"It’s – non-ASCII"', '""', '"tab\there"', '"# not a comment"',
    '"with \\" escape"', '"unclosed', "'single'", "'it''s'", "''", "2026-10-01", "2026-13-45",
    "ready", "draft", "yes", "No", "off", "ON", "null", "Null", "~", "12", "012", "0x1F", "1.5",
    "1e3", ".inf", "+5", "a-b", "a.b", "plain words", "value # comment", ": x", "[a, b]",
    "{a: b}", "&anchor", "*alias", "!tag", "|", ">", "-", "a:b", "https://example.org/x",
    '"bell \x07"', '"line\u2028sep"', '"bom \ufeff"',
]  # fmt: skip
SPACES = [" ", "  ", " \t"]


def _parse(front: str) -> tuple[dict[str, Any], dict[str, int]] | str:
    try:
        return parse_front_matter(front, PATH)
    except ContentError as error:
        return str(error)


def _by_yaml(
    front: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], dict[str, int]] | str:
    with monkeypatch.context() as patch:
        patch.setattr(issues, "simple_front_matter", lambda front: None)
        return _parse(front)


def _line(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.05:
        return rng.choice(["", "# a comment", "  indented: x", "- item"])
    trailing = rng.choice(["", "", " ", "  # c"])
    return f"{rng.choice(KEYS)}:{rng.choice(SPACES)}{rng.choice(VALUES)}{trailing}"


def test_the_same_as_yaml_on_generated_front_matter(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(11)
    fast_taken = 0
    for _ in range(4000):
        front = "".join(_line(rng) + "\n" for _ in range(rng.randint(0, 6)))
        fast_taken += issues.simple_front_matter(front) is not None
        assert _parse(front) == _by_yaml(front, monkeypatch), front
    assert fast_taken > 300  # the fast path is really exercised


@pytest.mark.parametrize(
    "front",
    [
        'title: "To Hard Sell or to Soft Sell? That is the Question"\ndate: 2026-12-01\n'
        'summary: "Salespeople hunting for the ‘killer’ opening line."\nstatus: ready\n',
        "title: 'x'\ntitle: \"again\"\n",  # a repeated key: the last one, at its line
        "",
        "status: ready",  # no final newline
    ],
)
def test_simple_front_matter_is_read_without_yaml(
    front: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert issues.simple_front_matter(front) is not None
    assert _parse(front) == _by_yaml(front, monkeypatch)


@pytest.mark.parametrize(
    "front",
    ["on: x\n", "status: yes\n", "n: 1.5\n", 'a: "x\\ty"\n', "a: b\r\n", "a: b # c\n", "a:\tb\n"],
)
def test_what_yaml_reads_otherwise_goes_to_yaml(front: str) -> None:
    assert issues.simple_front_matter(front) is None
