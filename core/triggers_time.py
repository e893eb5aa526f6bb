"""Triggers that time alone can make true: at risk, breached, inactive.

Each also says when that will happen (``next_change``), so flows know when to
look at a ticket again even if nothing changes in the helpdesk.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator

from core.calendar import utc_iso
from core.facts import Facts
from core.model import Status
from core.policy_sla import BusinessMinutes, TargetName
from core.sla import REACHED_WITHIN_S, ClockState
from core.trigger_base import Finding, Trigger

_ALL_TARGETS = list(TargetName)


class AtRisk(Trigger):
    """A running target has used ``percent_used`` % and/or has at most ``remaining_minutes`` left."""

    trigger: Literal["at_risk"]
    targets: list[TargetName] = Field(default_factory=lambda: list(_ALL_TARGETS))
    percent_used: float | None = Field(default=None, gt=0, le=100)
    remaining_minutes: BusinessMinutes | None = None
    require_both: bool = False

    @model_validator(mode="after")
    def _some_threshold(self) -> AtRisk:
        if self.percent_used is None and self.remaining_minutes is None:
            raise ValueError("at_risk needs percent_used and/or remaining_minutes")
        return self

    def _thresholds(self, target_minutes: int) -> tuple[float, ...]:
        """Minutes used at which each configured threshold is reached."""
        return _thresholds(self.percent_used, self.remaining_minutes, target_minutes)

    def check(self, facts: Facts) -> list[Finding]:
        findings = []
        for target in self.targets:
            clock = facts.clocks.get(target)
            if clock is None or clock.state is not ClockState.running or clock.breached:
                continue
            used = clock.elapsed_seconds + REACHED_WITHIN_S
            reached = [used >= t * 60.0 for t in self._thresholds(clock.target_minutes)]
            if all(reached) if self.require_both else any(reached):
                findings.append(Finding(
                    f"at_risk:{target}",
                    f"{target} is at risk: {clock.percent_used:g}% used, "
                    f"{clock.remaining_minutes:g} business minutes left, due {utc_iso(clock.due_at)}",
                ))
        return findings

    def next_change(self, facts: Facts) -> float | None:
        soonest = None
        for target in self.targets:
            clock = facts.clocks.get(target)
            if clock is None or clock.state is not ClockState.running or clock.breached:
                continue
            thresholds = self._thresholds(clock.target_minutes)
            used = clock.elapsed_seconds + REACHED_WITHIN_S
            pending = [t for t in thresholds if t * 60.0 > used]
            if not pending or (not self.require_both and len(pending) < len(thresholds)):
                continue
            at = facts.when_used(clock, max(pending) if self.require_both else min(pending))
            soonest = at if soonest is None else min(soonest, at)
        return soonest


@lru_cache(maxsize=1024)
def _thresholds(percent_used: float | None, remaining_minutes: int | None, target_minutes: int) -> tuple[float, ...]:
    """The at-risk points of one target (few distinct ones per policy, so worked out once each)."""
    out: list[float] = []
    if percent_used is not None:
        out.append(target_minutes * percent_used / 100.0)
    if remaining_minutes is not None:
        out.append(max(target_minutes - remaining_minutes, 0))
    return tuple(out)


class Breached(Trigger):
    """A target is past its due time and its clock still runs.

    A paused clock (waiting on the customer) does not count unless ``include_paused``;
    with ``include_completed`` a reply that came late counts too.
    """

    trigger: Literal["breached"]
    targets: list[TargetName] = Field(default_factory=lambda: list(_ALL_TARGETS))
    include_paused: bool = False
    include_completed: bool = False

    def _counts(self, state: ClockState) -> bool:
        return (state is ClockState.running or (self.include_paused and state is ClockState.paused)
                or (self.include_completed and state is ClockState.completed))

    def check(self, facts: Facts) -> list[Finding]:
        findings = []
        for target in self.targets:
            clock = facts.clocks.get(target)
            if clock is None or not clock.breached or not self._counts(clock.state):
                continue
            findings.append(Finding(
                f"breached:{target}",
                f"{target} breached at {utc_iso(clock.breached_at)} "
                f"({-clock.remaining_minutes:g} business minutes over)",
            ))
        return findings

    def next_change(self, facts: Facts) -> float | None:
        dues = [
            c.due_at.timestamp()
            for t in self.targets
            if (c := facts.clocks.get(t)) is not None and c.running and not c.breached and c.due_at is not None
        ]
        return min(dues, default=None)


class Inactivity(Trigger):
    """No human update for ``minutes`` business minutes while the ticket waits on support."""

    trigger: Literal["inactivity"]
    minutes: BusinessMinutes
    of: Literal["agent", "public", "any"] = "any"
    calendar: str | None = None  # default: the ticket's SLA calendar
    except_statuses: list[Status] = Field(default_factory=lambda: [Status.pending, Status.on_hold])

    def _applies(self, facts: Facts) -> bool:
        status = facts.ticket.status
        return status.is_open and status not in self.except_statuses

    def check(self, facts: Facts) -> list[Finding]:
        if not self._applies(facts):
            return []
        last = facts.last_activity(self.of)
        calendar = facts.named_calendar(self.calendar)
        idle_s = calendar.business_seconds_between(last.timestamp(), facts.now_ts)
        if idle_s + REACHED_WITHIN_S < self.minutes * 60.0:
            return []
        idle = idle_s / 60.0
        return [Finding("inactivity", f"no {self._who()} update for {idle:.0f} business minutes "
                                      f"(limit {self.minutes}) since {utc_iso(last)}")]

    def _who(self) -> str:
        return {"agent": "agent", "public": "public", "any": "agent or public"}[self.of]

    def next_change(self, facts: Facts) -> float | None:
        if not self._applies(facts):
            return None
        calendar = facts.named_calendar(self.calendar)
        return calendar.add_business_seconds(facts.last_activity(self.of).timestamp(), self.minutes * 60.0)
