"""deskbridge's state store: cursors, tickets, escalation state, decisions, outbox, quarantine, runs.

SQLAlchemy Core over a SQLite file by default or PostgreSQL by URL, with the
schema versioned by Alembic and migrated on open. See docs/state-store.md.
"""

from core.store.base import Clock, system_clock
from core.store.engine import DEFAULT_STATE_URL, STATE_URL_ENV, resolve_state_url
from core.store.excerpt import payload_excerpt, redact
from core.store.keys import idempotency_key, time_bucket
from core.store.records import (
    DecisionRecord,
    OpenEscalation,
    OutboxEntry,
    OutboxStatus,
    QuarantineEntry,
    RunRecord,
    StoredState,
    TicketRecord,
)
from core.store.schema import SchemaError, head_revision
from core.store.store import Store, Transaction

__all__ = [
    "DEFAULT_STATE_URL",
    "STATE_URL_ENV",
    "Clock",
    "DecisionRecord",
    "OpenEscalation",
    "OutboxEntry",
    "OutboxStatus",
    "QuarantineEntry",
    "RunRecord",
    "SchemaError",
    "Store",
    "StoredState",
    "TicketRecord",
    "Transaction",
    "head_revision",
    "idempotency_key",
    "payload_excerpt",
    "redact",
    "resolve_state_url",
    "system_clock",
    "time_bucket",
]
