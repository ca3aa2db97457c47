"""The fast quoted-printable encoder gives binascii's bytes, on inputs built to break it."""

from __future__ import annotations

import binascii
import random

import pytest

from sphere.mail import quoted_printable
from sphere.mail.quoted_printable import b2a_qp_crlf

# What moves the cuts and the rules: escapes (`=`, non-ASCII, DEL), blanks, dots, line ends,
# control characters (left to binascii) and long plain runs.
ATOMS = [
    b"a",
    b"a",
    b"a",
    b"Z",
    b" ",
    b"\t",
    b"=",
    b".",
    b"\n",
    b"\n",
    b"\xc3\xa9",
    b"\xe2\x80\x99",
]
ATOMS += [
    b"\x7f",
    b"\xff",
    b"\r",
    b"\r\n",
    b"\x00",
    b"x" * 70,
    b"y" * 74,
    b"=" * 25,
    b"\xf0\x9f\x9a\x80",
]


@pytest.fixture(autouse=True)
def fast_path_for_any_line_length(monkeypatch: pytest.MonkeyPatch) -> None:
    """These inputs have short lines, which binascii encodes faster: test the fast path on them."""
    monkeypatch.setattr(quoted_printable, "_LONG_LINES", 0)


def reference(data: bytes) -> bytes:
    """What Sphere has always sent: binascii's encoding of the text with LF line ends."""
    return binascii.b2a_qp(data.replace(b"\r\n", b"\n"), istext=True).replace(b"\n", b"\r\n")


CONTROLS = {b"\r", b"\r\n", b"\x00"}


@pytest.mark.parametrize("controls", [True, False])
def test_generated_inputs(controls: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    handed_over: list[bytes] = []

    def to_binascii(data: bytes) -> bytes:
        handed_over.append(data)
        return reference(data)

    monkeypatch.setattr(quoted_printable, "_binascii", to_binascii)
    atoms = ATOMS if controls else [atom for atom in ATOMS if atom not in CONTROLS]
    rng = random.Random(20261126)
    for _ in range(20_000):
        data = b"".join(rng.choices(atoms, k=rng.randint(0, 40)))
        assert b2a_qp_crlf(data) == reference(data), data
    if not controls:  # the fast path did the work (binascii only where a line is ".", say)
        assert len(handed_over) < 20_000 / 4


@pytest.mark.parametrize("length", range(70, 235))
def test_an_escape_at_every_offset_around_each_cut(length: int) -> None:
    for at in range(max(0, length - 160), length):
        for escape in (b"=", b"\xc3\xa9", b"\x7f"):
            for ending in (b"", b"\n", b" \n", b"\nz", b"."):
                data = b"p" * at + escape + b"q" * (length - at) + ending
                assert b2a_qp_crlf(data) == reference(data), data


@pytest.mark.parametrize(
    "data",
    [b"", b".", b".\n", b"\n.", b"a\n.\nb", b". \n", b" ", b"\t", b"a \n", b"a\t\n", b"\n\n"],
)
def test_the_rare_positional_rules(data: bytes) -> None:
    assert b2a_qp_crlf(data) == reference(data)


def test_a_long_line_of_blanks_and_escapes() -> None:
    for length in range(60, 200):
        for unit in (b" ", b"=", b"a=", b"ab=", b"\xc3\xa9 "):
            data = unit * length
            assert b2a_qp_crlf(data) == reference(data)
            assert b2a_qp_crlf(data + b"\n") == reference(data + b"\n")


def test_long_lines_cut_in_bulk() -> None:
    rng = random.Random(7)
    atoms = [b"a", b"b", b"c", b"=", b"\xc3\xa9", b" ", b"long" * 20]
    for _ in range(3_000):
        weights = [rng.randint(0, 30), 20, 20, rng.randint(0, 5), rng.randint(0, 3), 5, 1]
        line = b"".join(rng.choices(atoms, weights, k=rng.randint(300, 1500)))
        for data in (line, line + b"\n" + line[: rng.randint(0, 200)] + b"z"):
            assert b2a_qp_crlf(data) == reference(data), data
