"""The email templates: undefined variables, MJML tags mjml-python ignores, the legal footer.

Jinja stops at the first undefined variable. To report every one with its line, the check
renders with `RecordingUndefined`, which notes each use of an undefined value in a template
file and carries on; `find_undeclared_variables` adds the names in branches no issue reached.
An issue's own `{{ ... }}` (a template from a string) stays strict, so its typo is the issue's.
"""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar

import jinja2
from jinja2 import meta, nodes

from sphere.checks.findings import Finding, finding
from sphere.content.issues import Issue
from sphere.mail.message import UNSUBSCRIBE_URL
from sphere.render.email import EMAIL_TEMPLATE, TEXT_TEMPLATE, Renderer
from sphere.render.environment import IssueFields, Site
from sphere.render.urls import preview_unsubscribe_url
from sphere.settings import Settings

# MJML 4 tags that mjml-python (MRML) renders, checked by experiment against mjml-python 1.4:
# any other `mj-` tag in the body is passed through as an unknown HTML element (its layout
# lost, silently), and in the head it is a parse error. mj-html-attributes is not rendered.
MJML_TAGS = frozenset(
    """mjml mj-head mj-body mj-attributes mj-all mj-class mj-breakpoint mj-font mj-preview
    mj-style mj-title mj-raw mj-include mj-accordion mj-accordion-element mj-accordion-title
    mj-accordion-text mj-button mj-carousel mj-carousel-image mj-column mj-divider mj-group
    mj-hero mj-image mj-navbar mj-navbar-link mj-section mj-social mj-social-element
    mj-spacer mj-table mj-text mj-wrapper""".split()  # noqa: SIM905 (a list to read)
)
_MJ_TAG = re.compile(r"<(mj-[a-z0-9-]+|mjml)\b")
EXTRA_NAMES = ("body", "references")  # what the email templates get besides the context
_OWNERS = {Site: "site", IssueFields: "issue"}


@dataclass(frozen=True)
class Use:
    """A use of an undefined value in a template file."""

    template: str
    line: int
    name: str


class RecordingUndefined(jinja2.Undefined):
    """Strict in strings (an issue's body); in template files, notes the use and carries on."""

    uses: ClassVar[list[Use]]

    def _note(self) -> None:
        frame: FrameType | None = sys._getframe(2)
        while frame is not None:
            template = frame.f_globals.get("__jinja_template__")
            if template is not None:
                break
            frame = frame.f_back
        if frame is None or template is None or template.name is None:
            self._fail_with_undefined_error()
        line = template.get_corresponding_lineno(frame.f_lineno)
        self.uses.append(Use(template.name, line, self.describe()))

    def describe(self) -> str:
        name = self._undefined_name or "?"
        obj = self._undefined_obj
        if obj is jinja2.utils.missing:
            return name
        owner = next((label for cls, label in _OWNERS.items() if type(obj) is cls), None)
        if owner is None:
            owner = "a mapping with no key" if isinstance(obj, dict) else type(obj).__name__
            return f"{name} ({owner} {name!r})" if isinstance(obj, dict) else f"{owner}.{name}"
        return f"{owner}.{name}"

    def __str__(self) -> str:
        self._note()
        return ""

    def __iter__(self) -> Iterator[Any]:
        self._note()
        return iter(())

    def __bool__(self) -> bool:
        self._note()
        return False

    def __len__(self) -> int:
        self._note()
        return 0

    def __getattr__(self, name: str) -> Any:
        if name[:2] == "__":
            raise AttributeError(name)
        return self  # `site.a.b`: noted once, where it is used


def new_recorder() -> type[RecordingUndefined]:
    """An Undefined that records uses in a list of its own (one per checker)."""
    return type("Recorder", (RecordingUndefined,), {"uses": []})


def use_findings(uses: list[Use], templates_dir: Path) -> list[Finding]:
    return [
        finding(
            "template/undefined",
            templates_dir / use.template,
            use.line,
            f"undefined template variable {use.name}",
        )
        for use in uses
    ]


def undeclared(renderer: Renderer, issue: Issue) -> list[Finding]:
    """Names the email templates use that nothing defines, even in branches not taken."""
    known = {*renderer.context(issue), *EXTRA_NAMES, *renderer.env.globals}
    found = []
    for name in (EMAIL_TEMPLATE, TEXT_TEMPLATE):
        path = renderer.settings.templates_dir / name
        source = path.read_text(encoding="utf-8")
        tree = renderer.env.parse(source)
        missing = meta.find_undeclared_variables(tree) - known
        for node in tree.find_all(nodes.Name):
            if node.ctx == "load" and node.name in missing:
                found.append(
                    finding(
                        "template/undefined",
                        path,
                        node.lineno,
                        f"undefined template variable {node.name}",
                    )
                )
    return found


def mjml_tags(renderer: Renderer, mjml_source: str) -> list[Finding]:
    """`mj-` tags in the template's MJML that mjml-python would not render."""
    path = renderer.settings.templates_dir / EMAIL_TEMPLATE
    source = path.read_text(encoding="utf-8").splitlines()
    found = []
    for tag in sorted({m.group(1) for m in _MJ_TAG.finditer(mjml_source)} - MJML_TAGS):
        pattern = re.compile(rf"<{re.escape(tag)}\b")
        line = next((n for n, text in enumerate(source, 1) if pattern.search(text)), 1)
        found.append(
            finding(
                "template/mjml-tag",
                path,
                line,
                f"<{tag}> is not an MJML tag mjml-python renders: it would be dropped",
            )
        )
    return found


def footer(settings: Settings, email_html: str, email_text: str) -> list[Finding]:
    """The law (CAN-SPAM, PECR) wants a postal address and a working way to unsubscribe."""
    path = settings.templates_dir / EMAIL_TEMPLATE
    text_path = settings.templates_dir / TEXT_TEMPLATE
    url = preview_unsubscribe_url(settings)
    html_page = email_html.replace(UNSUBSCRIBE_URL, html.escape(url))
    text = email_text.replace(UNSUBSCRIBE_URL, url)
    found = []
    address = settings.postal_address
    if html.escape(address, quote=False) not in html_page and address not in html_page:
        found.append(_footer(path, f"the email has no postal address ({address!r})"))
    if not re.search(rf"""href=["']{re.escape(html.escape(url))}["']""", html_page):
        found.append(_footer(path, "the email has no link to {{ unsubscribe_url }}"))
    if address not in " ".join(text.split()):
        found.append(_footer(text_path, f"the text part has no postal address ({address!r})"))
    if url not in text:
        found.append(_footer(text_path, "the text part does not show {{ unsubscribe_url }}"))
    return found


def _footer(path: Path, message: str) -> Finding:
    return finding("template/footer", path, 1, message)
