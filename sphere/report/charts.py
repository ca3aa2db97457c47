"""Inline SVG charts for the report page: drawn here, styled by the page's CSS (light and dark).

Each chart is a string of SVG with a `viewBox` 400 units wide, so it scales to its column: at
375 px its smallest text is about 10 px, and the page caps a chart's width at 30rem, so that
text never grows past about 15 px. Colours come from classes the page defines (`s-subscribed`,
`threshold`, ...), so the dark scheme needs no second drawing. Every number and name is
escaped; no script, no link.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from sphere.report.data import ListHistory

WIDTH = 400
STACK = ("subscribed", "pending", "unsubscribed", "bounced", "complained")  # bottom to top
MAX_BARS = 36  # months in the joined-and-left chart


@dataclass(frozen=True)
class Threshold:
    """A line a rate should stay under, and who publishes it."""

    rate: float
    label: str


@dataclass(frozen=True)
class RatePanel:
    """One metric across the issues: its title, each issue's rate, its thresholds."""

    key: str
    title: str
    rates: list[tuple[str, float | None]]  # (issue, rate), oldest first
    thresholds: tuple[Threshold, ...]


def count(value: float) -> str:
    """1,234 as `1.2k`, 100,000 as `100k`: short axis labels."""
    if value >= 1_000_000:
        return f"{value / 1_000_000:.3g}M"
    if value >= 1000:
        return f"{value / 1000:.3g}k"
    return f"{value:.0f}"


def percent(rate: float) -> str:
    """0.0049 as `0.49%`: two decimals, as the providers state their limits (0.10%, 0.30%)."""
    return f"{rate:.2%}"


def _nice_step(top: float, ticks: int = 4) -> float:
    """A round step (1, 2 or 5 times a power of ten) that covers `top` in about `ticks`."""
    raw = max(top, 1e-12) / ticks
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1.0, 2.0, 5.0, 10.0) if m * power >= raw)


Scale = Callable[[float], float]


def _line(css: str, x1: float, y1: float, x2: float, y2: float) -> str:
    return f'<line class="{css}" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"/>'


def _rect(css: str, x: float, y: float, width: float, height: float) -> str:
    return (
        f'<rect class="{css}" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}"/>'
    )


def _text(css: str, x: float, y: float, text: str, anchor: str = "start") -> str:
    return (
        f'<text class="{css}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(text)}</text>'
    )


def _open(chart_id: str, height: float, title: str, desc: str) -> list[str]:
    return [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height:.0f}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
    ]


def _month_ticks(months: Sequence[str], x_of: Scale, y: float) -> list[str]:
    """Month labels under the axis: at most five, evenly spread, the last always shown."""
    every = max(1, math.ceil(len(months) / 5))
    shown = [n for n in range(len(months)) if (len(months) - 1 - n) % every == 0]
    return [_text("tick", x_of(n), y, months[n], "middle") for n in shown]


def list_size(history: ListHistory) -> str:
    """A stacked area chart: the list at each month's end, by status."""
    left, right, top, bottom, height = 44, 24, 10, 24, 220  # right: half a month's label
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    months = history.months
    totals = [sum(history.by_status[s][n] for s in STACK) for n in range(len(months))]
    step = _nice_step(max(totals, default=0) or 1)
    peak = step * math.ceil((max(totals, default=0) or 1) / step)
    span = max(len(months) - 1, 1)

    def x_of(n: float) -> float:
        return left + plot_w * (n / span if len(months) > 1 else 0.5)

    def y_of(value: float) -> float:
        return top + plot_h * (1 - value / peak)

    now = ", ".join(f"{history.now(s):,} {s}" for s in STACK)
    parts = _open("size", height, "The list by status, month by month", f"Today: {now}.")
    parts += _grid(step, peak, left, right, y_of)
    base = [0] * len(months)
    for status in STACK:
        upper = [b + v for b, v in zip(base, history.by_status[status], strict=True)]
        points = _band(upper, base, x_of, y_of, single=len(months) == 1, width=plot_w)
        parts.append(f'<polygon class="s-{status}" points="{points}"/>')
        base = upper
    parts += _month_ticks(months, x_of, height - 6)
    parts.append("</svg>")
    return "".join(parts)


def _band(
    upper: list[int], lower: list[int], x_of: Scale, y_of: Scale, *, single: bool, width: float
) -> str:
    """The polygon between two lines (one month: a block across the whole width)."""
    xs = [x_of(n) for n in range(len(upper))]
    if single:
        xs, upper, lower = [xs[0] - width / 2, xs[0] + width / 2], upper * 2, lower * 2
    top = [f"{x:.1f},{y_of(v):.1f}" for x, v in zip(xs, upper, strict=True)]
    under = [f"{x:.1f},{y_of(v):.1f}" for x, v in zip(xs, lower, strict=True)]
    return " ".join(top + under[::-1])


def _grid(step: float, peak: float, left: float, right: float, y_of: Scale) -> list[str]:
    parts = []
    value = 0.0
    while value <= peak + step / 2:
        y = y_of(value)
        parts.append(_line("grid", left, y, WIDTH - right, y))
        parts.append(_text("tick", left - 4, y + 4, count(value), "end"))
        value += step
    return parts


def joined_and_left(history: ListHistory) -> str:
    """Bars per month: who joined above the line; who unsubscribed, and who was removed
    (bounced, complained), below it. The last MAX_BARS months."""
    left, right, top, bottom, height = 44, 24, 10, 24, 200
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    first = max(0, len(history.months) - MAX_BARS)
    months, up = history.months[first:], history.joined[first:]
    unsubscribed, removed = history.unsubscribed[first:], history.removed[first:]
    down = [u + r for u, r in zip(unsubscribed, removed, strict=True)]
    step = _nice_step(max([*up, *down, 1]), ticks=3)
    high = step * math.ceil(max([*up, 1]) / step)
    low = step * math.ceil(max([*down, 0]) / step)
    scale = plot_h / (high + low)
    zero = top + high * scale
    slot = plot_w / len(months)
    bar = max(1.0, slot * 0.7)

    def x_of(n: float) -> float:
        return left + slot * (n + 0.5)

    desc = (
        f"In {months[-1]}: {up[-1]:,} joined, {unsubscribed[-1]:,} unsubscribed, "
        f"{removed[-1]:,} bounced or complained."
    )
    parts = _open("flow", height, "Joined and left, per month", desc)
    for value, y in ((high, top), (0, zero), (low, zero + low * scale)):
        parts.append(_line("grid", left, y, WIDTH - right, y))
        sign = "−" if y > zero and value else ""
        parts.append(_text("tick", left - 4, y + 4, sign + count(value), "end"))
    for n in range(len(months)):
        x = x_of(n) - bar / 2
        for css, y, h in (
            ("bar-joined", zero - up[n] * scale, up[n] * scale),
            ("bar-unsub", zero, unsubscribed[n] * scale),
            ("bar-removed", zero + unsubscribed[n] * scale, removed[n] * scale),
        ):
            if h > 0:
                parts.append(_rect(css, x, y, bar, h))
    parts += _month_ticks(months, x_of, height - 6)
    parts.append("</svg>")
    return "".join(parts)


def rates(panel: RatePanel) -> str:
    """One horizontal bar per issue, with the panel's thresholds as dashed lines."""
    left, right, row = 8, 56, 38
    head = 6 + 14 * len(panel.thresholds)  # room for the thresholds' labels
    height = head + row * max(len(panel.rates), 1) + 6
    plot_w = WIDTH - left - right
    known = [rate for _, rate in panel.rates if rate is not None]
    peak = max([*known, *(t.rate for t in panel.thresholds), 0.001]) * 1.1

    def x_of(rate: float) -> float:
        return left + plot_w * rate / peak

    worst = max(panel.rates, key=lambda item: item[1] or 0.0, default=("", None))
    desc = f"Highest: {worst[0]} at {percent(worst[1])}." if worst[1] is not None else "No data."
    limits = "; ".join(f"{t.label} {percent(t.rate)}" for t in panel.thresholds)
    desc += f" Thresholds: {limits}." if limits else ""
    parts = _open(f"rate-{panel.key}", height, panel.title, desc)
    limit = min((t.rate for t in panel.thresholds), default=math.inf)
    for index, (issue, rate) in enumerate(panel.rates):
        y = head + index * row
        parts.append(_text("label", left, y + 12, _short(issue)))
        if rate is None:
            parts.append(_text("tick", left, y + 30, "not known"))
            continue
        width = max(x_of(rate) - left, 1.0)
        parts.append(_rect("bar-over" if rate >= limit else "bar-rate", left, y + 18, width, 13))
        parts.append(_text("value", left + width + 4, y + 29, percent(rate)))
    for n, threshold in enumerate(panel.thresholds):
        x = x_of(threshold.rate)
        parts.append(_line("threshold", x, 15 + 13 * n, x, height - 4))
        label = f"{threshold.label} {percent(threshold.rate)}"
        anchor = "end" if x > WIDTH / 2 else "start"
        parts.append(_text("threshold-label", x, 11 + 13 * n, label, anchor))
    parts.append("</svg>")
    return "".join(parts)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["RatePanel", "Threshold", "count", "joined_and_left", "list_size", "percent", "rates"]
