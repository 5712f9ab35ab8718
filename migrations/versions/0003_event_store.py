"""The event store (sync_events), and the columns that make archetype_analysis_tracking a projection of it:
one row per run (run_id, unique), the window it fetched, where the data came from, whether archival was asked.

Revision ID: 0003_event_store
Revises: 0002_add_sahha_sync_tracking
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sahha_sync.migrations._helpers import enable_row_level_security, json_type, utc

revision: str = "0003_event_store"
down_revision: str | Sequence[str] | None = "0002_add_sahha_sync_tracking"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_events",
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(), nullable=False),
        sa.Column("stream_id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("payload", json_type(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("position", name="pk_sync_events"),
        sa.UniqueConstraint("stream_id", "version", name="uq_sync_events_stream_id_version"),
    )
    enable_row_level_security("sync_events")
    with op.batch_alter_table("archetype_analysis_tracking") as batch:
        batch.add_column(sa.Column("run_id", sa.Text()))
        batch.add_column(utc("window_start"))
        batch.add_column(utc("window_end"))
        batch.add_column(sa.Column("data_source", sa.Text()))
        batch.add_column(sa.Column("archival_requested", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_unique_constraint("uq_archetype_analysis_tracking_run_id", ["run_id"])
        batch.create_index("ix_archetype_analysis_tracking_user_id_analysis_type", ["user_id", "analysis_type"])


def downgrade() -> None:
    with op.batch_alter_table("archetype_analysis_tracking") as batch:
        batch.drop_index("ix_archetype_analysis_tracking_user_id_analysis_type")
        batch.drop_constraint("uq_archetype_analysis_tracking_run_id", type_="unique")
        for column in ("archival_requested", "data_source", "window_end", "window_start", "run_id"):
            batch.drop_column(column)
    op.drop_table("sync_events")
