"""``JobWriter``: submitted jobs go into procrastinate's table in batches, one INSERT per batch.

A submit takes an id from a reserve drawn from the jobs table's own sequence, puts the job in a buffer and
wakes the writer; a ``recoverable`` submit returns there, any other (a *stored* submit) waits until its batch is
written and durably committed: a batch holding a stored submit commits with ``synchronous_commit`` on, one of
recoverable jobs alone with the session's default, off. While a batch is being written the next one gathers,
so under load many jobs share one round trip, and a caller that need not wait never meets the database at all.

The INSERT is what procrastinate's ``procrastinate_defer_jobs_v1`` does (its triggers record the ``deferred``
event and notify the workers), with two additions: the ids are ours, and ``ON CONFLICT DO NOTHING`` turns a
dedup key that is already pending (the ``queueing_lock`` unique index) into a duplicate instead of an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import deque
from dataclasses import dataclass, field

import procrastinate
import psycopg

from sahha_sync.adapters.queue import _sql
from sahha_sync.adapters.queue._codec import FrozenArgs, args_json
from sahha_sync.adapters.queue._connection import QUEUE_ERRORS, translate
from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.job_queue import (
    JobQueueError,
    QueueClosedError,
    QueueUnavailableError,
    SubmitResult,
)
from sahha_sync.application.retry import Backoff
from sahha_sync.domain.errors import InvalidInputError

logger = get_logger(__name__)


def _refused_data(exc: BaseException) -> bool:
    """What the database says of one job's data (a value it cannot store), not of the database itself."""
    return isinstance(exc.__cause__ or exc, psycopg.errors.DataError | psycopg.errors.IntegrityError)


@dataclass(slots=True, eq=False)
class _Pending:
    job_id: int
    job_type: str
    args: FrozenArgs
    lock: str | None
    user: str | None
    recoverable: bool
    waiters: list[asyncio.Future[SubmitResult]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.args.kept) + len(self.args.held or b"")

    @property
    def stored(self) -> bool:
        """Someone waits for this job to be safe: a stored submit, or a stored submit's duplicate of it."""
        return not self.recoverable or bool(self.waiters)


def _retrieve(future: asyncio.Future[SubmitResult]) -> None:
    """A waiter that was cancelled never reads its future's error: read it here, so asyncio does not warn."""
    if not future.cancelled():
        future.exception()


class JobWriter:
    """Buffers submitted jobs and writes them in batches of up to ``batch_size``.

    At most ``max_buffered`` jobs, ``max_buffered_bytes`` of payload, wait to be written; past that a submit
    fails with ``QueueUnavailableError`` (the database is not keeping up or not reachable). A batch that fails is
    tried again after a ``Backoff`` from 50 ms up to ``max_backoff`` seconds; the submits waiting for it fail at
    once, and only recoverable jobs stay buffered.
    """

    def __init__(
        self,
        connector: procrastinate.PsycopgConnector,
        queue_name: str,
        *,
        batch_size: int = 500,
        max_buffered: int = 10_000,
        max_buffered_bytes: int = 64 * 1024 * 1024,
        id_reserve: int = 512,
        max_backoff: float = 5.0,
    ) -> None:
        self._connector, self._queue = connector, queue_name
        self.batch_size, self.max_buffered, self.id_reserve = batch_size, max_buffered, id_reserve
        self.backoff, self.max_buffered_bytes = Backoff(0.05, cap=max_backoff), max_buffered_bytes
        self._bytes = 0  # of the buffered payloads
        self._buffer: dict[int, _Pending] = {}  # by job id, in submit order
        self._by_lock: dict[str, _Pending] = {}
        self._ids: deque[int] = deque()
        self._reserving = asyncio.Lock()
        self._writing = asyncio.Lock()  # held while a batch is taken and written; purge_user takes it too
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        """Jobs submitted and not yet written."""
        return len(self._buffer)

    async def submit(
        self, job_type: str, args: FrozenArgs, *, lock: str | None, user: str | None, recoverable: bool
    ) -> SubmitResult:
        if lock is not None and (queued := self._by_lock.get(lock)) is not None:
            logger.info("queue.job_deduplicated", job_id=queued.job_id, job_type=job_type)
            if recoverable:
                return SubmitResult(str(queued.job_id), duplicate=True, buffered=True)
            written = await self._wait_for(queued)
            return SubmitResult(written.job_id, duplicate=True)
        if len(self._buffer) >= self.max_buffered or self._bytes >= self.max_buffered_bytes:
            raise QueueUnavailableError(
                f"cannot submit a {job_type} job: {len(self._buffer)} jobs are waiting to be written"
            )
        job_id = self._ids.popleft() if self._ids else await self._reserve_now()
        item = _Pending(job_id, job_type, args, lock, user, recoverable)
        self._buffer[job_id] = item
        self._bytes += item.size
        if lock is not None:
            self._by_lock[lock] = item
        self._start()
        if recoverable:
            return SubmitResult(str(job_id), buffered=True)
        return await self._wait_for(item)

    async def _wait_for(self, item: _Pending) -> SubmitResult:
        future: asyncio.Future[SubmitResult] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieve)
        item.waiters.append(future)
        self._start()
        return await asyncio.shield(future)  # a cancelled caller leaves its job to be written all the same

    async def flush(self, timeout: float | None) -> bool:
        """Wait until every buffered job is written; False if ``timeout`` passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._buffer:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            self._start()
            await asyncio.sleep(0.005)
        return True

    async def close(self, timeout: float | None) -> int:
        """Write what is buffered (within ``timeout``), then stop; returns how many jobs were left unwritten."""
        await self.flush(timeout)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        left = list(self._buffer.values())
        for item in left:
            self._drop(item, QueueClosedError(f"the queue stopped before a {item.job_type} job was written"))
        return len(left)

    async def purge_user(self, user_id: str) -> int:
        """Drop the buffered jobs of ``user_id``; a batch being written finishes first, so none slips past."""
        async with self._writing:
            gone = [item for item in self._buffer.values() if item.user == user_id]
            for item in gone:
                self._drop(item, JobQueueError(f"the {item.job_type} job's user was forgotten"))
        return len(gone)

    # -- the writer ----------------------------------------------------------------------------------------

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"queue-writer-{self._queue}")
        self._wake.set()

    async def _run(self) -> None:
        failures = 0
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._buffer:
                try:
                    async with self._writing:
                        await self._write_batch(list(itertools.islice(self._buffer.values(), self.batch_size)))
                    failures = 0
                except Exception as exc:
                    failures += 1
                    cause = exc.__cause__ or exc
                    if failures == 1 and isinstance(cause, psycopg.OperationalError):
                        logger.info("queue.connection_replaced", queue=self._queue)  # the pool hands a fresh one
                        continue
                    error = translate(exc, "write submitted jobs") if isinstance(exc, QUEUE_ERRORS) else None
                    self._failed(error or QueueUnavailableError("cannot write submitted jobs"), type(cause).__name__)
                    await asyncio.sleep(self.backoff.delay(failures))
            if len(self._ids) < self.id_reserve // 2:
                with contextlib.suppress(*QUEUE_ERRORS):
                    async with self._reserving:
                        await self._refill()

    async def _write_batch(self, batch: list[_Pending]) -> None:
        """Write ``batch``; if the database refuses its data, write its jobs one by one and drop those refused
        alone, so that one job the database cannot take never holds back the others."""
        try:
            await self._write(batch)
        except QUEUE_ERRORS as exc:
            if not _refused_data(exc):
                raise
            for item in batch:
                try:
                    await self._write([item])
                except QUEUE_ERRORS as single:
                    if not _refused_data(single):
                        raise
                    kind = type(single.__cause__ or single).__name__
                    logger.error("queue.job_not_writable", queue=self._queue, job_type=item.job_type, error_kind=kind)
                    self._drop(item, InvalidInputError(f"the database refused the {item.job_type} job ({kind})"))

    async def _write(self, batch: list[_Pending]) -> None:
        if not batch:
            return
        rows = await self._connector.execute_query_all_async(
            _sql.INSERT_JOBS,
            queue=self._queue,
            ids=[item.job_id for item in batch],
            tasks=[item.job_type for item in batch],
            locks=[item.lock for item in batch],
            args=[args_json(item.args) for item in batch],
            commit="on" if any(item.stored for item in batch) else "off",
        )
        inserted = {row["id"] for row in rows}
        conflicts = [item.lock for item in batch if item.job_id not in inserted and item.lock is not None]
        standing: dict[str, int] = {}
        if conflicts:
            found = await self._connector.execute_query_all_async(_sql.PENDING_WITH_LOCKS, locks=conflicts)
            standing = {row["queueing_lock"]: row["id"] for row in found}
        for item in batch:
            if item.job_id in inserted:
                self._done(item, SubmitResult(str(item.job_id)))
            elif item.lock in standing:
                logger.info("queue.job_deduplicated", job_id=standing[item.lock], job_type=item.job_type, late=True)
                self._done(item, SubmitResult(str(standing[item.lock]), duplicate=True))
            elif item.lock is None:  # cannot happen with ids from the sequence; never loop on it
                self._drop(item, QueueUnavailableError(f"a {item.job_type} job could not be written"))
            # else the job that held the key started meanwhile: this one is written with the next batch
        logger.debug("queue.jobs_written", queue=self._queue, jobs=len(inserted), batch=len(batch))

    def _done(self, item: _Pending, result: SubmitResult) -> None:
        self._forget(item)
        for waiter in item.waiters:
            if not waiter.done():
                waiter.set_result(result)

    def _drop(self, item: _Pending, error: Exception) -> None:
        self._forget(item)
        self._fail_waiters(item, error)

    def _forget(self, item: _Pending) -> None:
        if self._buffer.pop(item.job_id, None) is not None:
            self._bytes -= item.size
        if item.lock is not None and self._by_lock.get(item.lock) is item:
            del self._by_lock[item.lock]

    @staticmethod
    def _fail_waiters(item: _Pending, error: Exception) -> None:
        for waiter in item.waiters:
            if not waiter.done():
                waiter.set_exception(error)
        item.waiters.clear()

    def _failed(self, error: JobQueueError, kind: str) -> None:
        """A batch could not be written: its waiting submits fail now; recoverable jobs stay for the next try."""
        for item in list(self._buffer.values()):
            if item.recoverable:
                self._fail_waiters(item, error)
            else:
                self._drop(item, error)
        logger.warning("queue.write_failed", queue=self._queue, buffered=len(self._buffer), error_kind=kind)

    # -- ids -----------------------------------------------------------------------------------------------

    async def prepare(self) -> None:
        """Fill the reserve of job ids now, rather than in the first submit."""
        try:
            async with self._reserving:
                if not self._ids:
                    await self._refill()
        except QUEUE_ERRORS as exc:
            raise translate(exc, "reserve job ids") from exc

    async def _reserve_now(self) -> int:
        await self.prepare()
        return self._ids.popleft()

    async def _refill(self) -> None:
        rows = await self._connector.execute_query_all_async(_sql.RESERVE_IDS, n=self.id_reserve)
        self._ids.extend(row["id"] for row in rows)
