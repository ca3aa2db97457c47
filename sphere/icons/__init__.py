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

from sphere.content.images import PNG_SIGNATURE

# Published under static/: name -> (size in pixels, rounded corners). iOS rounds the
# apple-touch-icon's corners itself and shows transparent ones black: that one is square.
ICONS = {"favicon-32.png": (32, True), "apple-touch-icon.png": (180, False)}
LEVELS = 128  # grey levels for the square's edge; as many for the white lines' edges
_HEX = re.compile(r"#([0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")

Colour = tuple[int, int, int, int]  # red, green, blue, opacity: 0 to 255 each


def icons(accent: Colour) -> dict[str, bytes]:
    """Every icon of `ICONS` in the `accent` colour (see `colour`), by its name under static/."""
    masks = Path(__file__).parent
    return {name: icon_png((masks / name).read_bytes(), accent) for name in ICONS}


def colour(css: str) -> Colour:
    """A CSS colour: `#rgb`, `#rgba`, `#rrggbb` and `#rrggbbaa` here, any other form (names,
    `rgb()`, `hsl()`) by Pillow, which knows them all. ValueError for what is none."""
    if match := _HEX.fullmatch(css.strip()):
        digits = match.group(1)
        if len(digits) <= 4:
            digits = "".join(d * 2 for d in digits)
        red, green, blue, opacity = (int(digits[i : i + 2] or "ff", 16) for i in (0, 2, 4, 6))
        return red, green, blue, opacity
    from PIL import ImageColor  # only for a colour not written in hex

    found = ImageColor.getrgb(css)  # (red, green, blue), with the opacity when one is given
    return found[0], found[1], found[2], found[3] if len(found) == 4 else 255


def icon_png(mask: bytes, accent: Colour) -> bytes:
    """The icon from its grey `mask` PNG (see the module's docstring), in the `accent`."""
    chunks = [PNG_SIGNATURE]
    for kind, data in _chunks(mask):
        if kind == b"IHDR":
            width, height, depth, grey, *rest = struct.unpack(">IIBBBBB", data)
            if (depth, grey) != (8, 0):
                raise ValueError("an icon's mask must be an 8-bit grey PNG")
            chunks.append(_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 3, *rest)))
            colours, alphas = _palette(accent)
            chunks.append(_chunk(b"PLTE", colours))
            chunks.append(_chunk(b"tRNS", alphas.rstrip(b"\xff")))  # the rest: opaque
        elif kind in (b"IDAT", b"IEND"):
            chunks.append(_chunk(kind, data))
    return b"".join(chunks)


def _palette(accent: Colour) -> tuple[bytes, bytes]:
    """Each level's colour and opacity: the accent, more see-through as the square's edge
    thins; then white over the accent, as a line covers more of the pixel."""
    *rgb, opacity = accent
    colours, alphas = bytearray(), bytearray()
    for level in range(LEVELS):
        colours += bytes(rgb)
        alphas.append(round(level / (LEVELS - 1) * opacity))
    under = opacity / 255  # how much of the accent shows under a line's edge
    for level in range(LEVELS):
        white = level / (LEVELS - 1)
        alpha = white + under * (1 - white)
        colours += bytes(round((255 * white + c * under * (1 - white)) / alpha) for c in rgb)
        alphas.append(round(alpha * 255))
    return bytes(colours), bytes(alphas)


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """A PNG's chunks as (type, data)."""
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG")
    found, at = [], len(PNG_SIGNATURE)
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        found.append((png[at + 4 : at + 8], png[at + 8 : at + 8 + length]))
        at += 12 + length
    return found


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
