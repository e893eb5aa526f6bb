"""What the state store hands back: typed, frozen snapshots of its rows.

Callers never see SQLAlchemy rows; these models are the store's public
vocabulary next to the domain models of core.model and core.actions.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from core.actions import Action, WriteOutcome, WritePlan
from core.model import Priority, Status, System


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TicketRecord(_Record):
    """What the store keeps of one ticket for time-based re-evaluation and metrics."""

    system: System
    ticket_id: str
    key: str
    status: Status
    priority: Priority
    tier: str | None
    segment: str | None
    account_id: str | None
    group_id: str | None
    group_name: str | None
    product_area: str | None
    created_at: AwareDatetime
    updated_at: AwareDatetime  # the ticket's own update time, last seen: de-duplication key
    solved_at: AwareDatetime | None
    first_reply_at: AwareDatetime | None
    reopen_count: int
    reassignment_count: int
    agent_reply_count: int
    concurrency_token: str
    is_open: bool
    next_check_at: AwareDatetime | None
    first_escalated_at: AwareDatetime | None
    breach_times: dict[str, AwareDatetime]  # SLA target -> first time deskbridge saw it breached
    first_seen_at: AwareDatetime  # when deskbridge first stored it
    last_seen_at: AwareDatetime  # when deskbridge last stored it


class StoredState(_Record):
    """The engine's escalation state for one ticket, kept opaque by the store."""

    system: System
    ticket_id: str
    level: int
    document: dict[str, Any]
    updated_at: AwareDatetime


class DecisionRecord(_Record):
    """One evaluation of one ticket, as the decision log keeps it for explain and replay."""

    id: int | None = None  # assigned by the store
    system: System
    ticket_id: str
    evaluated_at: AwareDatetime
    policy_version: str
    policy_hash: str
    escalate: bool
    level: int = 0
    rule_ids: tuple[str, ...] = ()
    reasons: list[Any] = Field(default_factory=list)  # JSON-able reason objects or strings
    inputs: dict[str, Any] = Field(default_factory=dict)  # what the rules saw (JSON-able)
    actions: tuple[Action, ...] = ()
    explanation: str = ""
    run_id: str | None = None
    idempotency_key: str | None = None


class OutboxStatus(StrEnum):
    """Where an outbox entry stands; everything but ``pending`` is an outcome."""

    pending = "pending"
    applied = WriteOutcome.applied.value
    already_applied = WriteOutcome.already_applied.value
    conflict = WriteOutcome.conflict.value
    failed = WriteOutcome.failed.value

    @property
    def landed(self) -> bool:
        """True once the write is known to be in the helpdesk; such entries never change again."""
        return self in (OutboxStatus.applied, OutboxStatus.already_applied)


class OutboxEntry(_Record):
    """A write plan recorded before it is pushed, and what became of it."""

    idempotency_key: str
    system: System
    ticket_id: str
    plan: WritePlan
    status: OutboxStatus
    attempts: int
    created_at: AwareDatetime
    updated_at: AwareDatetime
    detail: str | None


class QuarantineEntry(_Record):
    """A ticket set aside because its payload could not be used."""

    id: int
    system: System
    ticket_id: str
    field: str | None
    reason: str
    payload_excerpt: str | None
    first_seen: AwareDatetime
    last_seen: AwareDatetime
    count: int
    resolved: bool


class RunRecord(_Record):
    """One sync run, with the counts metrics and artifacts report."""

    run_id: str
    system: System
    started_at: AwareDatetime
    finished_at: AwareDatetime | None
    counts: dict[str, Any]


class OpenEscalation(_Record):
    """Another open, escalated ticket of the same account (for the handoff note)."""

    system: System
    ticket_id: str
    key: str
    level: int
    status: Status
    priority: Priority
    first_escalated_at: AwareDatetime | None
