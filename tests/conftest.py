"""Shared fixtures. Fixtures that start real servers live in their own modules, listed here."""

from __future__ import annotations

pytest_plugins = [
    "fixtures_tools",
    "fixtures_project",
    "fixtures_browser",
    "fixtures_preview",
    "fixtures_aws",
    "fixtures_smtp",
    "fixtures_web",
]
