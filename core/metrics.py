"""Escalation metrics: pure computations over :class:`~core.metrics_records.MetricTicket` records.

``compute_metrics(tickets, window, filters, generated_at)`` gives one
:class:`~core.metrics_models.MetricsReport` with a block for all helpdesks and
one per helpdesk, each with the whole window and every period. Nothing here
reads the store or the clock; :mod:`core.metrics_load` builds the records.
The written definitions (numerators, denominators, period membership,
business vs calendar time) are in docs/metrics.md and are what this code does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from core.metrics_models import Filters, MetricsReport, PeriodMetrics, ScopeMetrics
from core.metrics_reasons import reason_trends
from core.metrics_records import MetricTicket
from core.metrics_stats import Ratio, Stat
from core.metrics_window import Period, Window
from core.policy_sla import TargetName

SYSTEMS = ("zendesk", "servicenow", "jira")
_HOUR = 3600.0


def compute_metrics(
    tickets: Sequence[MetricTicket], window: Window, filters: Filters, generated_at: datetime
) -> MetricsReport:
    """Every metric for the tickets the filters admit, across all helpdesks and per helpdesk."""
    kept = [t for t in tickets if filters.admits(t) and t.active_between(window.start, window.end)]
    systems = filters.systems or SYSTEMS
    scopes = [scope_metrics("all", kept, window, filters)]
    scopes += [scope_metrics(s, [t for t in kept if t.system == s], window, filters) for s in systems]
    return MetricsReport(
        generated_at=generated_at, start=window.start, end=window.end, period=window.period,
        filters=filters, scopes=scopes,
    )  # fmt: skip


def scope_metrics(name: str, tickets: Sequence[MetricTicket], window: Window, filters: Filters) -> ScopeMetrics:
    reasons = filters.reason_set
    periods = window.periods()
    whole = period_metrics(tickets, window.whole, reasons, label="window")
    return ScopeMetrics(
        scope=name,
        window=whole,
        periods=[period_metrics(tickets, p, reasons) for p in periods],
        reasons=reason_trends(tickets, window.whole, periods, reasons),
        breach_by_tier=breach_by_tier(tickets, window.whole),
        time_to_escalate_business_minutes=sorted(round(v, 2) for _, v in time_to_escalate(tickets, window.whole,
                                                                                          reasons)),
    )


def period_metrics(
    tickets: Sequence[MetricTicket], period: Period, reasons: frozenset[str] = frozenset(), label: str | None = None
) -> PeriodMetrics:
    """The figures of one period."""
    active = [t for t in tickets if t.active_between(period.start, period.end)]
    escalated = [t for t in active if any(period.contains(e.at) for e in t.escalations(reasons))]
    proposed = [t for t in active if any(period.contains(e.at) for e in t.proposals(reasons))]
    tte = time_to_escalate(tickets, period, reasons)
    resolved = [t for t in tickets if period.contains(t.ended_at)]
    esc, rest = _split_escalated(resolved, reasons)
    return PeriodMetrics(
        label=label or period.label,
        start=period.start,
        end=period.end,
        active=len(active),
        escalated=len(escalated),
        escalation_rate=Ratio.of(len(escalated), len(active)).rate,
        proposed=len(proposed),
        time_to_escalate_minutes=Stat.of([c for c, _ in tte]),
        time_to_escalate_business_minutes=Stat.of([b for _, b in tte]),
        resolved=len(resolved),
        resolution_hours_escalated=Stat.of([_hours(t) for t in esc]),
        resolution_hours_not_escalated=Stat.of([_hours(t) for t in rest]),
        resolution_business_hours_escalated=Stat.of([_business_hours(t) for t in esc]),
        resolution_business_hours_not_escalated=Stat.of([_business_hours(t) for t in rest]),
        touches_escalated=Stat.of([t.touches for t in esc]),
        touches_not_escalated=Stat.of([t.touches for t in rest]),
        breach={target.value: breach_ratio(active, period, target.value) for target in TargetName},
        breach_any=breach_ratio(active, period, None),
        at_risk_breached=at_risk_breached(tickets, period, reasons),
    )


def first_escalation(ticket: MetricTicket, reasons: frozenset[str] = frozenset()) -> datetime | None:
    """The earliest escalation (for one of ``reasons``, when given)."""
    return next((e.at for e in ticket.escalations(reasons)), None)


def time_to_escalate(
    tickets: Sequence[MetricTicket], period: Period, reasons: frozenset[str] = frozenset()
) -> list[tuple[float, float]]:
    """(calendar minutes, business minutes) from creation to first escalation, for first escalations in ``period``."""
    out = []
    for t in tickets:
        first = first_escalation(t, reasons)
        if period.contains(first):
            out.append(((first - t.created_at).total_seconds() / 60.0, t.business_minutes(t.created_at, first)))
    return out


def _split_escalated(
    resolved: Sequence[MetricTicket], reasons: frozenset[str]
) -> tuple[list[MetricTicket], list[MetricTicket]]:
    """Resolved tickets escalated at or before their resolution, and the others."""
    esc, rest = [], []
    for t in resolved:
        first = first_escalation(t, reasons)
        (esc if first is not None and first <= t.ended_at else rest).append(t)
    return esc, rest


def _hours(ticket: MetricTicket) -> float:
    return (ticket.ended_at - ticket.created_at).total_seconds() / _HOUR


def _business_hours(ticket: MetricTicket) -> float:
    return ticket.business_minutes(ticket.created_at, ticket.ended_at) / 60.0


def breach_ratio(active: Sequence[MetricTicket], period: Period, target: str | None) -> Ratio:
    """Tickets whose first breach of ``target`` (any target when None) fell in the period / eligible tickets.

    Eligible: active in the period and the target is one its SLA sets (any SLA target when None),
    plus any ticket that breached it in the period.
    """
    def breached(t: MetricTicket) -> bool:
        times = t.breaches.values() if target is None else [t.breaches[target]] if target in t.breaches else []
        return any(period.contains(at) for at in times)

    def eligible(t: MetricTicket) -> bool:
        return bool(t.sla_targets) if target is None else target in t.sla_targets

    hit = [t for t in active if breached(t)]
    pool = [t for t in active if eligible(t) or breached(t)]
    return Ratio.of(len(hit), len(pool))


def at_risk_breached(tickets: Sequence[MetricTicket], period: Period, reasons: frozenset[str] = frozenset()) -> Ratio:
    """Of the tickets escalated in the period because a target was at risk, those whose target breached anyway.

    A ticket counts as breached when, for a target it was escalated as at risk in the period,
    the first breach of that target came at or after that escalation.
    """
    escalated, breached = 0, 0
    for t in tickets:
        risky = [e for e in t.escalations(reasons) if period.contains(e.at) and e.at_risk_targets()]
        if not risky:
            continue
        escalated += 1
        if any(target in t.breaches and t.breaches[target] >= e.at for e in risky for target in e.at_risk_targets()):
            breached += 1
    return Ratio.of(breached, escalated)


def breach_by_tier(tickets: Sequence[MetricTicket], period: Period) -> dict[str, Ratio]:
    """Per tier: tickets with any first breach in the period / tickets active in it with an SLA."""
    tiers = sorted({t.tier for t in tickets})
    active = [t for t in tickets if t.active_between(period.start, period.end)]
    return {tier: breach_ratio([t for t in active if t.tier == tier], period, None) for tier in tiers}
