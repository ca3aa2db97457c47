"""Quoted-printable bodies, byte for byte as `binascii.b2a_qp(data, istext=True)` encodes them,
with CRLF line ends, in half its time on an email.

binascii's encoder is C, but it looks at every byte twice through a dozen tests (about 5.5 ns a
byte here, 0.15 ms per issue for the HTML and text parts). An email is mostly printable ASCII:
escaping `=` and the few other bytes with `bytes.replace`, and cutting the lines with slices,
makes the same bytes from a handful of passes that copy memory. Whatever is rare and
positional (control characters, CR included; a line that is only "."; a space or tab at the
very end) is left to binascii itself. tests/test_quoted_printable.py compares the two on
thousands of generated inputs.

The rules of b2a_qp this follows: bytes outside printable ASCII (tab and newline aside) and `=`
become `=XX`; an encoded line has at most 75 characters and a soft break `=`, cut before the
escape or character that would pass that, except that a plain character that ends the line may
be the 76th; a space or tab that ends a line is escaped after the line is cut.
"""

from __future__ import annotations

import binascii

CRLF = b"\r\n"
SOFT_BREAK = b"=\r\n"
_PLAIN = bytes(range(0x20, 0x7F)) + b"\t\n"  # left as they are (`=` aside)
_HIGH = bytes(range(0x7F, 0x100))
_HEX = [b"=%02X" % byte for byte in range(256)]
_BLANKS = (b" ", b"\t")
_WIDTH = 75  # characters of an encoded line before its soft break
_EQUALS = 61  # ord("=")
_BULK = 5 * _WIDTH  # a line longer than this is cut in bulk first (shorter: one cut at a time)
# binascii is faster on short lines (a plain-text part's), this module on long ones (the HTML's
# body is one line of 15 KB): it takes data whose lines average more than this.
_LONG_LINES = 160


def b2a_qp_crlf(data: bytes) -> bytes:
    """`binascii.b2a_qp(data, istext=True)` with CRLF line ends (input CRLFs read as LFs)."""
    if len(data) < _LONG_LINES * (data.count(b"\n") + 1):
        return _binascii(data)
    odd = data.translate(None, _PLAIN)  # the bytes to escape, but `=`
    if odd.translate(None, _HIGH):  # a control character: rare, binascii's
        return _binascii(data)
    escaped = data.replace(b"=", b"=3D")
    for byte in set(odd):  # (only `=` can occur in an escape: no byte is escaped twice)
        escaped = escaped.replace(bytes((byte,)), _HEX[byte])
    lines = escaped.split(b"\n")
    last = lines.pop()
    if b"." in lines or last == b"." or last.endswith(_BLANKS):
        return _binascii(data)
    encoded = [
        line if len(line) <= _WIDTH and not line.endswith(_BLANKS) else _ended(line)
        for line in lines
    ]
    encoded.append(_cut(last))
    return CRLF.join(encoded)


def _binascii(data: bytes) -> bytes:
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    return binascii.b2a_qp(data, istext=True).replace(b"\n", CRLF)


def _ended(line: bytes) -> bytes:
    """A line followed by a newline: cut, and a final space or tab escaped (after the cut)."""
    cut = _cut(line)
    return cut[:-1] + _HEX[cut[-1]] if cut.endswith(_BLANKS) else cut


def _cut(line: bytes) -> bytes:
    """An escaped line (every `=` starts an `=XX`) cut as b2a_qp cuts it, soft breaks added."""
    pieces: list[bytes] = []
    start, end = 0, len(line)
    while True:
        rest = end - start
        if rest > _BULK:
            # Whole pieces from `start`, while more than 76 characters follow each and no
            # escape sits across its end (an `=` 73 or 74 characters in); found in one slice
            # of every 75th character each, rather than piece by piece.
            count = (rest - _WIDTH - 2) // _WIDTH + 1
            for offset in (_WIDTH - 2, _WIDTH - 1):
                found = line[start + offset :: _WIDTH].find(b"=")
                if 0 <= found < count:
                    count = found
            stop = start + _WIDTH * count
            pieces += [line[at : at + _WIDTH] for at in range(start, stop, _WIDTH)]
            start, rest = stop, end - stop
        if rest > _WIDTH + 1 or (rest == _WIDTH + 1 and line[end - 3] == _EQUALS):
            cut = start + _WIDTH
            escape = line.find(b"=", cut - 2, cut)  # an escape across the cut moves it back
            cut = escape if escape >= 0 else cut
            pieces.append(line[start:cut])
            start = cut
        else:
            pieces.append(line[start:])
            return SOFT_BREAK.join(pieces)
