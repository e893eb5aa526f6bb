"""Tickets: what time-based re-evaluation and metrics need to know of each one.

The row carries the ticket's metric fields, its next check time and the last
normalized :class:`~core.model.Ticket` as JSON, so an untouched ticket can be
re-evaluated by time alone, without pulling it again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, select, update

from core.model import System, Ticket
from core.store.base import TransactionBase
from core.store.records import OpenEscalation, TicketRecord
from core.store.tables import escalation_state, tickets

# Columns refreshed from the ticket on every upsert (first_seen_at, first_escalated_at
# and breach_times are deskbridge's own history and are never overwritten here).
_REFRESHED = (
    "ticket_key", "status", "priority", "tier", "segment", "account_id", "group_id", "group_name",
    "product_area", "created_at", "updated_at", "solved_at", "first_reply_at", "reopen_count",
    "reassignment_count", "agent_reply_count", "concurrency_token", "is_open", "next_check_at",
    "ticket_json", "last_seen_at",
)  # fmt: skip


def _ticket_columns(ticket: Ticket, tier: str | None, segment: str | None) -> dict[str, Any]:
    return {
        "system": ticket.system.value,
        "ticket_id": ticket.id,
        "ticket_key": ticket.key,
        "status": ticket.status.value,
        "priority": ticket.priority.value,
        "tier": tier,
        "segment": segment,
        "account_id": ticket.account_id,
        "group_id": ticket.group_id,
        "group_name": ticket.group_name,
        "product_area": ticket.product_area,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "solved_at": ticket.solved_at,
        "first_reply_at": ticket.first_agent_reply_at,
        "reopen_count": ticket.reopen_count,
        "reassignment_count": ticket.reassignment_count,
        "agent_reply_count": ticket.agent_reply_count,
        "concurrency_token": ticket.concurrency_token,
        "is_open": ticket.status.is_open,
        "ticket_json": ticket.model_dump(mode="json"),
    }


def _record(row: Row) -> TicketRecord:
    data = row._asdict()
    data["key"] = data.pop("ticket_key")
    data.pop("ticket_json", None)
    return TicketRecord.model_validate(data)


def _where_ticket(system: System, ticket_id: str):
    return and_(tickets.c.system == System(system).value, tickets.c.ticket_id == ticket_id)


class TicketOps(TransactionBase):
    def upsert_ticket(
        self, ticket: Ticket, tier: str | None, segment: str | None, next_check_at: datetime | None
    ) -> bool:
        """Store the latest version of ``ticket``; False when the stored one is newer.

        A closed ticket gets no next check time. A version older than the stored
        one (overlapping pull windows, out-of-order pages) is ignored, so the
        store never moves a ticket back in time.
        """
        now = self.now()
        row = _ticket_columns(ticket, tier, segment)
        row |= {
            "next_check_at": next_check_at if ticket.status.is_open else None,
            "breach_times": {},
            "first_seen_at": now,
            "last_seen_at": now,
        }
        statement = self._upsert(tickets).values(**row)
        statement = statement.on_conflict_do_update(
            index_elements=[tickets.c.system, tickets.c.ticket_id],
            set_={name: statement.excluded[name] for name in _REFRESHED},
            where=tickets.c.updated_at <= statement.excluded.updated_at,
        )
        # RETURNING, not rowcount: drivers disagree on rowcount for INSERT .. ON CONFLICT.
        return self.connection.execute(statement.returning(tickets.c.ticket_id)).first() is not None

    def is_duplicate(self, system: System, ticket_id: str, updated_at: datetime, token: str | None = None) -> bool:
        """True when this version of the ticket, or a later one, was already stored.

        Update times have whole-second resolution in some helpdesks, so a person's
        edit in the same second as deskbridge's own write shares its update time:
        with ``token`` given, the same second counts as a duplicate only when the
        concurrency token is the same too.
        """
        query = select(tickets.c.updated_at, tickets.c.concurrency_token).where(_where_ticket(system, ticket_id))
        row = self.connection.execute(query).first()
        if row is None:
            return False
        stored, stored_token = row
        if stored != updated_at:
            return stored > updated_at
        return token is None or stored_token == token

    def due_for_check(self, system: System, now: datetime, limit: int = 500) -> list[str]:
        """Ids of open tickets whose next check time has come, most overdue first."""
        query = (
            select(tickets.c.ticket_id)
            .where(
                tickets.c.system == System(system).value,
                tickets.c.is_open.is_(True),
                tickets.c.next_check_at <= now,
            )
            .order_by(tickets.c.next_check_at, tickets.c.ticket_id)
            .limit(limit)
        )
        return list(self.connection.execute(query).scalars())

    def set_next_check(self, system: System, ticket_id: str, at: datetime | None) -> None:
        """When the ticket next needs evaluating by time (None: only when it changes)."""
        self._update_ticket(system, ticket_id, next_check_at=at)

    def get_tickets(self, system: System, ticket_ids: Iterable[str]) -> dict[str, Ticket]:
        """The last stored normalized tickets, by id (ids the store lacks are absent)."""
        return {tid: ticket for tid, (ticket, _stored_at) in self.snapshots(system, ticket_ids).items()}

    def snapshots(self, system: System, ticket_ids: Iterable[str]) -> dict[str, tuple[Ticket, datetime]]:
        """The last stored normalized tickets with when each was stored (the storing run's now), by id."""
        ids = list(ticket_ids)
        if not ids:
            return {}
        query = select(tickets.c.ticket_id, tickets.c.ticket_json, tickets.c.last_seen_at).where(
            tickets.c.system == System(system).value, tickets.c.ticket_id.in_(ids)
        )
        return {tid: (Ticket.model_validate(doc), at) for tid, doc, at in self.connection.execute(query)}

    def get_ticket(self, system: System, ticket_id: str) -> Ticket | None:
        """The last stored normalized ticket, or None if deskbridge never stored it."""
        return self.get_tickets(system, [ticket_id]).get(ticket_id)

    def ticket_record(self, system: System, ticket_id: str) -> TicketRecord | None:
        """The stored metric and scheduling fields of one ticket."""
        row = self.connection.execute(select(tickets).where(_where_ticket(system, ticket_id))).first()
        return _record(row) if row else None

    def ticket_records(
        self, system: System | None = None, updated_since: datetime | None = None
    ) -> list[TicketRecord]:
        """Stored tickets for metrics, optionally of one helpdesk and updated since a time."""
        query = select(*[c for c in tickets.c if c.name != "ticket_json"])
        if system is not None:
            query = query.where(tickets.c.system == System(system).value)
        if updated_since is not None:
            query = query.where(tickets.c.updated_at >= updated_since)
        query = query.order_by(tickets.c.system, tickets.c.created_at, tickets.c.ticket_id)
        return [_record(row) for row in self.connection.execute(query)]

    def mark_escalated(self, system: System, ticket_id: str, at: datetime) -> datetime:
        """Remember the first escalation time (kept if already set); returns it."""
        record = self._require_ticket(system, ticket_id)
        if record.first_escalated_at is not None:
            return record.first_escalated_at
        self._update_ticket(system, ticket_id, first_escalated_at=at)
        return at

    def record_breaches(self, system: System, ticket_id: str, breaches: Mapping[str, datetime]) -> dict[str, datetime]:
        """Add first-breach times per SLA target; earlier records win. Returns all of them."""
        known = dict(self._require_ticket(system, ticket_id).breach_times)
        for target, at in breaches.items():
            if target not in known or at < known[target]:
                known[target] = at
        document = {target: at.isoformat() for target, at in sorted(known.items())}
        self._update_ticket(system, ticket_id, breach_times=document)
        return known

    def open_escalations_for_account(
        self, account_id: str, exclude: tuple[System, str] | None = None
    ) -> list[OpenEscalation]:
        """Open tickets of the account at escalation level 1 or more, across helpdesks."""
        joined = tickets.join(
            escalation_state,
            and_(
                escalation_state.c.system == tickets.c.system,
                escalation_state.c.ticket_id == tickets.c.ticket_id,
            ),
        )
        query = (
            select(
                tickets.c.system, tickets.c.ticket_id, tickets.c.ticket_key, escalation_state.c.level,
                tickets.c.status, tickets.c.priority, tickets.c.first_escalated_at,
            )  # fmt: skip
            .select_from(joined)
            .where(
                tickets.c.account_id == account_id,
                tickets.c.is_open.is_(True),
                escalation_state.c.level > 0,
            )
            .order_by(tickets.c.first_escalated_at.nulls_last(), tickets.c.system, tickets.c.ticket_id)
        )
        found = [
            OpenEscalation(
                system=row.system, ticket_id=row.ticket_id, key=row.ticket_key, level=row.level,
                status=row.status, priority=row.priority, first_escalated_at=row.first_escalated_at,
            )  # fmt: skip
            for row in self.connection.execute(query)
        ]
        if exclude is not None:
            skip = (System(exclude[0]), exclude[1])
            found = [e for e in found if (e.system, e.ticket_id) != skip]
        return found

    def _require_ticket(self, system: System, ticket_id: str) -> TicketRecord:
        record = self.ticket_record(system, ticket_id)
        if record is None:
            raise KeyError(f"{System(system).value}:{ticket_id} is not in the state store")
        return record

    def _update_ticket(self, system: System, ticket_id: str, **values: Any) -> None:
        result = self.connection.execute(update(tickets).where(_where_ticket(system, ticket_id)).values(**values))
        if result.rowcount != 1:
            raise KeyError(f"{System(system).value}:{ticket_id} is not in the state store")
