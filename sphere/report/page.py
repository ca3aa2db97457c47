"""The report as one self-contained HTML page (inline CSS and SVG; no script, no request), and
the per-issue table as Markdown (for the CI job summary).

Every value that is not a number of ours (a slug, a subject, a newsletter name) is escaped.
The page's Content-Security-Policy forbids scripts and every fetch, so even a copy opened
from an artifact cannot reach out.
"""

from __future__ import annotations

from html import escape

from sphere.report.charts import RatePanel, Threshold, joined_and_left, list_size, percent, rates
from sphere.report.data import ReportData
from sphere.results import IssueResult

# What the mailbox providers and SES publish (docs/report.md has the sources).
BOUNCE_LIMITS = (Threshold(0.05, "SES review"), Threshold(0.10, "SES pause"))
COMPLAINT_LIMITS = (Threshold(0.001, "Gmail aim"), Threshold(0.003, "Gmail/Yahoo limit"))
# Legends: the CSS colour variable of each series, and its name.
LEGEND = {status: status for status in ("subscribed", "pending", "unsubscribed", "bounced",
                                         "complained")}  # fmt: skip
FLOW_LEGEND = {"joined": "joined", "unsubscribed": "unsubscribed",
               "bounced": "bounced or complained"}  # fmt: skip

CSS = """
:root { color-scheme: light dark; --fg: #1d2430; --muted: #5b6575; --bg: #ffffff;
  --card: #f3f5f8; --line: #d5dae2; --subscribed: #2f6fb3; --pending: #8fb8e3;
  --unsubscribed: #b9c0ca; --bounced: #d08a2c; --complained: #c0392b; --joined: #2e8b57;
  --rate: #2f6fb3; --over: #c0392b; --threshold: #7a4fb5; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e9ee; --muted: #a3acb9; --bg: #14181e; --card: #1f252d; --line: #39414d;
    --subscribed: #6aa7e8; --pending: #3d5f85; --unsubscribed: #56606d; --bounced: #e0a14a;
    --complained: #ff6b5e; --joined: #5cc08a; --rate: #6aa7e8; --over: #ff6b5e;
    --threshold: #b692ea; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 64rem; margin: 0 auto; padding: 1rem; } p, .cards { max-width: 46rem; }
h1 { font-size: 1.5rem; margin: 0.5rem 0 0; } h2 { font-size: 1.2rem; margin: 2rem 0 0.5rem; }
h3 { font-size: 1rem; margin: 1.25rem 0 0.25rem; }
p, figcaption, .note { color: var(--muted); } .note { font-size: 0.875rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(8rem, 1fr)); gap: 0.5rem;
  padding: 0; list-style: none; }
.cards li { background: var(--card); border-radius: 0.5rem; padding: 0.5rem 0.75rem; }
.cards b { display: block; font-size: 1.25rem; font-variant-numeric: tabular-nums; }
figure { margin: 0.5rem 0 1rem; } figcaption { font-size: 0.875rem; }
.chart { width: 100%; max-width: 30rem; height: auto; display: block; }
.legend { display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; padding: 0; margin: 0.25rem 0;
  list-style: none; font-size: 0.875rem; }
.legend span { display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.3em;
  border-radius: 2px; vertical-align: -0.05em; }
.chart text { fill: var(--fg); font-size: 13px; font-family: inherit; }
.chart .tick { fill: var(--muted); font-size: 12px; } .chart .value { font-size: 12px; }
.chart .grid { stroke: var(--line); stroke-width: 0.5; }
.s-subscribed { fill: var(--subscribed); } .s-pending { fill: var(--pending); }
.s-unsubscribed { fill: var(--unsubscribed); } .s-bounced { fill: var(--bounced); }
.s-complained { fill: var(--complained); } .bar-joined { fill: var(--joined); }
.bar-unsub { fill: var(--unsubscribed); } .bar-removed { fill: var(--bounced); }
.bar-rate { fill: var(--rate); } .bar-over { fill: var(--over); }
.threshold { stroke: var(--threshold); stroke-width: 1; stroke-dasharray: 3 2; }
.chart .threshold-label { fill: var(--threshold); font-size: 11.5px; }
table { border-collapse: collapse; width: 100%; font-size: 0.875rem;
  font-variant-numeric: tabular-nums; }
th, td { padding: 0.3rem 0.5rem; white-space: nowrap; border-bottom: 1px solid var(--line);
  text-align: right; }
th:first-child, td:first-child { text-align: left; white-space: normal; min-width: 9rem; }
th { white-space: normal; vertical-align: bottom; }
.table { overflow-x: auto; } td small { display: block; color: var(--muted); }
@media (max-width: 60rem) {
  thead { display: none; }
  table, tbody, tr, td { display: block; width: 100%; }
  tr { background: var(--card); border-radius: 0.5rem; margin: 0 0 0.5rem; padding: 0.25rem 0; }
  td { display: flex; align-items: baseline; gap: 1rem; border: 0; text-align: right; }
  td::before { content: attr(data-label); color: var(--muted); text-align: left;
    margin-right: auto; }
  td small { display: inline; margin-left: 0.4em; }
  td:first-child { font-weight: 600; } td:first-child::before { content: none; }
}
"""


def _legend(items: dict[str, str]) -> str:
    entries = "".join(
        f'<li><span style="background: var(--{colour})"></span>{escape(label)}</li>'
        for colour, label in items.items()
    )
    return f'<ul class="legend">{entries}</ul>'


Cell = tuple[str, str]  # a count, and its share of the messages sent ("" for none)


def _rate_cell(value: int | None, rate: float | None) -> Cell:
    if value is None:
        return "–", ""
    return f"{value:,}", percent(rate) if rate is not None and value else ""


def _plain(text: str) -> Cell:
    return text, ""


COLUMNS = (
    "Issue", "Started", "Recipients", "Sent", "Failed", "Unknown", "Delivered", "Hard bounces",
    "Soft bounces", "Complaints", "Unsubscribed",
)  # fmt: skip


def table_rows(issues: list[IssueResult]) -> list[list[Cell]]:
    """The per-issue table as text cells, newest first (the page and the job summary)."""
    rows = []
    for result in reversed(issues):
        fb, rate = result.feedback, result.rates()
        delivered = fb.delivered if fb.delivery_events else None
        rows.append([
            _plain(result.issue), _plain(result.started[:10]), _plain(f"{result.recipients:,}"),
            _plain(f"{result.accepted:,}"), _plain(f"{result.failed:,}"),
            _plain(f"{result.unknown:,}"),
            _rate_cell(delivered, rate["delivered"]),
            _rate_cell(fb.bounced_hard, rate["bounced_hard"]),
            _rate_cell(fb.bounced_soft, rate["bounced_soft"]),
            _rate_cell(fb.complained, rate["complained"]),
            _rate_cell(fb.unsubscribed, rate["unsubscribed"]),
        ])  # fmt: skip
    return rows


def markdown(data: ReportData) -> str:
    """The per-issue table as GitHub Markdown, for `$GITHUB_STEP_SUMMARY`."""
    lines = [f"## {_md(data.newsletter)}: issues sent", ""]
    if not data.issues:
        return "\n".join([*lines, "No issue has been sent yet.", ""])
    lines.append("| " + " | ".join(COLUMNS) + " |")
    lines.append("|" + "|".join([":---", ":---", *["---:"] * (len(COLUMNS) - 2)]) + "|")
    for row in table_rows(data.issues):
        cells = (value + (f" ({share})" if share else "") for value, share in row)
        lines.append("| " + " | ".join(map(_md, cells)) + " |")
    subscribed = data.history.now("subscribed")
    lines += ["", f"{subscribed:,} subscribed now. Rates are shares of the messages sent.", ""]
    return "\n".join(lines)


def _md(text: str) -> str:
    """A table cell's text with Markdown's and HTML's special characters made inert."""
    return escape(text).replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")


def _panels(issues: list[IssueResult]) -> list[RatePanel]:
    def of(name: str) -> list[tuple[str, float | None]]:
        return [(result.issue, result.rates()[name]) for result in issues]

    return [
        RatePanel("bounces", "Hard bounces", of("bounced_hard"), BOUNCE_LIMITS),
        RatePanel("complaints", "Complaints (marked as spam)", of("complained"), COMPLAINT_LIMITS),
        RatePanel("unsubscribes", "Unsubscribed through the issue's links", of("unsubscribed"), ()),
    ]


def html(data: ReportData) -> str:
    """The whole page."""
    history, name = data.history, escape(data.newsletter)
    cards = "".join(
        f"<li><b>{history.now(status):,}</b>{escape(status)}</li>"
        for status in ("subscribed", "pending", "unsubscribed", "bounced", "complained")
    )
    body = [
        f"<header><p>{name}</p><h1>Subscribers and issues</h1>",
        f'<p class="note">Made {escape(data.generated)} from the subscriber list and the '
        "campaigns' ledgers and feedback. Counts only: no address, no opens, no clicks.</p>"
        "</header>",
        f'<section aria-label="The list today"><ul class="cards">{cards}</ul></section>',
        "<section><h2>The list over time</h2>",
        f"<figure>{list_size(history)}<figcaption>{_legend(LEGEND)}At each month's end, by "
        "status (rebuilt from each record's creation and last change).</figcaption></figure>",
        f"<h2>Joined and left</h2><figure>{joined_and_left(history)}<figcaption>"
        f"{_legend(FLOW_LEGEND)}Per month: joined above the line, left below it.</figcaption>"
        "</figure></section>",
        _issues_section(data.issues),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        '<meta name="referrer" content="no-referrer">'
        f"<title>{name}: subscribers and issues</title><style>{CSS}</style></head>"
        f"<body><main>{''.join(body)}</main></body></html>\n"
    )


def _issues_section(issues: list[IssueResult]) -> str:
    if not issues:
        return "<section><h2>Issues</h2><p>No issue has been sent yet.</p></section>"
    panels = "".join(
        f"<h3>{escape(panel.title)}</h3><figure>{rates(panel)}</figure>"
        for panel in _panels(issues)
    )
    head = "".join(f'<th scope="col">{escape(column)}</th>' for column in COLUMNS)
    rows = "".join(
        "<tr>"
        + "".join(
            f'<td data-label="{escape(column)}">{escape(value)}'
            + (f"<small>{escape(share)}</small>" if share else "")
            + "</td>"
            for column, (value, share) in zip(COLUMNS, row, strict=True)
        )
        + "</tr>"
        for row in table_rows(issues)
    )
    return (
        "<section><h2>Issues</h2>"
        "<p>Each issue's rates are shares of the messages sent (accepted). Bars in red are at "
        "or over the first threshold. Gmail and Yahoo ask bulk senders to keep complaints "
        "under 0.1% and never to reach 0.3%; SES reviews an account at 5% bounces or 0.1% "
        "complaints. No provider publishes a limit for unsubscribes.</p>"
        f'{panels}<h3>Every issue</h3><div class="table"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table></div></section>"
    )


__all__ = ["COLUMNS", "html", "markdown", "table_rows"]
