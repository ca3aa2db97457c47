"""`sphere check`: deliverability, accessibility and correctness checks on issues and templates.

Every rule has an id and a level (docs/checks.md lists them). Findings print compiler-style,
`file:line: level: rule message`, as GitHub annotations, or as JSON. A broken issue is itself a
finding (`content/invalid`); checking goes on with the others.
"""

from sphere.checks.findings import FORMATS, RULES, Finding, Level, Rule
from sphere.checks.project import CheckReport, check_project, never_sent

__all__ = [
    "FORMATS",
    "RULES",
    "CheckReport",
    "Finding",
    "Level",
    "Rule",
    "check_project",
    "never_sent",
]
