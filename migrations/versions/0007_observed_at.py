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

from sahha_sync.migrations._helpers import is_postgres, utc

revision: str = "0007_observed_at"
down_revision: str | Sequence[str] | None = "0006_analysis_results"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECORD_TABLES = ("biomarkers", "scores", "archetypes")
COLUMN = "observed_at"
# SQLite makes a column NOT NULL only by copying its table, which ``db sql`` cannot print: there the column comes
# NOT NULL with this constant default, which the backfill replaces at once and no write of the archive relies on.
SQLITE_PLACEHOLDER = "1970-01-01 00:00:00.000000"


def upgrade() -> None:
    postgres = is_postgres()
    for table in RECORD_TABLES:
        if postgres:
            op.add_column(table, utc(COLUMN))
        else:
            placeholder = sa.text(f"'{SQLITE_PLACEHOLDER}'")
            op.add_column(
                table, sa.Column(COLUMN, sa.DateTime(timezone=True), nullable=False, server_default=placeholder)
            )
        op.execute(sa.text(f"UPDATE {table} SET {COLUMN} = coalesce(created_at_utc, updated_at, archived_at)"))
        if postgres:
            op.alter_column(table, COLUMN, existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    for table in reversed(RECORD_TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(COLUMN)
