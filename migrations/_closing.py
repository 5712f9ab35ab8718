"""Closing what the migrations create to Supabase's API roles (``anon``, ``authenticated``).

Supabase grants those roles everything on what is created in ``public`` (its default privileges), and Postgres
lets everyone execute a new function. Row level security keeps rows from them, but not ``TRUNCATE``, sequences
(``nextval``) or functions. ``close_to_api`` revokes every privilege from them and from ``PUBLIC`` on:

- every table, sequence and function in the library's schema;
- the tables the migrations create in the host's schema (``HOST_SCHEMA_TABLES``: the record tables and the
  seed's tracking, Alembic's version table, the durable queue's), the sequences they own, and the queue's
  functions (``procrastinate_*``, ``sahha_sync_*``);

and gives every one of those functions a fixed ``search_path`` (its own schema, then ``pg_temp``). A role that
does not exist (plain Postgres has no ``anon``) is skipped. Every revision that creates something calls it last.
What the optional policies (``policies.py``) govern keeps the grants they gave.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sahha_sync.migrations._helpers import library_schema
from sahha_sync.migrations.policies import FUNCTION, POLICY

HOST_SCHEMA_TABLES = (
    "biomarkers",
    "scores",
    "archetypes",
    "archetype_analysis_tracking",
    "alembic_version",
    "procrastinate_jobs",
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_workers",
    "sahha_sync_job_counters",
)
API_ROLES = ("anon", "authenticated")

_CLOSE = """
DO $$
DECLARE
    lib text := '{schema}';
    host_tables text[] := ARRAY[{tables}];
    who text;
    item record;
BEGIN
    SELECT concat_ws(', ', 'PUBLIC', string_agg(quote_ident(rolname), ', ')) INTO who
        FROM pg_roles WHERE rolname IN ({roles});
    FOR item IN
        SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND (n.nspname = lib OR (n.nspname = current_schema() AND c.relname = ANY(host_tables)))
          AND NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = c.oid AND polname = '{policy}')
    LOOP
        EXECUTE format('REVOKE ALL ON TABLE %s FROM %s', item.name, who);
    END LOOP;
    FOR item IN
        SELECT s.oid::regclass AS name FROM pg_class s JOIN pg_namespace n ON n.oid = s.relnamespace
        WHERE s.relkind = 'S' AND (n.nspname = lib OR EXISTS (
            SELECT 1 FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
            WHERE d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.refclassid = 'pg_class'::regclass
              AND t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(host_tables)))
    LOOP
        EXECUTE format('REVOKE ALL ON SEQUENCE %s FROM %s', item.name, who);
    END LOOP;
    FOR item IN
        SELECT p.oid::regprocedure AS name, n.nspname AS home FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE p.prokind = 'f' AND (n.nspname = lib OR (n.nspname = current_schema()
          AND (left(p.proname, 14) = 'procrastinate_' OR left(p.proname, 11) = 'sahha_sync_')))
          AND NOT (n.nspname = lib AND p.proname = '{function}')
    LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM %s', item.name, who);
        EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', item.name, item.home);
    END LOOP;
    IF to_regprocedure(format('%I.{function}()', lib)) IS NULL THEN
        EXECUTE format('REVOKE ALL ON SCHEMA %I FROM %s', lib, who);
    END IF;
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON TABLES FROM %s', lib, who);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON SEQUENCES FROM %s', lib, who);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON FUNCTIONS FROM %s', lib, who);
END;
$$;
"""


def close_to_api() -> None:
    """Revoke the API roles' privileges on everything the migrations created (Postgres only)."""
    schema = library_schema()
    if schema is None:
        return
    tables = ", ".join(f"'{name}'" for name in HOST_SCHEMA_TABLES)
    roles = ", ".join(f"'{role}'" for role in API_ROLES)
    statement = _CLOSE.format(schema=schema, tables=tables, roles=roles, policy=POLICY, function=FUNCTION)
    op.execute(sa.text(statement))
