"""Alembic migrations of the state store, run by :func:`core.store.schema.upgrade` (no alembic.ini)."""
