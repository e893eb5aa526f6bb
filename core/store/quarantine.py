"""Quarantine: tickets whose payload could not be used, kept aside with the reason.

The same problem seen again on the next run bumps a counter instead of adding
a row; a ticket that later normalizes cleanly is marked resolved.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, insert, select, update

from core.model import Quarantined, System
from core.store.base import TransactionBase
from core.store.excerpt import payload_excerpt
from core.store.records import QuarantineEntry
from core.store.tables import quarantine as quarantine_table


def _from_row(row: Row) -> QuarantineEntry:
    return QuarantineEntry.model_validate(row._asdict())


class QuarantineOps(TransactionBase):
    def quarantine(self, item: Quarantined, payload: Any = None) -> QuarantineEntry:
        """Record (or count again) a quarantined ticket; ``payload`` is stored redacted and cut short."""
        now = self.now()
        excerpt = payload_excerpt(payload)
        same_problem = (
            quarantine_table.c.system == item.system.value,
            quarantine_table.c.ticket_id == item.ticket_id,
            quarantine_table.c.resolved.is_(False),
            quarantine_table.c.field.is_(None) if item.field is None else quarantine_table.c.field == item.field,
        )
        existing = self.connection.execute(select(quarantine_table).where(*same_problem)).first()
        if existing is None:
            statement = insert(quarantine_table).values(
                system=item.system.value, ticket_id=item.ticket_id, field=item.field, reason=item.reason,
                payload_excerpt=excerpt, first_seen=now, last_seen=now, count=1, resolved=False,
            ).returning(quarantine_table.c.id)  # fmt: skip
            entry_id = self.connection.execute(statement).scalar_one()
        else:
            entry_id = existing.id
            self.connection.execute(
                update(quarantine_table)
                .where(quarantine_table.c.id == entry_id)
                .values(reason=item.reason, payload_excerpt=excerpt, last_seen=now, count=existing.count + 1)
            )
        row = self.connection.execute(select(quarantine_table).where(quarantine_table.c.id == entry_id)).one()
        return _from_row(row)

    def quarantined(self, system: System | None = None, include_resolved: bool = False) -> list[QuarantineEntry]:
        """Quarantined tickets, most recently seen first."""
        query = select(quarantine_table)
        if system is not None:
            query = query.where(quarantine_table.c.system == System(system).value)
        if not include_resolved:
            query = query.where(quarantine_table.c.resolved.is_(False))
        query = query.order_by(quarantine_table.c.last_seen.desc(), quarantine_table.c.id.desc())
        return [_from_row(row) for row in self.connection.execute(query)]

    def resolve_quarantine(self, system: System, ticket_id: str) -> int:
        """Mark a ticket's open quarantine entries resolved; returns how many there were."""
        statement = (
            update(quarantine_table)
            .where(
                quarantine_table.c.system == System(system).value,
                quarantine_table.c.ticket_id == ticket_id,
                quarantine_table.c.resolved.is_(False),
            )
            .values(resolved=True, last_seen=self.now())
        )
        return self.connection.execute(statement).rowcount
