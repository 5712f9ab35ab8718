"""How far the archive holds each user's data (``user_freshness``, one row per user): a projection of the runs'
and the webhook deliveries' events, so an analysis can use archived data that is fresh within a stated bound.
``sahha-sync replay`` fills it from the event store.

Revision ID: 0010_user_freshness
Revises: 0009_webhook_inbox
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sahha_sync.migrations._helpers import enable_row_level_security, utc

revision: str = "0010_user_freshness"
down_revision: str | Sequence[str] | None = "0009_webhook_inbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_freshness",
        sa.Column("user_id", sa.Text(), nullable=False),
        utc("fetched_through"),
        utc("delivered_through"),
        utc("archetypes_through"),
        sa.Column("delivery_run_id", sa.Text()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("user_id", name="pk_user_freshness"),
    )
    enable_row_level_security("user_freshness")


def downgrade() -> None:
    op.drop_table("user_freshness")
