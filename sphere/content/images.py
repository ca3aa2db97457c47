"""Local images: where an issue's image path leads, the pixel size of PNG and JPEG files (read
from their headers), and the smaller copies that are published in place of large originals.

`find_image` is the one rule for an image path, used by the build (which stops at a problem)
and by `sphere check` (which reports it under its own rule).
"""

from __future__ import annotations

import io
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

IMAGE_TYPES = (".png", ".jpg", ".jpeg")
DENSITY = 2  # copies are made for screens of two device pixels to the CSS pixel
_COPY = re.compile(r"(.+)\.(\d+)w(\.(?:png|jpe?g))", re.IGNORECASE)


@dataclass(frozen=True)
class LocalImage:
    """An image file under content/, and its size."""

    path: Path
    src: str  # relative to content/, as published with the archive: images/chart.png
    width: int
    height: int


@dataclass(frozen=True)
class ImageProblem:
    """Why an image path cannot be used: `kind` is missing (or outside content/) or format."""

    kind: Literal["missing", "format"]
    message: str


def is_local(src: str) -> bool:
    """A path to a file of the project, not a URL (remote images are `sphere check`'s)."""
    return bool(src) and not urlsplit(src).scheme and not src.startswith(("/", "//"))


def find_image(content_dir: Path, src: str) -> LocalImage | ImageProblem:
    """Resolve `src` (written relative to content/ or to an issue) to a PNG or JPEG file
    under content/. A symbolic link is followed only to a file inside content/."""
    relative = unquote(src).removeprefix("./").removeprefix("../")
    root = content_dir.resolve()
    try:
        path = (root / relative).resolve()
        inside = path.is_relative_to(root)
        found = inside and path.is_file()
        size = image_size(path) if found and path.suffix.lower() in IMAGE_TYPES else None
    except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13)
        return ImageProblem("missing", f"image {src!r} cannot be read (a symbolic link loop?)")
    if not inside:
        return ImageProblem("missing", f"image {src!r} is outside content/")
    if not found:
        return ImageProblem("missing", f"image {src!r} not found (looked for {path})")
    if size is None:
        return ImageProblem("format", f"image {src!r} is not a PNG or JPEG file")
    return LocalImage(path, path.relative_to(root).as_posix(), *size)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"  # how every PNG file starts
# JPEG start-of-frame markers carry the size; the others (DHT, DAC, JPG) share the range.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of a PNG or JPEG file, or None when it is neither or is damaged."""
    with path.open("rb") as stream:
        head = stream.read(26)
        if head.startswith(PNG_SIGNATURE) and head[12:16] == b"IHDR":
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


def published_name(src: str, image_width: int, shown_width: int) -> str:
    """What the archive and the email call `src` shown `shown_width` px wide: a copy
    `name.1104w.png` sized for the column at DENSITY when the original is wider than that
    (a 2400 px hero shown at 552 px is four times the bytes a phone needs), else `src`."""
    wanted = shown_width * DENSITY
    if image_width <= wanted:
        return src
    stem, dot, suffix = src.rpartition(".")
    return f"{stem}.{wanted}w{dot}{suffix}"


def original_of(name: str) -> tuple[str, int | None]:
    """The original's path for a published name, and the copy's width (None: the original)."""
    match = _COPY.fullmatch(name)
    if match is None:
        return name, None
    return match.group(1) + match.group(3), int(match.group(2))


def resized(path: Path, width: int) -> bytes:
    """The PNG or JPEG at `path` scaled to `width` px wide, in its own format, without its
    metadata (a phone's EXIF can say where a picture was taken)."""
    from PIL import Image as Pillow  # only a build with large images needs it

    with Pillow.open(path) as picture:
        height = max(1, round(picture.height * width / picture.width))
        copy = picture.resize((width, height), Pillow.Resampling.LANCZOS)
        out = io.BytesIO()
        if picture.format == "JPEG":
            copy.convert("RGB").save(out, format="JPEG", quality=85, optimize=True)
        else:
            copy.save(out, format="PNG", optimize=True)
    return out.getvalue()
