"""Async engines from the URLs people actually have: the plain ``postgresql://`` string Supabase shows, or a
``sqlite:///`` file for the embedded default.

Postgres goes through psycopg 3, SQLite through aiosqlite. Supabase's transaction pooler (port 6543) hands
each transaction to any server connection, which breaks prepared statements; they are turned off for that
port automatically, or whenever ``prepared_statements=False`` is passed.

The library's own tables live in their own schema on Postgres (``schema``, default ``sahha_sync``; see
``tables.LIBRARY_SCHEMA``); SQLite has none.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from sahha_sync.adapters.sql._sqlite_erasure import guard_connection, register_digest
from sahha_sync.adapters.sql.tables import schema_map

SUPABASE_TRANSACTION_POOLER_PORT = 6543
SQLITE_BUSY_TIMEOUT_MS = 30_000
READ_ONLY_OPTION = "sahha_sync_read_only"  # execution option of a connection that only reads (a deferred BEGIN)
DEFAULT_SCHEMA = "sahha_sync"

_POSTGRES_NAMES = {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg_async"}
_SQLITE_NAMES = {"sqlite", "sqlite+aiosqlite", "sqlite+pysqlite"}


def async_url(url: str | URL) -> URL:
    """The URL with the async driver this library uses (``postgresql+psycopg``, ``sqlite+aiosqlite``)."""
    return _with_driver(url, sqlite="sqlite+aiosqlite")


def sync_url(url: str | URL) -> URL:
    """The URL with a blocking driver of the same database (for migrations)."""
    return _with_driver(url, sqlite="sqlite+pysqlite")


def _with_driver(url: str | URL, *, sqlite: str) -> URL:
    """psycopg 3 drives Postgres both ways; SQLite takes ``sqlite``; any other database is left as given."""
    parsed = make_url(url)
    if parsed.drivername in _POSTGRES_NAMES:
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in _SQLITE_NAMES:
        return parsed.set(drivername=sqlite)
    return parsed


def uses_prepared_statements(url: str | URL, prepared_statements: bool | None = None) -> bool:
    """False for Supabase's transaction pooler (port 6543) unless asked otherwise."""
    if prepared_statements is not None:
        return prepared_statements
    return make_url(url).port != SUPABASE_TRANSACTION_POOLER_PORT


def postgres_connect_args(url: str | URL, prepared_statements: bool | None = None) -> dict[str, Any]:
    """psycopg connection arguments; ``prepare_threshold=None`` turns server-side prepares off."""
    return {} if uses_prepared_statements(url, prepared_statements) else {"prepare_threshold": None}


def is_memory_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def library_schema(url: str | URL, schema: str | None = DEFAULT_SCHEMA) -> str | None:
    """The schema of the library's own tables on ``url``'s database: ``schema`` on Postgres, none on SQLite."""
    return None if make_url(url).get_backend_name() == "sqlite" else schema


def create_engine(
    url: str, *, prepared_statements: bool | None = None, schema: str | None = DEFAULT_SCHEMA
) -> AsyncEngine:
    """An ``AsyncEngine`` for ``url`` that finds the library's tables in ``schema``; nothing connects until first
    use."""
    target = async_url(url)
    backend = target.get_backend_name()
    translate = {"schema_translate_map": schema_map(library_schema(target, schema))}
    if backend == "postgresql":
        return create_async_engine(
            target,
            pool_pre_ping=True,
            connect_args=postgres_connect_args(target, prepared_statements),
            execution_options=translate,
        )
    if backend == "sqlite":
        return _sqlite_engine(target, translate)
    return create_async_engine(target, pool_pre_ping=True, execution_options=translate)


def _sqlite_engine(url: URL, execution_options: dict[str, Any]) -> AsyncEngine:
    options: dict[str, Any] = {
        "connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        "execution_options": execution_options,
    }
    if is_memory_sqlite(url):
        options["poolclass"] = StaticPool
    engine = create_async_engine(url, **options)
    install_sqlite_transactions(engine.sync_engine, wal=not is_memory_sqlite(url))
    return engine


def install_sqlite_transactions(sync_engine: Any, *, wal: bool) -> None:
    """Make SQLite transactions real: ``BEGIN IMMEDIATE`` at the start of each, so reads and writes of a
    unit of work see one state and concurrent writers wait for each other instead of failing mid-way. A
    connection with the ``READ_ONLY_OPTION`` execution option (a unit of work that only reads) begins deferred:
    its first read takes a snapshot, and it never waits for a writer (in WAL mode).

    Each writing transaction also makes sure the connection carries the erasure guard (``_sqlite_erasure``): rows
    written for a user ``forget-user`` erased are skipped, as PostgreSQL's triggers skip them."""

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        if wal:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()
        register_digest(dbapi_connection)

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY_OPTION):
            conn.exec_driver_sql("BEGIN")
            return
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        guard_connection(conn)  # inside the transaction: a rollback that undoes it is made good on the next one
