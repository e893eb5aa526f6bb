"""The policy prepared for fast evaluation: calendars built, lookups cached per kind of ticket.

Most of what the engine needs depends only on (system, tier, priority,
segment): the SLA row and its calendar, the rules whose scope admits the
ticket, the triggers that time alone can make true. There are few such
combinations, so each is worked out once and reused for every ticket of that
kind, which keeps :func:`core.rules.evaluate` fast over large runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.calendar import ALWAYS_OPEN, BusinessCalendar
from core.model import Priority, Status, System
from core.policy_rules import Rule
from core.policy_sla import TargetName
from core.triggers import AtRisk, Inactivity, timed_leaves

if TYPE_CHECKING:
    from core.policy import Policy

PlanKey = tuple[System, str, Priority, str | None]


@dataclass(frozen=True, slots=True)
class TicketPlan:
    """Everything about the policy that applies to one kind of ticket."""

    minutes: dict[TargetName, int]  # SLA targets; empty when no row matches
    calendar: BusinessCalendar
    has_row: bool
    rules: tuple[Rule, ...]  # rules whose scope admits this kind of ticket, in policy order
    timed: tuple[AtRisk | Inactivity, ...]  # distinct time-driven triggers of those rules


@dataclass(slots=True)
class CompiledPolicy:
    """Built once per loaded policy; cheap to consult per ticket."""

    policy: Policy
    calendars: dict[str, BusinessCalendar]
    pauses: dict[TargetName, frozenset[Status]]
    ladder: tuple[str, ...]
    tiers: frozenset[str]
    digest: str = ""
    _plans: dict[PlanKey, TicketPlan] = field(default_factory=dict)

    @classmethod
    def build(cls, policy: Policy) -> CompiledPolicy:
        return cls(
            policy=policy,
            calendars={name: BusinessCalendar.from_spec(name, spec) for name, spec in policy.calendars.items()},
            pauses={name: frozenset(statuses) for name, statuses in policy.sla.pause.items()},
            ladder=tuple(policy.settings.ladder),
            tiers=frozenset(policy.tiers),
        )

    def plan_for(self, system: System, tier: str, priority: Priority, segment: str | None) -> TicketPlan:
        """The plan for tickets of this kind (worked out on first use)."""
        key = (system, tier, priority, segment)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._make_plan(*key)
        return plan

    def _make_plan(self, system: System, tier: str, priority: Priority, segment: str | None) -> TicketPlan:
        row = self.policy.sla.row_for(tier, priority, segment, system)
        rules = tuple(r for r in self.policy.rules if r.scope.admits(system, tier, priority, segment))
        timed: dict[str, AtRisk | Inactivity] = {}
        for rule in rules:
            for leaf in timed_leaves(rule.when):
                timed.setdefault(leaf.model_dump_json(), leaf)
        if row is None:
            return TicketPlan({}, ALWAYS_OPEN, False, rules, tuple(timed.values()))
        return TicketPlan(row.minutes(), self.calendars[row.calendar], True, rules, tuple(timed.values()))
