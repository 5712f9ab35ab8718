"""The erasure guard's triggers (revision ``0012_erasures``) call their function only when a row's user changes: a
``WHEN`` condition compares the row's user with the user the transaction last found not erased, so the database
skips the call for every following row of that user. The function already returned at once for those rows, but
calling a PL/pgSQL function for each row cost about a sixth of the database's work in an archival batch
(0.4-0.7 ms of database CPU per job of ~250 records, of 3.6-4.1 ms). What the guard does is unchanged: a
user's first row in a transaction still takes the advisory lock and looks the user up.

Revision ID: 0015_erasure_check_once
Revises: 0014_analysis_results_latest
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sahha_sync.migrations._erasure import GUARDED, TRIGGER, create_trigger, guarded_table
from sahha_sync.migrations._helpers import library_schema

revision: str = "0015_erasure_check_once"
down_revision: str | Sequence[str] | None = "0014_analysis_results_latest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _recreate(*, when_user_changes: bool) -> None:
    schema = library_schema()
    if schema is None:  # SQLite has no guard
        return
    for table, column in GUARDED.items():
        op.execute(sa.text(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {guarded_table(table, schema)}"))
        op.execute(sa.text(create_trigger(table, column, schema, when_user_changes=when_user_changes)))


def upgrade() -> None:
    _recreate(when_user_changes=True)


def downgrade() -> None:
    _recreate(when_user_changes=False)
