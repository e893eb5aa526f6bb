"""What a replay reads and what it answers: inputs per ticket, would-be escalations, the difference.

Plain pydantic models, so ``deskbridge replay --format json`` is a dump and
tests compare whole values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.model import Account, Ticket

Change = Literal["new", "dropped", "earlier", "later", "same"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class ReplayInput(_Model):
    """One stored ticket and what the decision log says happened to it."""

    ticket: Ticket  # the last stored snapshot
    account: Account  # rebuilt from the stored tier and segment (the owner is not stored)
    logged_evaluations: tuple[datetime, ...] = ()  # when deskbridge actually evaluated it
    logged_escalations: tuple[datetime, ...] = ()  # when it actually escalated (escalate = true)
    logged_reasons: tuple[str, ...] = ()  # reason codes of the first logged escalation


class WouldEscalate(_Model):
    """One decision of the replayed policy that escalates (``auto``) or proposes (``propose``)."""

    at: datetime
    mode: Literal["auto", "propose"]
    level: int
    level_name: str
    rule_ids: tuple[str, ...]
    reasons: tuple[str, ...]  # reason codes
    actions: tuple[str, ...]  # e.g. "assign_group tier2", "add_tags sla_at_risk"
    nearest_due_at: datetime | None  # the earliest due time of a running SLA clock at that moment
    first_breach_at: datetime | None  # the ticket's first SLA breach under this policy, if any
    lead_minutes: float | None  # first_breach_at - at: > 0 escalated ahead of the breach


class TicketReplay(_Model):
    """One ticket replayed under one policy."""

    system: str
    ticket_id: str
    key: str
    evaluations: int
    truncated: bool  # stopped at the evaluation limit
    first_breach_at: datetime | None
    escalations: list[WouldEscalate] = Field(default_factory=list)  # inside the window only

    def first(self, mode: str = "auto") -> WouldEscalate | None:
        return next((e for e in self.escalations if e.mode == mode), None)


class TicketDiff(_Model):
    """Where the candidate policy and the policy in force part ways on one ticket (first auto escalations)."""

    system: str
    ticket_id: str
    key: str
    change: Change
    candidate_at: datetime | None
    in_force_at: datetime | None
    logged_at: datetime | None  # what actually happened (decision log)
    delta_minutes: float | None  # candidate - in force
    candidate_reasons: tuple[str, ...] = ()
    in_force_reasons: tuple[str, ...] = ()


class Agreement(_Model):
    """How well the replay of the policy in force matches the decision log: the method's own error bar."""

    both: int  # escalated in the log and in the replay
    only_logged: int
    only_replayed: int
    median_shift_minutes: float | None  # replayed - logged, over ``both``


class ReplaySummary(_Model):
    since: datetime
    until: datetime
    systems: tuple[str, ...]
    candidate_digest: str
    in_force_digest: str
    same_policy: bool
    tickets: int
    evaluations: int
    candidate_escalated: int
    candidate_proposed: int
    in_force_escalated: int
    logged_escalated: int
    changes: dict[str, int]  # Change -> tickets
    median_lead_minutes: float | None  # candidate's first escalations that were followed by a breach
    agreement: Agreement


class ReplayReport(_Model):
    summary: ReplaySummary
    candidate: list[TicketReplay]
    diff: list[TicketDiff]
    limits: list[str]
