"""The webhook inbox: deliveries acknowledged with the in-memory queue, held in the database until archived, so
that an acknowledged delivery survives the process (``webhook_inbox``; its payloads hold health values, so row
level security is on).

Revision ID: 0009_webhook_inbox
Revises: 0008_sahha_rate_budgets
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sahha_sync.migrations._helpers import big_id, enable_row_level_security, json_type

revision: str = "0009_webhook_inbox"
down_revision: str | Sequence[str] | None = "0008_sahha_rate_budgets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

USER_INDEX = "ix_webhook_inbox_user_id"


def upgrade() -> None:
    op.create_table(
        "webhook_inbox",
        big_id(),
        sa.Column("dedup_key", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("payload", json_type(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_inbox"),
        sa.UniqueConstraint("dedup_key", name="uq_webhook_inbox_dedup_key"),
        sqlite_autoincrement=True,  # an id is never given twice, not even after the newest entry was removed
    )
    op.create_index(USER_INDEX, "webhook_inbox", ["user_id"])
    enable_row_level_security("webhook_inbox")


def downgrade() -> None:
    op.drop_index(USER_INDEX, table_name="webhook_inbox")
    op.drop_table("webhook_inbox")
