"""SQLite's upsert of a kind's rows (``_upsert`` turns records into rows and chooses it on SQLite): one
``INSERT ... ON CONFLICT`` statement, compiled once per kind and run by the driver for each row in its stored
form (``executemany``; the rows it changed are the rows written), in batches of ``SQLITE_STATEMENT_ROWS``. As
SQLite has no ``xmax``, the keys already stored are counted first, in the same transaction. Counts are by user:
the keys stored are counted by user, and the statement runs once for each user's rows in a batch (rows in key
order hold each user's rows together), so its count of rows changed is that user's."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache, lru_cache
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import and_, func, or_
from sqlalchemy.ext.asyncio import AsyncConnection

from sahha_sync.adapters.sql._bind import SQLITE_DIALECT, SQLITE_STATEMENT_ROWS, driver_errors, driver_of, insert_for
from sahha_sync.adapters.sql._records import KindTable, Values
from sahha_sync.adapters.sql.column_types import UtcDateTime
from sahha_sync.adapters.sql.tables import OBSERVED_COLUMN, USER_COLUMN
from sahha_sync.application.turns import Turns
from sahha_sync.domain.health import UpsertCounts

COUNT_STEP_ROWS = 64  # the count of stored keys takes a multiple of this many keys (see ``_padded_keys``)
ByUser = dict[str, UpsertCounts]  # what an upsert did, for each user whose rows it was given


async def sqlite_upsert(
    connection: AsyncConnection, kind: KindTable[Any], rows: list[Values], turns: Turns | None = None
) -> ByUser:
    """Upsert ``rows`` (merged and in key order, see ``_upsert.merged_rows``) in batches, counted by user; the
    conversions are part of ``turns`` (``application.turns``)."""
    turns = turns or Turns()
    counts: ByUser = {}
    for start in range(0, len(rows), SQLITE_STATEMENT_ROWS):
        add_counts(
            counts, await _sqlite_statement_upsert(connection, kind, rows[start : start + SQLITE_STATEMENT_ROWS], turns)
        )
    return counts


def add_counts(counts: ByUser, more: ByUser) -> None:
    """Add ``more`` to ``counts``, user by user."""
    for user, user_counts in more.items():
        counts[user] = counts.get(user, UpsertCounts()) + user_counts


@cache
def _statement(dialect: str, kind: KindTable[Any]) -> Any:
    """The upsert of one row of ``kind`` (run for many rows at once): built and compiled once per dialect."""
    table = kind.table
    stmt = insert_for(dialect)(table)
    excluded = stmt.excluded
    changes = {c: excluded[c] for c in kind.updated}
    return stmt.on_conflict_do_update(
        index_elements=[table.c[c] for c in kind.key],
        set_={**changes, "updated_at": func.now()},
        where=and_(
            excluded[OBSERVED_COLUMN] >= table.c[OBSERVED_COLUMN],
            or_(
                excluded[OBSERVED_COLUMN] > table.c[OBSERVED_COLUMN],
                *(table.c[c].is_distinct_from(excluded[c]) for c in kind.compared),
            ),
        ),
    )


async def _sqlite_statement_upsert(
    connection: AsyncConnection, kind: KindTable[Any], rows: list[Values], turns: Turns
) -> ByUser:
    """The rows in their stored form (``sqlite_stored``), then on the driver's connection (in the transaction):
    the keys already stored counted by user, and the one-row upsert run for every row of each user in turn
    (``executemany``, prepared once per connection); the rows it changed are that user's rows written. No
    statement is compiled, no parameter processed row by row in SQLAlchemy."""
    texts: dict[datetime, str | None] = {}
    stored = await turns.convert(rows, lambda part: sqlite_stored(kind, part, texts))
    upsert_sql, count_sql = _sqlite_sql(kind)
    key_of = _key_of(kind)
    keys = _padded_keys([value for row in stored for value in key_of(row)], len(kind.key))
    counts = {}
    driver = await driver_of(connection)
    async with driver_errors(connection):  # each await is a trip to the driver's thread: one, then one a user
        existing = dict(await driver.execute_fetchall(count_sql(len(keys) // len(kind.key)), keys))
        for user, user_rows in _runs_by_user(stored):
            async with driver.executemany(upsert_sql, user_rows) as cursor:
                written = cursor.rowcount
            # a new key is inserted unless the erasure guard skipped the user's rows (then none is written)
            inserted = min(len(user_rows) - existing.get(user, 0), written)
            counts[user] = UpsertCounts(inserted, written - inserted, len(user_rows) - written)
    return counts


def _runs_by_user(stored: list[list[Any]]) -> list[tuple[str, list[list[Any]]]]:
    """``stored`` (in key order, so each user's rows together) cut into each user's rows; the user is a row's first
    value (``kind.columns`` start with it)."""
    return [(user, list(user_rows)) for user, user_rows in groupby(stored, key=itemgetter(0))]


def _padded_keys(keys: list[Any], width: int) -> list[Any]:
    """``keys`` (``width`` values each) followed by keys of NULLs, which match no stored key, up to a multiple of
    ``COUNT_STEP_ROWS`` keys: the count's text then takes one of a few forms, each prepared by SQLite once per
    connection and reused (a new text for every number of rows was a third of the upsert's time)."""
    missing = -(len(keys) // width) % COUNT_STEP_ROWS
    return keys + [None] * (missing * width)


@cache
def _key_of(kind: KindTable[Any]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    positions = [kind.columns.index(c) for c in kind.key]
    return lambda row: tuple(row[i] for i in positions)


@cache
def _sqlite_sql(kind: KindTable[Any]) -> tuple[str, Callable[[int], str]]:
    """The text of ``_statement`` (its parameters in ``kind.columns`` order) and of the count, by user, of the
    stored keys among ``n`` rows' keys (distinct, as ``merged_rows`` leaves them; a key starts with the user)."""
    compiled = _statement("sqlite", kind).compile(dialect=SQLITE_DIALECT, column_keys=list(kind.columns))
    if tuple(compiled.positiontup or ()) != kind.columns:
        raise RuntimeError(f"the {kind.name} upsert does not take its columns in order")
    table = kind.table.name
    one = f"({', '.join('?' * len(kind.key))})"
    # A join, so each key is one search of the natural key's index (``(key) IN (VALUES ...)`` scans the index).
    matched = " AND ".join(f"stored.{c} = incoming.column{i}" for i, c in enumerate(kind.key, start=1))

    @lru_cache(maxsize=64)
    def count_sql(n: int) -> str:
        incoming = f"(VALUES {', '.join([one] * n)}) AS incoming"
        return (
            f"SELECT stored.{USER_COLUMN}, count(*) FROM {incoming} JOIN {table} AS stored ON {matched} "
            f"GROUP BY stored.{USER_COLUMN}"
        )

    return compiled.string, count_sql


def _sqlite_datetime(value: datetime | None) -> str | None:
    """How SQLite stores a ``UtcDateTime``: the instant in UTC as ``YYYY-MM-DD HH:MM:SS.ffffff`` (see
    ``UtcDateTime``; the rows' datetimes are aware, ``to_values`` checked them)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("a naive datetime cannot be stored")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


@cache
def _sqlite_processors(kind: KindTable[Any]) -> tuple[tuple[int, ...], tuple[tuple[int, Callable[[Any], Any]], ...]]:
    """The positions of ``kind.columns`` that hold datetimes, and the position and conversion of each other column
    that SQLite does not take as it is (None included: SQLAlchemy's JSON stores None as JSON ``null``)."""
    datetimes, others = [], []
    for i, name in enumerate(kind.columns):
        column_type = kind.table.c[name].type
        if isinstance(column_type, UtcDateTime):
            datetimes.append(i)
        elif (process := column_type._cached_bind_processor(SQLITE_DIALECT)) is not None:
            others.append((i, process))
    return tuple(datetimes), tuple(others)


def sqlite_stored(
    kind: KindTable[Any], rows: Sequence[Values], texts: dict[datetime, str | None] | None = None
) -> list[list[Any]]:
    """``rows`` as SQLite stores them: datetimes as UTC text, JSON as text, numbers as SQLAlchemy binds them.

    The rows of a batch share most of their datetimes (a day's bounds, the time they were observed): each
    distinct instant is converted once (``texts``: the instants converted so far, kept across calls)."""
    datetimes, others = _sqlite_processors(kind)
    if texts is None:
        texts = {}
    stored = []
    for row in rows:
        values = list(row)
        for i in datetimes:
            moment = values[i]
            text = texts.get(moment)
            if text is None:
                text = texts[moment] = _sqlite_datetime(moment)
            values[i] = text
        for i, process in others:
            values[i] = process(values[i])
        stored.append(values)
    return stored
