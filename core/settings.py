"""Runtime settings, from ``DESKBRIDGE_*`` environment variables.

Credentials live in :mod:`connectors.credentials`; this holds where things
are and how hard to try. Every setting has a default that works for a single
machine: the state store is a SQLite file under ``.deskbridge/``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """deskbridge's own settings (not credentials)."""

    model_config = SettingsConfigDict(env_prefix="DESKBRIDGE_", extra="ignore", frozen=True)

    # Where admins' files live: mapping/<system>.yaml, mapping/policy.yaml, mapping/templates/.
    mapping_dir: Path = Path("mapping")
    # The state store: SQLite file by default, PostgreSQL for scale-out
    # (postgresql+psycopg://user:pass@host/db).
    state_url: str = "sqlite:///.deskbridge/state.db"
    # A first sync (no cursor yet) looks back this far.
    initial_lookback_days: int = 14
    # Total seconds one API call may spend waiting on retries; keep it below the sync cadence.
    retry_max_wait_seconds: float = 60.0
    retry_max_attempts: int = 6
    # Salesforce accounts are cached this long (within one process).
    account_cache_seconds: int = 900


def load_settings() -> Settings:
    """The settings for this process (read fresh, so tests can change the environment)."""
    return Settings()
