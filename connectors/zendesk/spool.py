"""Ticket events read ahead of their tickets, kept on disk so a run's memory does not grow with its backlog.

The event export is ordered by time, the ticket export by ``updated_at``: serving
one ticket page reads the events of every ticket active before that page's last
update, most of which belong to tickets of later pages. On a first sync of a
backlog that read-ahead is most of the window. Held as decoded JSON it cost about
24 MiB per 1,000 tickets (the memory benchmark, issue 9); here each event waits as
one JSON row of a private SQLite database until its ticket is handed out, and is
deleted then. SQLite keeps a bounded page cache in memory (``CACHE_KIB``) and the
rest in a temporary file that it deletes itself when the connection closes or the
process dies.

The spool also remembers, per ticket, the ``updated_at`` second up to which its
events were handed out in this run (one small row per ticket, on disk too), so a
later version of the same ticket gets only the events after it, and an older or
repeated version is recognised.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

CACHE_KIB = 4096  # SQLite's page cache: the spool's memory, whatever the backlog

_SCHEMA = (
    "CREATE TABLE events (ticket TEXT NOT NULL, at INTEGER NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL)",
    "CREATE INDEX events_by_ticket ON events (ticket, at)",
    "CREATE TABLE handed (ticket TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID",
)


class EventSpool:
    """Events waiting for their ticket, and how far each ticket's events were handed out."""

    def __init__(self) -> None:
        # "" is SQLite's private temporary database: a file nobody else can open, deleted by SQLite.
        # The run's generator may be resumed on another thread than the one that started it.
        self._db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode = OFF", "synchronous = OFF", f"cache_size = -{CACHE_KIB}"):
            self._db.execute(f"PRAGMA {pragma}")
        for statement in _SCHEMA:
            self._db.execute(statement)
        self.waiting = 0  # events held now

    def add(self, events: Iterable[tuple[str, int, Any, dict[str, Any]]]) -> None:
        """Keep ``(ticket id, unix seconds, event id, event)`` rows until their ticket is handed out."""
        rows = [(ticket, at, str(event_id), json.dumps(event, separators=(",", ":")))
                for ticket, at, event_id, event in events]
        if rows:
            self._db.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", rows)
            self.waiting += len(rows)

    def take(self, ticket: str, until: int) -> list[dict[str, Any]]:
        """The ticket's events at or before ``until``, oldest first (then by id), removed from the spool."""
        where = "WHERE ticket = ? AND at <= ?"
        rows = self._db.execute(f"SELECT body FROM events {where} ORDER BY at, id", (ticket, until)).fetchall()
        if rows:
            self._db.execute(f"DELETE FROM events {where}", (ticket, until))
            self.waiting -= len(rows)
        return [json.loads(body) for (body,) in rows]

    def handed_at(self, ticket: str) -> int | None:
        """The ``updated_at`` second this ticket's events were last handed out up to, in this run."""
        row = self._db.execute("SELECT at FROM handed WHERE ticket = ?", (ticket,)).fetchone()
        return row[0] if row else None

    def mark_handed(self, ticket: str, at: int) -> None:
        self._db.execute("INSERT OR REPLACE INTO handed VALUES (?, ?)", (ticket, at))

    def close(self) -> None:
        self._db.close()
