"""Escalation state: the engine's per-ticket memory, stored as an opaque document.

The engine (core.decision) owns the document's shape (level, reasons, last
actions, open proposals, cooldowns); the store keeps it with its level so
that queries such as "other open escalations of this account" need no parsing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from core.model import System
from core.store.base import TransactionBase
from core.store.records import StoredState
from core.store.tables import escalation_state


class StateOps(TransactionBase):
    def get_state(self, system: System, ticket_id: str) -> StoredState | None:
        """The saved escalation state of a ticket, or None if it never had one."""
        query = select(escalation_state).where(
            escalation_state.c.system == System(system).value,
            escalation_state.c.ticket_id == ticket_id,
        )
        row = self.connection.execute(query).first()
        return StoredState.model_validate(row._asdict()) if row else None

    def save_state(
        self, system: System, ticket_id: str, document: BaseModel | Mapping[str, Any], level: int
    ) -> StoredState:
        """Replace the ticket's escalation state (the ticket must be stored already)."""
        doc = document.model_dump(mode="json") if isinstance(document, BaseModel) else dict(document)
        row = {
            "system": System(system).value,
            "ticket_id": ticket_id,
            "level": level,
            "document": doc,
            "updated_at": self.now(),
        }
        statement = self._upsert(escalation_state).values(**row)
        statement = statement.on_conflict_do_update(
            index_elements=[escalation_state.c.system, escalation_state.c.ticket_id],
            set_={name: statement.excluded[name] for name in ("level", "document", "updated_at")},
        )
        self.connection.execute(statement)
        return StoredState.model_validate(row)
