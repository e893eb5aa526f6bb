"""The state store's schema: created from empty by the migrations, left alone when current."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from pg_fixture import postgres_server, postgres_url  # noqa: F401  (fixtures)
from sqlalchemy import Engine, event, inspect, text

from core.store import STATE_URL_ENV, SchemaError, Store, head_revision, resolve_state_url
from core.store.schema import VERSION_TABLE, alembic_config
from core.store.tables import metadata

TABLES = {"cursors", "tickets", "escalation_state", "decisions", "outbox", "quarantine", "runs"}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/nested/dir/state.db"
    return request.getfixturevalue("postgres_url")


def _statements_during(action) -> list[str]:
    seen: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    return seen


def test_migrating_an_empty_database_creates_every_table_at_head(empty_url):
    with Store.open(empty_url) as store:
        assert store.schema_revision() == head_revision()
        names = set(inspect(store.engine).get_table_names())
    assert TABLES | {VERSION_TABLE} <= names


def test_a_second_open_is_a_no_op(empty_url):
    Store.open(empty_url).close()
    statements = _statements_during(lambda: Store.open(empty_url).close())
    writes = [s for s in statements if s.lstrip().split(None, 1)[0].upper() in
              {"CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE"}]  # fmt: skip
    assert statements, "the second open should at least read the schema version"
    assert writes == []


def test_the_migrations_build_exactly_the_tables_the_code_uses(empty_url):
    with Store.open(empty_url) as store, store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE, "compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_downgrade_to_empty_and_upgrade_again(tmp_path):
    url = f"sqlite:///{tmp_path}/state.db"
    with Store.open(url) as store:
        config = alembic_config()
        with store.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        assert set(inspect(store.engine).get_table_names()) & TABLES == set()
    with Store.open(url) as store:
        assert TABLES <= set(inspect(store.engine).get_table_names())


def test_a_database_from_a_newer_deskbridge_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path}/state.db"
    with Store.open(url) as store, store.engine.begin() as connection:
        connection.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    with pytest.raises(SchemaError, match="revision"):
        Store.open(url)


def test_sqlite_runs_in_wal_mode_with_foreign_keys_on(tmp_path):
    with Store.open(f"sqlite:///{tmp_path}/state.db") as store, store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_default_url_is_a_sqlite_file_under_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv(STATE_URL_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    with Store.open() as store:
        assert store.schema_revision() == head_revision()
    assert (tmp_path / ".deskbridge" / "state.db").is_file()


def test_the_environment_names_the_store(tmp_path, monkeypatch):
    target = Path(tmp_path, "elsewhere", "db.sqlite")
    monkeypatch.setenv(STATE_URL_ENV, f"sqlite:///{target}")
    with Store.open():
        pass
    assert target.is_file()
    assert str(resolve_state_url("sqlite:///explicit.db")) == "sqlite:///explicit.db"


def test_plain_postgresql_urls_use_psycopg_3_and_the_password_never_shows():
    url = resolve_state_url("postgresql://deskbridge:s3cr3t-pw@db.internal:5432/state")
    assert url.drivername == "postgresql+psycopg"
    assert resolve_state_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    store = Store.open(str(url.render_as_string(hide_password=False)), migrate=False)
    assert "s3cr3t-pw" not in repr(store) and "db.internal" in repr(store)
    store.close()
