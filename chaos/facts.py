"""What the invariant checks look at after a round has settled: plain data, no I/O.

:mod:`chaos.observe` fills these from the sandbox (admin views and the write
log), the state store and the real engine; :mod:`chaos.invariants` judges
them. Keeping the facts separate lets the checks be tested on hand-made
facts that contain each kind of violation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.actions import AssignGroup, AssignOwner, CustomerMessage, InternalNote
from core.decision import EscalationState
from core.store import DecisionRecord, OutboxEntry, TicketRecord

PROPOSED_PREFIX = "proposed:"  # reason codes of propose-mode rules (core.rules._reasons)


@dataclass(frozen=True)
class Reassignment:
    """A person's reassignment: the ticket's concurrency token right after it, and the write-log
    sequence numbers around it (its writes are the human group/assignee writes in ``(since, until]``)."""

    system: str
    ticket_id: str
    token: str
    since: int
    until: int


@dataclass(frozen=True)
class Expectation:
    """What the real engine says about the ticket as the helpdesk shows it now, from a blank memory.

    ``acting`` maps each auto rule that fires and escalates to the tags it must have added;
    ``proposing`` lists the propose-mode rules that fire; ``informing`` lists the progress-update
    rules that fire (a customer message only: they never escalate, so deskbridge remembers them by
    their cooldown and the last customer message, not as escalations). ``at`` is the instant the
    engine was asked, ``message_interval`` the policy's least time between two customer messages.
    """

    acting: dict[str, tuple[str, ...]] = field(default_factory=dict)
    proposing: tuple[str, ...] = ()
    informing: tuple[str, ...] = ()
    at: datetime | None = None
    message_interval: timedelta = timedelta(0)


@dataclass
class TicketFacts:
    """One helpdesk ticket: as people see it, and everything deskbridge keeps about it."""

    system: str
    ticket_id: str
    view: dict  # the sandbox's neutral view: status, group, assignee, tags, updated_at, comments
    record: TicketRecord | None = None
    state: EscalationState | None = None
    outbox: list[OutboxEntry] = field(default_factory=list)
    decisions: list[DecisionRecord] = field(default_factory=list)
    expected: Expectation | None = None  # None: outside the sync window, or quarantined
    in_window: bool = True  # updated since the first run's start (deskbridge never looks further back)
    quarantined: bool = False

    @property
    def ref(self) -> str:
        return f"{self.system}:{self.ticket_id}"

    @property
    def updated_at(self) -> datetime:
        return datetime.fromisoformat(self.view["updated_at"])

    def landed_steps(self) -> dict[str, OutboxEntry]:
        """Outbox entries known to be in the helpdesk, by idempotency key."""
        return {e.idempotency_key: e for e in self.outbox if e.status.landed}

    def rules_of_step(self, key: str) -> tuple[set[str], set[str]]:
        """(acting, proposing) rule ids of the decisions that planned the step ``key``."""
        acting: set[str] = set()
        proposing: set[str] = set()
        for decision in self.decisions:
            if decision.idempotency_key != key:
                continue
            for reason in decision.reasons:
                code, rule = _reason_parts(reason)
                (proposing if code.startswith(PROPOSED_PREFIX) else acting).add(rule)
        return acting, proposing

    def step_escalates(self, key: str) -> bool:
        return any(d.escalate for d in self.decisions if d.idempotency_key == key)


@dataclass
class Observation:
    """Everything checked after one round: all tickets, the whole write log, the starting tags."""

    now: datetime
    window_start: datetime
    tickets: list[TicketFacts]
    writes: list[dict]  # sandbox write log records: seq, system, ticket_id, kind, actor, at, detail
    baseline_tags: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    reassignments: list[Reassignment] = field(default_factory=list)  # by the simulated people


def plan_routes(entry: OutboxEntry) -> bool:
    return any(isinstance(a, (AssignGroup, AssignOwner)) for a in entry.plan.actions)


def routes_to(entry: OutboxEntry, kind: str, target: str | None) -> bool:
    """True when the step's plan sets the group (``kind`` "group") or owner ("assignee") to ``target``."""
    for action in entry.plan.actions:
        if kind == "group" and isinstance(action, AssignGroup) and action.group == target:
            return True
        if kind == "assignee" and isinstance(action, AssignOwner) and action.email == target:
            return True
    return False


def token_order(system: str, token: str):
    """A sortable form of a concurrency token: ServiceNow's sys_mod_count, otherwise an update instant."""
    if system == "servicenow" and token.isdigit():
        return int(token)
    return datetime.fromisoformat(token)


def plan_writes(entry: OutboxEntry) -> tuple[bool, bool]:
    """(has an internal note, has a customer message)."""
    kinds = {type(a) for a in entry.plan.actions}
    return InternalNote in kinds, CustomerMessage in kinds


def _reason_parts(reason) -> tuple[str, str]:
    if isinstance(reason, dict):
        return str(reason.get("code", "")), str(reason.get("rule_id", ""))
    return str(reason), ""
