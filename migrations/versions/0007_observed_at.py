"""How new each stored record's version is: ``observed_at`` on biomarkers, scores and archetypes.

A write replaces a stored row only when it is at least as new (Sahha's ``createdAtUtc`` when it gives one, else
when the fetch was answered or the delivery received). Rows already stored get what is known of them: their
``created_at_utc``, else the time they were last written (``updated_at``, else ``archived_at``).

Revision ID: 0007_observed_at
Revises: 0006_analysis_results
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sahha_sync.migrations._helpers import utc

revision: str = "0007_observed_at"
down_revision: str | Sequence[str] | None = "0006_analysis_results"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECORD_TABLES = ("biomarkers", "scores", "archetypes")
COLUMN = "observed_at"


def upgrade() -> None:
    for table in RECORD_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(utc(COLUMN))
        op.execute(sa.text(f"UPDATE {table} SET {COLUMN} = coalesce(created_at_utc, updated_at, archived_at)"))
        with op.batch_alter_table(table) as batch:
            batch.alter_column(COLUMN, existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    for table in reversed(RECORD_TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(COLUMN)
