"""The decision log: every evaluation with its inputs, actions and explanation.

``deskbridge explain`` and replay read it; it is append-only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, insert, select

from core.model import System
from core.store.base import TransactionBase
from core.store.records import DecisionRecord
from core.store.tables import decisions


def _from_row(row: Row) -> DecisionRecord:
    return DecisionRecord.model_validate(row._asdict())


class DecisionOps(TransactionBase):
    def record_decision(self, record: DecisionRecord) -> DecisionRecord:
        """Append one decision; returns it with the id the store gave it."""
        values = record.model_dump(mode="json", exclude={"id"})
        values["evaluated_at"] = record.evaluated_at
        statement = insert(decisions).values(**values).returning(decisions.c.id)
        new_id = self.connection.execute(statement).scalar_one()
        return record.model_copy(update={"id": new_id})

    def decisions_for(self, system: System, ticket_id: str) -> list[DecisionRecord]:
        """One ticket's decisions, oldest first."""
        query = (
            select(decisions)
            .where(decisions.c.system == System(system).value, decisions.c.ticket_id == ticket_id)
            .order_by(decisions.c.evaluated_at, decisions.c.id)
        )
        return [_from_row(row) for row in self.connection.execute(query)]

    def decisions_between(
        self, since: datetime, until: datetime | None = None, system: System | None = None
    ) -> list[DecisionRecord]:
        """Decisions evaluated in ``[since, until)``, oldest first, for metrics and replay."""
        query = select(decisions).where(decisions.c.evaluated_at >= since)
        if until is not None:
            query = query.where(decisions.c.evaluated_at < until)
        if system is not None:
            query = query.where(decisions.c.system == System(system).value)
        query = query.order_by(decisions.c.evaluated_at, decisions.c.id)
        return [_from_row(row) for row in self.connection.execute(query)]
