"""A stored ticket as it was at an earlier instant, without deskbridge's own marks, for replays.

The state store keeps the *last* normalized snapshot of each ticket. Its
comments and history are dated, so the ticket at instant ``t`` is rebuilt by
keeping what happened at or before ``t``, and by reading status, priority,
group and assignee from the dated changes. deskbridge's own writes (comments
and changes marked ``by_deskbridge``, and the tags deskbridge adds) are
removed: a replay asks what a policy would have done on the tickets as people
left them, not on a world the policy in force already changed.

What cannot be rebuilt is kept from the last snapshot, or dropped: tags have
no dates (the last tags minus deskbridge's own are used throughout), custom
fields and the agent/customer escalation flags keep their last values, and
the helpdesk's native SLA records are dropped (they describe the last
snapshot only). docs/metrics.md lists these limits.
"""

from __future__ import annotations

import bisect
from datetime import datetime

from core.model import EventKind, HistoryEvent, Priority, Status, Ticket
from core.sla import status_at, status_timeline


def value_at(history: tuple[HistoryEvent, ...], kind: EventKind, at: datetime, current: str | None) -> str | None:
    """A field's value at ``at`` in a world without deskbridge's changes.

    The last change a person made at or before ``at``; before any such change,
    the value the field had before its first change; without changes, ``current``.
    """
    changes = [e for e in history if e.kind is kind]
    if not changes:
        return current
    human = [e for e in changes if not e.by_deskbridge and e.at <= at]
    if human:
        return human[-1].to_value
    return changes[0].from_value if changes[0].from_value is not None else current


def ticket_as_of(ticket: Ticket, at: datetime, deskbridge_tags: frozenset[str] = frozenset()) -> Ticket:
    """``ticket`` as people had left it at ``at`` (see the module docstring for what is approximate)."""
    history = tuple(sorted(ticket.history, key=lambda e: e.at))
    comments = tuple(c for c in ticket.comments if c.created_at <= at and not c.by_deskbridge)
    kept = tuple(e for e in history if e.at <= at and not e.by_deskbridge)
    status = status_at(status_timeline(ticket), at.timestamp()) or Status.open
    priority = value_at(history, EventKind.priority_change, at, ticket.priority.value)
    group = value_at(history, EventKind.group_change, at, ticket.group)
    assignee = value_at(history, EventKind.assignee_change, at, ticket.assignee_id)
    solved_at = ticket.solved_at if ticket.solved_at is not None and ticket.solved_at <= at else None
    first_reply = ticket.first_agent_reply_at
    stamps = [ticket.created_at, *(c.created_at for c in comments), *(e.at for e in kept)]
    return ticket.model_copy(update={
        "status": status,
        "priority": Priority(priority) if priority in Priority.__members__ else ticket.priority,
        "group": group,
        "assignee_id": assignee,
        "tags": tuple(t for t in ticket.tags if t not in deskbridge_tags),
        "comments": comments,
        "history": kept,
        "solved_at": solved_at if not status.is_open else None,
        "first_agent_reply_at": first_reply if first_reply is not None and first_reply <= at else None,
        "updated_at": max(stamps),
        "native_slas": (),
    })  # fmt: skip


class Snapshots:
    """``ticket_as_of`` for one ticket at many instants, rebuilt only where something happened in between.

    The rebuilt ticket changes only at the instants its comments, history
    events, solution and first reply carry, so between two of them it is the
    same object: a replay's time-only re-checks reuse it.
    """

    def __init__(self, ticket: Ticket, deskbridge_tags: frozenset[str] = frozenset()):
        self._ticket, self._strip = ticket, deskbridge_tags
        points = {c.created_at for c in ticket.comments} | {e.at for e in ticket.history}
        points.update(t for t in (ticket.solved_at, ticket.first_agent_reply_at) if t is not None)
        self._points = sorted(points)
        self._key: int | None = None  # None until the first call: bisect always answers an int
        self._snapshot = ticket

    def at(self, at: datetime) -> Ticket:
        key = bisect.bisect_right(self._points, at)  # how many of those instants lie at or before ``at``
        if key != self._key:
            self._key, self._snapshot = key, ticket_as_of(self._ticket, at, self._strip)
        return self._snapshot


def change_instants(ticket: Ticket) -> list[datetime]:
    """When people changed the ticket: the moments a sync would have pulled it again."""
    stamps = {ticket.created_at}
    stamps.update(c.created_at for c in ticket.comments if not c.by_deskbridge)
    stamps.update(e.at for e in ticket.history if not e.by_deskbridge)
    if ticket.solved_at is not None:
        stamps.add(ticket.solved_at)
    return sorted(s for s in stamps if s >= ticket.created_at)
