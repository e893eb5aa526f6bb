"""The Zendesk account's state: tickets, people, and the indexes the exports read.

Every change goes through :meth:`ZendeskStore.apply` under one lock, which
validates it (:mod:`.edits`), records an audit with its events, moves
``updated_at`` to the virtual now (strictly increasing per ticket), re-indexes
the ticket for the incremental exports and writes one sandbox log entry per
effect. The cursor index is a sorted list of ``(updated_at, id)``; the event
index the list of audits sorted by ``(at, id)``.
"""

from __future__ import annotations

import bisect
import threading
from typing import Any

from sandbox.context import SandboxContext
from sandbox.zendesk import ids
from sandbox.zendesk.edits import Edit, Resolution, check_stamp, resolve
from sandbox.zendesk.records import AuditRecord, Change, CommentRecord, OrganizationRecord, TicketRecord, UserRecord

SYSTEM = "zendesk"


class ZendeskStore:
    def __init__(self, ctx: SandboxContext):
        self.ctx = ctx
        self.lock = threading.RLock()
        self.ids = ids.IdSequence()
        self.since = ids.to_ts(ctx.clock.now()) - 400 * 86400  # when the account's people and groups were made
        self.tickets: dict[int, TicketRecord] = {}
        self.users: dict[int, UserRecord] = {}
        self.users_by_email: dict[str, UserRecord] = {}
        self.organizations: dict[int, OrganizationRecord] = {}
        self._order: list[tuple[int, int]] = []
        self._events: list[AuditRecord] = []

    # -- people ---------------------------------------------------------
    def add_user(self, user: UserRecord) -> UserRecord:
        with self.lock:
            existing = self.users.get(user.id)
            if existing is not None and existing.key != user.key:
                raise ValueError(f"user id collision between {existing.key!r} and {user.key!r}")
            self.users[user.id] = user
            self.users_by_email[user.email.lower()] = user
            return user

    def add_organization(self, org: OrganizationRecord) -> None:
        with self.lock:
            self.organizations[org.id] = org

    # -- tickets --------------------------------------------------------
    def add_ticket(self, ticket: TicketRecord, *, sort_events: bool = True) -> None:
        """Insert a fully built ticket (with its history) and index it."""
        with self.lock:
            if ticket.id in self.tickets:
                raise ValueError(f"ticket {ticket.id} already exists")
            self.tickets[ticket.id] = ticket
            bisect.insort(self._order, (ticket.updated_at, ticket.id))
            for audit in ticket.audits:
                if sort_events:
                    bisect.insort(self._events, audit, key=_event_key)
                else:
                    self._events.append(audit)

    def sort_events(self) -> None:
        """Restore the event index order after a bulk load with ``sort_events=False``."""
        with self.lock:
            self._events.sort(key=_event_key)

    def next_ticket_id(self) -> int:
        with self.lock:
            return max(self.tickets, default=0) + 1

    def ticket(self, ticket_id: int) -> TicketRecord:
        ticket = self.tickets.get(ticket_id)
        if ticket is None:
            raise KeyError(ticket_id)
        return ticket

    def apply(self, ticket_id: int, edit: Edit, *, author_id: int, actor: str, channel: str) -> AuditRecord | None:
        """Apply one edit; None when it changes nothing (no audit, no new timestamp)."""
        with self.lock:
            ticket = self.ticket(ticket_id)
            check_stamp(ticket, edit.safe_stamp)
            author = self.users[author_id]
            nxt = resolve(ticket, edit, self.users, author, human=actor == "human")
            now = ids.to_ts(self.ctx.clock.now())
            at = max(now, ticket.updated_at + 1)
            audit = AuditRecord(0, ticket.id, at, author_id, channel, actor)
            effects = self._record_changes(ticket, nxt, audit, author_id)
            if not effects:
                return None
            audit.id = self.ids.block(1 + len(audit.events))
            self._move(ticket, at)
            ticket.audits.append(audit)
            bisect.insort(self._events, audit, key=_event_key)
            when = self.ctx.clock.now()
            for kind, detail in effects:
                self.ctx.log.write(SYSTEM, str(ticket.id), kind, actor, when, **detail)
            return audit

    def _move(self, ticket: TicketRecord, at: int) -> None:
        index = bisect.bisect_left(self._order, (ticket.updated_at, ticket.id))
        if index < len(self._order) and self._order[index] == (ticket.updated_at, ticket.id):
            del self._order[index]
        ticket.updated_at = at
        bisect.insort(self._order, (at, ticket.id))

    def _record_changes(self, t: TicketRecord, nxt: Resolution, audit: AuditRecord, author_id: int) -> list[tuple[str, dict]]:
        effects: list[tuple[str, dict]] = []
        if nxt.comment is not None:
            c = nxt.comment
            author = c.author_id or author_id
            audit.events.append(CommentRecord(author, c.body, c.html_body, c.public))
            effects.append(("comment", {"public": c.public, "body": c.body}))
        plain = [
            ("status", t.status, nxt.status, ids.STATUS_FROM_NATIVE.get),
            ("priority", t.priority, nxt.priority, lambda v: ids.PRIORITY_FROM_NATIVE.get(v) if v else None),
            ("group_id", t.group_id, nxt.group_id, ids.GROUP_FROM_ID.get),
            ("assignee_id", t.assignee_id, nxt.assignee_id, self.email_of),
        ]
        kinds = {"status": "status", "priority": "priority", "group_id": "group", "assignee_id": "assignee"}
        for name, old, new, neutral in plain:
            if old != new:
                audit.events.append(Change("Change", name, _text(new), _text(old)))
                effects.append((kinds[name], {"from": neutral(old), "to": neutral(new)}))
        t.status, t.priority, t.group_id, t.assignee_id = nxt.status, nxt.priority, nxt.group_id, nxt.assignee_id
        added = [tag for tag in nxt.tags if tag not in t.tags]
        removed = [tag for tag in t.tags if tag not in nxt.tags]
        if added or removed:
            audit.events.append(Change("Change", "tags", list(nxt.tags), list(t.tags)))
            if added:
                effects.append(("tags_added", {"tags": added}))
            if removed:
                effects.append(("tags_removed", {"tags": removed}))
        for fid, old, new in zip(ids.FIELD_ORDER, t.fields, nxt.fields):
            if old != new:
                audit.events.append(Change("Change", str(fid), _text(new), _text(old)))
                effects.append(("field", {"name": ids.FIELD_NAMES[fid], "value": neutral_field(fid, new)}))
        t.tags, t.fields = nxt.tags, nxt.fields
        return effects

    # -- lookups ----------------------------------------------------------
    def email_of(self, user_id: int | None) -> str | None:
        user = self.users.get(user_id) if user_id is not None else None
        return user.email if user else None

    def user_by_key(self, key: str) -> UserRecord:
        user = self.users.get(ids.user_id(key))
        if user is None or user.key != key:
            raise ValueError(f"unknown Zendesk user key {key!r}")
        return user

    # -- incremental exports ---------------------------------------------
    def horizon(self) -> int:
        """Exports see changes strictly before the current virtual second (Zendesk holds back the last minute)."""
        return ids.to_ts(self.ctx.clock.now())

    def tickets_after(self, key: tuple[int, int], limit: int) -> tuple[list[TicketRecord], bool]:
        """Up to ``limit`` tickets ordered after ``key`` = (updated_at, id), and whether more follow."""
        with self.lock:
            start = bisect.bisect_right(self._order, key)
            end = bisect.bisect_left(self._order, (self.horizon(), -1))
            keys = self._order[start:min(start + limit, end)]
            return [self.tickets[tid] for _ts, tid in keys], start + limit < end

    def tickets_before(self, key: tuple[int, int], limit: int) -> tuple[list[TicketRecord], bool]:
        """Up to ``limit`` tickets ordered just before ``key``, and whether earlier ones exist."""
        with self.lock:
            end = bisect.bisect_left(self._order, key)
            start = max(0, end - limit)
            return [self.tickets[tid] for _ts, tid in self._order[start:end]], start > 0

    def events_since(self, start_time: int, limit: int) -> tuple[list[AuditRecord], bool]:
        """Audits from ``start_time`` on, completing the last second (and always moving past ``start_time``)."""
        with self.lock:
            events = self._events
            start = bisect.bisect_left(events, (start_time, -1), key=_event_key)
            end = bisect.bisect_left(events, (self.horizon(), -1), key=_event_key)
            stop = min(start + limit, end)
            if stop > start:
                last_second = events[stop - 1].at
                if last_second == start_time and stop < end:
                    last_second = events[stop].at
                stop = bisect.bisect_left(events, (last_second + 1, -1), lo=stop, hi=end, key=_event_key)
            return events[start:stop], stop < end


def _event_key(audit: AuditRecord) -> tuple[int, int]:
    return audit.at, audit.id


def _text(value: Any) -> Any:
    """Audit values are strings (ids included); lists (tags) stay lists."""
    if value is None or isinstance(value, list):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def neutral_field(fid: int, value: Any) -> Any:
    """A custom field value in the sandbox's system-neutral terms (product area without ``pa_``)."""
    if fid == ids.PRODUCT_AREA_FIELD and value is not None:
        return ids.PRODUCT_AREA_FROM_TAG.get(value, value)
    return value

