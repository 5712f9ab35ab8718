"""The library's own tables move into their own schema (``SAHHA_SYNC_SCHEMA``, default ``sahha_sync``), away from
the host's tables in ``public``, and everything the migrations created is closed to Supabase's API roles.

Which tables are the library's is said once, in ``tables.py`` (``LIBRARY_TABLES``); the record tables (``biomarkers``,
``scores``, ``archetypes``), the seed's ``archetype_analysis_tracking`` and the durable queue's stay where they are (the
host's app reads the records; the queue calls its functions by their plain names). Sequences and indexes move with their
tables. ``close_to_api`` (``_closing.py``) revokes ``anon``'s and ``authenticated``'s privileges — ``TRUNCATE``,
sequences and functions included — and fixes every function's ``search_path``. Later revisions create the library's
tables in the schema (``library_schema()``) and call ``close_to_api`` again. SQLite has no schemas: nothing changes
there.

On Postgres a trigger on ``sync_events`` also announces each run's archival outcome on the ``NOTIFY`` channel
``sahha_sync_archived`` (``NOTIFY_CHANNEL``) when its ``sync.completed`` or ``archival.failed`` event commits: a JSON
payload with ``run_id``, ``user_id``, ``archetype``, ``analysis_type``, ``outcome`` (``completed`` or ``failed``)
and ``will_retry``, so a host that ``LISTEN``s need not poll.

Revision ID: 0011_library_schema
Revises: 0010_user_freshness
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sahha_sync.adapters.sql.tables import LIBRARY_TABLES
from sahha_sync.migrations._closing import close_to_api
from sahha_sync.migrations._helpers import library_schema

revision: str = "0011_library_schema"
down_revision: str | Sequence[str] | None = "0010_user_freshness"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MOVE = """
DO $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY[{tables}] LOOP
        IF to_regclass(format('%I.%I', {source}, name)) IS NOT NULL AND {source} <> {target} THEN
            EXECUTE format('ALTER TABLE %I.%I SET SCHEMA %I', {source}, name, {target});
        END IF;
    END LOOP;
END;
$$;
"""

NOTIFY_CHANNEL = "sahha_sync_archived"

_NOTIFY = """
CREATE FUNCTION "{schema}".notify_archived() RETURNS trigger LANGUAGE plpgsql SET search_path = "{schema}", pg_temp
AS $$
DECLARE
    requested jsonb := (SELECT e.payload FROM sync_events e WHERE e.stream_id = NEW.stream_id AND e.version = 1);
BEGIN
    PERFORM pg_notify('{channel}', json_build_object(
        'run_id', NEW.payload ->> 'run_id',
        'user_id', requested ->> 'user_id',
        'archetype', requested ->> 'archetype',
        'analysis_type', requested ->> 'analysis_type',
        'outcome', CASE WHEN NEW.type = 'sync.completed' THEN 'completed' ELSE 'failed' END,
        'will_retry', coalesce((NEW.payload ->> 'will_retry')::boolean, false)
    )::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER notify_archived AFTER INSERT ON "{schema}".sync_events
    FOR EACH ROW WHEN (NEW.type IN ('sync.completed', 'archival.failed'))
    EXECUTE FUNCTION "{schema}".notify_archived();
"""

_DROP_IF_EMPTY = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_class WHERE relnamespace = to_regnamespace('{schema}'))
       AND NOT EXISTS (SELECT 1 FROM pg_proc WHERE pronamespace = to_regnamespace('{schema}')) THEN
        EXECUTE format('DROP SCHEMA IF EXISTS %I', '{schema}');
    END IF;
END;
$$;
"""


def _move(source: str, target: str) -> None:
    """Move each of the library's tables that is in ``source`` to ``target`` (SQL expressions for schema names)."""
    tables = ", ".join(f"'{table.name}'" for table in LIBRARY_TABLES)
    op.execute(sa.text(_MOVE.format(tables=tables, source=source, target=target)))


def upgrade() -> None:
    schema = library_schema()
    if schema is None:
        return
    op.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    _move("current_schema()", f"'{schema}'")
    op.execute(sa.text(_NOTIFY.format(schema=schema, channel=NOTIFY_CHANNEL)))
    close_to_api()


def downgrade() -> None:
    schema = library_schema()
    if schema is None:
        return
    op.execute(sa.text(f'DROP TRIGGER IF EXISTS notify_archived ON "{schema}".sync_events'))
    op.execute(sa.text(f'DROP FUNCTION IF EXISTS "{schema}".notify_archived()'))
    _move(f"'{schema}'", "current_schema()")
    op.execute(sa.text(_DROP_IF_EMPTY.format(schema=schema)))
