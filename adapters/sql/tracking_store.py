"""``SqlTrackingStore``: ``archetype_analysis_tracking``, one row per analysis run (unique ``run_id``), and
``user_freshness``, one row per user."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from sahha_sync.adapters._erasure import user_digest
from sahha_sync.adapters.sql._bind import (
    SQLITE_STATEMENT_ROWS,
    Bind,
    dialect_name,
    driver_errors,
    driver_of,
    insert_for,
    pipelined_write,
    transaction,
    translated,
)
from sahha_sync.adapters.sql._tracking_sql import (
    LATER_MARKS,
    SAVED,
    postgres_advance_sql,
    sqlite_advance_sql,
    sqlite_results,
    sqlite_save_sql,
    sqlite_stored,
)
from sahha_sync.adapters.sql._upsert import batches
from sahha_sync.adapters.sql.errors import ErrorKinds
from sahha_sync.adapters.sql.tables import archetype_analysis_tracking as tracking
from sahha_sync.adapters.sql.tables import qualified_name, user_erasures, user_freshness
from sahha_sync.application.ports.tracking_store import TrackingStore, TrackingStoreError, UserErasedError
from sahha_sync.domain.freshness import UserFreshness
from sahha_sync.domain.record_kinds import RECORD_KINDS
from sahha_sync.domain.tracking import SyncStatus, TrackingRecord
from sahha_sync.domain.windows import FetchWindow, Watermark

# the erasure's side of the lock the 0012 triggers take (shared) before writing a row of the user
ERASURE_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(:key))")


class TrackingStoreUnavailableError(TrackingStoreError):
    """The database could not be reached or the connection was lost; retrying may work."""

    retryable: ClassVar[bool] = True


TRACKING_ERRORS = ErrorKinds(TrackingStoreError, TrackingStoreUnavailableError, TrackingStoreError)


def _row(record: TrackingRecord) -> dict[str, Any]:
    status = record.status
    return {
        "run_id": record.run_id,
        "user_id": record.user_id,
        "archetype": record.archetype,
        "analysis_type": record.analysis_type,
        "analysis_timestamp": record.analysis_timestamp,
        "window_start": None if record.window is None else record.window.start,
        "window_end": None if record.window is None else record.window.end,
        "data_source": record.data_source,
        "sahha_data_synced": status.sahha_data_synced,
        **{kind.sync_flag: status.is_synced(kind) for kind in RECORD_KINDS},
        "sync_completed_at": status.sync_completed_at,
        "sync_error": status.sync_error,
        "archival_requested": status.archival_requested,
    }


def _record(row: Any) -> TrackingRecord:
    return _record_of(row._mapping)


def _record_of(row: Mapping[str, Any]) -> TrackingRecord:
    window = None
    start, end = row["window_start"], row["window_end"]
    if start is not None and end is not None and start < end:
        window = FetchWindow(start, end)
    return TrackingRecord(
        id=row["id"],
        run_id=row["run_id"] if row["run_id"] is not None else f"legacy-{row['id']}",  # rows written before 0003
        user_id=row["user_id"],
        archetype=row["archetype"],
        analysis_type=row["analysis_type"],
        analysis_timestamp=row["analysis_timestamp"],
        window=window,
        data_source=row["data_source"],
        status=SyncStatus(
            sahha_data_synced=row["sahha_data_synced"],
            synced_kinds=frozenset(kind.name for kind in RECORD_KINDS if row[kind.sync_flag]),
            sync_completed_at=row["sync_completed_at"],
            sync_error=row["sync_error"],
            archival_requested=row["archival_requested"],
        ),
    )


def _plain_upsert(table: str, columns: Sequence[str], key: str, *, returning: bool) -> str:
    """Postgres: ``INSERT ... ON CONFLICT (key) DO UPDATE`` of ``columns`` (named parameters), as SQL text."""
    names = ", ".join(columns)
    values = ", ".join(f"%({c})s" for c in columns)
    changes = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != key)
    statement = f"INSERT INTO {table} ({names}) VALUES ({values}) ON CONFLICT ({key}) DO UPDATE SET {changes}, "
    return statement + ("updated_at = now() RETURNING *" if returning else "updated_at = now()")


def _all_aware(values: Mapping[str, Any]) -> bool:
    """Whether every datetime of ``values`` is aware (a naive one takes SQLAlchemy's path, which refuses it)."""
    return all(v.utcoffset() is not None for v in values.values() if isinstance(v, datetime))


def _in_utc(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row read through psycopg with its datetimes in UTC, as ``UtcDateTime`` reads them."""
    return {k: v.astimezone(UTC) if isinstance(v, datetime) else v for k, v in row.items()}


def _freshness_row(freshness: UserFreshness) -> dict[str, Any]:
    return {
        "user_id": freshness.user_id,
        "fetched_through": _moment(freshness.fetched),
        "delivered_through": _moment(freshness.delivered),
        "archetypes_through": _moment(freshness.archetypes),
        "delivery_run_id": freshness.delivery_run_id,
    }


def _freshness(row: Any) -> UserFreshness:
    return UserFreshness(
        user_id=row.user_id,
        fetched=_mark(row.fetched_through),
        delivered=_mark(row.delivered_through),
        archetypes=_mark(row.archetypes_through),
        delivery_run_id=row.delivery_run_id,
    )


def _moment(mark: Watermark | None) -> datetime | None:
    return None if mark is None else mark.value


def _mark(moment: datetime | None) -> Watermark | None:
    return None if moment is None else Watermark(moment)


def _advance_values(advanced: UserFreshness) -> dict[str, Any]:
    return {
        "user_id": advanced.user_id,
        "fetched_through": _moment(advanced.fetched),
        "archetypes_through": _moment(advanced.archetypes),
    }


# After a row is put back under a given id, the identity must not hand that id out again.
_ADVANCE_IDENTITY = text(
    "SELECT setval(seq, :id) FROM (SELECT pg_get_serial_sequence('archetype_analysis_tracking', 'id')::regclass "
    "AS seq) AS identity WHERE :id > coalesce(pg_sequence_last_value(seq), 0)"
)


async def _id_is_free(connection: AsyncConnection, row_id: int, run_id: str) -> bool:
    """Whether no other run's row holds ``row_id``."""
    holder = await connection.scalar(select(tracking.c.run_id).where(tracking.c.id == row_id))
    return holder is None or holder == run_id


def _erased(run_id: str) -> UserErasedError:
    """A save the erasure guard skipped (an upsert returns its row otherwise)."""
    return UserErasedError(f"save of run {run_id}: its user was erased (forget-user), so the run is not recorded")


class SqlTrackingStore(TrackingStore):
    """The tracking projection on a unit of work's connection (``SqlUnitOfWork.tracking``)."""

    def __init__(self, bind: Bind) -> None:
        self._bind = bind

    async def save(self, record: TrackingRecord) -> TrackingRecord:
        (saved,) = await self.save_many([record])
        return saved

    async def save_many(self, records: Sequence[TrackingRecord]) -> list[TrackingRecord]:
        """One statement on SQLite, one round trip on Postgres. Several records that carry ids (a rebuild) are
        saved one by one: whether a given id is free depends on the rows saved before it."""
        if len(records) > 1 and any(record.id is not None for record in records):
            return [await self.save(record) for record in records]
        rows = [_row(record) for record in records]
        operation = f"save of run {records[0].run_id}" if len(records) == 1 else f"save of {len(records)} runs"
        if records and all(_all_aware(row) for row in rows):
            if dialect_name(self._bind) == "sqlite":
                async with translated(TRACKING_ERRORS, operation):
                    return await self._sqlite_save(records, rows)
            if records[0].id is None and dialect_name(self._bind) == "postgresql":
                async with translated(TRACKING_ERRORS, operation):
                    return await self._postgres_save(rows)
        return [await self._statement_save(record, row) for record, row in zip(records, rows, strict=True)]

    async def _statement_save(self, record: TrackingRecord, values: dict[str, Any]) -> TrackingRecord:
        """Through SQLAlchemy: a given id (on Postgres), or a naive datetime, which its ``UtcDateTime`` refuses."""
        stmt = insert_for(self._bind)(tracking)
        changes = {k: stmt.excluded[k] for k in values if k != "run_id"}
        async with (
            translated(TRACKING_ERRORS, f"save of run {record.run_id}"),
            transaction(self._bind, one_statement=True) as connection,  # and on Postgres, its own savepoint
        ):
            if record.id is not None and await _id_is_free(connection, record.id, record.run_id):
                values["id"] = record.id
            upsert = stmt.values(values).on_conflict_do_update(
                index_elements=[tracking.c.run_id], set_={**changes, "updated_at": func.now()}
            )
            row = (await connection.execute(upsert.returning(tracking))).one_or_none()
            if row is None:  # the erasure guard skipped the row
                raise _erased(record.run_id)
            if "id" in values and connection.dialect.name == "postgresql":
                await connection.execute(_ADVANCE_IDENTITY, {"id": row.id})
        return _record(row)

    async def _postgres_save(self, rows: list[dict[str, Any]]) -> list[TrackingRecord]:
        """The savepoint, an upsert per row (a cursor each) and the release in one round trip."""
        from psycopg.rows import dict_row

        table = qualified_name(tracking, self._bind.sync_connection)
        upsert = _plain_upsert(table, tuple(rows[0]), "run_id", returning=True)
        async with pipelined_write(self._bind) as driver:
            cursors = [driver.cursor(row_factory=dict_row) for _ in rows]
            for cursor, row in zip(cursors, rows, strict=True):
                await cursor.execute(upsert, row)
        saved: list[TrackingRecord] = []
        async with driver_errors(self._bind):
            for cursor, row in zip(cursors, rows, strict=True):
                found = await cursor.fetchone()
                if found is None:  # the erasure guard skipped the row
                    raise _erased(row["run_id"])
                saved.append(_record_of(_in_utc(found)))
        return saved

    async def _sqlite_save(self, records: Sequence[TrackingRecord], rows: list[dict[str, Any]]) -> list[TrackingRecord]:
        """``sqlite_save_sql`` run on the driver with the rows in their stored form, a statement per
        ``SQLITE_STATEMENT_ROWS`` rows (more than one statement inside a savepoint). SQLite returns the rows in no
        set order: they are matched to the records by run."""
        stored = [[record.id, *sqlite_stored(tracking, row, SAVED)] for record, row in zip(records, rows, strict=True)]
        names = ("id", *SAVED)
        results = sqlite_results(tracking)
        by_run: dict[str, TrackingRecord] = {}
        async with transaction(self._bind, one_statement=len(stored) <= SQLITE_STATEMENT_ROWS) as connection:
            driver = await driver_of(connection)
            for batch in batches(stored, SQLITE_STATEMENT_ROWS):
                parameters = [value for row in batch for value in row]
                async with driver_errors(connection):
                    returned = await driver.execute_fetchall(sqlite_save_sql(len(batch)), parameters)
                for values in returned:
                    row = dict(zip(names, values, strict=True))
                    for name, process in results.items():
                        if name in row:
                            row[name] = process(row[name])
                    by_run[row["run_id"]] = _record_of(row)
        for record in records:
            if record.run_id not in by_run:  # the erasure guard skipped the row
                raise _erased(record.run_id)
        return [by_run[record.run_id] for record in records]

    async def get(self, run_id: str) -> TrackingRecord | None:
        rows = await self._select(select(tracking).where(tracking.c.run_id == run_id), f"read of run {run_id}")
        return rows[0] if rows else None

    async def latest(self, user_id: str, analysis_type: str, archetype: str | None = None) -> TrackingRecord | None:
        query = select(tracking).where(
            tracking.c.user_id == user_id,
            tracking.c.analysis_type == analysis_type,
            tracking.c.analysis_timestamp.is_not(None),
        )
        if archetype is not None:
            query = query.where(tracking.c.archetype == archetype)
        query = query.order_by(tracking.c.analysis_timestamp.desc(), tracking.c.id.desc()).limit(1)
        rows = await self._select(query, f"latest run of {user_id}")
        return rows[0] if rows else None

    async def runs_for_user(self, user_id: str, *, window_end_after: datetime | None = None) -> list[TrackingRecord]:
        query = select(tracking).where(tracking.c.user_id == user_id)
        if window_end_after is not None:
            query = query.where(tracking.c.window_end > window_end_after)
        return await self._select(query.order_by(tracking.c.id), f"runs of {user_id}")

    async def list_all(self) -> list[TrackingRecord]:
        return await self._select(select(tracking).order_by(tracking.c.id), "read of every run")

    async def freshness(self, user_id: str) -> UserFreshness | None:
        if dialect_name(self._bind) == "postgresql":
            async with translated(TRACKING_ERRORS, "read of a user's freshness"):
                return await self._postgres_freshness(user_id)
        query = select(user_freshness).where(user_freshness.c.user_id == user_id)
        async with translated(TRACKING_ERRORS, "read of a user's freshness"), transaction(self._bind, write=False) as c:
            row = (await c.execute(query)).one_or_none()
        return None if row is None else _freshness(row)

    async def _postgres_freshness(self, user_id: str) -> UserFreshness | None:
        from psycopg.rows import namedtuple_row

        table = qualified_name(user_freshness, self._bind.sync_connection)
        columns = "user_id, fetched_through, delivered_through, archetypes_through, delivery_run_id"
        driver = await driver_of(self._bind)
        async with driver_errors(self._bind), driver.cursor(row_factory=namedtuple_row) as cursor:
            await cursor.execute(f"SELECT {columns} FROM {table} WHERE user_id = %s", [user_id])
            row = await cursor.fetchone()
        if row is None:
            return None
        return _freshness(row._replace(**_in_utc(row._asdict())))

    async def save_freshness(self, freshness: UserFreshness) -> None:
        values = _freshness_row(freshness)
        if dialect_name(self._bind) == "postgresql" and _all_aware(values):
            table = qualified_name(user_freshness, self._bind.sync_connection)
            operation = "save of a user's freshness"
            async with translated(TRACKING_ERRORS, operation), pipelined_write(self._bind) as driver:
                await driver.execute(_plain_upsert(table, tuple(values), "user_id", returning=False), values)
            return
        stmt = insert_for(self._bind)(user_freshness).values(values)
        changes = {k: stmt.excluded[k] for k in values if k != "user_id"}
        upsert = stmt.on_conflict_do_update(
            index_elements=[user_freshness.c.user_id], set_={**changes, "updated_at": func.now()}
        )
        operation = "save of a user's freshness"
        async with translated(TRACKING_ERRORS, operation), transaction(self._bind, one_statement=True) as connection:
            await connection.execute(upsert)

    async def advance_freshness(self, advanced: UserFreshness) -> None:
        await self.advance_freshness_many([advanced])

    async def advance_freshness_many(self, advanced: Sequence[UserFreshness]) -> None:
        """One upsert keeping the later of each mark: one statement on SQLite, one round trip on Postgres (its
        upsert prepared once and run for each entry, in order)."""
        rows = [_advance_values(freshness) for freshness in advanced]
        if not rows or not all(_all_aware(row) for row in rows):
            for freshness in advanced:
                await super().advance_freshness(freshness)
            return
        operation = "advance of users' freshness"
        if dialect_name(self._bind) == "postgresql":
            table = qualified_name(user_freshness, self._bind.sync_connection)
            async with translated(TRACKING_ERRORS, operation), pipelined_write(self._bind) as driver:
                await driver.cursor().executemany(postgres_advance_sql(table), rows)
            return
        stored = [sqlite_stored(user_freshness, row, ("user_id", *LATER_MARKS)) for row in rows]
        async with (
            translated(TRACKING_ERRORS, operation),
            transaction(self._bind, one_statement=len(stored) <= SQLITE_STATEMENT_ROWS) as connection,
        ):
            driver = await driver_of(connection)
            for batch in batches(stored, SQLITE_STATEMENT_ROWS):
                async with driver_errors(connection):
                    await driver.execute_fetchall(sqlite_advance_sql(len(batch)), [v for row in batch for v in row])

    async def list_freshness(self) -> list[UserFreshness]:
        query = select(user_freshness).order_by(user_freshness.c.user_id)
        operation = "read of every freshness row"
        async with translated(TRACKING_ERRORS, operation), transaction(self._bind, write=False) as c:
            rows = (await c.execute(query)).all()
        return [_freshness(row) for row in rows]

    async def delete_user(self, user_id: str) -> int:
        """Also records the erasure (``user_erasures``, revision 0012): on PostgreSQL it first waits for writes of
        the user already under way (SQLite runs one writer at a time), and from its commit the erasure guard skips
        every row written for the user."""
        async with translated(TRACKING_ERRORS, "erasure of a user's runs"), transaction(self._bind) as connection:
            if dialect_name(self._bind) == "postgresql":
                await connection.execute(ERASURE_LOCK, {"key": f"sahha_sync.erasure:{user_id}"})
            digest = user_digest(user_id)
            erased = insert_for(self._bind)(user_erasures).values(user_digest=digest, erased_at=func.now())
            await connection.execute(erased.on_conflict_do_nothing(index_elements=["user_digest"]))
            result = await connection.execute(delete(tracking).where(tracking.c.user_id == user_id))
            await connection.execute(delete(user_freshness).where(user_freshness.c.user_id == user_id))
        return int(result.rowcount or 0)

    async def clear(self) -> None:
        async with translated(TRACKING_ERRORS, "clear of the tracking rows"), transaction(self._bind) as connection:
            await connection.execute(delete(tracking))
            await connection.execute(delete(user_freshness))

    async def _select(self, query: Any, operation: str) -> list[TrackingRecord]:
        async with translated(TRACKING_ERRORS, operation), transaction(self._bind, write=False) as connection:
            rows = (await connection.execute(query)).all()
        return [_record(row) for row in rows]
