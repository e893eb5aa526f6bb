"""The first state store schema: cursors, tickets, escalation state, decisions, outbox, quarantine, runs.

Revision ID: 0001
Revises:
Create Date: 2026-03-02

Written out in full (not imported from core.store.tables) so that this
revision keeps meaning what it meant when later ones change the tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ts = sa.DateTime(timezone=True)
_json = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
_serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ticket_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["system", "ticket_id"],
        ["tickets.system", "tickets.ticket_id"],
        name=f"fk_{table}_tickets",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "cursors",
        sa.Column("system", sa.String(32), nullable=False),
        sa.Column("stream", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", _ts, nullable=False),
        sa.PrimaryKeyConstraint("system", "stream", name="pk_cursors"),
    )
    op.create_table(
        "tickets",
        sa.Column("system", sa.String(32), nullable=False),
        sa.Column("ticket_id", sa.String(128), nullable=False),
        sa.Column("ticket_key", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("tier", sa.String(64)),
        sa.Column("segment", sa.String(64)),
        sa.Column("account_id", sa.String(64)),
        sa.Column("group_id", sa.String(128)),
        sa.Column("group_name", sa.String(255)),
        sa.Column("product_area", sa.String(128)),
        sa.Column("created_at", _ts, nullable=False),
        sa.Column("updated_at", _ts, nullable=False),
        sa.Column("solved_at", _ts),
        sa.Column("first_reply_at", _ts),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("reassignment_count", sa.Integer(), nullable=False),
        sa.Column("agent_reply_count", sa.Integer(), nullable=False),
        sa.Column("concurrency_token", sa.String(128), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("next_check_at", _ts),
        sa.Column("first_escalated_at", _ts),
        sa.Column("breach_times", _json, nullable=False),
        sa.Column("ticket_json", _json, nullable=False),
        sa.Column("first_seen_at", _ts, nullable=False),
        sa.Column("last_seen_at", _ts, nullable=False),
        sa.PrimaryKeyConstraint("system", "ticket_id", name="pk_tickets"),
    )
    op.create_index("ix_tickets_account_id", "tickets", ["account_id"])
    op.create_index("ix_tickets_due", "tickets", ["system", "is_open", "next_check_at"])
    op.create_table(
        "escalation_state",
        sa.Column("system", sa.String(32), nullable=False),
        sa.Column("ticket_id", sa.String(128), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("document", _json, nullable=False),
        sa.Column("updated_at", _ts, nullable=False),
        sa.PrimaryKeyConstraint("system", "ticket_id", name="pk_escalation_state"),
        _ticket_fk("escalation_state"),
    )
    op.create_table(
        "decisions",
        sa.Column("id", _serial, autoincrement=True, nullable=False),
        sa.Column("system", sa.String(32), nullable=False),
        sa.Column("ticket_id", sa.String(128), nullable=False),
        sa.Column("evaluated_at", _ts, nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("policy_hash", sa.String(128), nullable=False),
        sa.Column("escalate", sa.Boolean(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("rule_ids", _json, nullable=False),
        sa.Column("reasons", _json, nullable=False),
        sa.Column("inputs", _json, nullable=False),
        sa.Column("actions", _json, nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("run_id", sa.String(64)),
        sa.Column("idempotency_key", sa.String(80)),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
        _ticket_fk("decisions"),
    )
    op.create_index("ix_decisions_ticket", "decisions", ["system", "ticket_id", "evaluated_at"])
    op.create_index("ix_decisions_evaluated_at", "decisions", ["evaluated_at"])
    op.create_table(
        "outbox",
        sa.Column("idempotency_key", sa.String(80), nullable=False),
        sa.Column("system", sa.String(32), nullable=False),
        sa.Column("ticket_id", sa.String(128), nullable=False),
        sa.Column("plan", _json, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", _ts, nullable=False),
        sa.Column("updated_at", _ts, nullable=False),
        sa.Column("detail", sa.Text()),
        sa.PrimaryKeyConstraint("idempotency_key", name="pk_outbox"),
        _ticket_fk("outbox"),
    )
    op.create_index("ix_outbox_pending", "outbox", ["system", "status", "created_at"])
    op.create_table(
        "quarantine",
        sa.Column("id", _serial, autoincrement=True, nullable=False),
        sa.Column("system", sa.String(32), nullable=False),
        sa.Column("ticket_id", sa.String(128), nullable=False),
        sa.Column("field", sa.String(255)),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload_excerpt", sa.Text()),
        sa.Column("first_seen", _ts, nullable=False),
        sa.Column("last_seen", _ts, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_quarantine"),
    )
    op.create_index("ix_quarantine_open", "quarantine", ["system", "resolved", "ticket_id"])
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("system", sa.String(32), nullable=False),
        sa.Column("started_at", _ts, nullable=False),
        sa.Column("finished_at", _ts),
        sa.Column("counts", _json, nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_runs"),
    )
    op.create_index("ix_runs_started", "runs", ["system", "started_at"])


def downgrade() -> None:
    for table in ("runs", "quarantine", "outbox", "decisions", "escalation_state", "tickets", "cursors"):
        op.drop_table(table)
