"""What the metrics read: one plain record per ticket with its escalation events.

Built from the state store's :class:`~core.store.TicketRecord`, the last
stored :class:`~core.model.Ticket` and the ticket's escalating entries of the
decision log, by :func:`metric_ticket` (pure). Two attributes are read as
they were *before deskbridge acted*, because escalating changes them: the
priority (deskbridge raises it) and the logical group (deskbridge reassigns
it). Both come from the ticket's history: the ``from`` value of deskbridge's
own first change of that field, else the current value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from core.calendar import ALWAYS_OPEN, BusinessCalendar
from core.model import EventKind, Priority, Ticket
from core.store.records import DecisionRecord, TicketRecord

PROPOSED_PREFIX = "proposed:"


def trigger_of(code: str) -> str:
    """``at_risk:resolution`` -> ``at_risk``; ``keyword:outage`` -> ``keyword``."""
    return code.split(":", 1)[0]


@dataclass(frozen=True, slots=True)
class EscalationEvent:
    """One decision that escalated (``auto``) or proposed an escalation (``propose``)."""

    at: datetime
    mode: Literal["auto", "propose"]
    level: int
    rule_ids: tuple[str, ...]
    codes: tuple[str, ...]  # reason codes, without the "proposed:" prefix
    calendar: str | None = None  # the SLA calendar the decision used

    def matches(self, reasons: frozenset[str]) -> bool:
        """No filter, or one of: a reason code, its trigger, or a rule id."""
        if not reasons:
            return True
        return any(c in reasons or trigger_of(c) in reasons for c in self.codes) or any(
            r in reasons for r in self.rule_ids
        )

    @property
    def triggers(self) -> set[str]:
        return {trigger_of(c) for c in self.codes}

    @property
    def keywords(self) -> set[str]:
        return {c.split(":", 1)[1] for c in self.codes if c.startswith("keyword:")}

    def at_risk_targets(self) -> set[str]:
        return {c.split(":", 1)[1] for c in self.codes if c.startswith("at_risk:")}


@dataclass(frozen=True, slots=True)
class MetricTicket:
    """One ticket as the metrics see it."""

    system: str
    ticket_id: str
    key: str
    tier: str
    priority: str  # before deskbridge raised it
    group: str | None  # logical group before deskbridge reassigned it
    product_area: str | None
    account_id: str | None
    created_at: datetime
    ended_at: datetime | None  # solved/closed instant; None while open
    agent_replies: int  # public replies by people
    reassignments: int  # group/assignee changes by people
    breaches: Mapping[str, datetime] = field(default_factory=dict)  # SLA target -> first breach
    sla_targets: frozenset[str] = frozenset()  # targets the ticket's SLA row sets
    calendar: BusinessCalendar = ALWAYS_OPEN
    events: tuple[EscalationEvent, ...] = ()  # oldest first

    @property
    def touches(self) -> int:
        return self.agent_replies + self.reassignments

    def active_between(self, start: datetime, end: datetime) -> bool:
        """Open at some instant of ``[start, end)``: created before its end, not resolved before its start."""
        return self.created_at < end and (self.ended_at is None or self.ended_at >= start)

    def escalations(self, reasons: frozenset[str] = frozenset()) -> list[EscalationEvent]:
        return [e for e in self.events if e.mode == "auto" and e.matches(reasons)]

    def proposals(self, reasons: frozenset[str] = frozenset()) -> list[EscalationEvent]:
        return [e for e in self.events if e.mode == "propose" and e.matches(reasons)]

    def business_minutes(self, start: datetime, end: datetime) -> float:
        """Business minutes on the ticket's SLA calendar."""
        return self.calendar.business_seconds_between(start.timestamp(), end.timestamp()) / 60.0


def escalation_events(decisions: Iterable[DecisionRecord]) -> tuple[EscalationEvent, ...]:
    """The escalating and proposing entries of a ticket's decision log, oldest first."""
    events: list[EscalationEvent] = []
    for d in sorted(decisions, key=lambda d: (d.evaluated_at, d.id or 0)):
        codes = [_code(r) for r in d.reasons]
        calendar = d.inputs.get("sla_calendar")
        mode = d.inputs.get("mode") or ("auto" if d.escalate else "none")
        acting = tuple(c for c in codes if not c.startswith(PROPOSED_PREFIX))
        proposed = tuple(c[len(PROPOSED_PREFIX):] for c in codes if c.startswith(PROPOSED_PREFIX))
        if d.escalate:
            events.append(EscalationEvent(d.evaluated_at, "auto", d.level, d.rule_ids, acting, calendar))
        if proposed or (mode == "propose" and not d.escalate):
            events.append(EscalationEvent(d.evaluated_at, "propose", d.level, d.rule_ids, proposed, calendar))
    return tuple(events)


def _code(reason: Any) -> str:
    return str(reason.get("code", "")) if isinstance(reason, Mapping) else str(reason)


def before_deskbridge(ticket: Ticket | None, kind: EventKind, current: str | None) -> str | None:
    """A field's value before deskbridge first changed it (its history's ``from``), else ``current``."""
    if ticket is None:
        return current
    first = next((e for e in ticket.history if e.kind is kind and e.by_deskbridge), None)
    return first.from_value if first is not None and first.from_value else current


def metric_ticket(
    record: TicketRecord,
    ticket: Ticket | None,
    decisions: Sequence[DecisionRecord],
    policy: Any | None = None,
) -> MetricTicket:
    """One ticket's metric record; ``policy`` (core.policy.Policy) names its SLA targets and calendar."""
    events = escalation_events(decisions)
    priority = before_deskbridge(ticket, EventKind.priority_change, record.priority.value)
    if priority not in Priority.__members__:
        priority = record.priority.value
    group = before_deskbridge(ticket, EventKind.group_change, ticket.group if ticket else record.group_name)
    tier = record.tier or (policy.settings.default_tier if policy is not None else "unknown")
    targets, calendar = _sla_of(policy, record, tier, priority, events)
    return MetricTicket(
        system=record.system.value,
        ticket_id=record.ticket_id,
        key=record.key,
        tier=tier,
        priority=priority,
        group=group,
        product_area=record.product_area,
        account_id=record.account_id,
        created_at=record.created_at,
        ended_at=None if record.is_open else (record.solved_at or record.updated_at),
        agent_replies=record.agent_reply_count,
        reassignments=record.reassignment_count,
        breaches=dict(record.breach_times),
        sla_targets=targets,
        calendar=calendar,
        events=events,
    )


def _sla_of(
    policy: Any | None, record: TicketRecord, tier: str, priority: str, events: Sequence[EscalationEvent]
) -> tuple[frozenset[str], BusinessCalendar]:
    """The SLA targets (rows for the first-seen and the latest priority) and the ticket's calendar."""
    if policy is None:
        return frozenset(record.breach_times), ALWAYS_OPEN
    policy_tier = policy.tier_of(tier)
    rows = [policy.sla.row_for(policy_tier, Priority(p), record.segment, record.system)
            for p in dict.fromkeys((priority, record.priority.value))]  # fmt: skip
    targets = frozenset(t.value for row in rows if row is not None for t in row.minutes())
    named = next((e.calendar for e in events if e.calendar), None) or (rows[0].calendar if rows[0] else None)
    calendar = policy.calendar(named) if named in policy.calendars else ALWAYS_OPEN
    return targets, calendar
