"""Beside each worker: put back the jobs of workers that went silent (killed mid-job), capped by the
attempts, and delete dead letters older than the retention.

A job whose worker died on its last attempt is dead ("worker died"), and the twins that recovery queued for it
meanwhile go with it. A worker never judges its own jobs (it is alive: it runs this loop), and no worker judges
any right after the database came back: every worker's heartbeat missed the outage, so for ``stalled_after``
seconds none is taken for dead. But a worker does put back its own jobs that the database still shows running
although the worker no longer holds them: a database crash lost the commit of their outcome (the queue's own
connections commit without waiting for the disk), and nothing else would ever end them.

procrastinate records heartbeats but does not recover stalled jobs by itself. One pass at a time runs across
all workers of a queue (a Postgres advisory lock), so two workers never put back the same job twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

import procrastinate
from procrastinate.jobs import Job, Status

from sahha_sync.adapters.queue import _sql
from sahha_sync.adapters.queue._connection import QUEUE_ERRORS
from sahha_sync.adapters.queue._jobs import JobManager
from sahha_sync.adapters.queue._outage import OutageClock
from sahha_sync.application.logs import get_logger

logger = get_logger(__name__)

CLEANUP_EVERY_SECONDS = 3600.0
WORKER_LOST = "WorkerLost"


class Maintenance:
    def __init__(
        self,
        connector: procrastinate.PsycopgConnector,
        app: procrastinate.App,
        queue_name: str,
        *,
        max_attempts: int,
        stalled_after: float,
        interval: float,
        dead_retention_hours: int,
        outage: OutageClock,
        own_worker: Callable[[], int | None] = lambda: None,
    ) -> None:
        self._connector, self._app, self._queue = connector, app, queue_name
        self._outage, self._own_worker = outage, own_worker
        self.max_attempts, self.stalled_after, self.interval = max_attempts, stalled_after, interval
        self.dead_retention_hours = dead_retention_hours
        self._suspects: set[int] = set()

    async def run(self) -> None:
        next_cleanup = time.monotonic()
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.recover_stalled()
                if time.monotonic() >= next_cleanup:
                    await self.clean_up()
                    next_cleanup = time.monotonic() + CLEANUP_EVERY_SECONDS
            except QUEUE_ERRORS as exc:
                logger.warning("queue.maintenance_failed", queue=self._queue, error_kind=type(exc).__name__)

    async def recover_stalled(self) -> int:
        """Put back (or make dead) the running jobs whose worker has been silent for ``stalled_after``."""
        if self._outage.back_for() < self.stalled_after:
            return 0
        key = f"sahha_sync.stalled_jobs:{self._queue}"
        # a transaction-level lock, so that it also holds (and is released) behind a transaction pooler
        async with self._connector.pool.connection() as conn, conn.transaction():
            locked = await (await conn.execute(_sql.TRY_XACT_LOCK, {"key": key})).fetchone()
            if not locked or not locked[0]:
                return 0
            return await self._put_back_stalled()

    async def _put_back_stalled(self) -> int:
        manager = self._app.job_manager
        assert isinstance(manager, JobManager)
        stalled = await manager.get_stalled_jobs(queue=self._queue, seconds_since_heartbeat=self.stalled_after)
        own = self._own_worker()
        jobs = [job for job in stalled if own is None or job.worker_id != own]
        for job in await self._orphans(manager, own):
            if await manager.retry_or_give_way(job, retry_at=datetime.now(UTC)):
                logger.warning("queue.orphaned_job_requeued", job_id=job.id, job_type=job.task_name)
        for job in jobs:
            log = logger.bind(job_id=job.id, job_type=job.task_name, attempt=job.attempts + 1)
            if job.attempts + 1 >= self.max_attempts:
                await self._connector.execute_query_async(
                    _sql.RECORD_ERROR, id=job.id, kind=WORKER_LOST, error="the worker died while running the job"
                )
                await manager.finish_job(job, status=Status.FAILED, delete_job=False)
                if job.queueing_lock is not None:
                    await self._connector.execute_query_async(_sql.DROP_TWINS, lock=job.queueing_lock)
                log.error("queue.job_dead", reason="worker died on the last attempt")
            elif await manager.retry_or_give_way(job, retry_at=datetime.now(UTC)):
                log.warning("queue.stalled_job_requeued")
        return len(jobs)

    async def _orphans(self, manager: JobManager, own: int | None) -> list[Job]:
        """This worker's jobs that the database shows running but the worker does not hold, on two passes in a row
        (so never a job whose fetch is just returning). Archival is idempotent: running one again is harmless."""
        if own is None:
            return []
        doing = await manager.get_stalled_jobs(queue=self._queue, seconds_since_heartbeat=0)  # every job doing
        suspects = {
            job.id for job in doing if job.id is not None and job.worker_id == own and job.id not in manager.in_hand
        }
        orphans = [job for job in doing if job.id in suspects & self._suspects]
        self._suspects = suspects
        return orphans

    async def clean_up(self) -> None:
        manager = self._app.job_manager
        await manager.prune_stalled_workers(self.stalled_after)
        await manager.delete_old_jobs(
            nb_hours=self.dead_retention_hours, queue=self._queue,
            include_failed=True, include_cancelled=True, include_aborted=True,
        )  # fmt: skip
