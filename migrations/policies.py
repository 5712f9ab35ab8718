"""The optional row level security policies (``sahha-sync db policies``): a signed-in app user reads their own rows.

The migrations leave every table closed to Supabase's API roles: row level security on, no policy, no grant. A host
whose app reads the archive through Supabase's API applies these policies. They let the ``authenticated`` role
``SELECT`` the rows whose user column equals ``<schema>.app_user_id()``: a function holding the host's mapping from
``auth.uid()`` to the user id the library archives under (``USER_ID_DEFAULT`` when the host uses Supabase's user
ids as they are; e.g. ``(SELECT p.id::text FROM public.profiles p WHERE p.auth_id = auth.uid())`` otherwise —
schema-qualified, as the function's ``search_path`` is empty). ``anon`` gets nothing, no role gets to write, and
``close_to_api`` (run by later revisions) leaves what these policies govern alone. ``drop_sql`` takes them back.
"""

from __future__ import annotations

from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from sahha_sync.adapters.sql.engine import postgres_connect_args, sync_url

POLICY = "sahha_sync_own_rows"
FUNCTION = "app_user_id"
USER_ID_DEFAULT = "auth.uid()::text"

# (schema or None for the host's, table, user column): the record tables, the runs and their analyses.
GOVERNED = (
    (None, "biomarkers", "profile_id"),
    (None, "scores", "profile_id"),
    (None, "archetypes", "profile_id"),
    (None, "archetype_analysis_tracking", "user_id"),
    ("library", "analysis_results", "user_id"),
)


def _table(schema: str, where: str | None, table: str) -> str:
    return f'"{schema}"."{table}"' if where else f'"{table}"'


def apply_sql(schema: str, user_id: str = USER_ID_DEFAULT) -> str:
    """The SQL that applies the policies on a database whose library schema is ``schema``."""
    function = f'"{schema}".{FUNCTION}()'
    lines = [
        f"CREATE OR REPLACE FUNCTION {function} RETURNS text LANGUAGE sql STABLE SECURITY INVOKER "
        f"SET search_path = '' AS $body$ SELECT ({user_id})::text $body$;",
        f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC, anon;",
        f"GRANT EXECUTE ON FUNCTION {function} TO authenticated;",
        f'GRANT USAGE ON SCHEMA "{schema}" TO authenticated;',
    ]
    for where, table, column in GOVERNED:
        name = _table(schema, where, table)
        lines += [
            f"DROP POLICY IF EXISTS {POLICY} ON {name};",
            f'CREATE POLICY {POLICY} ON {name} FOR SELECT TO authenticated USING ("{column}" = (SELECT {function}));',
            f"GRANT SELECT ON {name} TO authenticated;",
        ]
    return "\n".join(lines) + "\n"


def drop_sql(schema: str) -> str:
    """The SQL that takes the policies back, closing the tables again."""
    lines = []
    for where, table, _column in GOVERNED:
        name = _table(schema, where, table)
        lines += [f"DROP POLICY IF EXISTS {POLICY} ON {name};", f"REVOKE ALL ON {name} FROM authenticated;"]
    lines += [
        f'DROP FUNCTION IF EXISTS "{schema}".{FUNCTION}();',
        f'REVOKE ALL ON SCHEMA "{schema}" FROM authenticated;',
    ]
    return "\n".join(lines) + "\n"


def run(url: str, script: str) -> None:
    """Run ``script`` (``apply_sql``'s or ``drop_sql``'s) on ``url``'s Postgres database in one transaction."""
    target = sync_url(url)
    if target.get_backend_name() != "postgresql":
        raise ValueError("row level security policies need Postgres (SQLite has no roles)")
    engine = create_engine(target, poolclass=NullPool, connect_args=postgres_connect_args(target))
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(script)
    finally:
        engine.dispose()
