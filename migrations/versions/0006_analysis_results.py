"""The analysis each completed run answered with (``analysis_results``, one row per run), so a host can read
past analyses and a run whose input did not change can return the stored one without calling the analyst.

Revision ID: 0006_analysis_results
Revises: 0005_job_queue
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sahha_sync.migrations._helpers import big_id, enable_row_level_security, json_type, utc

revision: str = "0006_analysis_results"
down_revision: str | Sequence[str] | None = "0005_job_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY_INDEX = "ix_analysis_results_user_id_archetype_analysis_type"


def upgrade() -> None:
    op.create_table(
        "analysis_results",
        big_id(),
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("archetype", sa.Text(), nullable=False),
        sa.Column("analysis_type", sa.Text(), nullable=False),
        sa.Column("input_hash", sa.Text(), nullable=False),
        sa.Column("analyst", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("prompt_version", sa.Text(), nullable=False),
        sa.Column("analysis", json_type(), nullable=False),
        sa.Column("reused_from", sa.Text()),
        utc("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_analysis_results"),
        sa.UniqueConstraint("run_id", name="uq_analysis_results_run_id"),
    )
    op.create_index(KEY_INDEX, "analysis_results", ["user_id", "archetype", "analysis_type"])
    enable_row_level_security("analysis_results")


def downgrade() -> None:
    op.drop_index(KEY_INDEX, table_name="analysis_results")
    op.drop_table("analysis_results")
