"""Cursors: how far each stream of each helpdesk has been pulled.

A cursor is set inside the transaction that records the page's outcomes, and
the flow commits that transaction last: a run that dies re-reads, never skips.
"""

from __future__ import annotations

from sqlalchemy import select

from core.model import System
from core.store.base import TransactionBase
from core.store.tables import cursors


class CursorOps(TransactionBase):
    def get_cursor(self, system: System, stream: str) -> str | None:
        """The saved cursor value of ``stream``, or None before the first run."""
        query = select(cursors.c.value).where(
            cursors.c.system == System(system).value, cursors.c.stream == stream
        )
        return self.connection.execute(query).scalar_one_or_none()

    def set_cursor(self, system: System, stream: str, value: str) -> None:
        """Move the cursor; it becomes durable only when this transaction commits."""
        row = {"system": System(system).value, "stream": stream, "value": value, "updated_at": self.now()}
        statement = self._upsert(cursors).values(**row)
        statement = statement.on_conflict_do_update(
            index_elements=[cursors.c.system, cursors.c.stream],
            set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
        )
        self.connection.execute(statement)
