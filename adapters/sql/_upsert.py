"""Bulk UPSERT on a natural key, in chunks, counting what was inserted, updated and left alone.

The newest value wins: a row replaces the stored one only when it is at least as new (``observed_at``) and its
value differs (``DO UPDATE ... WHERE new.observed_at >= stored.observed_at AND (new.observed_at >
stored.observed_at OR (stored) IS DISTINCT FROM (new))``): the same value seen later moves the stored
``observed_at`` on (so an older, different value arriving after it still loses) and counts as updated. An older row
is left alone, as is a row equal to the stored one and as new, so re-archiving the same data creates no dead
tuples. Both count as unchanged. A record that does not say when it was observed is stamped with the
time of the call. Input is taken in chunks of ``MERGE_ROWS``: within a chunk, rows sharing a key are merged
before the statement (the newest wins; of equally new ones the last) and sorted by key; a key repeated more
than ``MERGE_ROWS`` rows apart is written by each chunk (the newest still wins, but it is counted once per
chunk). Memory is bounded by two chunks (the one written, the next one being converted),
whatever the input's size. One call is one transaction (or savepoint): all of it is written, or none.

Every path counts by user (``upsert_by_user``: the rows of several users at once, as an archival batch carries
them); ``upsert`` adds the users' counts up. A user's rows are merged, written and counted as ``upsert`` of
them alone would (keys start with the user, so rows of two users never merge): the counts of one call by user
are those of one call per user.

Postgres, large chunks: binary COPY into a temporary staging table, then one ``INSERT ... SELECT ... ON
CONFLICT``; ``RETURNING (xmax = 0)`` tells inserted from updated rows, counted by user (``GROUP BY``). Postgres,
small chunks: the same ``INSERT ... SELECT`` from the rows sent as one JSON array (``jsonb_array_elements``;
``unnest`` of one binary array per column for a value JSON cannot hold), a statement whose text is the same for
any number of rows.
SQLite: ``_sqlite_upsert``.
"""

from __future__ import annotations

import asyncio
import json
import operator
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from functools import cache, partial
from itertools import islice
from typing import Any

import orjson
from sqlalchemy import JSON, Float, Integer
from sqlalchemy.ext.asyncio import AsyncConnection

from sahha_sync.adapters.sql._bind import driver_errors, driver_of, pipelined_write, transaction
from sahha_sync.adapters.sql._records import KindTable, Values
from sahha_sync.adapters.sql._sqlite_upsert import ByUser, add_counts, sqlite_upsert
from sahha_sync.adapters.sql.column_types import UtcDateTime
from sahha_sync.adapters.sql.tables import OBSERVED_COLUMN, USER_COLUMN
from sahha_sync.application.turns import Turns
from sahha_sync.domain.health import UpsertCounts
from sahha_sync.domain.snapshot import dedupe_by_key, merge_into, observed_by_default

MERGE_ROWS = 20_000  # rows merged and written together; bounds the memory of one call
COPY_THRESHOLD_ROWS = 1_000
JSON_COLUMNS = frozenset({"factors", "data_sources"})


def batches(records: Sequence[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


def merged_rows(kind: KindTable[Any], records: list[Any], now: datetime) -> list[Values]:
    """The rows of ``records``, one per natural key (the newest record of a key wins, ``dedupe_by_key``), in key
    order; a record that does not say when it was observed was observed ``now``.

    Key order makes concurrent upserts of overlapping batches take their row locks in the same order,
    so they wait for each other instead of deadlocking.
    """
    return _in_key_order(_keyed_rows(kind, _newest(kind, records, now)))


async def merged_rows_in_turns(kind: KindTable[Any], records: list[Any], now: datetime, turns: Turns) -> list[Values]:
    """``merged_rows``, giving the event loop turns while records are merged and become rows (``application.turns``)."""
    merged: dict[Any, Any] = {}

    def merge(part: Sequence[Any]) -> list[None]:
        merge_into(merged, _checked(kind, part, now))
        return []

    await turns.convert(records, merge)
    return _in_key_order(await turns.convert(list(merged.values()), partial(_keyed_rows, kind)))


def _newest(kind: KindTable[Any], records: list[Any], now: datetime) -> list[Any]:
    return dedupe_by_key(_checked(kind, records, now))


def _checked(kind: KindTable[Any], records: Iterable[Any], now: datetime) -> Iterator[Any]:
    """``records``, each checked to be of ``kind`` and, when it does not say when it was observed, observed ``now``."""
    return (observed_by_default(kind.check(record), now) for record in records)


def _keyed_rows(kind: KindTable[Any], records: Sequence[Any]) -> list[tuple[Any, Values]]:
    """Each record's key and row (``to_values`` refuses a bad record before anything is sorted)."""
    to_values = kind.to_values
    return [(record.key, to_values(record)) for record in records]


def _in_key_order(keyed: list[tuple[Any, Values]]) -> list[Values]:
    keyed.sort(key=operator.itemgetter(0))
    return [row for _, row in keyed]


async def upsert(connection: AsyncConnection, kind: KindTable[Any], records: Sequence[Any]) -> UpsertCounts:
    """Upsert ``records`` (``upsert_by_user``), counted together."""
    return total(await upsert_by_user(connection, kind, records))


async def upsert_by_user(connection: AsyncConnection, kind: KindTable[Any], records: Sequence[Any]) -> ByUser:
    """Upsert ``records`` in chunks of ``MERGE_ROWS``, counted by user. While the database applies one chunk, the
    next is converted in a thread, so the database and Python work at the same time. Past one chunk, each user's
    records are chunked apart (as ``upsert`` of them alone would chunk them)."""
    now = datetime.now(UTC)
    if len(records) <= MERGE_ROWS:
        turns = Turns()
        return await _write(connection, kind, await merged_rows_in_turns(kind, list(records), now, turns), turns=turns)
    counts: ByUser = {}
    for user_records in _by_user(kind, records).values():
        converter = _Converter(kind, user_records, now)
        try:
            while (rows := await converter.next_rows()) is not None:
                add_counts(counts, await _write(connection, kind, rows, before_apply=converter.start_next))
        finally:
            converter.close()
    return counts


async def upsert_in_savepoint(
    connection: AsyncConnection, kind: KindTable[Any], records: Sequence[Any]
) -> UpsertCounts:
    """``upsert_by_user_in_savepoint``, counted together."""
    return total(await upsert_by_user_in_savepoint(connection, kind, records))


async def upsert_by_user_in_savepoint(
    connection: AsyncConnection, kind: KindTable[Any], records: Sequence[Any]
) -> ByUser:
    """``upsert_by_user`` in a savepoint of its own (``_bind.transaction``). On Postgres a small input is one
    round trip: its rows are converted first (a bad record sends nothing), then the savepoint, the statement and
    the release go together (``pipelined_write``)."""
    if connection.dialect.name != "postgresql" or len(records) >= COPY_THRESHOLD_ROWS:
        async with transaction(connection):
            return await upsert_by_user(connection, kind, records)
    rows = await merged_rows_in_turns(kind, list(records), datetime.now(UTC), Turns())
    async with pipelined_write(connection) as driver:
        cursor = await driver.execute(*_statement_and_parameters(kind, rows))
    async with driver_errors(connection):
        result = await cursor.fetchall()
    return _counted(result, rows)


def total(counts: ByUser) -> UpsertCounts:
    """The counts of every user together."""
    return sum(counts.values(), UpsertCounts())


def _by_user(kind: KindTable[Any], records: Sequence[Any]) -> dict[str, list[Any]]:
    """``records`` by user, each checked to be of ``kind`` first (a record of another kind writes nothing)."""
    grouped: dict[str, list[Any]] = {}
    for record in records:
        grouped.setdefault(kind.check(record).user_id, []).append(record)
    return grouped


class _Converter:
    """Turns the chunks of the input into rows, one chunk ahead, in a worker thread."""

    def __init__(self, kind: KindTable[Any], records: Sequence[Any], now: datetime) -> None:
        self._kind = kind
        self._now = now
        self._chunks = batches(records, MERGE_ROWS)
        self._pending: asyncio.Future[list[Values] | None] | None = None

    def start_next(self) -> None:
        if self._pending is None:
            chunk = next(self._chunks, None)
            self._pending = asyncio.ensure_future(asyncio.to_thread(self._convert, chunk))

    async def next_rows(self) -> list[Values] | None:
        self.start_next()
        pending, self._pending = self._pending, None
        assert pending is not None
        return await pending

    def _convert(self, chunk: list[Any] | None) -> list[Values] | None:
        return None if chunk is None else merged_rows(self._kind, chunk, self._now)

    def close(self) -> None:
        """Forget a chunk converted ahead that will not be written (after an error)."""
        if self._pending is None:
            return
        if not self._pending.done():
            self._pending.cancel()
        elif not self._pending.cancelled():
            self._pending.exception()  # retrieved, so its error is not reported as lost


def _nothing() -> None:
    return None


async def _write(
    connection: AsyncConnection,
    kind: KindTable[Any],
    rows: list[Values],
    *,
    before_apply: Callable[[], None] = _nothing,
    turns: Turns | None = None,
) -> ByUser:
    """Write ``rows``; ``before_apply`` is called when the database starts on them (Python may work then). The
    conversions left (SQLite's stored form) are part of ``turns``."""
    postgres = connection.dialect.name == "postgresql"
    if postgres and len(rows) >= COPY_THRESHOLD_ROWS:
        async with driver_errors(connection):
            return await _copy_upsert(connection, kind, rows, before_apply)
    before_apply()
    if postgres:
        async with driver_errors(connection):
            return await _postgres_statement_upsert(connection, kind, rows)
    return await sqlite_upsert(connection, kind, rows, turns)


async def _postgres_statement_upsert(connection: AsyncConnection, kind: KindTable[Any], rows: list[Values]) -> ByUser:
    """One statement whose parameters are one array per column: its text never changes with the number of
    rows, so it is neither compiled again nor planned again (a multi-row VALUES cost ~9 ms to compile)."""
    driver = await driver_of(connection)
    async with driver.cursor() as cursor:
        await cursor.execute(*_statement_and_parameters(kind, rows))
        result = await cursor.fetchall()
    return _counted(result, rows)


def _statement_and_parameters(kind: KindTable[Any], rows: list[Values]) -> tuple[str, list[Any]]:
    """The statement upserting ``rows`` and its parameters: the rows as one JSON array (``orjson`` writes it
    many times faster than psycopg dumps one array per column); one array per column when a value has no JSON
    form (an integer past 64 bits)."""
    try:
        document = orjson.dumps(rows).decode()
    except TypeError:
        return _unnest_upsert_sql(kind), _columns(kind, rows)
    return _json_upsert_sql(kind), [document]


def _columns(kind: KindTable[Any], rows: list[Values]) -> list[list[Any]]:
    """The parameters of ``_unnest_upsert_sql``: one list per column."""
    columns = [list(values) for values in zip(*rows, strict=True)]
    jsonb = _jsonb()
    for i in _json_at(kind):
        columns[i] = [None if v is None else jsonb(v) for v in columns[i]]
    for i in _floats_at(kind):  # a binary array holds one type: an int among floats becomes a float
        columns[i] = [v if v is None or type(v) is float else float(v) for v in columns[i]]
    return columns


def _counted(result: Sequence[tuple[str, int, int]], rows: list[Values]) -> ByUser:
    """The counts of each user's rows among ``rows`` from the rows inserted and written of each user
    (``_upsert_from``'s result, which names only the users with rows written)."""
    written_by_user = {user: (inserted, written) for user, inserted, written in result}
    counts = {}
    for user, merged in _users_of(rows).items():
        inserted, written = written_by_user.get(user, (0, 0))
        counts[user] = UpsertCounts(inserted, written - inserted, merged - written)
    return counts


def _users_of(rows: list[Values]) -> Counter[str]:
    """How many of ``rows`` each user has (the user is a row's first value: ``kind.columns`` start with it)."""
    return Counter(row[0] for row in rows)


def _copy_sql(kind: KindTable[Any], stage: str) -> tuple[str, str, str]:
    table = kind.table.name
    columns = ", ".join(kind.columns)
    create = f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DROP AS SELECT {columns} FROM {table} WITH NO DATA"
    copy = f"COPY {stage} ({columns}) FROM STDIN (FORMAT BINARY)"
    # The staging table is read in the order the rows were copied: key order (see ``merged_rows``). A
    # temporary table is never scanned from the middle (no synchronised scans on local buffers), and sorting
    # again in the database costs a disk sort per batch.
    return create, copy, _upsert_from(kind, stage)


def _upsert_from(kind: KindTable[Any], source: str) -> str:
    """``INSERT ... SELECT`` from ``source`` (rows in key order) that writes only what is newer and changed, and
    counts, for each user with rows written: ``(user, inserted, written)``."""
    table = kind.table.name
    columns = ", ".join(kind.columns)
    stored = ", ".join(f"{table}.{c}" for c in kind.compared)
    incoming = ", ".join(f"EXCLUDED.{c}" for c in kind.compared)
    assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in kind.updated)
    newer = f"EXCLUDED.{OBSERVED_COLUMN} >= {table}.{OBSERVED_COLUMN}"
    later = f"EXCLUDED.{OBSERVED_COLUMN} > {table}.{OBSERVED_COLUMN}"
    return (
        f"WITH written AS (INSERT INTO {table} ({columns}) SELECT {columns} FROM {source} "
        f"ON CONFLICT ON CONSTRAINT {kind.constraint} DO UPDATE SET {assignments}, updated_at = now() "
        f"WHERE {newer} AND ({later} OR ({stored}) IS DISTINCT FROM ({incoming})) "
        f"RETURNING {USER_COLUMN}, (xmax = 0) AS inserted) "
        f"SELECT {USER_COLUMN}, count(*) FILTER (WHERE inserted), count(*) FROM written GROUP BY {USER_COLUMN}"
    )


@cache
def _unnest_upsert_sql(kind: KindTable[Any]) -> str:
    """The arrays are sent in binary (``%b``): psycopg dumps a list in text through a regular expression per
    element, which cost more than the rest of the upsert."""
    arrays = ", ".join(f"%b::{name}[]" for name in copy_types(kind))
    return _upsert_from(kind, f"unnest({arrays}) AS incoming ({', '.join(kind.columns)})")


@cache
def _json_upsert_sql(kind: KindTable[Any]) -> str:
    """The upsert of rows sent as one JSON array of arrays (in ``kind.columns`` order), read back to the columns'
    types: text as sent, numbers and timestamps (RFC 3339, with their offset) parsed exactly, JSON columns as
    JSON (a JSON ``null`` there is a NULL)."""
    values = []
    for i, (column, name) in enumerate(zip(kind.columns, copy_types(kind), strict=True)):
        if name == "jsonb":
            values.append(f"NULLIF(row -> {i}, 'null'::jsonb) AS {column}")
        elif name == "text":
            values.append(f"row ->> {i} AS {column}")
        else:
            values.append(f"(row ->> {i})::{name} AS {column}")
    source = f"(SELECT {', '.join(values)} FROM jsonb_array_elements(%s::jsonb) AS row) AS incoming"
    return _upsert_from(kind, source)


@cache
def _json_at(kind: KindTable[Any]) -> tuple[int, ...]:
    return tuple(i for i, c in enumerate(kind.columns) if c in JSON_COLUMNS)


@cache
def _floats_at(kind: KindTable[Any]) -> tuple[int, ...]:
    return tuple(i for i, name in enumerate(copy_types(kind)) if name == "float8")


@cache
def copy_types(kind: KindTable[Any]) -> list[str]:
    """The Postgres type name of each of ``kind.columns``, for a binary COPY."""
    return [_postgres_type(kind.table.c[column].type) for column in kind.columns]


def _postgres_type(column_type: Any) -> str:
    for python_type, name in ((UtcDateTime, "timestamptz"), (JSON, "jsonb"), (Float, "float8"), (Integer, "int4")):
        if isinstance(column_type, python_type):
            return name
    return "text"


def _jsonb() -> Callable[[Any], Any]:
    """A value wrapped for a ``jsonb`` parameter of psycopg (the [postgres] extra: only Postgres's paths come here),
    written by orjson: the standard library's ``json`` took ~14 µs a score (its factors), more than the rest of the
    score's COPY row. Postgres parses what it is sent, so the stored ``jsonb`` is the same either way."""
    from psycopg.types.json import Jsonb

    return partial(Jsonb, dumps=_json_dumps)


def _json_dumps(value: Any) -> bytes:
    """``value`` as JSON: orjson, or the standard library for what orjson refuses (e.g. an integer past 64 bits)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value).encode()


def _with_json(kind: KindTable[Any], row: Values, jsonb: Any) -> Values:
    """``row`` with its JSON values wrapped for psycopg (by ``jsonb``, ``_jsonb()``)."""
    return tuple(jsonb(v) if c in JSON_COLUMNS else v for c, v in zip(kind.columns, row, strict=True))


async def _copy_upsert(
    connection: AsyncConnection, kind: KindTable[Any], rows: list[Values], before_apply: Callable[[], None]
) -> ByUser:
    stage = f"sahha_sync_stage_{kind.name}"
    create, copy_sql, upsert_sql = _copy_sql(kind, stage)
    driver = await driver_of(connection)
    has_json = any(c in JSON_COLUMNS for c in kind.columns)
    jsonb = _jsonb()
    async with driver.cursor() as cursor:
        await cursor.execute(create)
        await cursor.execute(f"TRUNCATE {stage}")
        async with cursor.copy(copy_sql) as copy:
            copy.set_types(copy_types(kind))
            for row in rows:
                await copy.write_row(_with_json(kind, row, jsonb) if has_json else row)
        before_apply()
        await cursor.execute(upsert_sql)
        result = await cursor.fetchall()
    return _counted(result, rows)
