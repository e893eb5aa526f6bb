"""The outbox: every write plan is recorded here before it is pushed.

Its key is the idempotency key that also travels into the helpdesk, so after a
crash the flow can push the pending entries again and the connector, finding
the marker, answers ``already_applied`` instead of writing twice.
"""

from __future__ import annotations

from sqlalchemy import Row, select, update

from core.actions import WritePlan, WriteResult
from core.model import System
from core.store.base import TransactionBase
from core.store.records import OutboxEntry, OutboxStatus
from core.store.tables import outbox


def _from_row(row: Row) -> OutboxEntry:
    return OutboxEntry.model_validate(row._asdict())


class OutboxOps(TransactionBase):
    def outbox_add(self, plan: WritePlan) -> OutboxEntry:
        """Record ``plan`` as pending; a second add of the same key returns the first entry unchanged."""
        now = self.now()
        statement = self._upsert(outbox).values(
            idempotency_key=plan.idempotency_key,
            system=plan.system.value,
            ticket_id=plan.ticket_id,
            plan=plan.model_dump(mode="json"),
            status=OutboxStatus.pending.value,
            attempts=0,
            created_at=now,
            updated_at=now,
            detail=None,
        )
        self.connection.execute(statement.on_conflict_do_nothing(index_elements=[outbox.c.idempotency_key]))
        entry = self.outbox_get(plan.idempotency_key)
        assert entry is not None
        return entry

    def outbox_get(self, idempotency_key: str) -> OutboxEntry | None:
        """The entry under ``idempotency_key``, if any."""
        row = self.connection.execute(select(outbox).where(outbox.c.idempotency_key == idempotency_key)).first()
        return _from_row(row) if row else None

    def outbox_pending(self, system: System, limit: int | None = None) -> list[OutboxEntry]:
        """Entries still to push for one helpdesk, oldest first."""
        query = (
            select(outbox)
            .where(outbox.c.system == System(system).value, outbox.c.status == OutboxStatus.pending.value)
            .order_by(outbox.c.created_at, outbox.c.idempotency_key)
            .limit(limit)
        )
        return [_from_row(row) for row in self.connection.execute(query)]

    def outbox_for_ticket(self, system: System, ticket_id: str) -> list[OutboxEntry]:
        """Every entry of one ticket, oldest first (for explain)."""
        query = (
            select(outbox)
            .where(outbox.c.system == System(system).value, outbox.c.ticket_id == ticket_id)
            .order_by(outbox.c.created_at, outbox.c.idempotency_key)
        )
        return [_from_row(row) for row in self.connection.execute(query)]

    def outbox_mark(self, result: WriteResult) -> OutboxEntry:
        """Record a push's outcome and count the attempt.

        Once an entry has landed (applied or already_applied) it never changes:
        a later, confused outcome for the same key cannot un-write a note.
        """
        entry = self._require_entry(result.idempotency_key)
        if (entry.system, entry.ticket_id) != (result.system, result.ticket_id):
            raise ValueError(
                f"write result for {result.system.value}:{result.ticket_id} does not match outbox entry "
                f"{result.idempotency_key} of {entry.system.value}:{entry.ticket_id}"
            )
        if entry.status.landed:
            return entry
        return self._set_entry(
            entry.idempotency_key,
            status=OutboxStatus(result.outcome.value).value,
            attempts=entry.attempts + 1,
            detail=result.detail,
        )

    def outbox_requeue(self, plan: WritePlan) -> OutboxEntry:
        """Make a conflicted or failed entry pending again with a re-planned ``plan``.

        A re-plan after a conflict usually yields the same key (same reasons,
        level and time bucket), which :meth:`outbox_add` would ignore; this is
        the explicit way to retry. Landed or pending entries are returned as they are.
        """
        entry = self._require_entry(plan.idempotency_key)
        if entry.status.landed or entry.status is OutboxStatus.pending:
            return entry
        return self._set_entry(
            plan.idempotency_key,
            plan=plan.model_dump(mode="json"),
            status=OutboxStatus.pending.value,
            detail=None,
        )

    def _require_entry(self, idempotency_key: str) -> OutboxEntry:
        query = select(outbox).where(outbox.c.idempotency_key == idempotency_key).with_for_update()
        row = self.connection.execute(query).first()
        if row is None:
            raise KeyError(f"no outbox entry {idempotency_key}")
        return _from_row(row)

    def _set_entry(self, idempotency_key: str, **values) -> OutboxEntry:
        statement = update(outbox).where(outbox.c.idempotency_key == idempotency_key)
        self.connection.execute(statement.values(updated_at=self.now(), **values))
        entry = self.outbox_get(idempotency_key)
        assert entry is not None
        return entry
