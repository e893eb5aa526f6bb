"""The normalized ticket model that all three helpdesks feed.

Connectors translate native payloads into these models; everything after the
connectors (enrichment, SLA clocks, rules, notes, metrics) reads only these.
All instants are timezone-aware UTC datetimes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class System(StrEnum):
    """A helpdesk deskbridge pulls tickets from and pushes escalations to."""

    zendesk = "zendesk"
    servicenow = "servicenow"
    jira = "jira"


class Status(StrEnum):
    """Normalized ticket status; each mapping file maps native statuses onto these."""

    new = "new"
    open = "open"
    pending = "pending"
    on_hold = "on_hold"
    solved = "solved"
    closed = "closed"

    @property
    def is_open(self) -> bool:
        """Open in the SLA sense: someone still owes the customer something."""
        return self not in (Status.solved, Status.closed)


class Priority(StrEnum):
    """Normalized priority, ordered low < normal < high < urgent."""

    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"

    @property
    def rank(self) -> int:
        """Position in the order, so that 'raise, never lower' is a comparison."""
        return _PRIORITY_ORDER.index(self)


_PRIORITY_ORDER = [Priority.low, Priority.normal, Priority.high, Priority.urgent]


class Role(StrEnum):
    """Who wrote a comment or made a change."""

    customer = "customer"
    agent = "agent"
    system = "system"


# Values the state store keeps in sized columns (core/store/tables.py). A payload carrying a longer
# one fails here, inside the normalizer, so that ticket is quarantined instead of the store's
# transaction failing for the whole page (PostgreSQL refuses over-long varchar values).
Ref = Annotated[str, Field(max_length=128)]
AccountRef = Annotated[str, Field(max_length=64)]
DisplayName = Annotated[str, Field(max_length=255)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Comment(_Frozen):
    """One entry of the ticket's conversation, as plain text."""

    id: str
    author_id: str | None = None
    author_name: str | None = None
    role: Role
    public: bool
    body: str
    created_at: AwareDatetime
    # True when deskbridge itself wrote it (recognised by its marker): an echo,
    # never human activity.
    by_deskbridge: bool = False


class EventKind(StrEnum):
    """The history events the engine and the handoff note care about."""

    created = "created"
    status_change = "status_change"
    group_change = "group_change"
    assignee_change = "assignee_change"
    priority_change = "priority_change"
    reopen = "reopen"


class HistoryEvent(_Frozen):
    """A change to the ticket, from audits, journals or the changelog."""

    kind: EventKind
    at: AwareDatetime
    from_value: str | None = None
    to_value: str | None = None
    actor_id: str | None = None
    actor_role: Role | None = None
    by_deskbridge: bool = False


class NativeSla(_Frozen):
    """An SLA the helpdesk itself keeps (JSM SLA fields, ServiceNow task_sla).

    deskbridge computes its own clocks too and reports disagreements rather than
    silently trusting either.
    """

    name: str
    target: str | None = None  # first_response | next_response | resolution | None if unknown
    started_at: AwareDatetime | None = None
    due_at: AwareDatetime | None = None
    completed_at: AwareDatetime | None = None
    breached: bool = False
    paused: bool = False
    remaining_seconds: float | None = None
    source: str  # "jsm" | "task_sla" | ...


class Ticket(_Frozen):
    """A support ticket, normalized from whichever helpdesk it lives in."""

    # identity
    system: System
    id: Ref  # native id: Zendesk ticket id, ServiceNow sys_id, Jira issue id
    key: Ref  # what humans say: "#123", "INC0010001", "SUP-42"
    url: str | None = None

    # content and classification
    subject: str = ""
    description: str = ""
    status: Status
    native_status: str
    priority: Priority
    native_priority: str | None = None
    type: str | None = None
    category: str | None = None
    product_area: Ref | None = None

    # people and routing
    requester_id: str | None = None
    requester_name: str | None = None
    requester_email: str | None = None
    organization_id: str | None = None  # the helpdesk's own organization/company reference
    account_id: AccountRef | None = None  # the Salesforce Account id used to join enrichment
    assignee_id: str | None = None
    group_id: Ref | None = None  # the helpdesk's own group/queue id (Jira: the team option value)
    group_name: DisplayName | None = None  # the helpdesk's display name for it, when the payload carries one
    # The logical group (mapping name: l1, tier2, ...) the native group maps to; None when unmapped.
    # The policy's routes and ladder speak these names.
    group: str | None = None
    tags: tuple[str, ...] = ()
    custom_fields: dict[str, Any] = Field(default_factory=dict)  # mapped fields, by mapping name
    agent_escalation_flag: bool = False  # the mapped field or tag an agent sets
    customer_escalation_request: bool = False  # the mapped field for "customer asked to escalate"

    # times
    created_at: AwareDatetime
    updated_at: AwareDatetime
    solved_at: AwareDatetime | None = None
    first_agent_reply_at: AwareDatetime | None = None

    # conversation and history, oldest first
    comments: tuple[Comment, ...] = ()
    history: tuple[HistoryEvent, ...] = ()
    # Comments and history are complete from this instant on; None: over the ticket's whole life.
    # A pull that carries only recent activity (Zendesk's event window) sets it, so the
    # handoff note reads the whole life only for the tickets whose history is partial.
    history_since: AwareDatetime | None = None

    # write safety and native SLA data
    concurrency_token: Ref  # Zendesk updated_at, ServiceNow sys_mod_count, Jira updated
    native_slas: tuple[NativeSla, ...] = ()

    @property
    def ref(self) -> str:
        """Stable cross-system reference, e.g. ``zendesk:123``."""
        return f"{self.system.value}:{self.id}"

    @property
    def reopen_count(self) -> int:
        return sum(1 for e in self.history if e.kind is EventKind.reopen)

    @property
    def reassignment_count(self) -> int:
        """Human group or assignee changes (deskbridge's own do not count)."""
        kinds = (EventKind.group_change, EventKind.assignee_change)
        return sum(1 for e in self.history if e.kind in kinds and not e.by_deskbridge)

    @property
    def agent_reply_count(self) -> int:
        """Public agent replies written by people, the 'touches' of the metrics."""
        return sum(
            1 for c in self.comments if c.role is Role.agent and c.public and not c.by_deskbridge
        )

    def last_human_activity(self, *, public_only: bool = False) -> datetime | None:
        """The latest comment or change made by a person, ignoring deskbridge's echoes."""
        times = [
            c.created_at
            for c in self.comments
            if not c.by_deskbridge and c.role is not Role.system and (c.public or not public_only)
        ]
        if not public_only:
            times += [e.at for e in self.history if not e.by_deskbridge and e.actor_role is not Role.system]
        return max(times, default=None)


class Account(_Frozen):
    """The customer's account from Salesforce, used to pick SLA targets and routes."""

    id: str
    name: str | None = None
    tier: str  # a tier named in the policy, e.g. "enterprise"
    segment: str | None = None
    owner_id: str | None = None
    owner_name: str | None = None
    owner_email: str | None = None
    # False when the account was unknown or missing and the default tier was used.
    known: bool = True
    # Set when the account exists but its tier value was empty or not in the tier map, so the
    # default tier was used: says which value was found, for explanations.
    tier_note: str | None = None


class Quarantined(_Frozen):
    """A ticket whose payload could not be used, kept aside with the reason."""

    system: System
    ticket_id: str
    field: str | None = None
    reason: str
