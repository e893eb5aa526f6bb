"""Where the state store lives and how to connect to it.

The URL comes from the caller, else ``DESKBRIDGE_STATE_URL``, else a SQLite
file under ``.deskbridge/`` in the working directory. SQLite runs in WAL mode
with foreign keys on and takes its write lock when a transaction begins, so
two writers queue instead of failing half-way; PostgreSQL goes through
psycopg 3.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

STATE_URL_ENV = "DESKBRIDGE_STATE_URL"
DEFAULT_STATE_URL = "sqlite:///.deskbridge/state.db"
SQLITE_BUSY_TIMEOUT_S = 30


def resolve_state_url(url: str | None = None) -> URL:
    """The store URL to use: explicit, else the environment, else the embedded default.

    ``postgresql://`` and ``postgres://`` mean psycopg 3, the driver deskbridge ships with.
    """
    parsed = make_url(url or os.environ.get(STATE_URL_ENV) or DEFAULT_STATE_URL)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_store_engine(url: URL) -> Engine:
    """An engine configured for deskbridge's access pattern on this backend."""
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True)


def _sqlite_engine(url: URL) -> Engine:
    in_memory = url.database in (None, "", ":memory:")
    if in_memory:
        engine = create_engine(
            url, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_immediate)
    return engine


def _configure_sqlite_connection(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (the driver's implicit
    # BEGIN is deferred and would fail, not wait, when a reader turns writer).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _begin_immediate(connection) -> None:  # noqa: ANN001 - SQLAlchemy Connection
    connection.exec_driver_sql("BEGIN IMMEDIATE")
