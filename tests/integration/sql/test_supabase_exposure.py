"""On a Postgres set up as Supabase sets one up (its API roles, ``auth.uid()``, its default privileges on
``public``), the migrated schema leaves nothing open to ``anon`` or ``authenticated``: row level security, grants
(``TRUNCATE`` included), sequences, functions, their ``search_path``, no ``SECURITY DEFINER``. The library's own
tables live in their schema; the optional policies let a signed-in user read only their own rows."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import func

from sahha_sync import migrations
from sahha_sync.adapters.sql.engine import create_engine
from sahha_sync.adapters.sql.tables import LIBRARY_TABLES, sahha_rate_budgets
from sahha_sync.migrations import policies
from tests.integration.sql.supabase import exposures, libpq, make_supabase_like

pytestmark = pytest.mark.postgres


def connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(libpq(url), autocommit=True)


def tables_in(conn: psycopg.Connection[Any], schema: str) -> set[str]:
    rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)).fetchall()
    return {name for (name,) in rows}


def test_before_the_library_schema_revision_the_check_finds_what_supabase_left_open(
    new_postgres_database: str,
) -> None:
    make_supabase_like(new_postgres_database)
    migrations.upgrade(new_postgres_database, "0010_user_freshness")
    with connect(new_postgres_database) as conn:
        found = exposures(conn)
    assert "anon has TRUNCATE on biomarkers" in found
    assert "anon has USAGE on biomarkers_id_seq" in found
    assert any(item.startswith("anon may execute sahha_sync_count_job_outcome") for item in found)
    assert any(item.endswith("mutable search_path") for item in found)


def test_the_migrated_database_exposes_nothing_to_the_api_roles(new_postgres_database: str) -> None:
    make_supabase_like(new_postgres_database)
    migrations.upgrade(new_postgres_database)
    with connect(new_postgres_database) as conn:
        assert exposures(conn) == []
        for statement in ("TRUNCATE biomarkers", "SELECT nextval('biomarkers_id_seq')", "TABLE sahha_sync.sync_events"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                as_user(conn, "anon", None, statement)
        assert conn.execute("SELECT count(*) FROM biomarkers").fetchone() == (0,)  # the table is still there


def test_the_library_tables_move_into_their_schema_and_back(new_postgres_database: str) -> None:
    library = {table.name for table in LIBRARY_TABLES}
    migrations.upgrade(new_postgres_database)
    with connect(new_postgres_database) as conn:
        assert tables_in(conn, "sahha_sync") == library
        assert tables_in(conn, "public") & library == set()
        assert {"biomarkers", "scores", "archetypes", "archetype_analysis_tracking"} <= tables_in(conn, "public")
    migrations.downgrade(new_postgres_database, "0010_user_freshness")
    with connect(new_postgres_database) as conn:
        assert library - {"user_erasures"} <= tables_in(conn, "public")  # the erasure log came later (0012)
        assert "user_erasures" not in tables_in(conn, "public")
        assert conn.execute("SELECT to_regnamespace('sahha_sync')").fetchone() == (None,)


async def test_a_configured_schema_holds_the_library_tables_the_engine_writes(new_postgres_database: str) -> None:
    migrations.upgrade(new_postgres_database, schema="app_sync")
    engine = create_engine(new_postgres_database, schema="app_sync")
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sahha_rate_budgets.insert().values(
                    account="acct", next_slot_at=func.now(), paused_until=func.now(), rates_at=func.now(), holders={}
                )
            )
    finally:
        await engine.dispose()
    with connect(new_postgres_database) as conn:
        assert tables_in(conn, "app_sync") == {table.name for table in LIBRARY_TABLES}
        assert conn.execute("SELECT account FROM app_sync.sahha_rate_budgets").fetchall() == [("acct",)]


def as_user(conn: psycopg.Connection[Any], role: str, sub: uuid.UUID | None, query: str) -> list[Any]:
    with conn.transaction():
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
        if sub is not None:
            conn.execute("SELECT set_config('request.jwt.claim.sub', %s, true)", (str(sub),))
        return conn.execute(query).fetchall()


def test_the_policies_let_a_signed_in_user_read_only_their_own_rows(new_postgres_database: str) -> None:
    make_supabase_like(new_postgres_database)
    migrations.upgrade(new_postgres_database)
    alice, bob = uuid.uuid4(), uuid.uuid4()
    with connect(new_postgres_database) as conn:
        conn.execute("CREATE SCHEMA app")
        conn.execute("GRANT USAGE ON SCHEMA app TO authenticated")
        conn.execute("CREATE TABLE app.profiles (auth_id uuid PRIMARY KEY, profile text NOT NULL)")
        conn.execute("GRANT SELECT ON app.profiles TO authenticated")
        conn.execute("INSERT INTO app.profiles VALUES (%s, 'p-alice'), (%s, 'p-bob')", (alice, bob))
        for profile in ("p-alice", "p-bob"):
            conn.execute(
                "INSERT INTO biomarkers (profile_id, type, start_date_time, end_date_time, observed_at) "
                "VALUES (%s, 'steps', now(), now(), now())",
                (profile,),
            )
    mapping = "(SELECT p.profile FROM app.profiles p WHERE p.auth_id = auth.uid())"
    policies.run(new_postgres_database, policies.apply_sql("sahha_sync", mapping))
    with connect(new_postgres_database) as conn:
        assert exposures(conn) == []
        assert as_user(conn, "authenticated", alice, "SELECT profile_id FROM biomarkers") == [("p-alice",)]
        assert as_user(conn, "authenticated", bob, "SELECT profile_id FROM biomarkers") == [("p-bob",)]
        assert as_user(conn, "authenticated", None, "SELECT profile_id FROM biomarkers") == []
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            as_user(conn, "anon", alice, "SELECT profile_id FROM biomarkers")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            as_user(conn, "authenticated", alice, "DELETE FROM biomarkers")
    migrations.downgrade(new_postgres_database, "0010_user_freshness")  # a later revision closes everything again
    migrations.upgrade(new_postgres_database)
    with connect(new_postgres_database) as conn:
        assert exposures(conn) == []
        assert as_user(conn, "authenticated", alice, "SELECT profile_id FROM biomarkers") == [("p-alice",)]
    policies.run(new_postgres_database, policies.drop_sql("sahha_sync"))
    with connect(new_postgres_database) as conn:
        assert exposures(conn) == []
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            as_user(conn, "authenticated", alice, "SELECT profile_id FROM biomarkers")
