"""The emulator's compact internal state: one slotted record per object.

Native JSON is rendered from these on every read (see :mod:`.render`), so a
ticket costs a few hundred bytes plus its history. A ticket's history is its
list of audits; each audit holds its events, either a :class:`CommentRecord`
or a :class:`Change` tuple. Event ids are not stored: an audit reserves a block
of ids and its i-th event is ``audit.id + 1 + i`` (:meth:`AuditRecord.event_id`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple


class Change(NamedTuple):
    """One field event of an audit: ``kind`` is "Create" or "Change"."""

    kind: str
    field_name: str
    value: Any
    previous: Any = None


@dataclass(slots=True)
class CommentRecord:
    """A comment; its time, channel and id come from the audit that holds it."""

    author_id: int
    body: str
    html_body: str | None
    public: bool


@dataclass(slots=True)
class AuditRecord:
    id: int
    ticket_id: int
    at: int
    author_id: int
    channel: str  # via.channel: "web", "email", "api"
    actor: str  # "seed", "api" or "human": who made it in the sandbox
    events: list[Change | CommentRecord] = field(default_factory=list)

    def event_id(self, position: int) -> int:
        return self.id + 1 + position

    def comment(self) -> tuple[int, CommentRecord] | None:
        """(event id, comment) of this audit's comment, if it has one."""
        for position, event in enumerate(self.events):
            if isinstance(event, CommentRecord):
                return self.event_id(position), event
        return None


class CommentEntry(NamedTuple):
    """A comment with what the comments endpoint shows about it."""

    id: int
    audit: AuditRecord
    comment: CommentRecord

    @property
    def at(self) -> int:
        return self.audit.at


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

    def comments(self) -> list[CommentEntry]:
        return [CommentEntry(found[0], a, found[1]) for a in self.audits if (found := a.comment()) is not None]


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
