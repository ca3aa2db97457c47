"""The archive's PNG icons, drawn at build time in the theme's accent colour.

Browsers take the SVG favicon (templates/web/favicon.svg.j2), but link previews, some
browsers' tabs and bookmarks, and iOS's home screen want a PNG. Pillow cannot read SVG, so the
same globe is drawn here with its shapes, four times larger and scaled down by averaging each
4x4 block (smooth edges; Pillow's `reduce`, a tenth of the time of a Lanczos resize of an 8x
picture, which cost a cold build 35 ms of CPU for no difference one can see at 180 px).
Pillow writes the same bytes for the same picture, so the icons are reproducible like the rest.
"""

from __future__ import annotations

import io

# Published under static/: name -> (size in pixels, rounded corners). iOS rounds the
# apple-touch-icon's corners itself and shows transparent ones black: that one is square.
ICONS = {"favicon-32.png": (32, True), "apple-touch-icon.png": (180, False)}
_GRID = 64  # the SVG's viewBox: the shapes below are in its units
_SMOOTH = 4  # drawn this many times larger, then scaled down


def icon_png(accent: str, size: int, *, rounded: bool) -> bytes:
    """The globe icon, `size` pixels square, on the `accent` colour (a CSS hex colour)."""
    from PIL import Image, ImageDraw  # imported here: `sphere --help` stays fast

    big = size * _SMOOTH
    unit = big / _GRID
    picture = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(picture)

    def box(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        return (x0 * unit, y0 * unit, x1 * unit, y1 * unit)

    draw.rounded_rectangle(box(0, 0, 64, 64), radius=12 * unit if rounded else 0, fill=accent)
    white = "#ffffff"
    draw.ellipse(box(13, 13, 51, 51), outline=white, width=round(5 * unit))  # the globe
    draw.line(box(13, 32, 51, 32), fill=white, width=round(3 * unit))  # the equator
    # The two meridians: the SVG's curves reach 5.25 units either side of the axis.
    draw.ellipse(box(26.75, 13, 37.25, 51), outline=white, width=round(3 * unit))
    small = picture.reduce(_SMOOTH)
    out = io.BytesIO()
    small.save(out, format="PNG")  # optimize=True: 5 ms more for 3% fewer bytes
    return out.getvalue()


def icons(accent: str) -> dict[str, bytes]:
    """Every icon of `ICONS`, by its name under static/."""
    return {name: icon_png(accent, size, rounded=r) for name, (size, r) in ICONS.items()}
