"""The shape of a metrics report: what the CLI prints, the artifact and the HTML page show.

Pydantic models, so ``--format json`` is ``report.model_dump_json()`` and a
report round-trips unchanged. Definitions of every figure: docs/metrics.md.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from core.metrics_records import MetricTicket
from core.metrics_stats import Ratio, Stat

REASON_DIMENSIONS = ("trigger", "keyword", "product_area", "account", "tier")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Filters(_Model):
    """Which tickets and escalations a report counts; an empty list means no filter."""

    systems: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()  # reason code, trigger or rule id

    def admits(self, ticket: MetricTicket) -> bool:
        """Ticket-level filters (the reason filter selects escalations, not tickets)."""
        return (
            (not self.systems or ticket.system in self.systems)
            and (not self.tiers or ticket.tier in self.tiers)
            and (not self.priorities or ticket.priority in self.priorities)
            and (not self.groups or ticket.group in self.groups)
        )

    @property
    def reason_set(self) -> frozenset[str]:
        return frozenset(self.reasons)

    def describe(self) -> str:
        parts = [f"{name}={','.join(values)}" for name, values in self.model_dump().items() if values]
        return "; ".join(parts) or "none"


class PeriodMetrics(_Model):
    """Every figure for one period (or for the whole window)."""

    label: str
    start: datetime
    end: datetime
    active: int
    escalated: int
    escalation_rate: float | None
    proposed: int
    time_to_escalate_minutes: Stat
    time_to_escalate_business_minutes: Stat
    resolved: int
    resolution_hours_escalated: Stat
    resolution_hours_not_escalated: Stat
    resolution_business_hours_escalated: Stat
    resolution_business_hours_not_escalated: Stat
    touches_escalated: Stat
    touches_not_escalated: Stat
    breach: dict[str, Ratio]  # SLA target -> tickets first breached in the period / eligible active tickets
    breach_any: Ratio
    at_risk_breached: Ratio  # at-risk escalations whose target still breached / at-risk escalations


class ReasonTrend(_Model):
    """How many escalated tickets had this reason value, per period, and the last change."""

    value: str
    total: int
    by_period: list[int]
    previous: int | None  # the period before the last
    last: int
    change: int | None  # last - previous


class ScopeMetrics(_Model):
    """One helpdesk, or ``all`` of them."""

    scope: str
    window: PeriodMetrics
    periods: list[PeriodMetrics]
    reasons: dict[str, list[ReasonTrend]]  # dimension -> values, most frequent first
    breach_by_tier: dict[str, Ratio]  # over the window, any target
    time_to_escalate_business_minutes: list[float] = Field(default_factory=list)  # the sample, for charts


class MetricsReport(_Model):
    """A whole report: the window, the filters, and one block per scope (``all`` first)."""

    generated_at: datetime
    start: datetime
    end: datetime
    period: str
    filters: Filters
    scopes: list[ScopeMetrics]

    def scope(self, name: str) -> ScopeMetrics:
        return next(s for s in self.scopes if s.scope == name)
