"""Reading a user's records of one kind over a window, in the order of their period (then of their row id).

Postgres: a SELECT through SQLAlchemy. SQLite: the same SELECT sent straight to the driver, its text built once
per kind, its rows converted column by column as SQLAlchemy would (UTC datetimes, JSON).
An archive-served answer reads three kinds; SQLAlchemy's adapter makes four trips to the driver's thread per
statement (cursor, execute, fetch, close) and builds a ``Row`` per row, the driver's ``execute_fetchall`` one trip
and plain tuples: about half the time of the read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import JSON, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from sahha_sync.adapters.sql._bind import SQLITE_DIALECT, driver_errors, driver_of
from sahha_sync.adapters.sql._records import KindTable
from sahha_sync.adapters.sql.column_types import UtcDateTime
from sahha_sync.adapters.sql.tables import USER_COLUMN
from sahha_sync.application.turns import in_turns
from sahha_sync.domain.windows import FetchWindow

Processor = Callable[[Any], Any] | None


async def read_window(
    connection: AsyncConnection, stored: KindTable[Any], user_id: str, window: FetchWindow
) -> list[Any]:
    """The records of ``stored``'s kind of ``user_id`` whose moment is in ``[window.start, window.end)``."""
    if connection.dialect.name == "sqlite":
        return await _read_sqlite(connection, stored, user_id, window)
    table = stored.table
    column = table.c[stored.moment]
    query = (
        select(table)
        .where(table.c[USER_COLUMN] == user_id, column >= window.start, column < window.end)
        .order_by(column, table.c.id)
    )
    result = await connection.execute(query)
    return [stored.from_mapping(row._mapping) for row in result]


class _SqliteRead:
    """The SELECT of one kind on SQLite: its text (the record's columns only) and the conversion of its
    parameters (the window's instants) and of its rows into records. A ``UtcDateTime`` is stored as a naive UTC
    text (SQLAlchemy's SQLite ``DATETIME``) and read here in one step, as is JSON text; any other column with a
    conversion goes through SQLAlchemy's processor for it."""

    def __init__(self, stored: KindTable[Any], dialect: Dialect) -> None:
        table = stored.table
        self.stored = stored
        self.names = stored.columns
        moment = stored.moment
        self.sql = (
            f"SELECT {', '.join(self.names)} FROM {table.name} "
            f"WHERE {USER_COLUMN} = ? AND {moment} >= ? AND {moment} < ? ORDER BY {moment}, id"
        )
        self.bind_moment: Processor = table.c[moment].type.dialect_impl(dialect).bind_processor(dialect)
        columns = [table.c[name] for name in self.names]
        self.instants = tuple(c.name for c in columns if isinstance(c.type, UtcDateTime))
        self.json = tuple(c.name for c in columns if isinstance(c.type, JSON))
        others = ((c.name, c.type.dialect_impl(dialect).result_processor(dialect, None)) for c in columns)
        self.others = tuple(
            (name, processor)
            for name, processor in others
            if processor is not None and name not in self.instants and name not in self.json
        )

    def parameters(self, user_id: str, window: FetchWindow) -> tuple[Any, ...]:
        bind = self.bind_moment or (lambda value: value)
        return (user_id, bind(window.start), bind(window.end))

    def records(self, rows: Iterable[Sequence[Any]]) -> list[Any]:
        names, instants, json_columns, others = self.names, self.instants, self.json, self.others
        from_mapping = self.stored.from_mapping
        found = []
        for row in rows:
            data = dict(zip(names, row, strict=True))
            for name in instants:
                if (text := data[name]) is not None:
                    data[name] = datetime.fromisoformat(text).replace(tzinfo=UTC)
            for name in json_columns:
                if (text := data[name]) is not None:
                    data[name] = json.loads(text)
            for name, processor in others:
                data[name] = processor(data[name])
            found.append(from_mapping(data))
        return found


@cache
def _sqlite_read(stored: KindTable[Any]) -> _SqliteRead:
    """The read of ``stored`` on SQLite, made once (its conversions are those of any SQLite dialect)."""
    return _SqliteRead(stored, SQLITE_DIALECT)


async def _read_sqlite(
    connection: AsyncConnection, stored: KindTable[Any], user_id: str, window: FetchWindow
) -> list[Any]:
    reading = _sqlite_read(stored)
    driver = await driver_of(connection)
    async with driver_errors(connection):
        rows = await driver.execute_fetchall(reading.sql, reading.parameters(user_id, window))
    return await in_turns(list(rows), reading.records)
