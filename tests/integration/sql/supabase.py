"""A Postgres database made to look like Supabase's: its API roles, its ``auth.uid()``, its default privileges;
and ``exposures``, what those roles can reach beyond what a row level security policy governs."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from sahha_sync.migrations.policies import FUNCTION

API_ROLES = ("anon", "authenticated")
ROLES = (*API_ROLES, "service_role")
SCHEMAS = ("public", "sahha_sync")

Connection = psycopg.Connection[Any]

_AUTH = """
CREATE SCHEMA IF NOT EXISTS auth;
CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT nullif(coalesce(current_setting('request.jwt.claim.sub', true),
                         (current_setting('request.jwt.claims', true)::jsonb ->> 'sub')), '')::uuid
$$;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION auth.uid() TO anon, authenticated, service_role;
"""

# What Supabase sets up in ``public`` for the roles that create objects there.
_DEFAULT_PRIVILEGES = """
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
"""


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def make_supabase_like(url: str) -> None:
    """Supabase's roles (cluster-wide, made once), and in ``url``'s database its ``auth`` schema and defaults."""
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        for role in ROLES:
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN NOINHERIT").format(sql.Identifier(role)))
        conn.execute(_AUTH)
        conn.execute(_DEFAULT_PRIVILEGES)


def _governed(conn: Connection, role: str) -> set[str]:
    """The tables with row level security and a policy that applies to ``role``."""
    rows = conn.execute(
        "SELECT DISTINCT c.oid::regclass::text FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid "
        "WHERE c.relrowsecurity AND (0 = ANY(p.polroles) OR (SELECT oid FROM pg_roles WHERE rolname = %s) "
        "= ANY(p.polroles))",
        (role,),
    ).fetchall()
    return {name for (name,) in rows}


def exposures(conn: Connection) -> list[str]:
    """Everything in ``SCHEMAS`` that Supabase's API roles could reach, as readable findings; a role may only
    ``SELECT`` a table a policy governs for it, and execute the policies' own function."""
    found: list[str] = []
    relations = conn.execute(
        "SELECT c.oid::regclass::text, c.relkind, c.relrowsecurity FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'S')",
        (list(SCHEMAS),),
    ).fetchall()
    functions = conn.execute(
        "SELECT p.oid::regprocedure::text, p.proname, p.prosecdef, p.proconfig FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ANY(%s) AND p.prokind = 'f'",
        (list(SCHEMAS),),
    ).fetchall()
    for name, kind, secured in relations:
        if kind != "S" and not secured:
            found.append(f"{name}: row level security off")
    for name, _proname, definer, config in functions:
        if not any(setting.startswith("search_path=") for setting in config or ()):
            found.append(f"{name}: mutable search_path")
        if definer:
            found.append(f"{name}: SECURITY DEFINER")
    for role in API_ROLES:
        governed = _governed(conn, role)
        for name, kind, _secured in relations:
            if kind == "S":
                privileges = ("USAGE", "SELECT", "UPDATE")
                check = "has_sequence_privilege"
            else:
                privileges = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
                check = "has_table_privilege"
            for privilege in privileges:
                if privilege == "SELECT" and name in governed:
                    continue
                query = sql.SQL("SELECT {}(%s, %s::regclass, %s)").format(sql.Identifier(check))
                if conn.execute(query, (role, name, privilege)).fetchone() == (True,):
                    found.append(f"{role} has {privilege} on {name}")
        for name, proname, _definer, _config in functions:
            allowed = proname == FUNCTION and role == "authenticated" and governed
            if not allowed and conn.execute(
                "SELECT has_function_privilege(%s, %s::regprocedure, 'EXECUTE')", (role, name)
            ).fetchone() == (True,):
                found.append(f"{role} may execute {name}")
        usage = conn.execute(
            "SELECT has_schema_privilege(%s, 'sahha_sync', 'USAGE') FROM pg_namespace WHERE nspname = 'sahha_sync'",
            (role,),
        ).fetchone()
        if usage == (True,) and not (role == "authenticated" and governed):
            found.append(f"{role} has USAGE on schema sahha_sync")
    return found
