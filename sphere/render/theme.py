"""The theme: the colours, fonts and inline styles of `templates/email/theme.toml`, which both
the email and the web archive's stylesheet take their colours from."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from sphere.errors import RenderError

THEME = "email/theme.toml"


def load_theme(templates_dir: Path) -> dict[str, Any]:
    """The theme: colours, fonts and the email body's inline styles, which name the colours
    as `{ink}` so that each is defined once."""
    path = templates_dir / THEME
    try:
        theme = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RenderError("theme file not found", path=path) from None
    except tomllib.TOMLDecodeError as error:
        raise RenderError(f"not valid TOML: {error}", path=path) from None
    for table in ("colors", "fonts", "inline"):
        if not isinstance(theme.get(table), dict):
            raise RenderError(f"missing table [{table}]", path=path)
    colors = theme["colors"]

    def colour(match: re.Match[str]) -> str:
        if match.group(1) not in colors:
            raise RenderError(
                f"[inline] names {{{match.group(1)}}}, not a key of [colors]", path=path
            )
        return str(colors[match.group(1)])

    theme["inline"] = {
        tag: _COLOUR_NAME.sub(colour, str(css)) for tag, css in theme["inline"].items()
    }
    return theme


_COLOUR_NAME = re.compile(r"\{(\w+)\}")
