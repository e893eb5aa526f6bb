"""The static HTML report: one self-contained page (inline CSS and SVG, no script, no network).

``render_html(report)`` turns a :class:`~core.metrics_models.MetricsReport`
into a page with four charts (escalation rate over time, SLA breach rate by
tier, reasons breakdown, time-to-escalate distribution) and the tables behind
them. It opens from ``file://`` in any browser; nothing is fetched.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from core.metrics_models import MetricsReport, ScopeMetrics
from core.metrics_tables import duration, number, percent
from core.report_svg import Bar, bar_chart, hbar_chart, line_chart

# Business minutes, [low, high): the time-to-escalate histogram's bins.
TTE_BINS: tuple[tuple[float, float, str], ...] = (
    (0, 15, "<15m"), (15, 30, "15-30m"), (30, 60, "30m-1h"), (60, 120, "1-2h"), (120, 240, "2-4h"),
    (240, 480, "4-8h"), (480, 960, "8-16h"), (960, math.inf, "16h+"),
)  # fmt: skip
CHARTS = ("escalation-rate", "breach-by-tier", "reasons-by-trigger", "time-to-escalate")

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px auto; max-width: 1240px;
       color: #111827; background: #f9fafb; padding: 0 16px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; }
.meta { color: #4b5563; font-size: 14px; margin-bottom: 16px; }
.cards { display: grid; grid-template-columns: repeat(6, 1fr); gap: 12px; }
.card { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 12px; }
.card .label { color: #6b7280; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .figure { font-size: 26px; font-weight: 600; margin-top: 4px; }
.card .detail { color: #6b7280; font-size: 12px; }
.charts { display: grid; grid-template-columns: repeat(2, 1fr); gap: 16px; }
.panel { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 8px; }
svg.chart { width: 100%; height: auto; }
svg .chart-title { font-size: 15px; font-weight: 600; fill: #111827; }
svg .axis { font-size: 11px; fill: #4b5563; } svg .value { font-size: 11px; fill: #111827; }
svg .empty { font-size: 14px; fill: #9ca3af; }
svg .grid { stroke: #e5e7eb; stroke-width: 1; } svg .series { fill: none; stroke-width: 2.5; }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: 13px; }
th, td { border: 1px solid #e5e7eb; padding: 6px 8px; text-align: right; }
th { background: #f3f4f6; } .text { text-align: left; }
footer { color: #6b7280; font-size: 12px; margin-top: 24px; }
"""


def tte_histogram(minutes: Sequence[float]) -> list[Bar]:
    """Count of first escalations per business-time bin."""
    return [Bar(label, sum(1 for m in minutes if low <= m < high)) for low, high, label in TTE_BINS]


def escalation_rate_chart(report: MetricsReport) -> str:
    scopes = [s for s in report.scopes if s.window.active]
    labels = [p.label for p in report.scopes[0].periods]
    series = {s.scope: [p.escalation_rate for p in s.periods] for s in scopes}
    return line_chart("escalation-rate", f"Escalation rate per {report.period}", labels, series)


def breach_by_tier_chart(scope: ScopeMetrics) -> str:
    bars = [Bar(tier, r.rate or 0.0, f"{r.numerator}/{r.denominator}")
            for tier, r in scope.breach_by_tier.items() if r.denominator]  # fmt: skip
    return bar_chart("breach-by-tier", "SLA breach rate by tier (any target)", bars)


def reasons_chart(scope: ScopeMetrics, period: str, top: int = 8) -> str:
    rows = scope.reasons["trigger"][:top]
    bars = [Bar(r.value, r.total, "" if r.change is None else f"({r.change:+d} in the last {period})")
            for r in rows]  # fmt: skip
    return hbar_chart("reasons-by-trigger", "Escalated tickets by reason (trigger)", bars)


def tte_chart(scope: ScopeMetrics) -> str:
    samples = scope.time_to_escalate_business_minutes
    return bar_chart("time-to-escalate", "Time to escalate (business time on the ticket's SLA calendar)",
                     tte_histogram(samples) if samples else [], percent=False)


def _card(label: str, figure: str, detail: str = "") -> str:
    return (f'<div class="card"><div class="label">{escape(label)}</div><div class="figure">{escape(figure)}</div>'
            f'<div class="detail">{escape(detail)}</div></div>')  # fmt: skip


def summary_cards(scope: ScopeMetrics) -> str:
    w = scope.window
    tte = w.time_to_escalate_business_minutes
    cards = [
        _card("Active tickets", str(w.active), f"{w.resolved} resolved"),
        _card("Escalated", str(w.escalated), f"{w.proposed} proposed"),
        _card("Escalation rate", percent(w.escalation_rate), "escalated / active"),
        _card("Time to escalate", duration(tte.median), f"median business; p90 {duration(tte.p90)}"),
        _card("Any SLA breached", percent(w.breach_any.rate), f"{w.breach_any.numerator} of {w.breach_any.denominator}"),
        _card("At-risk, still breached", f"{w.at_risk_breached.numerator} of {w.at_risk_breached.denominator}",
              percent(w.at_risk_breached.rate)),
    ]  # fmt: skip
    return f'<div class="cards">{"".join(cards)}</div>'


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], text_columns: int = 1) -> str:
    """A plain table; the first ``text_columns`` are left-aligned text, the rest figures."""
    def cell(tag: str, i: int, value: str) -> str:
        return f'<{tag} class="text">{escape(value)}</{tag}>' if i < text_columns else f"<{tag}>{escape(value)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def scopes_table(report: MetricsReport) -> str:
    targets = [t for t, r in report.scopes[0].window.breach.items() if r.denominator]  # targets some SLA sets
    rows = []
    for s in report.scopes:
        w = s.window
        rows.append([
            s.scope, str(w.active), str(w.escalated), percent(w.escalation_rate),
            duration(w.time_to_escalate_business_minutes.median), duration(w.time_to_escalate_minutes.median),
            f"{number(w.resolution_hours_escalated.median)} / {number(w.resolution_hours_not_escalated.median)}",
            f"{number(w.touches_escalated.mean)} / {number(w.touches_not_escalated.mean)}",
            *(percent(w.breach[t].rate) for t in targets), percent(w.breach_any.rate),
        ])  # fmt: skip
    headers = ["scope", "active", "escalated", "rate", "to escalate (business, median)",
               "to escalate (calendar, median)", "resolution h esc. / not", "touches esc. / not",
               *(f"{t} breached" for t in targets), "any breached"]  # fmt: skip
    return _table(headers, rows)


def reasons_table(scope: ScopeMetrics, top: int = 5) -> str:
    rows = [[dimension, r.value, str(r.total), number(r.previous), str(r.last),
             "-" if r.change is None else f"{r.change:+d}"]
            for dimension, values in scope.reasons.items() for r in values[:top]]  # fmt: skip
    headers = ["dimension", "value", "escalated tickets", "previous period", "last period", "change"]
    return _table(headers, rows, text_columns=2)


def render_html(report: MetricsReport, title: str = "deskbridge escalation report") -> str:
    """The whole page."""
    overall = report.scopes[0]
    charts = [escalation_rate_chart(report), breach_by_tier_chart(overall), reasons_chart(overall, report.period),
              tte_chart(overall)]
    panels = "".join(f'<div class="panel">{chart}</div>' for chart in charts)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{escape(title)}</h1>
<div class="meta">{report.start:%Y-%m-%d %H:%M} to {report.end:%Y-%m-%d %H:%M} UTC, per {escape(report.period)};
filters: {escape(report.filters.describe())}; generated {report.generated_at:%Y-%m-%d %H:%M} UTC</div>
{summary_cards(overall)}
<h2>Charts (all helpdesks)</h2>
<div class="charts">{panels}</div>
<h2>By helpdesk</h2>
{scopes_table(report)}
<h2>Recurring reasons</h2>
{reasons_table(overall)}
<footer>Definitions of every figure: docs/metrics.md. Built by deskbridge from its state store; no data leaves
this file.</footer>
</body></html>
"""
