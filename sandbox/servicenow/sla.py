"""Native SLAs (``task_sla``) derived from each incident's own history, measured on the 8-5 weekday schedule.

Every incident carries a response and a resolution SLA chosen by its current
priority. The response clock stops at the first customer-visible comment by
anyone but a customer (or at resolution); the resolution clock stops when the
incident is resolved and pauses while it is On Hold (state 3). Values are
computed against the sandbox clock at read time, which is what a real
instance's SLA timer job approximates. deskbridge compares these with its own
clocks, so the rules here are deliberately simple and documented.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sandbox.servicenow import schedule
from sandbox.servicenow.ids import sys_id_for
from sandbox.servicenow.records import Incident

HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class SlaDefinition:
    """A ``contract_sla`` row."""

    sys_id: str
    name: str
    target: str  # "response" | "resolution"
    priority: str  # incident priority value it applies to
    seconds: float  # business seconds on the schedule


def _definitions() -> dict[tuple[str, str], SlaDefinition]:
    # Names as in mapping/servicenow.yaml (sla_definitions). A "day" of an SLA duration is a 24-hour block of
    # schedule time, as on a real instance: "3 day" on an 8-5 schedule is 72 schedule hours (8 business days).
    spans = {("response", "1"): (0.25, "15 minutes"), ("response", "2"): (1, "1 hour"),
             ("resolution", "1"): (4, "4 hour"), ("resolution", "2"): (8, "8 hour"),
             ("resolution", "3"): (72, "3 day"), ("resolution", "4"): (120, "5 day")}
    out = {}
    for (target, priority), (hours, label) in spans.items():
        name = f"Priority {priority} {target} ({label})"
        out[(target, priority)] = SlaDefinition(sys_id_for(f"contract_sla-{name}"), name, target, priority,
                                                hours * HOUR)
    return out


DEFINITIONS = _definitions()


def definitions_for(priority: str) -> list[SlaDefinition]:
    """The SLAs attached to an incident of ``priority``: a response SLA for P1/P2, a resolution SLA for all
    (P5 planning counts as P4)."""
    priority = priority if priority in ("1", "2", "3", "4") else "4"
    return [DEFINITIONS[key] for key in (("response", priority), ("resolution", priority)) if key in DEFINITIONS]


def task_sla_sys_id(incident_sys_id: str, target: str) -> str:
    return sys_id_for(f"task_sla-{incident_sys_id}-{target}")


@dataclass(frozen=True, slots=True)
class SlaClock:
    """One task_sla row's figures at a moment."""

    definition: SlaDefinition
    start: datetime
    stop: datetime | None
    planned_end: datetime
    business_elapsed: float
    calendar_elapsed: float
    business_paused: float
    calendar_paused: float
    paused_since: datetime | None
    breached: bool
    now: datetime

    @property
    def stage(self) -> str:
        if self.stop is not None:
            return "completed"
        if self.paused_since is not None:
            return "paused"
        return "breached" if self.breached else "in_progress"


def _state_timeline(incident: Incident) -> list[tuple[datetime, str]]:
    """(from when, state) pairs, oldest first, rebuilt from the sys_audit rows of ``state``."""
    changes = [row for row in incident.audit if row.fieldname == "state"]
    first = changes[0].oldvalue if changes else incident.state
    timeline = [(incident.opened_at, first or "1")]
    timeline.extend((row.created_on, row.newvalue) for row in changes)
    return timeline


def _pauses(incident: Incident, end: datetime) -> list[tuple[datetime, datetime | None]]:
    """On Hold intervals before ``end``; an open interval (None) means still paused."""
    out: list[tuple[datetime, datetime | None]] = []
    timeline = _state_timeline(incident)
    for (since, state), following in zip(timeline, timeline[1:] + [(None, None)]):
        if state != "3" or since > end:
            continue
        until = following[0]
        out.append((since, None if until is None or until > end else until))
    return out


def _first_response(incident: Incident, is_customer) -> datetime | None:
    for entry in incident.journal:
        if entry.element == "comments" and not is_customer(entry.created_by):
            return entry.created_on
    return None


def clock(incident: Incident, definition: SlaDefinition, now: datetime, is_customer) -> SlaClock:
    """The figures of ``incident``'s SLA ``definition`` at ``now``; ``is_customer(user_name)`` tells authors apart."""
    target = definition.target
    start = incident.opened_at
    stop = incident.resolved_at
    if target == "response":
        responded = _first_response(incident, is_customer)
        if responded is not None and (stop is None or responded < stop):
            stop = responded
    end = max(start, min(stop, now) if stop is not None else now)
    business_paused = calendar_paused = 0.0
    paused_since = None
    if target == "resolution":
        for since, until in _pauses(incident, end):
            close = until or end
            business_paused += schedule.business_seconds(since, close)
            calendar_paused += max(0.0, (close - since).total_seconds())
            if until is None and stop is None:
                paused_since = since
    business_elapsed = max(0.0, schedule.business_seconds(start, end) - business_paused)
    calendar_elapsed = max(0.0, (end - start).total_seconds() - calendar_paused)
    planned_end = schedule.add_business_seconds(start, definition.seconds + business_paused)
    return SlaClock(definition, start, stop, planned_end, business_elapsed, calendar_elapsed, business_paused,
                    calendar_paused, paused_since, business_elapsed > definition.seconds, now)
