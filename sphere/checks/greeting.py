"""`{{ reader.first_name }}` written any other way than on its own.

The issue is rendered once, with `reader.first_name` a placeholder (`%%sphere:first-name%%`)
that each reader's name replaces afterwards (sphere.mail.personalise). So Jinja never sees the
name: `| upper`, `[:3]`, `~ "!"` or `== "there"` work on the placeholder, and the reader
would get `%%SPHERE:FIRST-NAME%%`. The build refuses such output (sphere.render.email); this
rule names the line beforehand, from the body's syntax tree.
"""

from __future__ import annotations

from collections.abc import Iterator

import jinja2
from jinja2 import nodes

from sphere.checks.findings import Finding, finding
from sphere.content.issues import Issue

# Where a bare `{{ reader.first_name }}` still ends up transformed: a `{% filter %}` block, a
# `{% set %}` block, a macro or a `{% call %}` (whose output the caller may filter).
_WRAPPING = (nodes.FilterBlock, nodes.AssignBlock, nodes.Macro, nodes.CallBlock)

MESSAGE = (
    "reader.first_name is a placeholder each reader's name replaces after rendering, so a "
    "filter, test, comparison or slice sees '%%sphere:first-name%%', not the name: write "
    "{{ reader.first_name }} on its own"
)


def first_name_findings(issue: Issue, env: jinja2.Environment) -> list[Finding]:
    """A finding at each line where the body uses `reader` other than as a bare
    `{{ reader.first_name }}` ([] when the body does not parse: that is reported already)."""
    if "reader" not in issue.body:
        return []
    try:
        tree = env.parse(issue.body)
    except jinja2.TemplateSyntaxError:
        return []
    lines = sorted({node.lineno for node in _misused(tree, ())})
    return [
        finding("content/first-name", issue.path, issue.body_line + n - 1, MESSAGE) for n in lines
    ]


def _misused(node: nodes.Node, wrapped: tuple[nodes.Node, ...]) -> Iterator[nodes.Node]:
    """Each `reader` read anywhere but directly in an unwrapped `{{ ... }}`."""
    if isinstance(node, nodes.Output) and not wrapped:
        for expression in node.nodes:
            if not _is_bare_first_name(expression):
                yield from _misused(expression, (node,))
        return
    if isinstance(node, nodes.Name) and node.name == "reader" and node.ctx == "load":
        yield node
        return
    inner = (*wrapped, node) if isinstance(node, _WRAPPING) else wrapped
    for child in node.iter_child_nodes():
        yield from _misused(child, inner)


def _is_bare_first_name(node: nodes.Node) -> bool:
    """`reader.first_name` or `reader["first_name"]`, and nothing around it."""
    target: nodes.Node
    key: object
    if isinstance(node, nodes.Getattr):
        target, key = node.node, node.attr
    elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        target, key = node.node, node.arg.value
    else:
        return False
    return isinstance(target, nodes.Name) and target.name == "reader" and key == "first_name"


__all__ = ["first_name_findings"]
