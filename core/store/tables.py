"""The state store's tables (SQLAlchemy Core), the shape the migrations build.

One row per cursor, per ticket and per outbox key; append-only logs for
decisions and runs. Keys are ``(system, ticket_id)`` throughout: ticket ids
are only unique within one helpdesk. The tables here must match what
``migrations/versions`` creates; a test compares the two.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from core.store.types import JSONDoc, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants room to grow.
_Serial = BigInteger().with_variant(Integer(), "sqlite")


def _ticket_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["system", "ticket_id"], ["tickets.system", "tickets.ticket_id"], ondelete="CASCADE"
    )


cursors = Table(
    "cursors",
    metadata,
    Column("system", String(32), primary_key=True),
    Column("stream", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

tickets = Table(
    "tickets",
    metadata,
    Column("system", String(32), primary_key=True),
    Column("ticket_id", String(128), primary_key=True),
    Column("ticket_key", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("tier", String(64)),
    Column("segment", String(255)),  # Salesforce picklist values reach 255
    Column("account_id", String(64), index=True),
    Column("group_id", String(128)),
    Column("group_name", String(255)),
    Column("product_area", String(128)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),  # last seen updated time: de-duplication
    Column("solved_at", UTCDateTime),
    Column("first_reply_at", UTCDateTime),
    Column("reopen_count", Integer, nullable=False),
    Column("reassignment_count", Integer, nullable=False),
    Column("agent_reply_count", Integer, nullable=False),
    Column("concurrency_token", String(128), nullable=False),
    Column("is_open", Boolean, nullable=False),
    Column("next_check_at", UTCDateTime),
    Column("first_escalated_at", UTCDateTime),
    Column("breach_times", JSONDoc, nullable=False),  # {sla target: first breach instant}
    Column("ticket_json", JSONDoc, nullable=False),  # the last normalized Ticket
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Index("ix_tickets_due", "system", "is_open", "next_check_at"),
)

escalation_state = Table(
    "escalation_state",
    metadata,
    Column("system", String(32), primary_key=True),
    Column("ticket_id", String(128), primary_key=True),
    Column("level", Integer, nullable=False),
    Column("document", JSONDoc, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    _ticket_fk(),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", _Serial, primary_key=True, autoincrement=True),
    Column("system", String(32), nullable=False),
    Column("ticket_id", String(128), nullable=False),
    Column("evaluated_at", UTCDateTime, nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column("policy_hash", String(128), nullable=False),
    Column("escalate", Boolean, nullable=False),
    Column("level", Integer, nullable=False),
    Column("rule_ids", JSONDoc, nullable=False),
    Column("reasons", JSONDoc, nullable=False),
    Column("inputs", JSONDoc, nullable=False),
    Column("actions", JSONDoc, nullable=False),
    Column("explanation", Text, nullable=False),
    Column("run_id", String(64)),
    Column("idempotency_key", String(80)),
    _ticket_fk(),
    Index("ix_decisions_ticket", "system", "ticket_id", "evaluated_at"),
    Index("ix_decisions_evaluated_at", "evaluated_at"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("idempotency_key", String(80), primary_key=True),
    Column("system", String(32), nullable=False),
    Column("ticket_id", String(128), nullable=False),
    Column("plan", JSONDoc, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("detail", Text),
    _ticket_fk(),
    Index("ix_outbox_pending", "system", "status", "created_at"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", _Serial, primary_key=True, autoincrement=True),
    Column("system", String(32), nullable=False),
    Column("ticket_id", String(128), nullable=False),
    Column("field", String(255)),
    Column("reason", Text, nullable=False),
    Column("payload_excerpt", Text),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column("count", Integer, nullable=False),
    Column("resolved", Boolean, nullable=False),
    Index("ix_quarantine_open", "system", "resolved", "ticket_id"),
)

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("system", String(32), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("counts", JSONDoc, nullable=False),
    Index("ix_runs_started", "system", "started_at"),
)
