"""The Jinja environments, what templates may see, and template errors as `file:line: error:`.

Templates and issue files may come from a guest author's pull request, so both are rendered in
Jinja's sandbox (no `__class__`, `__globals__`, underscored attributes, or mutating a value) and
see plain mappings, never the objects behind them: `site` holds the public settings only (no
secret, store, transport or paths), and `issue` the issue's front matter (no file path). An
issue's body is rendered by an environment of its own that has no templates to include at all.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Any, NamedTuple

import jinja2
from jinja2.exceptions import SecurityError

from sphere.content.issues import Issue
from sphere.errors import RenderError
from sphere.render.limits import BODY_LIMIT as BODY_LIMIT
from sphere.render.limits import LimitedSandbox, RenderLimit
from sphere.render.limits import render_limited as render_limited
from sphere.render.plaintext import wrap
from sphere.settings import Settings

# The settings a template may use. An allowlist, so that a new setting stays private until
# someone decides otherwise (tests/test_email.py checks that every setting is in one list).
PUBLIC_SETTINGS = (
    "name", "tagline", "author", "sender", "reply_to", "contact_email", "website", "phone",
    "postal_address", "base_url", "endpoint_url", "unsubscribe_mailto", "privacy_url",
    "list_id", "language", "cadence_months", "why_you_get_this", "blurb_insights",
    "blurb_roi", "blurb_subscribe", "timezone", "default_image", "greeting_fallback", "search",
)  # fmt: skip
PRIVATE_SETTINGS = (
    "root", "source", "content_dir", "templates_dir", "output_dir", "store", "site",
    "transport", "secret", "send_rate", "send_concurrency", "fixed_today",
    "ses_configuration_set", "send_max_time", "feedback_queue_url", "soft_bounce_limit", "clock",
    "breaker_bounce_rate", "breaker_complaint_rate", "breaker_min_messages", "seed_list",
    "seed_wait", "late_after_days", "from_env", "send_time",
)  # fmt: skip
DERIVED_SETTINGS = ("website_label", "sender_name")  # properties of Settings


class Link(NamedTuple):
    """A piece of text and where it links to ("" for none)."""

    text: str
    url: str


class Site(dict[str, Any]):
    """The newsletter's public settings, as every template sees them (`site.phone`)."""

    __slots__ = ()


class IssueFields(dict[str, Any]):
    """An issue's front matter and slug, as every template sees them (`issue.title`)."""

    __slots__ = ()


def site_fields(settings: Settings) -> Site:
    """A plain mapping of the public settings: nothing in it leads to the secret or a file."""
    names = (*PUBLIC_SETTINGS, *DERIVED_SETTINGS)
    fields = Site({name: getattr(settings, name) for name in names})
    # "email me" needs an address: the reply-to's when no contact address is set.
    fields["contact_email"] = settings.contact_email or parseaddr(settings.reply_to)[1]
    fields["contact"] = contact_line(settings)
    return fields


def contact_line(settings: Settings) -> tuple[Link, ...]:
    """The footers' `author : phone : website` line, built once for the email's HTML and text
    and the archive: the author, then the phone and website that are set, with their links."""
    parts = [Link(settings.author, "")]
    if settings.phone:
        parts.append(Link(settings.phone, f"tel:{tel(settings.phone)}"))
    if settings.website:
        parts.append(Link(settings.website_label, settings.website))
    return tuple(parts)


def issue_fields(issue: Issue) -> IssueFields:
    """A plain mapping of what templates may know of an issue (not its path on disk)."""
    return IssueFields(
        slug=issue.slug,
        title=issue.title,
        date=issue.date,
        summary=issue.summary,
        subject=issue.subject,
        status=issue.status,
        image=issue.image,
        image_alt=issue.image_alt,
        is_draft=issue.is_draft,
    )


class Reader(dict[str, Any]):
    """Who an email goes to, as an issue sees them (`reader.first_name`): placeholders that
    each recipient's own values replace (sphere.mail.personalise), never a real name."""

    __slots__ = ()


class Latest(dict[str, Any]):
    """The newest published issue, as the welcome email sees it (`latest.title`, `latest.url`)."""

    __slots__ = ()


def reader_fields() -> Reader:
    """`reader` for the email: filled per recipient, or with the fallback where nobody is
    addressed (the archive, the feed, previews)."""
    from sphere.mail.message import FIRST_NAME

    return Reader(first_name=FIRST_NAME)


# class -> name in templates
_OWNERS = {
    Site.__name__: "site",
    IssueFields.__name__: "issue",
    Reader.__name__: "reader",
    Latest.__name__: "latest",
}


class _ThemeLoader(jinja2.FileSystemLoader):
    """Templates from the theme's folder, and only from there: a symbolic link that leads
    elsewhere (a key file, say, in a guest's pull request) is refused."""

    def __init__(self, templates_dir: Path):
        super().__init__(templates_dir)
        self.root = templates_dir.resolve()

    def get_source(self, environment: jinja2.Environment, template: str) -> Any:
        source = super().get_source(environment, template)
        if not Path(source[1]).resolve().is_relative_to(self.root):
            raise jinja2.TemplateNotFound(
                template, f"template {template!r} is a link to a file outside templates/"
            )
        return source


# How the theme's templates are parsed and escaped (benchmarks/sandbox.py builds an unsandboxed
# twin from the same options, to measure what the sandbox costs).
THEME_OPTIONS: dict[str, Any] = {
    "autoescape": jinja2.select_autoescape(
        enabled_extensions=("html.j2", "mjml.j2", "xml.j2", "html", "xml"),
        default_for_string=False,
    ),
    "keep_trailing_newline": True,
    "trim_blocks": True,
    "lstrip_blocks": True,
    "auto_reload": False,
    # Jinja's optimiser folds constant expressions at compile time: it saves nothing a theme
    # can notice at render time and costs 5 ms of the 20 a build spends compiling templates.
    "optimized": False,
}


def make_environment(
    templates_dir: Path,
    *,
    undefined: type[jinja2.Undefined] = jinja2.StrictUndefined,
    compiled: Path | None = None,
) -> jinja2.Environment:
    """The theme's Jinja: sandboxed, unknown variables are errors, HTML and XML autoescaped.

    `compiled`: a private folder (this run's own, made by it) where the templates' compiled code
    is kept, so that the build's other processes load what one of them compiled. Never a folder
    that outlives the run: code is run from it, outside the sandbox.
    """
    cache = jinja2.FileSystemBytecodeCache(str(compiled)) if compiled is not None else None
    loader = _ThemeLoader(templates_dir)
    env = LimitedSandbox(loader=loader, undefined=undefined, bytecode_cache=cache, **THEME_OPTIONS)
    env.filters.update(FILTERS)
    return env


class _NoTemplates(jinja2.BaseLoader):
    """An issue's body includes, imports and extends nothing."""

    def get_source(self, _environment: jinja2.Environment, template: str) -> Any:
        raise jinja2.TemplateNotFound(template)


def make_body_environment(
    *, undefined: type[jinja2.Undefined] = jinja2.StrictUndefined
) -> jinja2.Environment:
    """The Jinja an issue's body is rendered with: sandboxed, no autoescape (it is Markdown,
    escaped by Markdown), and no templates to reach."""
    env = LimitedSandbox(loader=_NoTemplates(), undefined=undefined, keep_trailing_newline=True)
    env.filters.update(FILTERS)
    return env


# What an author's or a theme's expression can raise besides Jinja's own errors: `1/0`,
# `range(10**9)` (OverflowError), a macro that calls itself, a filter given the wrong type.
TEMPLATE_FAILURES: tuple[type[BaseException], ...] = (
    jinja2.TemplateError, ArithmeticError, LookupError, TypeError, ValueError, RecursionError,
    MemoryError, AttributeError,
)  # fmt: skip


def template_error(error: BaseException, templates_dir: Path, name: str) -> RenderError:
    """A Jinja error in a theme template as `template:line: error: message`."""
    if isinstance(error, jinja2.TemplateNotFound) and not isinstance(
        error, jinja2.TemplatesNotFound
    ):
        said = str(error.message or "")
        return RenderError(
            said if said.startswith("template ") else f"template {error.name!r} not found",
            path=templates_dir / name,
            line=template_line(error, name),
        )
    line = getattr(error, "lineno", None) or template_line(error, name)
    template_name = getattr(error, "name", None) or name
    return RenderError(message(error), path=templates_dir / template_name, line=line)


def message(error: BaseException) -> str:
    """What went wrong, in a template's own terms (`site.phone`, not 'Site object')."""
    if not isinstance(error, jinja2.TemplateError):
        return _failure(error)
    text = str(error.message or error)
    if isinstance(error, RenderLimit):
        return text
    if isinstance(error, SecurityError):
        return f"not allowed in a template: {text}"
    if isinstance(error, jinja2.TemplateNotFound):
        return f"an issue cannot include, import or extend templates ({error.name!r})"
    if isinstance(error, jinja2.UndefinedError):
        named = re.match(r"'[\w.]*?(\w+) object' has no (?:attribute|element) '(\w+)'", text)
        if named:
            owner = _OWNERS.get(named.group(1), named.group(1))
            hint = ""
            if owner == "site" and named.group(2) in PRIVATE_SETTINGS:
                hint = " (templates see only the public settings)"
            return f"undefined template variable {owner}.{named.group(2)}{hint}"
        return f"undefined template variable: {text}"
    return text


def _failure(error: BaseException) -> str:
    if isinstance(error, RecursionError):
        return "a macro calls itself without end"
    if isinstance(error, MemoryError):
        return "the template asked for more memory than there is"
    text = str(error) or type(error).__name__
    return f"the template's expression failed: {text} ({type(error).__name__})"


def template_line(error: BaseException, name: str) -> int | None:
    """The line Jinja was rendering when it failed, from the traceback it rewrites."""
    line = None
    traceback = error.__traceback__ or sys.exc_info()[2]
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if filename.endswith(name) or filename == "<template>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def longdate(value: dt.date) -> str:
    """1 December 2026: the British form, no locale needed."""
    return f"{value.day} {value:%B %Y}"


def isodate(value: dt.date) -> str:
    """Midnight UTC of the date, as RFC 3339 (Atom and sitemaps want a time)."""
    return f"{value.isoformat()}T00:00:00Z"


def tel(value: str) -> str:
    """A phone number as a tel: URI: +44 (0)7747 624560 -> +447747624560."""
    return re.sub(r"[^\d+]", "", value.replace("(0)", ""))


FILTERS: Mapping[str, Any] = {
    "longdate": longdate,
    "tel": tel,
    "wrap": wrap,
    "isodate": isodate,
}
