"""The procrastinate task that runs a registered handler: payload decoded, attempt counted, failure kept."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

import procrastinate
from procrastinate import exceptions as procrastinate_errors
from procrastinate import manager
from procrastinate.jobs import Job

from sahha_sync.adapters.queue import _sql
from sahha_sync.adapters.queue._codec import decode_args
from sahha_sync.adapters.queue._connection import QUEUE_ERRORS
from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.job_queue import JobContext, JobHandler, UnknownJobTypeError
from sahha_sync.domain.errors import SahhaSyncError

logger = get_logger(__name__)

MAX_ERROR_TEXT = 500


def describe(exc: Exception) -> tuple[str, str]:
    """The library's own errors promise messages without health values; any other is named by class only."""
    text = str(exc)[:MAX_ERROR_TEXT] if isinstance(exc, SahhaSyncError) else ""
    return type(exc).__name__, text


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
    """procrastinate's job manager, except when a job cannot go back to the queue because a queued job holds
    its dedup key: recovery submitted that twin while this one was running (a worker starting beside it, or
    ``sahha-sync recover``). Put back, it would violate the key's unique index, and fail every time after; the
    twin does the same work, so this one is deleted. A worker's retry and the stalled-job pass both go here."""

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
        try:
            await super().retry_job(job, **options)
        except procrastinate_errors.UniqueViolation:
            await self.connector.execute_query_async(_sql.DELETE_JOB, id=job.id)
            logger.warning("queue.job_gave_way", job_id=job.id, job_type=job.task_name)
            return False
        return True
