"""How many jobs began archiving each webhook inbox entry (``webhook_inbox.attempts``): a delivery whose job keeps
killing its process is given up after a few attempts instead of queued again at every start.

Revision ID: 0013_inbox_attempts
Revises: 0012_erasures
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sahha_sync.migrations._helpers import library_schema

revision: str = "0013_inbox_attempts"
down_revision: str | Sequence[str] | None = "0012_erasures"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    column = sa.Column("attempts", sa.Integer(), nullable=False, server_default="0")
    op.add_column("webhook_inbox", column, schema=library_schema())


def downgrade() -> None:
    with op.batch_alter_table("webhook_inbox", schema=library_schema()) as batch:
        batch.drop_column("attempts")
