"""The Sahha account's shared request budget (``sahha_rate_budgets``, one row per account): every process that
talks to Sahha reserves its request starts from it, so the account's rate holds across processes.

Revision ID: 0008_sahha_rate_budgets
Revises: 0007_observed_at
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sahha_sync.migrations._helpers import enable_row_level_security, json_type, utc

revision: str = "0008_sahha_rate_budgets"
down_revision: str | Sequence[str] | None = "0007_observed_at"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sahha_rate_budgets",
        sa.Column("account", sa.Text(), nullable=False),
        utc("next_slot_at", nullable=False),
        utc("paused_until", nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("rate_limited", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("request_rate", sa.Float(), nullable=False, server_default="0"),
        sa.Column("rate_limited_rate", sa.Float(), nullable=False, server_default="0"),
        utc("rates_at", nullable=False),
        sa.Column("holders", json_type(), nullable=False),
        sa.PrimaryKeyConstraint("account", name="pk_sahha_rate_budgets"),
    )
    enable_row_level_security("sahha_rate_budgets")


def downgrade() -> None:
    op.drop_table("sahha_rate_budgets")
