"""Pixel sizes of PNG and JPEG files, read from their headers (no imaging library needed)."""

from __future__ import annotations

import struct
from pathlib import Path

_PNG = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers carry the size; the others (DHT, DAC, JPG) share the range.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of a PNG or JPEG file, or None when it is neither or is damaged."""
    with path.open("rb") as stream:
        head = stream.read(26)
        if head.startswith(_PNG) and head[12:16] == b"IHDR":
            width, height = struct.unpack(">II", head[16:24])
            return width, height
        if head.startswith(b"\xff\xd8"):
            stream.seek(2)
            return _jpeg_size(stream.read())
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    index = 0
    while index + 9 < len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        if marker == 0xFF:  # fill byte
            index += 1
            continue
        (length,) = struct.unpack(">H", data[index + 2 : index + 4])
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return width, height
        index += 2 + length
    return None
