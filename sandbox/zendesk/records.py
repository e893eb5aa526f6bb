"""The emulator's compact internal state: one slotted record per object.

Native JSON is rendered from these on every read (see :mod:`.render`), so
100,000 tickets cost a few hundred bytes each plus their history. A ticket's
history is its list of audits; each audit holds its events, either a
:class:`CommentRecord` or a :class:`Change` tuple.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple


class Change(NamedTuple):
    """One field event of an audit: ``kind`` is "Create" or "Change"."""

    id: int
    kind: str
    field_name: str
    value: Any
    previous: Any = None


@dataclass(slots=True)
class CommentRecord:
    id: int
    author_id: int
    body: str
    html_body: str | None
    public: bool
    at: int
    audit_id: int
    channel: str


@dataclass(slots=True)
class AuditRecord:
    id: int
    ticket_id: int
    at: int
    author_id: int
    channel: str  # via.channel: "web", "email", "api"
    actor: str  # "seed", "api" or "human": who made it in the sandbox
    events: list[Change | CommentRecord] = field(default_factory=list)

    def comment(self) -> CommentRecord | None:
        for event in self.events:
            if isinstance(event, CommentRecord):
                return event
        return None


@dataclass(slots=True)
class TicketRecord:
    id: int
    subject: str
    description: str
    status: str  # native
    priority: str | None  # native
    requester_id: int
    submitter_id: int
    assignee_id: int | None
    group_id: int | None
    organization_id: int | None
    tags: list[str]
    fields: list[Any]  # custom field values in ids.FIELD_ORDER
    created_at: int
    updated_at: int
    channel: str
    audits: list[AuditRecord] = field(default_factory=list)

    def comments(self) -> list[CommentRecord]:
        return [c for a in self.audits if (c := a.comment()) is not None]


@dataclass(slots=True)
class UserRecord:
    id: int
    key: str
    name: str
    email: str
    role: str  # native: "end-user", "agent", "admin"
    default_group_id: int | None
    organization_id: int | None
    created_at: int

    @property
    def is_agent(self) -> bool:
        return self.role in ("agent", "admin")


@dataclass(slots=True)
class OrganizationRecord:
    id: int
    name: str
    external_id: str
    created_at: int
