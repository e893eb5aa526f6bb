"""Customer segments as long as Salesforce picklist values (255 characters, was 64).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:  # batch mode: SQLite rebuilds the table
        batch.alter_column("segment", existing_type=sa.String(64), type_=sa.String(255))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.alter_column("segment", existing_type=sa.String(255), type_=sa.String(64))
