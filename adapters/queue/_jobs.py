"""The procrastinate task that runs a registered handler: payload decoded, attempt counted, failure kept."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import procrastinate
import psycopg
from procrastinate import exceptions as procrastinate_errors
from procrastinate import manager
from procrastinate.jobs import Job, Status

from sahha_sync.adapters._job_errors import describe
from sahha_sync.adapters.queue import _sql
from sahha_sync.adapters.queue._codec import decode_args
from sahha_sync.adapters.queue._connection import QUEUE_ERRORS
from sahha_sync.adapters.queue._outage import BACKOFF, OutageClock, is_outage
from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.job_queue import JobContext, JobHandler, UnknownJobTypeError

logger = get_logger(__name__)


def job_task(
    job_type: str,
    handlers: Mapping[str, JobHandler],
    *,
    max_attempts: int,
    connector: procrastinate.PsycopgConnector,
) -> Callable[..., Awaitable[None]]:
    """The task procrastinate runs for ``job_type``; it looks its handler up at run time (re-registering
    replaces it)."""

    async def run_job(context: procrastinate.JobContext, **args: Any) -> None:
        job = context.job
        attempt = min(job.attempts + 1, max_attempts)  # a release at shutdown also counts in job.attempts
        log = logger.bind(job_id=job.id, job_type=job_type, attempt=attempt)
        try:
            handler = handlers.get(job_type)
            if handler is None:
                raise UnknownJobTypeError(f"no handler is registered for job type {job_type!r}")
            await handler(decode_args(args), JobContext(str(job.id), job_type, attempt, max_attempts))
        except Exception as exc:
            await _record_error(connector, job.id, exc)
            log.warning("queue.job_attempt_failed", error_kind=type(exc).__name__)
            raise
        log.info("queue.job_completed")

    run_job.__name__ = f"run_{job_type.lower().replace('.', '_')}"
    return run_job


async def _record_error(connector: procrastinate.PsycopgConnector, job_id: int | None, exc: Exception) -> None:
    """procrastinate keeps no failure reason: keep the last one on the job row, for ``dead_jobs``."""
    kind, text = describe(exc)
    try:
        await connector.execute_query_async(_sql.RECORD_ERROR, id=job_id, kind=kind, error=text)
    except QUEUE_ERRORS:
        logger.warning("queue.error_not_recorded", job_id=job_id)


class JobManager(manager.JobManager):
    """procrastinate's job manager, with two changes.

    It rides out database outages (``OutageClock``): fetching a job, recording a job's outcome, the heartbeat and
    the LISTEN connection wait for the database and try again, so a job's outcome is recorded once the database
    is back; past the clock's limit the error goes up and the worker stops.

    And when a job cannot go back to the queue because a queued job holds its dedup key (recovery submitted that
    twin while this one was running: a worker starting beside it, or ``sahha-sync recover``), this one is deleted
    and the twin takes over its attempts, so a job that kills its worker still reaches its last attempt. Put back,
    it would violate the key's unique index and fail every time after. A worker's retry and the stalled-job pass
    both go here."""

    def __init__(self, connector: procrastinate.PsycopgConnector, *, outage: OutageClock) -> None:
        super().__init__(connector)
        self.outage = outage
        self.in_hand: set[int] = set()  # the jobs this process fetched and has not yet finished or put back

    async def fetch_job(self, queues: Iterable[str] | None, worker_id: int) -> Job | None:
        fetch = super().fetch_job  # when the database is away: no job, and the worker asks again at its next poll
        job = await self.outage.once("fetch a job", lambda: fetch(queues, worker_id), None)
        if job is not None and job.id is not None:
            self.in_hand.add(job.id)
        return job

    async def finish_job(self, job: Job, status: Status, delete_job: bool) -> None:
        finish = super().finish_job
        try:
            await self.outage.through("record a job's outcome", lambda: finish(job, status, delete_job))
        except procrastinate_errors.ConnectorException as exc:
            _outcome_lost(job, exc)
        finally:
            self.in_hand.discard(job.id or 0)

    async def update_heartbeat(self, worker_id: int) -> None:
        beat = super().update_heartbeat
        await self.outage.once("send the heartbeat", lambda: beat(worker_id), None)

    async def register_worker(self) -> int:
        register = super().register_worker
        return await self.outage.through("register the worker", register)

    async def unregister_worker(self, worker_id: int) -> None:
        try:
            await super().unregister_worker(worker_id)
        except Exception as exc:
            if not is_outage(exc):
                raise
            logger.warning("queue.worker_not_unregistered", worker_id=worker_id)  # pruned later by its age

    async def listen_for_jobs(self, *, on_notification: Any, queues: Iterable[str] | None = None) -> None:
        failures = 0
        while True:
            try:
                await super().listen_for_jobs(on_notification=on_notification, queues=queues)
                return
            except Exception as exc:
                if not is_outage(exc):
                    raise
                self.outage.missed("listen for new jobs", exc)
                failures += 1
                await asyncio.sleep(BACKOFF.delay(failures))

    async def retry_job(
        self,
        job: Job,
        retry_at: datetime | None = None,
        priority: int | None = None,
        queue: str | None = None,
        lock: str | None = None,
    ) -> None:
        await self.retry_or_give_way(job, retry_at=retry_at, priority=priority, queue=queue, lock=lock)

    async def retry_or_give_way(self, job: Job, **options: Any) -> bool:
        """Put ``job`` back; False when it gave way to a queued twin (and was deleted)."""
        retry = super().retry_job
        try:
            await self.outage.through("put a job back", lambda: retry(job, **options))
        except procrastinate_errors.UniqueViolation:
            await self.outage.through("give way to a queued twin", lambda: self._give_way(job))
            logger.warning("queue.job_gave_way", job_id=job.id, job_type=job.task_name)
            return False
        except procrastinate_errors.ConnectorException as exc:
            _outcome_lost(job, exc)
        finally:
            self.in_hand.discard(job.id or 0)
        return True

    async def _give_way(self, job: Job) -> None:
        await self.connector.execute_query_async(
            _sql.GIVE_WAY, id=job.id, lock=job.queueing_lock, attempts=job.attempts + 1
        )


def _outcome_lost(job: Job, exc: procrastinate_errors.ConnectorException) -> None:
    """The job is no longer ``doing``: a database crash lost the commit that took it (commits of the queue's
    own connections need not wait for the disk), so it is queued again and runs again. Anything else goes up."""
    if not isinstance(exc.__cause__, psycopg.errors.RaiseException):
        raise exc
    logger.warning("queue.job_outcome_not_recorded", job_id=job.id, job_type=job.task_name)
