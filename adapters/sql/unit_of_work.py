"""``SqlUnitOfWork``: the archive, the event store, the tracking rows and the stored analyses on one connection,
in one transaction.

Open one per transaction: ``async with SqlUnitOfWork(engine) as uow: ...; await uow.commit()``. Whatever is
not committed is rolled back when the block ends. After ``commit`` the unit may go on: the next statement
starts a new transaction.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from types import TracebackType
from typing import Self

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sahha_sync.adapters.sql._sqlite_writers import one_writer
from sahha_sync.adapters.sql.analysis_results import SqlAnalysisResultStore
from sahha_sync.adapters.sql.engine import READ_ONLY_OPTION, SQLITE_BUSY_TIMEOUT_MS
from sahha_sync.adapters.sql.errors import translate
from sahha_sync.adapters.sql.event_store import SqlEventStore
from sahha_sync.adapters.sql.health_archive import ARCHIVE_ERRORS, SqlHealthArchive
from sahha_sync.adapters.sql.tracking_store import SqlTrackingStore
from sahha_sync.application.ports.health_archive import ArchiveUnavailableError
from sahha_sync.application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


class SqlUnitOfWork(UnitOfWork):
    """One database transaction over ``archive``, ``events``, ``tracking`` and ``analysis_results``.

    Errors of ``commit`` and of opening the connection are the archive's errors
    (``ArchiveUnavailableError`` when the database cannot be reached: retryable).
    """

    archive: SqlHealthArchive
    events: SqlEventStore
    tracking: SqlTrackingStore
    analysis_results: SqlAnalysisResultStore

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None
        self._read_only = False
        self._turn = AsyncExitStack()  # on SQLite, a writing unit's turn (``one_writer``) while it is open

    def reading(self) -> Self:
        """On SQLite the unit's transaction then begins deferred: it reads a snapshot without taking the write
        lock, so it does not wait for a writer (archival in the same process, say); elsewhere nothing changes."""
        self._read_only = True
        return self

    async def __aenter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("this unit of work is already open; create a new one per transaction")
        turn = AsyncExitStack()
        try:
            if not self._read_only and self._engine.dialect.name == "sqlite":
                await turn.enter_async_context(one_writer(self._engine.sync_engine, SQLITE_BUSY_TIMEOUT_MS / 1000))
            connection = await self._engine.connect()
            if self._read_only:
                connection = await connection.execution_options(**{READ_ONLY_OPTION: True})
            await connection.begin()
        except BaseException as exc:
            await turn.aclose()
            if isinstance(exc, TimeoutError):
                raise ArchiveUnavailableError("opening a unit of work failed: the SQLite database stayed busy") from exc
            if isinstance(exc, SQLAlchemyError | OSError):
                raise translate(exc, ARCHIVE_ERRORS, "opening a unit of work") from exc
            raise
        self._turn = turn
        self._connection = connection
        self.archive = SqlHealthArchive(connection)
        self.events = SqlEventStore(connection)
        self.tracking = SqlTrackingStore(connection)
        self.analysis_results = SqlAnalysisResultStore(connection)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if connection.in_transaction():
                await connection.rollback()
        except (SQLAlchemyError, OSError) as failed:
            if exc is None:  # a unit left without committing (a read): its end failing is the port's error
                raise translate(failed, ARCHIVE_ERRORS, "rollback") from failed
        finally:
            try:
                await connection.close()
            except (SQLAlchemyError, OSError) as failed:
                if exc is None:
                    raise translate(failed, ARCHIVE_ERRORS, "closing a unit of work") from failed
            finally:
                await self._turn.aclose()

    async def commit(self) -> None:
        try:
            await self._open("commit").commit()
        except (SQLAlchemyError, OSError) as exc:
            raise translate(exc, ARCHIVE_ERRORS, "commit") from exc

    async def rollback(self) -> None:
        try:
            await self._open("rollback").rollback()
        except (SQLAlchemyError, OSError) as exc:
            raise translate(exc, ARCHIVE_ERRORS, "rollback") from exc

    def _open(self, action: str) -> AsyncConnection:
        if self._connection is None:
            raise RuntimeError(f"{action} outside 'async with' of the unit of work")
        return self._connection


def sql_unit_of_work_factory(engine: AsyncEngine) -> UnitOfWorkFactory:
    """A ``UnitOfWorkFactory``: each call a new ``SqlUnitOfWork`` on ``engine``."""

    def factory() -> UnitOfWork:
        return SqlUnitOfWork(engine)

    return factory
