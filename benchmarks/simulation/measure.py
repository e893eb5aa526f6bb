"""Breach measurement with deskbridge's own SLA clocks, the same way in every arm.

A target counts as breached for a ticket when :func:`core.sla.compute_clocks`
reports it breached at any checkpoint: just before every agent reply (which
catches each next-response cycle and each periodic-update gap before the reply
closes it) and at the end of the run. The SLA row is the one of the ticket's
tier and the priority it arrived with; a target counts in the denominator once
its clock has started.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from benchmarks.simulation.tickets import SimTicket, at
from core.model import Priority, System
from core.policy import Policy
from core.policy_sla import TargetName
from core.sla import ClockState, compute_clocks

TARGETS = tuple(t.value for t in TargetName)


class SlaMeter:
    """Checkpoints tickets against the policy's SLA rows (arrival priority)."""

    def __init__(self, policy: Policy):
        self.policy = policy
        self._rows: dict[tuple, tuple] = {}
        self.checkpoints = 0

    def _row(self, ticket: SimTicket) -> tuple:
        spec = ticket.spec
        segment = spec.account.segment if spec.account else None
        key = (spec.tier, spec.priority, segment, spec.system)
        if key not in self._rows:
            row = self.policy.sla.row_for(spec.tier, Priority(spec.priority), segment, System(spec.system))
            self._rows[key] = (row.minutes(), self.policy.calendar(row.calendar))
        return self._rows[key]

    def checkpoint(self, ticket: SimTicket, ts: float) -> tuple:
        """Record every target breached by ``ts``; returns the clocks."""
        minutes, calendar = self._row(ticket)
        clocks = compute_clocks(ticket.measured(), minutes, calendar, self.policy.pauses, at(ts))
        self.checkpoints += 1
        for clock in clocks:
            if clock.breached and clock.target.value not in ticket.breached:
                ticket.breached[clock.target.value] = clock.breached_at.timestamp() if clock.breached_at else ts
        return clocks

    def started_targets(self, ticket: SimTicket, ts: float) -> set[str]:
        """The targets that apply to the ticket and whose clock had started by ``ts`` (the final checkpoint)."""
        return {c.target.value for c in self.checkpoint(ticket, ts) if c.state is not ClockState.not_started
                or c.target.value in ticket.breached}


@dataclass
class ArmResult:
    """What one arm did to the same arrivals."""

    name: str
    tickets: int = 0
    solved: int = 0
    breached_tickets: int = 0
    by_target: dict[str, list[int]] = field(default_factory=lambda: {t: [0, 0] for t in TARGETS})  # [breached, of]
    by_tier: dict[str, list[int]] = field(default_factory=dict)  # tier -> [tickets with a breach, tickets]
    by_tier_target: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    escalations: Counter[str] = field(default_factory=Counter)
    first_reply_minutes: list[float] = field(default_factory=list)
    resolution_hours: list[float] = field(default_factory=list)
    utilisation: dict[str, float] = field(default_factory=dict)
    engine: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0

    def rate(self, breached: int, of: int) -> float:
        return breached / of if of else 0.0


def summarize(name: str, tickets: list[SimTicket], meter: SlaMeter, end: float, last_arrival: float) -> ArmResult:
    """Aggregate the breaches of tickets that arrived within the workload's days (checked at ``end``)."""
    result = ArmResult(name)
    for ticket in tickets:
        if ticket.spec.arrive > last_arrival:
            continue
        started = meter.started_targets(ticket, end)
        tier = ticket.spec.tier
        result.tickets += 1
        result.solved += ticket.solved_at is not None
        breached = bool(ticket.breached)
        result.breached_tickets += breached
        counts = result.by_tier.setdefault(tier, [0, 0])
        counts[0] += breached
        counts[1] += 1
        for target in started:
            hit = target in ticket.breached
            result.by_target[target][0] += hit
            result.by_target[target][1] += 1
            cell = result.by_tier_target.setdefault((tier, target), [0, 0])
            cell[0] += hit
            cell[1] += 1
        if ticket.first_reply_at is not None:
            result.first_reply_minutes.append((ticket.first_reply_at - ticket.spec.arrive) / 60.0)
        if ticket.solved_at is not None:
            result.resolution_hours.append((ticket.solved_at - ticket.spec.arrive) / 3600.0)
    return result
