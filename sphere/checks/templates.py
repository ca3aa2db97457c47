"""The email templates: undefined variables, MJML tags mjml-python ignores, the legal footer.

Jinja stops at the first undefined variable. To report every one with its line, the check
renders with `RecordingUndefined`, which notes each use of an undefined value and carries on;
the templates' syntax trees say where each is written, and `find_undeclared_variables` adds
the names in branches no issue reached. An issue's own `{{ ... }}` has an environment of its
own that stays strict, so its typo is the issue's.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import jinja2
from jinja2 import meta, nodes

from sphere.checks.findings import Finding, finding
from sphere.content.issues import Issue
from sphere.mail.message import UNSUBSCRIBE_URL
from sphere.render.email import EMAIL_TEMPLATE, TEXT_TEMPLATE, Renderer
from sphere.render.environment import IssueFields, Site, make_environment
from sphere.render.urls import preview_unsubscribe_url
from sphere.settings import Settings, placeholder_postal_address, setting_line

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
    """A use of an undefined value while rendering a template: `site.fone`, `nowhere`."""

    owner: str | None  # "site" or "issue"; "" for another object; None for a bare name
    name: str
    label: str  # how the finding names it


class RecordingUndefined(jinja2.Undefined):
    """Notes each use of an undefined value and carries on, so that one render finds them all.

    The use's line is found afterwards in the templates' syntax trees (`use_findings`): the
    value itself does not know where it is used.
    """

    uses: ClassVar[list[Use]]

    def _note(self) -> None:
        name = self._undefined_name or "?"
        obj = self._undefined_obj
        if obj is jinja2.utils.missing:
            self.uses.append(Use(None, name, name))
            return
        owner = next((label for cls, label in _OWNERS.items() if type(obj) is cls), None)
        if owner is not None:
            self.uses.append(Use(owner, name, f"{owner}.{name}"))
        elif isinstance(obj, dict):
            self.uses.append(Use("", name, f"{name} (a mapping with no key {name!r})"))
        else:
            self.uses.append(Use("", name, f"{type(obj).__name__}.{name}"))

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
    """A finding at each place in the email templates where a recorded use is written."""
    if not uses:
        return []
    trees = _email_trees(templates_dir)
    found = []
    for use in dict.fromkeys(uses):
        places = [(name, line) for name, tree in trees.items() for line in _lines(tree, use)]
        for name, line in places or [(EMAIL_TEMPLATE, 1)]:
            message = f"undefined template variable {use.label}"
            found.append(finding("template/undefined", templates_dir / name, line, message))
    return found


def _email_trees(templates_dir: Path) -> dict[str, nodes.Template]:
    """The syntax trees of the email templates and of those they extend, include or import."""
    env = make_environment(templates_dir)
    trees: dict[str, nodes.Template] = {}
    waiting = [EMAIL_TEMPLATE, TEXT_TEMPLATE]
    while waiting:
        name = waiting.pop()
        if name in trees or not (templates_dir / name).is_file():
            continue
        trees[name] = env.parse((templates_dir / name).read_text(encoding="utf-8"))
        waiting += [n for n in meta.find_referenced_templates(trees[name]) if n is not None]
    return trees


def _lines(tree: nodes.Template, use: Use) -> list[int]:
    """The lines where `tree` reads `use`: `site.fone`, `site['fone']`, or a bare `fone`."""
    if use.owner is None:
        return [n.lineno for n in tree.find_all(nodes.Name) if n.name == use.name]
    lines = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(node, nodes.Getattr | nodes.Getitem)  # noqa: S101 (for mypy)
        key = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        owner = node.node.name if isinstance(node.node, nodes.Name) else ""
        if key == use.name and (not use.owner or owner == use.owner):
            lines.append(node.lineno)
    return lines


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
    if placeholder_postal_address(address):
        found.append(
            finding(
                "settings/postal-placeholder",
                settings.source,
                setting_line(settings, "postal_address"),
                f"postal_address is still a placeholder ({address!r}): set the sender's real "
                "postal address (`sphere publish` and `sphere send` refuse to send without it)",
            )
        )
    return found


def _footer(path: Path, message: str) -> Finding:
    return finding("template/footer", path, 1, message)
