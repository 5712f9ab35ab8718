"""SQL adapters (SQLAlchemy 2, async): Postgres/Supabase through psycopg 3, SQLite through aiosqlite."""

from sahha_sync.adapters.sql.engine import create_engine

__all__ = ["create_engine"]
