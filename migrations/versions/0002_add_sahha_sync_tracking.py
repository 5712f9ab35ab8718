"""The seed's change: sync status on archetype_analysis_tracking, the watermark renamed
last_analysis_at -> analysis_timestamp, and unique natural keys on biomarkers and scores.

Duplicate rows already in the tables would make the unique constraints fail: they are removed first, the
newest of each key kept (greatest updated_at, then id), and the count is logged as
``migration.duplicates_removed``. The downgrade is the seed's rollback; removed duplicates stay removed.

Revision ID: 0002_add_sahha_sync_tracking
Revises: 0001_baseline
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sahha_sync.migrations._helpers import remove_duplicates, utc

revision: str = "0002_add_sahha_sync_tracking"
down_revision: str | Sequence[str] | None = "0001_baseline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIOMARKER_KEY = ("profile_id", "type", "start_date_time", "end_date_time")
SCORE_KEY = ("profile_id", "type", "score_date_time")
SYNC_FLAGS = ("sahha_data_synced", "biomarkers_synced", "scores_synced", "archetypes_synced")
NEWEST_FIRST = "updated_at DESC, id DESC"


def upgrade() -> None:
    with op.batch_alter_table("archetype_analysis_tracking") as batch:
        for flag in SYNC_FLAGS:
            batch.add_column(sa.Column(flag, sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(utc("sync_completed_at"))
        batch.add_column(sa.Column("sync_error", sa.Text()))
        batch.alter_column("last_analysis_at", new_column_name="analysis_timestamp")
    remove_duplicates("biomarkers", BIOMARKER_KEY, NEWEST_FIRST)
    remove_duplicates("scores", SCORE_KEY, NEWEST_FIRST)
    with op.batch_alter_table("biomarkers") as batch:
        batch.create_unique_constraint("uq_biomarkers_natural_key", list(BIOMARKER_KEY))
    with op.batch_alter_table("scores") as batch:
        batch.create_unique_constraint("uq_scores_natural_key", list(SCORE_KEY))


def downgrade() -> None:
    with op.batch_alter_table("scores") as batch:
        batch.drop_constraint("uq_scores_natural_key", type_="unique")
    with op.batch_alter_table("biomarkers") as batch:
        batch.drop_constraint("uq_biomarkers_natural_key", type_="unique")
    with op.batch_alter_table("archetype_analysis_tracking") as batch:
        batch.alter_column("analysis_timestamp", new_column_name="last_analysis_at")
        batch.drop_column("sync_error")
        batch.drop_column("sync_completed_at")
        for flag in reversed(SYNC_FLAGS):
            batch.drop_column(flag)
