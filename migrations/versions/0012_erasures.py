"""Erasure wins every race: ``user_erasures`` records each user ``forget-user`` erased, and on PostgreSQL a trigger
on every table that holds a user's data skips a row written for an erased user, inside the writer's own
transaction. So a job that was running, buffered or queued when the user was erased (or a webhook delivery
acknowledged just before) writes nothing afterwards.

The trigger and the erasure also meet on an advisory lock per user: an erasure waits for writes of that user
already under way (and then deletes what they wrote), and a write that starts during the erasure waits for it
(and then sees the erasure). SQLite (one process, one writer at a time) records erasures without a stored trigger:
the library's own SQLite connections carry the guard as temporary triggers (``adapters/sql/_sqlite_erasure.py``).

The table keeps the SHA-256 of the user id (hex), not the id: what lets the database refuse the user's data, and
says whether a given id was erased, never which ids were. Deleting a row lets sahha-sync store that user again.

Revision ID: 0012_erasures
Revises: 0011_library_schema
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sahha_sync.migrations._closing import close_to_api
from sahha_sync.migrations._erasure import CHECKED, GUARDED, TABLE, TRIGGER, create_trigger, guarded_table
from sahha_sync.migrations._helpers import enable_row_level_security, library_schema, utc

revision: str = "0012_erasures"
down_revision: str | Sequence[str] | None = "0011_library_schema"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _postgres_function(column: str, schema: str) -> str:
    """The trigger function for tables whose user column is ``column``. A transaction writes mostly one user's
    rows: it checks a user once (the lock it takes holds until the transaction ends, so no erasure of that user
    can commit meanwhile) and remembers the user in a transaction-local setting for the rows that follow."""
    return f"""
CREATE FUNCTION "{schema}".{TRIGGER}_{column}() RETURNS trigger LANGUAGE plpgsql
SET search_path = "{schema}", pg_temp AS $$
BEGIN
    IF current_setting('{CHECKED}', true) IS DISTINCT FROM NEW.{column} THEN
        PERFORM pg_advisory_xact_lock_shared(hashtext('sahha_sync.erasure:' || NEW.{column}));
        IF EXISTS (
            SELECT 1 FROM "{schema}".{TABLE} WHERE user_digest = encode(sha256(convert_to(NEW.{column}, 'UTF8')), 'hex')
        ) THEN
            RETURN NULL;
        END IF;
        PERFORM set_config('{CHECKED}', NEW.{column}, true);
    END IF;
    RETURN NEW;
END
$$"""


def upgrade() -> None:
    schema = library_schema()
    op.create_table(
        TABLE,
        sa.Column("user_digest", sa.Text(), nullable=False),
        utc("erased_at", nullable=False),
        sa.PrimaryKeyConstraint("user_digest", name="pk_user_erasures"),
        schema=schema,
    )
    enable_row_level_security(TABLE, schema=schema)
    if schema is None:  # SQLite
        return
    for column in sorted(set(GUARDED.values())):
        op.execute(sa.text(_postgres_function(column, schema)))
    for table, column in GUARDED.items():
        op.execute(sa.text(create_trigger(table, column, schema, when_user_changes=False)))
    close_to_api()


def downgrade() -> None:
    schema = library_schema()
    if schema is not None:
        for table in GUARDED:
            op.execute(sa.text(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {guarded_table(table, schema)}"))
        for column in sorted(set(GUARDED.values())):
            op.execute(sa.text(f'DROP FUNCTION IF EXISTS "{schema}".{TRIGGER}_{column}()'))
    op.drop_table(TABLE, schema=schema)
