"""The host's tables as they were before sahha-sync: no unique keys, the watermark named last_analysis_at.

Revision ID: 0001_baseline
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sahha_sync.migrations._helpers import big_id, enable_row_level_security, json_type, utc

revision: str = "0001_baseline"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _stamps() -> list[sa.Column[object]]:
    return [
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    ]


def upgrade() -> None:
    op.create_table(
        "biomarkers",
        big_id(),
        sa.Column("profile_id", sa.Text(), nullable=False),
        sa.Column("sahha_profile_id", sa.Text()),
        sa.Column("sahha_id", sa.Text()),
        sa.Column("category", sa.Text()),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("periodicity", sa.Text()),
        sa.Column("aggregation", sa.Text()),
        sa.Column("value", sa.Text()),
        sa.Column("value_numeric", sa.Float()),
        sa.Column("unit", sa.Text()),
        sa.Column("value_type", sa.Text()),
        utc("start_date_time", nullable=False),
        utc("end_date_time", nullable=False),
        utc("created_at_utc"),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_biomarkers"),
    )
    op.create_table(
        "scores",
        big_id(),
        sa.Column("profile_id", sa.Text(), nullable=False),
        sa.Column("sahha_profile_id", sa.Text()),
        sa.Column("sahha_id", sa.Text()),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("state", sa.Text()),
        sa.Column("score", sa.Float()),
        sa.Column("factors", json_type()),
        sa.Column("data_sources", json_type()),
        utc("score_date_time", nullable=False),
        utc("created_at_utc"),
        sa.Column("version", sa.Text()),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_scores"),
    )
    op.create_table(
        "archetype_analysis_tracking",
        big_id(),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("archetype", sa.Text(), nullable=False),
        sa.Column("analysis_type", sa.Text(), nullable=False),
        utc("last_analysis_at"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_archetype_analysis_tracking"),
    )
    enable_row_level_security("biomarkers", "scores", "archetype_analysis_tracking", "alembic_version")


def downgrade() -> None:
    op.drop_table("archetype_analysis_tracking")
    op.drop_table("scores")
    op.drop_table("biomarkers")
