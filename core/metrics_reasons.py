"""Recurring escalation reasons: who and what escalates, per period, and whether it is growing.

For each dimension (the trigger of a reason, the keyword that matched, the
ticket's product area, its account, its tier) and each value, the number of
distinct tickets escalated in a period with that value; a ticket escalated
twice in one period for the same value counts once, and a ticket escalated
for two triggers counts once under each.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from core.metrics_models import REASON_DIMENSIONS, ReasonTrend
from core.metrics_records import EscalationEvent, MetricTicket
from core.metrics_window import Period

NONE_VALUE = "(none)"

Extractor = Callable[[MetricTicket, list[EscalationEvent]], set[str]]

EXTRACTORS: dict[str, Extractor] = {
    "trigger": lambda t, events: set().union(*(e.triggers for e in events)),
    "keyword": lambda t, events: set().union(*(e.keywords for e in events)),
    "product_area": lambda t, events: {t.product_area or NONE_VALUE},
    "account": lambda t, events: {t.account_id or NONE_VALUE},
    "tier": lambda t, events: {t.tier},
}
assert tuple(EXTRACTORS) == REASON_DIMENSIONS


def reason_counts(
    tickets: Sequence[MetricTicket], period: Period, dimension: str, reasons: frozenset[str] = frozenset()
) -> Counter[str]:
    """Distinct tickets escalated in ``period`` per value of ``dimension``."""
    extract = EXTRACTORS[dimension]
    counts: Counter[str] = Counter()
    for t in tickets:
        events = [e for e in t.escalations(reasons) if period.contains(e.at)]
        if events:
            counts.update(extract(t, events))
    return counts


def reason_trends(
    tickets: Sequence[MetricTicket], whole: Period, periods: Sequence[Period], reasons: frozenset[str] = frozenset()
) -> dict[str, list[ReasonTrend]]:
    """Every dimension's values, most frequent over the window first, with per-period counts."""
    out: dict[str, list[ReasonTrend]] = {}
    for dimension in REASON_DIMENSIONS:
        totals = reason_counts(tickets, whole, dimension, reasons)
        per_period = [reason_counts(tickets, p, dimension, reasons) for p in periods]
        rows = []
        for value, total in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])):
            counts = [c[value] for c in per_period]
            last = counts[-1] if counts else 0
            previous = counts[-2] if len(counts) >= 2 else None
            change = last - previous if previous is not None else None
            rows.append(ReasonTrend(value=value, total=total, by_period=counts, previous=previous, last=last,
                                    change=change))
        out[dimension] = rows
    return out
