"""The state store: open it, then do everything inside one transaction.

::

    store = Store.open()                       # DESKBRIDGE_STATE_URL or .deskbridge/state.db
    with store.transaction() as tx:            # commits on success, rolls back on error
        tx.upsert_ticket(ticket, tier, segment, next_check_at)
        tx.outbox_add(plan)
        tx.set_cursor(System.zendesk, "tickets", next_cursor)   # last, same transaction

The schema is migrated to head when the store opens.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from core.store.base import Clock, system_clock
from core.store.cursors import CursorOps
from core.store.decisions import DecisionOps
from core.store.engine import create_store_engine, resolve_state_url
from core.store.outbox import OutboxOps
from core.store.quarantine import QuarantineOps
from core.store.runs import RunOps
from core.store.schema import current_revision, upgrade
from core.store.states import StateOps
from core.store.tickets import TicketOps


class Transaction(CursorOps, TicketOps, StateOps, DecisionOps, OutboxOps, QuarantineOps, RunOps):
    """Every repository verb, bound to one open database transaction."""


class Store:
    """deskbridge's persistent state behind one engine (SQLite file or PostgreSQL)."""

    def __init__(self, engine: Engine, clock: Clock = system_clock):
        self.engine = engine
        self._clock = clock

    @classmethod
    def open(cls, url: str | None = None, *, clock: Clock = system_clock, migrate: bool = True) -> Store:
        """Connect to ``url`` (else the environment, else the embedded SQLite file) at schema head."""
        engine = create_store_engine(resolve_state_url(url))
        if migrate:
            upgrade(engine)
        return cls(engine, clock)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One atomic unit of work: everything in it commits together or not at all."""
        with self.engine.begin() as connection:
            yield Transaction(connection, self._clock)

    def schema_revision(self) -> str | None:
        """The schema revision the database is at."""
        with self.engine.connect() as connection:
            return current_revision(connection)

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"
