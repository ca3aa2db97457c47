"""The archive's PNG icons in the theme's accent colour, made without drawing anything.

Browsers take the SVG favicon (templates/web/favicon.svg.j2), but link previews, some
browsers' tabs and bookmarks, and iOS's home screen want a PNG. Each icon ships beside this
module as a mask: an 8-bit grey PNG (drawn once by sphere/icons/draw.py) whose grey level
says what covers each pixel: below LEVELS, how much of the rounded square (none: see-through;
LEVELS - 1: all of it); from LEVELS on, how much of a white line, over the square. A PNG with
a palette stores its pixels exactly as a grey one does (one byte each), so the icon is the
mask's own compressed pixels under a palette that gives each level its colour: the accent,
blended towards white or made see-through. Nothing is decoded or drawn at build time (Pillow
cost a cold build 20 ms, most of it to import), and the same colour gives the same bytes.
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

# Published under static/: name -> (size in pixels, rounded corners). iOS rounds the
# apple-touch-icon's corners itself and shows transparent ones black: that one is square.
ICONS = {"favicon-32.png": (32, True), "apple-touch-icon.png": (180, False)}
LEVELS = 128  # grey levels for the square's edge; as many for the white lines' edges
SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HEX = re.compile(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def icons(accent: str) -> dict[str, bytes]:
    """Every icon of `ICONS` in the `accent` colour (CSS), by its name under static/.

    ValueError for what is not a colour."""
    rgb = colour(accent)
    masks = Path(__file__).parent
    return {name: icon_png((masks / name).read_bytes(), rgb) for name in ICONS}


def colour(css: str) -> tuple[int, int, int]:
    """A CSS colour's red, green and blue: `#rgb` and `#rrggbb` here, any other form (names,
    `rgb()`, `hsl()`) by Pillow, which knows them all. ValueError for what is none."""
    if match := _HEX.fullmatch(css.strip()):
        digits = match.group(1)
        if len(digits) == 3:
            digits = "".join(d * 2 for d in digits)
        red, green, blue = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
        return red, green, blue
    from PIL import ImageColor  # only for a colour not written in hex

    red, green, blue, *_ = ImageColor.getrgb(css)
    return red, green, blue


def icon_png(mask: bytes, rgb: tuple[int, int, int]) -> bytes:
    """The icon from its grey `mask` PNG (see the module's docstring), in the colour `rgb`."""
    chunks = [SIGNATURE]
    for kind, data in _chunks(mask):
        if kind == b"IHDR":
            width, height, depth, grey, *rest = struct.unpack(">IIBBBBB", data)
            if (depth, grey) != (8, 0):
                raise ValueError("an icon's mask must be an 8-bit grey PNG")
            chunks.append(_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 3, *rest)))
            chunks.append(_chunk(b"PLTE", _palette(rgb)))
            # See-through as the square's edge thins; opaque from LEVELS on (left out).
            alphas = bytes(round(level * 255 / (LEVELS - 1)) for level in range(LEVELS))
            chunks.append(_chunk(b"tRNS", alphas))
        elif kind in (b"IDAT", b"IEND"):
            chunks.append(_chunk(kind, data))
    return b"".join(chunks)


def _palette(rgb: tuple[int, int, int]) -> bytes:
    """Each level's colour: the accent for the square's edge, then the accent blended
    towards white as a line covers more of the pixel."""
    edge = bytes(rgb) * LEVELS
    lines = bytes(
        round(c + (255 - c) * level / (LEVELS - 1)) for level in range(LEVELS) for c in rgb
    )
    return edge + lines


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """A PNG's chunks as (type, data)."""
    if not png.startswith(SIGNATURE):
        raise ValueError("not a PNG")
    found, at = [], len(SIGNATURE)
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        found.append((png[at + 4 : at + 8], png[at + 8 : at + 8 + length]))
        at += 12 + length
    return found


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
