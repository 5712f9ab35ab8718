"""On Postgres every table in ``public`` and the library's schema has row level security on, so Supabase's API
keys read nothing."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from sahha_sync import migrations

pytestmark = pytest.mark.postgres

SUPABASE_ROLES = ("anon", "authenticated")


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def create_supabase_roles(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """The API roles as Supabase has them: no login, and the default grants on ``public``."""
    for role in SUPABASE_ROLES:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN NOINHERIT").format(sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT ALL ON ALL TABLES IN SCHEMA public TO {}").format(sql.Identifier(role)))


def test_no_table_in_public_has_row_level_security_off(new_postgres_database: str) -> None:
    migrations.upgrade(new_postgres_database)
    with psycopg.connect(libpq(new_postgres_database)) as conn:
        rows = conn.execute(
            "SELECT c.relname, c.relrowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname IN ('public', 'sahha_sync') AND c.relkind IN ('r', 'p')"
        ).fetchall()
    assert rows, "the migrations created no table"
    assert [name for name, secured in rows if not secured] == []


def test_the_api_roles_read_no_health_data_while_the_service_connection_does(new_postgres_database: str) -> None:
    migrations.upgrade(new_postgres_database)
    with psycopg.connect(libpq(new_postgres_database), autocommit=True) as conn:
        create_supabase_roles(conn)
        conn.execute(
            "INSERT INTO biomarkers (profile_id, type, start_date_time, end_date_time, observed_at) "
            "VALUES ('u1', 'steps', now(), now(), now())"
        )
        conn.execute(
            "INSERT INTO sahha_sync.sync_events (stream_id, version, type, schema_version, payload) "
            "VALUES ('run-1', 1, 'sync.completed', 1, '{}')"
        )
        assert conn.execute("SELECT count(*) FROM biomarkers").fetchone() == (1,)
        for role in SUPABASE_ROLES:
            with conn.transaction():
                conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
                for table in ("biomarkers",):
                    count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
                    assert count.fetchone() == (0,), f"{role} can read {table}"
