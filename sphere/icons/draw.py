"""Draw the icons' masks (the PNG files beside this module): `python -m sphere.icons.draw`.

Run it after changing the globe's shapes; the build itself never draws. Pillow draws each
icon four times larger and scales it down by averaging each 4x4 block (smooth edges), once
for the background (the rounded square) and once for the white lines, and the two coverages
become one grey level per pixel (see sphere.icons). The shapes are templates/web/favicon.svg.j2's.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from sphere.icons import ICONS, LEVELS

_GRID = 64  # the SVG's viewBox: the shapes below are in its units
_SMOOTH = 4  # drawn this many times larger, then scaled down


def mask_png(size: int, *, rounded: bool) -> bytes:
    """The mask of the globe icon, `size` pixels square, as an 8-bit grey PNG."""
    from PIL import Image, ImageDraw

    big = size * _SMOOTH
    unit = big / _GRID

    def box(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        return (x0 * unit, y0 * unit, x1 * unit, y1 * unit)

    background = Image.new("L", (big, big), 0)
    ImageDraw.Draw(background).rounded_rectangle(
        box(0, 0, 64, 64), radius=12 * unit if rounded else 0, fill=255
    )
    lines = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(lines)
    draw.ellipse(box(13, 13, 51, 51), outline=255, width=round(5 * unit))  # the globe
    draw.line(box(13, 32, 51, 32), fill=255, width=round(3 * unit))  # the equator
    # The two meridians: the SVG's curves reach 5.25 units either side of the axis.
    draw.ellipse(box(26.75, 13, 37.25, 51), outline=255, width=round(3 * unit))
    shape = background.reduce(_SMOOTH).tobytes()
    white = lines.reduce(_SMOOTH).tobytes()
    levels = bytes(
        LEVELS + round(w * (LEVELS - 1) / 255) if w else round(s * (LEVELS - 1) / 255)
        for s, w in zip(shape, white, strict=True)
    )
    out = io.BytesIO()
    Image.frombytes("L", (size, size), levels).save(out, format="PNG", optimize=True)
    return out.getvalue()


def main() -> None:
    folder = Path(__file__).parent
    for name, (size, rounded) in ICONS.items():
        (folder / name).write_bytes(mask_png(size, rounded=rounded))
        sys.stdout.write(f"wrote {folder / name}\n")


if __name__ == "__main__":
    main()
