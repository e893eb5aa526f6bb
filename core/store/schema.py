"""Bring a database to the current schema with Alembic, without an alembic.ini.

Called by :meth:`core.store.Store.open`: an empty database is created at head,
an older one is upgraded, and one already at head is left alone (no DDL).
PostgreSQL openers serialise on an advisory lock; SQLite's BEGIN IMMEDIATE
does the same for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, text

from core.errors import DeskbridgeError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "deskbridge_schema_version"
_PG_MIGRATION_LOCK = 0x6465736B62726467  # "deskbrdg"


class SchemaError(DeskbridgeError):
    """The database's schema cannot be brought to this deskbridge's version."""


def alembic_config() -> Config:
    """An Alembic Config pointing at the packaged migration scripts."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["version_table"] = VERSION_TABLE
    return config


def head_revision() -> str:
    """The newest schema revision this code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migration scripts found"
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or None when it has no deskbridge schema yet."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def upgrade(engine: Engine) -> str:
    """Migrate the database behind ``engine`` to head; returns the revision it ends at."""
    head = head_revision()
    with engine.connect() as probe:
        if current_revision(probe) == head:
            return head
    with engine.connect() as connection, _sqlite_foreign_keys_off(connection), connection.begin():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        if current_revision(connection) != head:
            config = alembic_config()
            config.attributes["connection"] = connection
            try:
                command.upgrade(config, "head")
            except CommandError as exc:
                raise SchemaError(
                    f"cannot migrate the state store to revision {head}: {exc}"
                    " (is it a newer deskbridge's database?)"
                ) from None
    return head


@contextmanager
def _sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    """SQLite batch migrations rebuild a table by dropping it; with foreign keys on, that drop would
    cascade-delete every row referencing it (escalation states, decisions, the outbox). The pragma only
    takes effect outside a transaction, so it is set on the driver connection before BEGIN."""
    if connection.dialect.name != "sqlite":
        yield
        return
    driver = connection.connection.driver_connection
    driver.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        driver.execute("PRAGMA foreign_keys=ON")
