"""The erasure guard on SQLite: what revision ``0012_erasures``'s triggers do on PostgreSQL, on the library's own
connections.

``user_erasures`` holds the SHA-256 (hex) of each erased user's id. Every SQLite connection of the library's
engines gets a function computing that digest (``DIGEST_FUNCTION``) and, at the start of a writing transaction,
one ``TEMP`` trigger per table that holds a user's data and per statement kind (``INSERT``,
``UPDATE``): ``RAISE(IGNORE)`` skips a row whose user's digest is in ``user_erasures``, as the Postgres trigger's
``RETURN NULL`` does, inside the writer's own transaction. The triggers are made once some user was erased (a
database where nobody was pays one query per writing transaction, nothing per row).

Why temporary triggers: SQLite has no SHA-256 of its own, and a trigger stored in the database file that calls a
function registered by this library would break every other program writing those tables (``no such function``).
A ``TEMP`` trigger lives on the connection that created it; it survives the table being dropped and created again
by another connection, and it is created again on the next transaction when this connection dropped it.

SQLite runs one writing transaction at a time (``BEGIN IMMEDIATE``), so a write and an erasure never overlap: a
write that committed first is deleted by the erasure, and a write that begins after it is skipped by the trigger.
Other programs writing the file directly are not guarded.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sahha_sync.adapters._erasure import user_digest
from sahha_sync.adapters.sql.tables import ERASURE_GUARDED, user_erasures

DIGEST_FUNCTION = "sahha_sync_user_digest"
TRIGGER_PREFIX = "sahha_sync_skip_erased_"
_EVENTS = ("insert", "update")
_TABLES = "SELECT name FROM main.sqlite_master WHERE type = 'table'"


@lru_cache(maxsize=4096)
def _digest_of(value: Any) -> str | None:
    """``user_digest`` as SQLite calls it, for every row written once some user was erased: NULL for NULL, any
    other value as its text. A batch's rows name a few users: each digest is computed once."""
    return None if value is None else user_digest(value if isinstance(value, str) else str(value))


def register_digest(dbapi_connection: Any) -> None:
    """Give a new SQLite connection the function the guard's triggers call."""
    dbapi_connection.create_function(DIGEST_FUNCTION, 1, _digest_of, deterministic=True)


def _trigger(table: str, column: str, event: str) -> str:
    erasures = f"main.{user_erasures.name}"
    return (
        f"CREATE TEMP TRIGGER IF NOT EXISTS {TRIGGER_PREFIX}{event}_{table} BEFORE {event.upper()} ON main.{table} "
        f"WHEN EXISTS (SELECT 1 FROM {erasures}) AND EXISTS (SELECT 1 FROM {erasures} "
        f"WHERE user_digest = {DIGEST_FUNCTION}(NEW.{column})) "
        "BEGIN SELECT RAISE(IGNORE); END"
    )


GUARD_TRIGGERS = len(ERASURE_GUARDED) * len(_EVENTS)
_STATE = (  # whether some user was erased, and how many of the guard's triggers this connection has
    f"SELECT EXISTS (SELECT 1 FROM main.{user_erasures.name}), (SELECT count(*) FROM sqlite_temp_master "
    f"WHERE type = 'trigger' AND name GLOB '{TRIGGER_PREFIX}*')"
)
_HAS_ERASURES_TABLE = "sahha_sync.erasures_table"  # a connection's ``info`` key: user_erasures was found


def guard_connection(connection: Any) -> None:
    """Give ``connection`` (a SQLAlchemy ``Connection`` that began a writing transaction) the guard's triggers
    once some user was erased and they are missing: one query when nothing is to be done. Until a user is
    erased no trigger is needed, so rows cost nothing more; as SQLite runs one writing transaction at a time, no
    erasure can commit between this look and the transaction's end. A database without ``user_erasures`` (not
    migrated yet) has nothing to guard."""
    info = connection.connection.info
    tables: set[str] | None = None
    if not info.get(_HAS_ERASURES_TABLE):
        tables = set(connection.exec_driver_sql(_TABLES).scalars())
        if user_erasures.name not in tables:
            return
        info[_HAS_ERASURES_TABLE] = True
    erased, triggers = connection.exec_driver_sql(_STATE).one()
    if not erased or triggers == GUARD_TRIGGERS:
        return
    if tables is None:
        tables = set(connection.exec_driver_sql(_TABLES).scalars())
    for table, column in ERASURE_GUARDED.items():
        if table in tables:
            for event in _EVENTS:
                connection.exec_driver_sql(_trigger(table, column, event))
