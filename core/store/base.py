"""What every group of repository functions shares: the open connection and the clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Wall-clock UTC now; the sandbox passes its virtual clock instead."""
    return datetime.now(UTC)


class TransactionBase:
    """One open database transaction; the repository mixins add the verbs."""

    def __init__(self, connection: Connection, clock: Clock = system_clock):
        self.connection = connection
        self._clock = clock

    def now(self) -> datetime:
        """The store's notion of now, used for bookkeeping columns (created/updated/seen)."""
        return self._clock()

    def _upsert(self, table: Table):
        """An INSERT that accepts ON CONFLICT clauses on both supported backends."""
        if self.connection.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)
