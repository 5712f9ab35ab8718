"""What the SQL stores run on: the ``AsyncConnection`` of a unit of work, each writing call a savepoint inside
the unit's transaction, so a failed call leaves nothing — except, on SQLite, a call that writes with one
statement: SQLite undoes a failed statement by itself and its transaction goes on, so a savepoint would add
nothing.

The savepoint is sent through the driver itself (``SAVEPOINT``/``RELEASE`` of one name, which nests: each
statement acts on the newest savepoint of that name): SQLAlchemy's nested transaction cost five times a plain
statement on Postgres and six trips to the driver's thread on SQLite; a job makes half a dozen of them.
Statements sent through the driver directly (``driver_of``) raise the driver's errors: ``driver_errors`` turns
them into SQLAlchemy's, so ``translated`` handles both alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from sahha_sync.adapters.sql.errors import ErrorKinds, translate

Bind = AsyncConnection
SAVEPOINT = "sahha_sync_write"
SQLITE_DIALECT = sqlite.dialect()  # how statements sent to SQLite's driver directly are compiled, values converted
SQLITE_STATEMENT_ROWS = 500  # rows per statement sent to SQLite: it binds at most 32,766 parameters to one


def dialect_name(bind: Bind) -> str:
    return bind.dialect.name


@asynccontextmanager
async def transaction(bind: Bind, *, write: bool = True, one_statement: bool = False) -> AsyncIterator[AsyncConnection]:
    """The connection; for a write, inside a savepoint released on success and rolled back on error (not on
    SQLite for a write of ``one_statement``: one statement that writes, whatever it reads before)."""
    if not write or (one_statement and dialect_name(bind) == "sqlite"):
        yield bind
    else:
        async with _savepoint(bind):
            yield bind


@asynccontextmanager
async def _savepoint(bind: Bind) -> AsyncIterator[None]:
    driver = await driver_of(bind)
    async with driver_errors(bind):
        await _send(bind, driver, f"SAVEPOINT {SAVEPOINT}")
    try:
        yield
    except BaseException:
        await _rollback_to_savepoint(bind, driver)
        raise
    async with driver_errors(bind):
        await _send(bind, driver, f"RELEASE SAVEPOINT {SAVEPOINT}")


async def _send(bind: Bind, driver: Any, statement: str) -> None:
    """``statement`` through the driver: psycopg unprepared (a savepoint is not worth a prepared statement)."""
    if dialect_name(bind) == "postgresql":
        await driver.execute(statement, prepare=False)
    else:
        await driver.execute(statement)


@asynccontextmanager
async def pipelined_write(bind: Bind) -> AsyncIterator[Any]:
    """Postgres: psycopg's connection in pipeline mode, inside a savepoint. The statements the block sends go in
    one round trip with the savepoint and its release; the cursors they return are read after the block. A
    failure rolls back to the savepoint, as ``transaction`` does."""
    driver = await driver_of(bind)
    try:
        async with driver_errors(bind), driver.pipeline():
            await driver.execute(f"SAVEPOINT {SAVEPOINT}", prepare=False)
            yield driver
            await driver.execute(f"RELEASE SAVEPOINT {SAVEPOINT}", prepare=False)
    except BaseException:
        await _rollback_to_savepoint(bind, driver)
        raise


async def _rollback_to_savepoint(bind: Bind, driver: Any) -> None:
    try:
        await _send(bind, driver, f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
        await _send(bind, driver, f"RELEASE SAVEPOINT {SAVEPOINT}")
    except Exception:  # the connection is gone: the unit of work's rollback ends it; the first error is told
        pass


async def driver_of(bind: Bind) -> Any:
    """The driver's connection under ``bind`` (in its transaction: psycopg's or aiosqlite's), for what SQLAlchemy
    makes costly: COPY, array parameters, savepoints, pipelines. Wrap its calls in ``driver_errors``."""
    raw = await bind.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    return driver


@asynccontextmanager
async def driver_errors(bind: Bind) -> AsyncIterator[None]:
    """Re-raise the driver's errors as SQLAlchemy raises them (without the statement or its parameters); a lost
    connection is invalidated, as SQLAlchemy does when it meets one, so the unit of work's end does not use it."""
    try:
        yield
    except Exception as exc:
        dbapi_error = bind.dialect.loaded_dbapi.Error
        if not isinstance(exc, dbapi_error):
            raise
        lost = bind.dialect.is_disconnect(exc, await driver_of(bind), None)
        if lost:
            await bind.invalidate(exc)
        error = DBAPIError.instance(None, None, exc, dbapi_error, connection_invalidated=lost, dialect=bind.dialect)
        raise error from exc


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
