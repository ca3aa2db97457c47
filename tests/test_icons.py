"""The PNG icons: the shipped masks are what sphere/icons/draw.py draws, and an icon in any
colour looks as the globe drawn in that colour by Pillow (the way the build used to make them)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures_project import Result
from PIL import Image, ImageDraw

from sphere import icons
from sphere.icons import draw


@pytest.mark.parametrize("name", sorted(icons.ICONS))
def test_the_shipped_masks_are_what_the_drawing_script_draws(name: str) -> None:
    """Pixel for pixel (the compressed bytes may differ with Pillow's or zlib's version)."""
    size, rounded = icons.ICONS[name]
    with Image.open(Path(icons.__file__).parent / name) as shipped:
        shipped.load()
        with Image.open(io.BytesIO(draw.mask_png(size, rounded=rounded))) as drawn:
            assert (shipped.mode, shipped.size) == (drawn.mode, drawn.size) == ("L", (size, size))
            assert shipped.tobytes() == drawn.tobytes(), "run: python -m sphere.icons.draw"


def _drawn_by_pillow(accent: str, size: int, *, rounded: bool) -> Image.Image:
    """The globe drawn in colour at four times the size and scaled down, in RGBA."""
    big, unit = size * 4, size * 4 / 64
    picture = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    pen = ImageDraw.Draw(picture)
    pen.rounded_rectangle((0, 0, big, big), radius=12 * unit if rounded else 0, fill=accent)
    pen.ellipse([13 * unit, 13 * unit, 51 * unit, 51 * unit], outline="#fff", width=round(5 * unit))
    pen.line([13 * unit, 32 * unit, 51 * unit, 32 * unit], fill="#fff", width=round(3 * unit))
    pen.ellipse(
        [26.75 * unit, 13 * unit, 37.25 * unit, 51 * unit], outline="#fff", width=round(3 * unit)
    )
    return picture.reduce(4)


def _pixels(picture: Image.Image) -> list[tuple[int, ...]]:
    data = picture.tobytes()  # RGBA, a byte each
    return [tuple(data[at : at + 4]) for at in range(0, len(data), 4)]


def _premultiplied(pixel: tuple[int, ...]) -> tuple[int, ...]:
    """What a pixel shows over black: colour weighted by opacity, and the opacity."""
    *rgb, alpha = pixel
    return (*(round(c * alpha / 255) for c in rgb), alpha)


@pytest.mark.parametrize("accent", ["#9b2c2c", "#0B5394", "#abc", "navy", "rgb(10, 200, 30)"])
def test_an_icon_in_any_colour_is_the_globe_drawn_in_it(accent: str) -> None:
    made = icons.icons(icons.colour(accent))
    assert set(made) == set(icons.ICONS)
    for name, (size, rounded) in icons.ICONS.items():
        with Image.open(io.BytesIO(made[name])) as png:
            png.load()
            assert png.format == "PNG" and png.size == (size, size)
            ours = _pixels(png.convert("RGBA"))
        expected = _pixels(_drawn_by_pillow(accent, size, rounded=rounded))
        worst = max(
            abs(a - b)
            for mine, theirs in zip(ours, expected, strict=True)
            for a, b in zip(_premultiplied(mine), _premultiplied(theirs), strict=True)
        )
        assert worst <= 2, (name, worst)


def test_an_icon_is_the_same_bytes_for_the_same_colour() -> None:
    assert icons.icons(icons.colour("#9b2c2c")) == icons.icons(icons.colour("#9B2C2C"))
    assert icons.icons(icons.colour("#9b2c2c")) != icons.icons(icons.colour("#9b2c2d"))


def test_a_see_through_accent_gives_a_see_through_square_under_white_lines() -> None:
    made = icons.icons(icons.colour("#9b2c2c80"))
    with Image.open(io.BytesIO(made["apple-touch-icon.png"])) as png:
        pixels = png.convert("RGBA")
        assert pixels.getpixel((90, 2)) == (0x9B, 0x2C, 0x2C, 0x80)  # the square, half see-through
        assert pixels.getpixel((90, 90)) == (255, 255, 255, 255)  # the equator, white


@pytest.mark.parametrize("accent", ["", "#12345", "red-ish", "#ggg"])
def test_an_accent_that_is_not_a_colour_is_one_line_naming_the_theme(
    project: Path, sphere: Callable[..., Result], accent: str
) -> None:
    theme = project / "templates/email/theme.toml"
    text = theme.read_text(encoding="utf-8")
    theme.write_text(text.replace('accent = "#9b2c2c"', f'accent = "{accent}"'), encoding="utf-8")
    result = sphere("build")
    assert result.status == 1
    assert result.err == (
        f"templates/email/theme.toml: error: [colors].accent: not a colour, got {accent!r}\n"
    )
