"""A metrics report as flat rows and markdown: for CSV, the Prefect table artifact and the run markdown.

One row per scope and period (plus a ``window`` row per scope), with stable
column names; figures are plain numbers (rates as fractions, durations in
minutes or hours as the column name says) so spreadsheets can compute on them.
"""

from __future__ import annotations

from typing import Any

from core.metrics_models import MetricsReport, PeriodMetrics
from core.policy_sla import TargetName

COLUMNS = (
    "scope", "period", "start", "end", "active", "escalated", "escalation_rate", "proposed",
    "tte_median_min", "tte_p90_min", "tte_business_median_min", "tte_business_p90_min",
    "resolved", "resolution_h_median_escalated", "resolution_h_median_not_escalated",
    "resolution_business_h_median_escalated", "resolution_business_h_median_not_escalated",
    "touches_mean_escalated", "touches_mean_not_escalated",
    *(f"breach_rate_{t.value}" for t in TargetName), "breach_rate_any",
    "at_risk_escalated", "at_risk_still_breached",
)  # fmt: skip


def period_row(scope: str, p: PeriodMetrics) -> dict[str, Any]:
    """One scope's figures for one period, flat."""
    row: dict[str, Any] = {
        "scope": scope, "period": p.label, "start": p.start.isoformat(), "end": p.end.isoformat(),
        "active": p.active, "escalated": p.escalated, "escalation_rate": p.escalation_rate, "proposed": p.proposed,
        "tte_median_min": p.time_to_escalate_minutes.median, "tte_p90_min": p.time_to_escalate_minutes.p90,
        "tte_business_median_min": p.time_to_escalate_business_minutes.median,
        "tte_business_p90_min": p.time_to_escalate_business_minutes.p90,
        "resolved": p.resolved,
        "resolution_h_median_escalated": p.resolution_hours_escalated.median,
        "resolution_h_median_not_escalated": p.resolution_hours_not_escalated.median,
        "resolution_business_h_median_escalated": p.resolution_business_hours_escalated.median,
        "resolution_business_h_median_not_escalated": p.resolution_business_hours_not_escalated.median,
        "touches_mean_escalated": p.touches_escalated.mean,
        "touches_mean_not_escalated": p.touches_not_escalated.mean,
    }  # fmt: skip
    row |= {f"breach_rate_{target}": ratio.rate for target, ratio in p.breach.items()}
    row |= {"breach_rate_any": p.breach_any.rate, "at_risk_escalated": p.at_risk_breached.denominator,
            "at_risk_still_breached": p.at_risk_breached.numerator}  # fmt: skip
    return {column: row.get(column) for column in COLUMNS}


def report_rows(report: MetricsReport, *, periods: bool = True) -> list[dict[str, Any]]:
    """Every scope's window row, followed by its period rows when ``periods``."""
    rows = []
    for scope in report.scopes:
        rows.append(period_row(scope.scope, scope.window))
        if periods:
            rows += [period_row(scope.scope, p) for p in scope.periods]
    return rows


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def duration(minutes: float | None) -> str:
    """``95`` -> ``1h 35m``; days for long spans."""
    if minutes is None:
        return "-"
    total = round(minutes)
    days, rest = divmod(total, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {mins:02d}m" if hours else f"{mins}m"


def number(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def to_markdown(report: MetricsReport, title: str = "deskbridge escalation metrics", top: int = 5) -> str:
    """The report as ops read it in the Prefect UI: scopes, breaches and the top reasons."""
    lines = [
        f"# {title}",
        f"{report.start:%Y-%m-%d %H:%M} to {report.end:%Y-%m-%d %H:%M} UTC, per {report.period}; "
        f"filters: {report.filters.describe()}",
        "",
        "| scope | active | escalated | rate | time to escalate (business, median / p90) | any SLA breached "
        "| at-risk escalations still breached |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in report.scopes:
        w = s.window
        tte = w.time_to_escalate_business_minutes
        lines.append(
            f"| {s.scope} | {w.active} | {w.escalated} | {percent(w.escalation_rate)} "
            f"| {duration(tte.median)} / {duration(tte.p90)} | {percent(w.breach_any.rate)} "
            f"| {w.at_risk_breached.numerator} of {w.at_risk_breached.denominator} |"
        )
    overall = report.scopes[0]
    lines += ["", "## SLA breach rate per target (all helpdesks)", "", "| target | breached | eligible | rate |",
              "|---|---|---|---|"]  # fmt: skip
    lines += [f"| {t} | {r.numerator} | {r.denominator} | {percent(r.rate)} |" for t, r in overall.window.breach.items()]
    lines += ["", "## Recurring reasons (all helpdesks)", "",
              "| dimension | value | escalated tickets | previous period | last period | change |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for dimension, rows in overall.reasons.items():
        for r in rows[:top]:
            change = "-" if r.change is None else f"{r.change:+d}"
            previous = "-" if r.previous is None else str(r.previous)
            lines.append(f"| {dimension} | {r.value} | {r.total} | {previous} | {r.last} | {change} |")
    return "\n".join(lines)
