"""The Jinja environments, what templates may see, and template errors as `file:line: error:`.

Templates and issue files may come from a guest author's pull request, so both are rendered in
Jinja's sandbox (no `__class__`, `__globals__`, underscored attributes, or mutating a value) and
see plain mappings, never the objects behind them: `site` holds the public settings only (no
secret, store, transport or paths), and `issue` the issue's front matter (no file path). An
issue's body is rendered by an environment of its own that has no templates to include at all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import signal
import sys
import threading
import time
from collections.abc import Generator, Iterator, Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Any, NamedTuple, cast

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import generate_lorem_ipsum

from sphere.content.issues import Issue
from sphere.errors import RenderError
from sphere.render.plaintext import wrap
from sphere.settings import Settings

# The settings a template may use. An allowlist, so that a new setting stays private until
# someone decides otherwise (tests/test_email.py checks that every setting is in one list).
PUBLIC_SETTINGS = (
    "name", "tagline", "author", "sender", "reply_to", "contact_email", "website", "phone",
    "postal_address", "base_url", "endpoint_url", "unsubscribe_mailto", "privacy_url",
    "list_id", "language", "cadence_months", "why_you_get_this", "blurb_insights",
    "blurb_roi", "blurb_subscribe", "timezone", "default_image",
)  # fmt: skip
PRIVATE_SETTINGS = (
    "root", "source", "content_dir", "templates_dir", "output_dir", "store", "site",
    "transport", "secret", "send_rate", "send_concurrency", "fixed_today",
    "ses_configuration_set", "send_max_time", "feedback_queue_url", "soft_bounce_limit", "clock",
    "breaker_bounce_rate", "breaker_complaint_rate", "breaker_min_messages", "seed_list",
    "seed_wait", "late_after_days",
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
        is_draft=issue.is_draft,
    )


_OWNERS = {Site.__name__: "site", IssueFields.__name__: "issue"}  # class -> name in templates


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


# What one rendering of a template may take. An issue may come from a guest's pull request, and
# a publish job would otherwise sit for hours on `range()` inside `range()`, or a build exhaust
# the machine's memory on `'a' * 10**9`.
RENDER_SECONDS = 10.0
OUTPUT_LIMIT = 4 * 1024 * 1024  # characters a template may write (a page is ~30 kB)
VALUE_LIMIT = 1024 * 1024  # characters (or items) one `*` may make, and digits one `**`
BODY_LIMIT = 1024 * 1024  # characters an issue's own template may write (as its file may hold)
RANGE_LIMIT = 100_000  # numbers one range() may give (Jinja's own sandbox limit)


class RenderLimit(SecurityError):
    """A template went over its time or output limit, or asked for too large a value."""


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, with arithmetic that cannot make huge values (through the
    sandbox's documented `intercepted_binops` and `call_binop`), a `range` and `lipsum` that
    stop at their limits, and a clock that every call and attribute look-up reads: see
    `render_limited`."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._local = threading.local()
        self.globals["range"] = self._range
        self.globals["lipsum"] = _lipsum

    @property
    def deadline(self) -> float | None:
        return getattr(self._local, "deadline", None)

    @deadline.setter
    def deadline(self, value: float | None) -> None:
        self._local.deadline = value

    def tick(self) -> None:
        """Raise RenderLimit once the render's time is up."""
        deadline = self.deadline
        if deadline is not None and time.monotonic() > deadline:
            raise RenderLimit(f"rendering took over {RENDER_SECONDS:g} s (a loop without end?)")

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        self.tick()
        if operator == "**" and isinstance(left, int | float) and isinstance(right, int | float):
            digits = abs(right) * max(len(str(int(abs(left)))), 1) if abs(left) > 1 else 0
            if digits > VALUE_LIMIT:
                raise RenderLimit(f"{left!r} ** {right!r} is too large a number")
        if operator == "*":
            _check_product(left, right)
        return super().call_binop(context, operator, left, right)

    def call(
        __self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any
    ) -> Any:
        __self.tick()
        return super().call(__context, __obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        self.tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        self.tick()
        return super().getitem(obj, argument)

    def _range(self, *args: int) -> Iterator[int]:
        numbers = range(*args)
        if len(numbers) > RANGE_LIMIT:
            raise RenderLimit(f"range() of {len(numbers)} numbers: at most {RANGE_LIMIT:,}")
        for number in numbers:
            self.tick()
            yield number


def _check_product(left: Any, right: Any) -> None:
    """Refuse a `*` whose result would hold more than VALUE_LIMIT characters, items or digits."""
    sizes = [len(x) if isinstance(x, str | list | tuple) else None for x in (left, right)]
    counts = [x for x in (left, right) if isinstance(x, int) and not isinstance(x, bool)]
    if any(size is not None for size in sizes) and counts:
        size = next(size for size in sizes if size is not None)
        if size * max(counts[0], 0) > VALUE_LIMIT:
            raise RenderLimit(f"a value of {size * counts[0]:,} characters or items is too large")
    elif len(counts) == 2 and left.bit_length() + right.bit_length() > VALUE_LIMIT:
        raise RenderLimit("the product is too large a number")


def _lipsum(n: Any = 5, html: Any = True, min: Any = 20, max: Any = 100) -> Any:  # noqa: A002
    """Jinja's lorem ipsum, with its counts checked: `lipsum(10**9)` would fill the memory."""
    counts = (n, min, max)
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in counts):
        raise RenderLimit("lipsum() takes whole numbers: lipsum(n=5, html=True, min=20, max=100)")
    if not (0 <= n <= 100 and 1 <= min <= max <= 1000):
        raise RenderLimit("lipsum() takes at most 100 paragraphs of 1 to 1,000 words")
    return generate_lorem_ipsum(n=n, html=bool(html), min=min, max=max)


def render_limited(
    template: jinja2.Template,
    context: Mapping[str, Any],
    *,
    limit: int = OUTPUT_LIMIT,
    issues: int = 1,
) -> str:
    """`template` rendered within RENDER_SECONDS and `limit` characters per issue it spans
    (`issues`: the feed holds every one), or RenderLimit.

    The sandbox reads the clock at every call, attribute and loop over `range`; in a main
    thread (each build process, `sphere check`) a timer also stops a loop that does none of
    these (a `for` over a long string inside another).
    """
    env = template.environment
    limited = isinstance(env, LimitedSandbox)
    if isinstance(env, LimitedSandbox):
        env.deadline = time.monotonic() + RENDER_SECONDS * issues
    limit *= issues
    try:
        with _alarm(limited, RENDER_SECONDS * issues):
            parts, size = [], 0
            chunks = cast(Generator[str, None, None], template.generate(context))
            for part in chunks:
                size += len(part)
                if size > limit:
                    # Thrown into the template, so that the error names the line it was on.
                    chunks.throw(RenderLimit(f"the template wrote over {limit:,} characters"))
                parts.append(part)
            return "".join(parts)
    finally:
        if isinstance(env, LimitedSandbox):
            env.deadline = None


@contextlib.contextmanager
def _alarm(armed: bool, seconds: float) -> Iterator[None]:
    """A SIGALRM after RENDER_SECONDS that raises RenderLimit, where signals can be had."""
    if not armed or threading.current_thread() is not threading.main_thread():
        yield
        return
    if signal.getitimer(signal.ITIMER_REAL)[0] > 0:  # someone else's timer: leave it be
        yield
        return

    def stop(_signum: int, _frame: Any) -> None:
        raise RenderLimit(f"rendering took over {RENDER_SECONDS:g} s (a loop without end?)")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds + 1)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def make_environment(
    templates_dir: Path, *, undefined: type[jinja2.Undefined] = jinja2.StrictUndefined
) -> jinja2.Environment:
    """The theme's Jinja: sandboxed, unknown variables are errors, HTML and XML autoescaped."""
    env = LimitedSandbox(loader=_ThemeLoader(templates_dir), undefined=undefined, **THEME_OPTIONS)
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
