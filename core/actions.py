"""What deskbridge asks a helpdesk to do, and what came of it.

The rules engine produces a :class:`WritePlan` per ticket; connectors translate
its actions into native API calls and answer with a :class:`WriteResult`. The
vocabulary is deliberately small and additive: tags are only added, priority is
only raised, notes are only appended.

Routing targets are *logical names* (``tier2``, ``security``) that each
system's mapping resolves to native ids, except :class:`AssignOwner`, which
carries the Salesforce account owner's e-mail for the connector to resolve.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.model import Priority, System


class _Action(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AssignGroup(_Action):
    """Move the ticket to a group or queue named in the mapping (tier2, security, ...)."""

    kind: Literal["assign_group"] = "assign_group"
    group: str


class AssignOwner(_Action):
    """Assign the ticket to the account owner, resolved by e-mail in the helpdesk."""

    kind: Literal["assign_owner"] = "assign_owner"
    email: str
    name: str | None = None


class AddTags(_Action):
    """Add tags (labels in Jira); never removes any."""

    kind: Literal["add_tags"] = "add_tags"
    tags: tuple[str, ...]


class RaisePriority(_Action):
    """Set a higher priority; connectors refuse to lower one."""

    kind: Literal["raise_priority"] = "raise_priority"
    priority: Priority


class InternalNote(_Action):
    """An internal note (Zendesk private comment, ServiceNow work note, JSM internal comment)."""

    kind: Literal["internal_note"] = "internal_note"
    body: str


class CustomerMessage(_Action):
    """A public reply to the customer (Zendesk public comment, ServiceNow comment, JSM public comment)."""

    kind: Literal["customer_message"] = "customer_message"
    body: str


Action = Annotated[
    AssignGroup | AssignOwner | AddTags | RaisePriority | InternalNote | CustomerMessage,
    Field(discriminator="kind"),
]


class WritePlan(BaseModel):
    """All actions for one ticket, pushed together under one idempotency key.

    ``expected_token`` is the concurrency token the decision was made on; a
    connector that finds the ticket changed since must answer ``conflict``
    rather than overwrite a human's edit.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    system: System
    ticket_id: str
    expected_token: str
    idempotency_key: str  # also written into the helpdesk (note marker / tag) to detect replays
    actions: tuple[Action, ...]


class WriteOutcome(StrEnum):
    applied = "applied"  # every action was written now
    already_applied = "already_applied"  # the marker was found: an earlier attempt landed
    conflict = "conflict"  # the ticket changed since evaluation; re-read and re-plan
    failed = "failed"  # this ticket could not be written; the reason says why


class WriteResult(BaseModel):
    """What happened to one :class:`WritePlan`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    system: System
    ticket_id: str
    idempotency_key: str
    outcome: WriteOutcome
    new_token: str | None = None
    detail: str | None = None
