"""``SqlEventStore``: the ``sync_events`` table, append-only, with a global position in commit order.

Commit order: a reader that asks for ``position > last_seen`` must never miss an event whose transaction
got a smaller position but committed later. On Postgres every append takes a transaction-level advisory
lock before its positions are drawn, held until its transaction ends, so positions are handed out in commit
order (appends serialise; reads never wait). On SQLite a writing transaction holds the database's write lock
from ``BEGIN IMMEDIATE`` to its end, which gives the same guarantee.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from sahha_sync.adapters.sql._bind import Bind, driver_errors, driver_of, pipelined_write, transaction, translated
from sahha_sync.adapters.sql.errors import ErrorKinds
from sahha_sync.adapters.sql.tables import qualified_name, sync_events
from sahha_sync.application.ports.event_store import (
    ConcurrencyError,
    EventStore,
    EventStoreError,
    EventStoreUnavailableError,
    RecordedEvent,
    StreamAppend,
)
from sahha_sync.domain.events import DomainEvent, decode_event, encode_event

EVENT_ERRORS = ErrorKinds(EventStoreError, EventStoreUnavailableError, EventStoreError)
# pg_advisory_xact_lock key of sync_events' position assignment ("sahha-sync events" as 8 bytes).
APPEND_LOCK_KEY = int.from_bytes(b"sahhaevt", "big") & 0x7FFF_FFFF_FFFF_FFFF


ONE_STATEMENT_EVENTS = 100  # appended by one INSERT (SQLAlchemy sends up to 1,000 rows a statement)


class SqlEventStore(EventStore):
    """The event store on a unit of work's connection (``SqlUnitOfWork.events``)."""

    def __init__(self, bind: Bind) -> None:
        self._bind = bind

    async def append(
        self, stream_id: str, events: Sequence[DomainEvent], *, expected_version: int
    ) -> list[RecordedEvent]:
        if not events:
            return []
        try:
            async with translated(EVENT_ERRORS, f"append to {stream_id}"):
                if self._bind.dialect.name == "postgresql":
                    return await _postgres_append(self._bind, stream_id, events, expected_version)
                one_statement = len(events) <= ONE_STATEMENT_EVENTS
                async with transaction(self._bind, one_statement=one_statement) as connection:
                    return await _append(connection, stream_id, events, expected_version)
        except EventStoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):  # a writer that took no lock got there first
                raise ConcurrencyError(stream_id, expected_version, await self.stream_version(stream_id)) from exc
            raise

    async def append_streams(self, appends: Sequence[StreamAppend]) -> None:
        """One statement for every stream (on Postgres after the append lock, in the same round trip); a stream
        given no events is left alone, as ``append`` leaves it."""
        appends = [append for append in appends if append[1]]
        if not appends:
            return
        try:
            async with translated(EVENT_ERRORS, f"append to {len(appends)} streams"):
                await _append_streams(self._bind, appends)
        except EventStoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):  # a writer that took no lock got there first
                async with translated(EVENT_ERRORS, f"versions of {len(appends)} streams"):
                    conflict = await _conflict(self._bind, appends)
                if conflict is not None:
                    raise conflict from exc
            raise

    async def read_stream(self, stream_id: str) -> list[RecordedEvent]:
        if self._bind.dialect.name == "postgresql":
            async with translated(EVENT_ERRORS, f"read of {stream_id}"):
                return await _postgres_read(self._bind, "= %s", stream_id)
        query = select(sync_events).where(sync_events.c.stream_id == stream_id).order_by(sync_events.c.version)
        return await self._read(query, f"read of {stream_id}")

    async def read_streams(self, stream_ids: Sequence[str]) -> dict[str, list[RecordedEvent]]:
        """One statement for every stream."""
        streams: dict[str, list[RecordedEvent]] = {stream_id: [] for stream_id in stream_ids}
        if not streams:
            return streams
        operation = f"read of {len(streams)} streams"
        if self._bind.dialect.name == "postgresql":
            async with translated(EVENT_ERRORS, operation):
                recorded = await _postgres_read(self._bind, "= ANY(%s)", list(streams))
        else:
            in_streams = sync_events.c.stream_id.in_(list(streams))
            order = (sync_events.c.stream_id, sync_events.c.version)
            recorded = await self._read(select(sync_events).where(in_streams).order_by(*order), operation)
        for event in recorded:
            streams[event.stream_id].append(event)
        return streams

    async def read_all(self, *, after: int = 0, limit: int | None = None) -> list[RecordedEvent]:
        query = select(sync_events).where(sync_events.c.position > after).order_by(sync_events.c.position)
        if limit is not None:
            query = query.limit(limit)
        return await self._read(query, "read of all events")

    async def stream_version(self, stream_id: str) -> int:
        async with (
            translated(EVENT_ERRORS, f"version of {stream_id}"),
            transaction(self._bind, write=False) as connection,
        ):
            return await _version(connection, stream_id)

    async def tombstone_streams(self, tombstones: Mapping[str, DomainEvent]) -> int:
        if not tombstones:
            return 0
        async with translated(EVENT_ERRORS, "tombstoning of streams"), transaction(self._bind) as connection:
            return await _tombstone(connection, tombstones)

    async def _read(self, query: Any, operation: str) -> list[RecordedEvent]:
        async with translated(EVENT_ERRORS, operation), transaction(self._bind, write=False) as connection:
            rows = (await connection.execute(query)).all()
        return [_recorded(row) for row in rows]


async def _postgres_read(connection: AsyncConnection, stream_condition: str, parameter: Any) -> list[RecordedEvent]:
    """The events of the streams whose id meets ``stream_condition`` (of one ``parameter``), by stream and
    version, read through psycopg in pipeline mode: a unit of work's first read goes with its ``BEGIN``."""
    table = qualified_name(sync_events, connection.sync_connection)
    columns = "position, stream_id, version, type, schema_version, payload, recorded_at"
    statement = f"SELECT {columns} FROM {table} WHERE stream_id {stream_condition} ORDER BY stream_id, version"
    driver = await driver_of(connection)
    async with driver_errors(connection):
        async with driver.pipeline():
            cursor = await driver.execute(statement, [parameter])
        rows = await cursor.fetchall()
    return [
        RecordedEvent(
            position=position,
            stream_id=stream,
            version=version,
            event=decode_event(event_type, schema_version, payload),
            recorded_at=recorded_at.astimezone(UTC),
        )
        for position, stream, version, event_type, schema_version, payload, recorded_at in rows
    ]


async def _version(connection: AsyncConnection, stream_id: str) -> int:
    query = select(func.coalesce(func.max(sync_events.c.version), 0)).where(sync_events.c.stream_id == stream_id)
    return int(await connection.scalar(query) or 0)


# Postgres: the events of one append as arrays, inserted only when the stream holds ``expected`` events. Sent
# after the lock in the same pipeline: the statement's snapshot is taken once the lock is held.
_CHECKED_INSERT = (
    "INSERT INTO {table} (stream_id, version, type, schema_version, payload) "
    "SELECT %(stream)s, %(expected)s + event.n, event.type, event.schema_version, event.payload "
    "FROM unnest(%(types)b::text[], %(schemas)b::int4[], %(payloads)b::jsonb[]) "
    "WITH ORDINALITY AS event (type, schema_version, payload, n) "
    "WHERE (SELECT coalesce(max(version), 0) FROM {table} WHERE stream_id = %(stream)s) = %(expected)s "
    "RETURNING position, version, recorded_at"
)


async def _postgres_append(
    connection: AsyncConnection, stream_id: str, events: Sequence[DomainEvent], expected_version: int
) -> list[RecordedEvent]:
    """The savepoint, the lock, the insert checking the version and the release in one round trip."""
    from psycopg.types.json import Jsonb

    encoded = [encode_event(event) for event in events]
    params = {
        "stream": stream_id,
        "expected": expected_version,
        "types": [event_type for event_type, _, _ in encoded],
        "schemas": [schema_version for _, schema_version, _ in encoded],
        "payloads": [Jsonb(payload) for _, _, payload in encoded],
    }
    statement = _CHECKED_INSERT.format(table=qualified_name(sync_events, connection.sync_connection))
    async with pipelined_write(connection) as driver:
        await driver.execute("SELECT pg_advisory_xact_lock(%s)", [APPEND_LOCK_KEY])
        cursor = await driver.execute(statement, params)
    async with driver_errors(connection):
        stored = sorted(((p, v, at.astimezone(UTC)) for p, v, at in await cursor.fetchall()), key=lambda row: row[1])
    if not stored:
        raise ConcurrencyError(stream_id, expected_version, await _version(connection, stream_id))
    return [
        RecordedEvent(position=position, stream_id=stream_id, version=version, event=event, recorded_at=moment)
        for (position, version, moment), event in zip(stored, events, strict=True)
    ]


# The events of several streams' appends, sent as one JSON array of ``[stream, expected, version, type,
# schema_version, payload]`` (``incoming``, with each event's place ``n``), inserted in that order only when every
# stream holds the events it expects (checked on each stream's first event). The statement starts with its
# INSERT: Python's sqlite3 counts the rows of a statement only then.
_STREAMS_INSERT = (
    "INSERT INTO {table} (stream_id, version, type, schema_version, payload) "
    "WITH incoming AS ({incoming}) SELECT stream_id, version, type, schema_version, payload FROM incoming "
    "WHERE NOT EXISTS ("
    "SELECT 1 FROM incoming AS head WHERE head.version = head.expected + 1 AND head.expected <> "
    "(SELECT coalesce(max(stored.version), 0) FROM {table} AS stored WHERE stored.stream_id = head.stream_id)) "
    "ORDER BY n"
)
_POSTGRES_INCOMING = (
    "SELECT event ->> 0 AS stream_id, (event ->> 1)::int4 AS expected, (event ->> 2)::int4 AS version, "
    "event ->> 3 AS type, (event ->> 4)::int4 AS schema_version, event -> 5 AS payload, n "
    "FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS incoming (event, n)"
)
_SQLITE_INCOMING = (
    "SELECT json_extract(value, '$[0]') AS stream_id, json_extract(value, '$[1]') AS expected, "
    "json_extract(value, '$[2]') AS version, json_extract(value, '$[3]') AS type, "
    "json_extract(value, '$[4]') AS schema_version, json_extract(value, '$[5]') AS payload, key AS n "
    "FROM json_each(?)"
)


async def _append_streams(connection: AsyncConnection, appends: Sequence[StreamAppend]) -> None:
    """``_STREAMS_INSERT`` in one round trip: on Postgres with the savepoint, the lock and the release
    (``pipelined_write``); on SQLite alone (one statement, undone by SQLite when it fails). Nothing inserted
    means a stream's version differs: ``ConcurrencyError`` for it."""
    table = qualified_name(sync_events, connection.sync_connection)
    document = json.dumps(_incoming(appends))  # json, as SQLAlchemy and psycopg write a JSON column
    if connection.dialect.name == "postgresql":
        async with pipelined_write(connection) as driver:
            await driver.execute("SELECT pg_advisory_xact_lock(%s)", [APPEND_LOCK_KEY])
            cursor = await driver.execute(_STREAMS_INSERT.format(incoming=_POSTGRES_INCOMING, table=table), [document])
        inserted = cursor.rowcount
    else:
        driver = await driver_of(connection)
        statement = _STREAMS_INSERT.format(incoming=_SQLITE_INCOMING, table=table)
        async with driver_errors(connection), driver.execute(statement, [document]) as cursor:
            inserted = cursor.rowcount
    if not inserted:
        conflict = await _conflict(connection, appends)
        assert conflict is not None, "nothing appended, yet every stream holds the events it expects"
        raise conflict


def _incoming(appends: Sequence[StreamAppend]) -> list[list[Any]]:
    """The rows of ``_STREAMS_INSERT``'s JSON array, every stream's events in order."""
    rows = []
    for stream_id, events, expected_version in appends:
        for version, event in enumerate(events, start=expected_version + 1):
            event_type, schema_version, payload = encode_event(event)
            rows.append([stream_id, expected_version, version, event_type, schema_version, payload])
    return rows


async def _conflict(connection: AsyncConnection, appends: Sequence[StreamAppend]) -> ConcurrencyError | None:
    """The error of the first of ``appends`` whose stream holds another number of events than it expects."""
    query = (
        select(sync_events.c.stream_id, func.max(sync_events.c.version))
        .where(sync_events.c.stream_id.in_([stream_id for stream_id, _, _ in appends]))
        .group_by(sync_events.c.stream_id)
    )
    versions = {stream_id: version for stream_id, version in (await connection.execute(query)).all()}
    for stream_id, _, expected_version in appends:
        if (actual := versions.get(stream_id, 0)) != expected_version:
            return ConcurrencyError(stream_id, expected_version, actual)
    return None


async def _append(
    connection: AsyncConnection, stream_id: str, events: Sequence[DomainEvent], expected_version: int
) -> list[RecordedEvent]:
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})
    actual = await _version(connection, stream_id)
    if actual != expected_version:
        raise ConcurrencyError(stream_id, expected_version, actual)
    rows = []
    for offset, event in enumerate(events, start=1):
        event_type, schema_version, payload = encode_event(event)
        rows.append(
            {
                "stream_id": stream_id,
                "version": expected_version + offset,
                "type": event_type,
                "schema_version": schema_version,
                "payload": payload,
            }
        )
    # Rows come back in any order and are put in version order here: asking the database for the parameters'
    # order made SQLite insert them one statement each.
    stmt = insert(sync_events).returning(sync_events.c.position, sync_events.c.version, sync_events.c.recorded_at)
    stored = sorted((await connection.execute(stmt, rows)).all(), key=lambda row: row.version)
    return [
        RecordedEvent(
            position=row.position, stream_id=stream_id, version=row.version, event=event, recorded_at=row.recorded_at
        )
        for row, event in zip(stored, events, strict=True)
    ]


async def _tombstone(connection: AsyncConnection, tombstones: Mapping[str, DomainEvent]) -> int:
    """Delete the streams' events and insert each tombstone at version 1, under the append lock."""
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})
    removed = 0
    for stream_id, event in tombstones.items():
        event_type, schema_version, payload = encode_event(event)
        result = await connection.execute(delete(sync_events).where(sync_events.c.stream_id == stream_id))
        if not result.rowcount:
            continue
        removed += int(result.rowcount)
        row = {"stream_id": stream_id, "version": 1, "type": event_type, "schema_version": schema_version}
        await connection.execute(insert(sync_events).values(**row, payload=payload))
    return removed


def _recorded(row: Any) -> RecordedEvent:
    return RecordedEvent(
        position=row.position,
        stream_id=row.stream_id,
        version=row.version,
        event=decode_event(row.type, row.schema_version, row.payload),
        recorded_at=row.recorded_at,
    )
