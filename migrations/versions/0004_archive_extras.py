"""Sahha's archetypes (unique on profile, name, periodicity and span), the quarantine of records that could
not be parsed, the UTC offsets Sahha sent with each record's datetimes (so records read back in the
user's local time, whose local day they describe), and on Postgres a fillfactor of 80 on the upserted tables.

Revision ID: 0004_archive_extras
Revises: 0003_event_store
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sahha_sync.migrations._helpers import big_id, enable_row_level_security, is_postgres, utc

revision: str = "0004_archive_extras"
down_revision: str | Sequence[str] | None = "0003_event_store"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OFFSETS = {"biomarkers": ("start_utc_offset", "end_utc_offset"), "scores": ("score_utc_offset",)}
# Room on each page for a changed row's new version next to the old one (a HOT update, no index writes):
# late-arriving data rewrites recent rows, and the upsert's reload is about updates.
FILLFACTOR = 80
UPSERTED_TABLES = ("biomarkers", "scores", "archetypes")


def _stamp(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "archetypes",
        big_id(),
        sa.Column("profile_id", sa.Text(), nullable=False),
        sa.Column("sahha_profile_id", sa.Text()),
        sa.Column("sahha_id", sa.Text()),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("value", sa.Text()),
        sa.Column("data_type", sa.Text()),
        sa.Column("ordinality", sa.Integer()),
        sa.Column("periodicity", sa.Text(), nullable=False),
        utc("start_date_time", nullable=False),
        utc("end_date_time", nullable=False),
        utc("created_at_utc"),
        sa.Column("version", sa.Text()),
        _stamp("archived_at"),
        _stamp("updated_at"),
        sa.Column("start_utc_offset", sa.Integer()),
        sa.Column("end_utc_offset", sa.Integer()),
        sa.PrimaryKeyConstraint("id", name="pk_archetypes"),
        sa.UniqueConstraint(
            "profile_id",
            "name",
            "periodicity",
            "start_date_time",
            "end_date_time",
            name="uq_archetypes_natural_key",
        ),
    )
    op.create_table(
        "quarantined_records",
        big_id(),
        sa.Column("profile_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        utc("received_at", nullable=False),
        _stamp("archived_at"),
        sa.PrimaryKeyConstraint("id", name="pk_quarantined_records"),
    )
    op.create_index("ix_quarantined_records_profile_id", "quarantined_records", ["profile_id"])
    enable_row_level_security("archetypes", "quarantined_records")
    for table, columns in OFFSETS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.add_column(sa.Column(column, sa.Integer()))
    if is_postgres():
        for table in UPSERTED_TABLES:
            op.execute(sa.text(f"ALTER TABLE {table} SET (fillfactor = {FILLFACTOR})"))


def downgrade() -> None:
    if is_postgres():
        for table in ("biomarkers", "scores"):
            op.execute(sa.text(f"ALTER TABLE {table} RESET (fillfactor)"))
    for table, columns in OFFSETS.items():
        with op.batch_alter_table(table) as batch:
            for column in reversed(columns):
                batch.drop_column(column)
    op.drop_index("ix_quarantined_records_profile_id", table_name="quarantined_records")
    op.drop_table("quarantined_records")
    op.drop_table("archetypes")
