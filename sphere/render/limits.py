"""Limits on what one rendering of a template may take: time, output, and the size of values.

An issue (and the theme) may come from a guest's pull request, so every template renders in
`LimitedSandbox`: Jinja's immutable sandbox, through its documented hooks only.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Generator, Iterator, Mapping
from typing import Any, cast

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import generate_lorem_ipsum

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


class _Deadline(threading.local):
    """When the render running in this thread must stop (None: no render is running)."""

    at: float | None = None  # the class's value is every thread's default


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, with arithmetic that cannot make huge values (through the
    sandbox's documented `intercepted_binops` and `call_binop`), a `range` and `lipsum` that
    stop at their limits, and a clock that every call and attribute look-up reads: see
    `render_limited`."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._local = _Deadline()
        self.globals["range"] = self._range
        self.globals["lipsum"] = _lipsum

    @property
    def deadline(self) -> float | None:
        return self._local.at

    @deadline.setter
    def deadline(self, value: float | None) -> None:
        self._local.at = value

    def tick(self) -> None:
        """Raise RenderLimit once the render's time is up."""
        deadline = self._local.at
        if deadline is not None and time.monotonic() > deadline:
            raise RenderLimit(f"rendering took over {RENDER_SECONDS:g} s (a loop without end?)")

    # The hooks below run tens of thousands of times a build (every `.` and `[]` of every
    # template): `tick` inline, and the sandbox's own method named rather than found through
    # super(), halve what the limit adds to Jinja's checks.

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
        deadline = __self._local.at
        if deadline is not None and time.monotonic() > deadline:
            __self.tick()
        return ImmutableSandboxedEnvironment.call(__self, __context, __obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        deadline = self._local.at
        if deadline is not None and time.monotonic() > deadline:
            self.tick()
        return ImmutableSandboxedEnvironment.getattr(self, obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        deadline = self._local.at
        if deadline is not None and time.monotonic() > deadline:
            self.tick()
        return ImmutableSandboxedEnvironment.getitem(self, obj, argument)

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
        with _Alarm(limited, RENDER_SECONDS * issues):
            parts: list[str] = []
            append, size = parts.append, 0
            chunks = cast(Generator[str, None, None], template.generate(context))
            for part in chunks:  # one at a time: the template is stopped where it went over
                size += len(part)
                if size > limit:
                    # Thrown into the template, so that the error names the line it was on.
                    chunks.throw(RenderLimit(f"the template wrote over {limit:,} characters"))
                append(part)
            return "".join(parts)
    finally:
        if isinstance(env, LimitedSandbox):
            env.deadline = None


def _stop(_signum: int, _frame: Any) -> None:
    raise RenderLimit(f"rendering took over {RENDER_SECONDS:g} s (a loop without end?)")


@contextlib.contextmanager
def alarm_handler() -> Iterator[None]:
    """Keep the time limit's SIGALRM handler in place for a while (in a main thread), so that
    each render only sets the timer: installing and restoring the handler around each render
    cost 10 µs, and a build renders three templates an issue. Processes forked meanwhile keep
    it (a build's workers). Whatever handler was there before is put back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGALRM, _stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGALRM, previous)


class _Alarm:
    """A SIGALRM after `seconds` that raises RenderLimit, where signals can be had: a main
    thread, with no one else's timer running. (A class: a generator's context manager cost
    more than the timer.)"""

    __slots__ = ("armed", "previous", "seconds", "swapped")

    def __init__(self, armed: bool, seconds: float):
        self.armed, self.seconds = armed, seconds
        self.swapped = False
        self.previous: Any = None  # the handler to put back

    def __enter__(self) -> None:
        if not self.armed or threading.current_thread() is not threading.main_thread():
            self.armed = False
        elif signal.getitimer(signal.ITIMER_REAL)[0] > 0:
            self.armed = False  # someone else's timer: leave it be
        else:
            if signal.getsignal(signal.SIGALRM) is not _stop:  # not kept by `alarm_handler`
                self.previous, self.swapped = signal.signal(signal.SIGALRM, _stop), True
            signal.setitimer(signal.ITIMER_REAL, self.seconds + 1)

    def __exit__(self, *_exc: object) -> None:
        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            if self.swapped:
                signal.signal(signal.SIGALRM, self.previous)
