"""What the SQL stores run on: the ``AsyncConnection`` of a unit of work, each writing call a savepoint inside
the unit's transaction, so a failed call leaves nothing — except, on SQLite, a call that writes with one
statement: SQLite undoes a failed statement by itself and its transaction goes on, so the savepoint (two more
statements, about 0.4 ms on the embedded default) would add nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from sahha_sync.adapters.sql.errors import ErrorKinds, translate

Bind = AsyncConnection


def dialect_name(bind: Bind) -> str:
    return bind.dialect.name


@asynccontextmanager
async def transaction(bind: Bind, *, write: bool = True, one_statement: bool = False) -> AsyncIterator[AsyncConnection]:
    """The connection; for a write, inside a savepoint released on success and rolled back on error (not on
    SQLite for a write of ``one_statement``: one statement that writes, whatever it reads before)."""
    if write and not (one_statement and bind.dialect.name == "sqlite"):
        async with bind.begin_nested():
            yield bind
    else:
        yield bind


@asynccontextmanager
async def translated(kinds: ErrorKinds, operation: str) -> AsyncIterator[None]:
    """Re-raise database and network errors as the port's errors."""
    try:
        yield
    except (SQLAlchemyError, OSError) as exc:
        raise translate(exc, kinds, operation) from exc


def insert_for(bind: Bind | str) -> Callable[..., Any]:
    """The dialect's ``insert`` (with ``on_conflict_do_update``), for a connection or a dialect's name."""
    name = bind if isinstance(bind, str) else dialect_name(bind)
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"no upsert for the {name} dialect")
