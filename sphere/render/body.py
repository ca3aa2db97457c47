"""The sanitised body, adapted to where it is read: an inbox, the archive, a feed reader.

Each works on the sanitiser's output (see sphere.content.elements: its tags are written one
way only), after every reader's adjustments are made.
"""

from __future__ import annotations

import html
import re

from sphere.content.elements import Tag, rewrite

_CODE_BLOCK = re.compile(r"<pre([^>]*)><code([^>]*)>(.*?)</code></pre>", re.DOTALL)
_TABLE = re.compile(r"(<table\b[^>]*>.*?</table>)", re.DOTALL)
_FOOTNOTE_TARGET = re.compile(r'<(li|sup) id="(fn(?:ref)?-[^"]*)"([^>]*)>')
_LOCAL_FRAGMENT = re.compile(r'href="(#[^"]*)"')
_IMAGE = re.compile(r"<img\s")

# Code in the email: a block of its own that wraps anywhere, since Outlook on Windows and
# Samsung Mail ignore `white-space: pre-wrap` and would hold the whole message open at the
# longest line.
EMAIL_CODE_STYLE = (
    "margin:0 0 16px;padding:12px;font-family:Menlo,Consolas,monospace;font-size:14px;"
    "line-height:1.5;word-break:break-all"
)
# A table keeps its numbers and words whole ("652,160", not "65 / 2, / 16 / 0": MJML's text
# cell says `word-break: break-word`), and scrolls sideways when it is wider than a phone. The
# email's column is a table that grows to its widest content, so the box that scrolls needs a
# width of its own: the screen's less the column's padding (552 px where calc() is dropped);
# and it can be focused, so that a keyboard can scroll it (where a client keeps tabindex).
EMAIL_TABLE_WRAPPER = (
    '<div class="sp-scroll" tabindex="0" style="overflow-x:auto;max-width:552px;'
    'max-width:calc(100vw - 48px)">'
)
EMAIL_CELL_STYLE = "word-break:normal"


def for_email(body: str, code_style: str = "") -> str:
    """Code blocks as lines that wrap in every client, tables that keep numbers whole, and
    `name` anchors for footnotes (Gmail drops `id`, so `#fn-1` needs `<a name="fn-1">`)."""
    body = _CODE_BLOCK.sub(lambda match: _email_code(match, code_style), body)
    body = _TABLE.sub(lambda match: f"{EMAIL_TABLE_WRAPPER}{match.group(1)}</div>", body)
    body = rewrite(body, _email_cell)
    return _FOOTNOTE_TARGET.sub(r'<\1 id="\2"\3><a name="\2"></a>', body)


def _email_code(match: re.Match[str], theme_style: str) -> str:
    """One code block as a div of lines: spaces kept (every other one unbreakable, so that
    a line may still wrap there), line breaks as <br>."""
    text = match.group(3).rstrip("\n").replace("\t", "    ")
    lines = [_keep_spaces(line) for line in text.split("\n")]
    style = f"{theme_style};{EMAIL_CODE_STYLE}".strip(";")
    return f'<div class="sp-code" dir="ltr" style="{style}">{"<br>".join(lines)}</div>'


def _keep_spaces(line: str) -> str:
    line = line.replace("  ", "&nbsp; ")
    return "&nbsp;" + line[1:] if line.startswith(" ") else line


def _email_cell(tag: Tag, _open: list[str]) -> Tag | None:
    """Table cells keep words whole; a block of right-to-left text is aligned to its start
    (MJML's text cell says `text-align: left`, which every block would inherit)."""
    changed = None
    if tag.name in ("td", "th"):
        tag.attributes["style"] = f"{EMAIL_CELL_STYLE};{tag.get('style')}".rstrip(";")
        changed = tag
    if tag.get("dir") == "auto" and "text-align" not in tag.get("style"):
        tag.attributes["style"] = f"text-align:start;{tag.get('style')}".rstrip(";")
        changed = tag
    return changed


def for_archive(body: str) -> str:
    """Scrolling tables and code blocks reachable by keyboard (a region a reader can focus
    and scroll with the arrow keys), and images below the first loaded as they come into
    view."""
    images = 0

    def adjust(tag: Tag, _open: list[str]) -> Tag | None:
        nonlocal images
        if tag.name in ("table", "pre") and "tabindex" not in tag.attributes:
            tag.attributes["tabindex"] = "0"
            return tag
        if tag.name == "img":
            images += 1
            if images > 1 and "loading" not in tag.attributes:
                tag.attributes["loading"] = "lazy"
                return tag
        return None

    return rewrite(body, adjust, only=("table", "pre", "img"))


def for_feed(body: str, page_url: str) -> str:
    """Footnote links (`#fn-1`) resolved against the issue's page: in a feed reader they
    would resolve against feed.xml."""
    return _LOCAL_FRAGMENT.sub(lambda m: f'href="{html.escape(page_url)}{m.group(1)}"', body)
