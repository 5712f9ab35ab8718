"""``ProcrastinateJobQueue``: the durable ``JobQueue`` on PostgreSQL, built on procrastinate.

Jobs are rows in procrastinate's tables (installed by the ``0005_job_queue`` revision), so they survive
restarts and any number of worker processes on any number of servers share them. Submitted jobs are written
in batches, one INSERT each (``JobWriter``); a ``recoverable`` submit (an archival, whose request the event
store keeps) returns before its job is written, so the host meets neither the database nor a job. A worker
(``start()``, or ``run_worker`` in a process of its own) runs the handlers registered by job type, retries
retryable errors with exponential backoff and jitter, deletes each job once it succeeded, and leaves a job
that failed for good as a dead letter (status ``failed``, without its health data) that ``retry_dead`` submits
again. Beside the worker, a loop puts back the jobs of workers that stopped sending heartbeats (killed
mid-job), and deletes old dead letters.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Coroutine, Mapping, Sequence
from typing import Any

import procrastinate
from procrastinate.worker import Worker

from sahha_sync.adapters.queue import _sql
from sahha_sync.adapters.queue._codec import freeze, loads
from sahha_sync.adapters.queue._connection import (
    QUEUE_ERRORS,
    behind_transaction_pooler,
    connection_kwargs,
    guard,
    guarded,
    libpq_conninfo,
    pool_without_check,
)
from sahha_sync.adapters.queue._dead_letters import DeadLetters
from sahha_sync.adapters.queue._jobs import JobManager, job_task
from sahha_sync.adapters.queue._maintenance import Maintenance
from sahha_sync.adapters.queue._outage import OutageClock
from sahha_sync.adapters.queue._retry import RetryPolicy
from sahha_sync.adapters.queue._writer import JobWriter
from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.job_queue import (
    DeadJob,
    JobHandler,
    JobQueue,
    QueueClosedError,
    QueueStats,
    QueueUnavailableError,
    SubmitResult,
    payload_user,
)
from sahha_sync.application.retry import Backoff
from sahha_sync.domain.errors import InvalidInputError

logger = get_logger(__name__)

__all__ = ["DeadJob", "ProcrastinateJobQueue"]


class ProcrastinateJobQueue(JobQueue):
    """A job runs up to ``max_attempts`` times; after a retryable error the next attempt waits up to
    ``backoff_base * 2**(attempt-1)`` seconds (2 s, 4 s, 8 s by default): a random part of it with ``jitter``,
    all of it without (``Backoff``).

    ``run_worker=False`` makes a queue that only submits (a host whose jobs run in ``sahha-sync worker``
    processes). ``heartbeat`` is how often the worker says it is alive; a running job whose worker has been
    silent for ``stalled_after`` seconds (at least 3 heartbeats) is run again, or made dead when it used up
    its attempts. While the database is away the worker waits for it and records the outcome of the jobs it ran
    once it is back; after ``outage_limit`` seconds of outage it stops with an error. ``shutdown_timeout``
    bounds how long ``stop`` lets running jobs finish before they are cancelled and put back. ``transient_keys``
    name the payload keys that hold health data: stored compressed, and dropped as soon as the job ends.

    Connections: behind Supabase's transaction pooler (port 6543) prepared statements, session ``options``
    and LISTEN/NOTIFY (``listen_notify``; the worker then polls every ``poll_interval``) are off unless asked
    for; elsewhere ``session_options`` sends ``plan_cache_mode=force_custom_plan`` (procrastinate's fetches stay
    fast after a burst) and, unless ``synchronous_commit``, ``synchronous_commit=off``: a recoverable submit does
    not wait for the disk, and a job a database crash loses is submitted again by ``RecoverPendingArchivals``,
    since its run's ``ArchivalRequested`` was committed durably. A stored submit's batch always commits
    synchronously. Behind the pooler, set both with ``ALTER ROLE ... SET``.
    """

    def __init__(
        self,
        conninfo: str,
        *,
        queue_name: str = "sahha_sync",
        max_attempts: int = 3,
        backoff_base: float = 2.0,
        jitter: bool = True,
        concurrency: int = 1,
        run_worker: bool = True,
        heartbeat: float = 5.0,
        stalled_after: float = 20.0,
        poll_interval: float = 0.5,
        shutdown_timeout: float | None = 30.0,
        dead_retention_hours: int = 24 * 30,
        transient_keys: Collection[str] = ("sahha_data",),
        prepared_statements: bool | None = None,
        session_options: bool | None = None,
        synchronous_commit: bool = False,
        listen_notify: bool | None = None,
        connect_timeout: float = 10.0,
        outage_limit: float = 120.0,
    ) -> None:
        _check(concurrency >= 1, "concurrency must be at least 1", "concurrency")
        _check(max_attempts >= 1, "max_attempts must be at least 1", "max_attempts")
        _check(backoff_base >= 0, "backoff_base must not be negative", "backoff_base")
        _check(heartbeat > 0, "heartbeat must be positive", "heartbeat")
        _check(stalled_after >= 3 * heartbeat - 1e-9, "stalled_after must be at least 3 heartbeats", "stalled_after")
        self.queue_name, self.max_attempts, self.concurrency = queue_name, max_attempts, concurrency
        self.backoff_base, self.jitter = backoff_base, jitter
        self.heartbeat, self.stalled_after, self.poll_interval = heartbeat, stalled_after, poll_interval
        self.shutdown_timeout, self.run_worker = shutdown_timeout, run_worker
        self.connect_timeout = connect_timeout
        self._transient = frozenset(transient_keys)
        target = libpq_conninfo(conninfo)
        self.listen_notify = not behind_transaction_pooler(target) if listen_notify is None else listen_notify
        self._connector = procrastinate.PsycopgConnector(
            pool_factory=pool_without_check,
            json_loads=loads,
            conninfo=target,
            kwargs=connection_kwargs(
                target,
                prepared_statements=prepared_statements,
                session_options=session_options,
                synchronous_commit=synchronous_commit,
            ),
            min_size=1,
            max_size=concurrency + 4,
            timeout=connect_timeout,
            name=f"sahha-sync-queue-{queue_name}",
        )
        self._app = procrastinate.App(connector=self._connector)
        self._outage = OutageClock(outage_limit)
        # see JobManager: it rides out outages, and twins give way
        self._app.job_manager = JobManager(self._connector, outage=self._outage)
        self._retry = RetryPolicy(max_attempts=max_attempts, backoff=Backoff(backoff_base, jitter=jitter))
        self._handlers: dict[str, JobHandler] = {}
        self._dead = DeadLetters(self._connector, self._app, queue_name)
        self._writer = JobWriter(self._connector, queue_name)
        self._maintenance = Maintenance(
            self._connector, self._app, queue_name, max_attempts=max_attempts, stalled_after=stalled_after,
            interval=heartbeat, dead_retention_hours=dead_retention_hours, outage=self._outage,
            own_worker=lambda: None if self._worker is None else self._worker.worker_id,
        )  # fmt: skip
        self._open_lock = asyncio.Lock()
        self._opened = self._closed = False
        self._worker: Worker | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self.worker_error: str | None = None  # what stopped the worker, when it ended by itself with an error

    # -- the port ------------------------------------------------------------------------------------------

    def register(self, job_type: str, handler: JobHandler) -> None:
        if job_type not in self._handlers:
            task = job_task(job_type, self._handlers, max_attempts=self.max_attempts, connector=self._connector)
            self._app.task(name=job_type, queue=self.queue_name, pass_context=True, retry=self._retry)(task)
        self._handlers[job_type] = handler

    async def start(self) -> None:
        if self._closed:
            raise QueueClosedError("the queue was stopped and cannot start again")
        await self._open()
        if not await guarded("start the queue", self._app.check_connection_async):
            raise QueueUnavailableError("the job queue's tables are missing (run `sahha-sync db upgrade`)")
        await self._writer.prepare()  # job ids in reserve: the first submits need no round trip either
        if not self.run_worker or self._worker is not None:
            return
        self._worker = Worker(
            app=self._app, queues=[self.queue_name], name=f"sahha-sync-{self.queue_name}",
            concurrency=self.concurrency, fetch_job_polling_interval=self.poll_interval,
            abort_job_polling_interval=max(self.poll_interval, 1.0), shutdown_graceful_timeout=self.shutdown_timeout,
            listen_notify=self.listen_notify, delete_jobs="successful", install_signal_handlers=False,
            update_heartbeat_interval=self.heartbeat, stalled_worker_timeout=self.stalled_after,
        )  # fmt: skip
        running: Coroutine[Any, Any, None] = self._worker.run()  # type: ignore[no-untyped-call]
        self._tasks = [
            asyncio.create_task(running, name=f"queue-worker-{self.queue_name}"),
            asyncio.create_task(self._maintenance.run(), name=f"queue-maintenance-{self.queue_name}"),
        ]
        logger.info("queue.started", queue=self.queue_name, concurrency=self.concurrency, durable=True)

    async def submit_job(
        self,
        job_type: str,
        payload: Mapping[str, Any],
        *,
        dedup_key: str | None = None,
        recoverable: bool = False,
    ) -> SubmitResult:
        if self._closed:
            raise QueueClosedError(f"cannot submit a {job_type} job: the queue is stopping or stopped")
        _check(
            "\x00" not in job_type and "\x00" not in (dedup_key or ""),
            "a job type or dedup key cannot hold a NUL character",
            "job_type",
        )
        args = freeze(job_type, payload, self._transient)
        await self._open()
        lock = None if dedup_key is None else f"{self.queue_name}:{dedup_key}"
        result = await self._writer.submit(
            job_type, args, lock=lock, user=payload_user(payload), recoverable=recoverable
        )
        logger.debug("queue.job_submitted", job_id=result.job_id, job_type=job_type, buffered=result.buffered)
        return result

    async def get_stats(self) -> QueueStats:
        await self._open()
        row = await guarded(
            "read the queue's figures",
            lambda: self._connector.execute_query_one_async(_sql.STATS, queue=self.queue_name),
        )
        age = row["oldest_age"]
        return QueueStats(
            queued=row["queued"] + self._writer.pending, running=row["running"], completed=row["completed"],
            failed=row["failed"], retries=row["retries"], dead=row["dead"],
            oldest_queued_age_seconds=None if age is None else float(age),
        )  # fmt: skip

    async def wait_idle(self, timeout: float | None = None) -> bool:
        await self._open()
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.01
        while True:
            buffered = self._writer.pending  # read first: a job leaves the buffer only once it is in the table
            row = await guarded(
                "count the queue's jobs",
                lambda: self._connector.execute_query_one_async(_sql.BUSY, queue=self.queue_name),
            )
            if row["busy"] == 0 and buffered == 0:
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            await asyncio.sleep(pause if remaining is None else min(pause, remaining))
            pause = min(pause * 2, self.poll_interval)

    async def stop(self, *, drain: bool = True, timeout: float | None = None) -> None:
        self._closed = True
        started = time.monotonic()
        drained = True
        unwritten = await self._writer.close(self.shutdown_timeout if timeout is None else timeout)
        if unwritten:  # recoverable jobs: RecoverPendingArchivals submits them again at the next start
            logger.warning("queue.jobs_not_written", queue=self.queue_name, jobs=unwritten)
        if drain and self._worker is not None:
            drained = await self.wait_idle(timeout)
        if self._worker is not None:
            grace = self.shutdown_timeout
            if timeout is not None:
                left = max(timeout - (time.monotonic() - started), 0.0)
                grace = left if grace is None else min(grace, left)
            self._worker.shutdown_graceful_timeout = grace
            await asyncio.sleep(0)  # let a worker started just now clear its stop flag before we set it
            self._worker.stop()  # type: ignore[no-untyped-call]
        await self._finish_tasks()
        if self._opened:
            await self._app.close_async()
            self._opened = False
        logger.info("queue.stopped", queue=self.queue_name, drained=drained)

    async def worker_finished(self) -> None:
        """Return when this queue's worker has ended (after ``stop``, or because its database went away)."""
        if self._tasks:
            await asyncio.wait([self._tasks[0]])

    # -- dead letters ----------------------------------------------------------------------------------------

    async def dead_jobs(self) -> list[DeadJob]:
        """Jobs that failed for good (their health data already dropped), oldest first."""
        await self._open()
        return await self._dead.dead_jobs()

    async def purge_user(self, user_id: str) -> int:
        """Delete the user's queued, running and dead jobs (by ``payload_user``'s key) with their health data; a
        job running now goes on, and its worker finds it gone when it ends (it writes nothing once the erasure
        is committed)."""
        await self._open()
        buffered = await self._writer.purge_user(user_id)
        async with guard("purge a user's jobs"):
            rows = await self._connector.execute_query_all_async(_sql.PURGE_USER, queue=self.queue_name, user=user_id)
        logger.info("queue.user_purged", queue=self.queue_name, jobs=len(rows) + buffered)
        return len(rows) + buffered

    async def retry_dead(self, job_ids: Sequence[str] | None = None) -> list[str]:
        """Submit dead jobs again (all, or those of ``job_ids``) as new jobs with fresh attempts; their
        payloads no longer carry health data, so the handler fetches it again. Returns the new jobs' ids."""
        if self._closed:
            raise QueueClosedError("cannot retry dead jobs: the queue is stopping or stopped")
        await self._open()
        return await self._dead.retry(job_ids)

    # -- internals -------------------------------------------------------------------------------------------

    async def _open(self) -> None:
        if self._opened:
            return
        async with self._open_lock:
            if self._opened:
                return
            try:
                await asyncio.wait_for(self._app.open_async(), self.connect_timeout)
            except (TimeoutError, *QUEUE_ERRORS) as exc:
                await self._app.close_async()  # the pool would keep trying in the background
                raise QueueUnavailableError(
                    f"cannot connect to the job queue's database within {self.connect_timeout} s ({type(exc).__name__})"
                ) from exc
            self._opened = True

    async def _finish_tasks(self) -> None:
        for task in self._tasks[1:]:  # the maintenance loop; the worker ends by itself once stopped
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception as exc:
                self.worker_error = type(exc.__cause__ or exc).__name__
                logger.error("queue.worker_stopped_with_error", queue=self.queue_name, error_kind=self.worker_error)
        self._tasks, self._worker = [], None


def _check(ok: bool, message: str, field: str) -> None:
    if not ok:
        raise InvalidInputError(message, field=field)
