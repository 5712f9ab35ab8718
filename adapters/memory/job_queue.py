"""``InMemoryJobQueue``: the seed's ``SimpleJobQueue`` — background workers, retries with exponential backoff.

Jobs live in memory only: they are lost when the process ends (use the durable queue for that). A job's
payload is copied through JSON at submit, so it must be JSON-serialisable and later changes by the caller do
not reach the job. Log events are dotted (``queue.job_submitted``, ``queue.job_retry_scheduled``,
``queue.job_dead``...) and never carry the payload.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sahha_sync.adapters._job_errors import describe
from sahha_sync.adapters._json import dumps_payload, loads
from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.job_queue import (
    DeadJob,
    JobContext,
    JobHandler,
    JobQueue,
    QueueClosedError,
    QueueStats,
    SubmitResult,
    UnknownJobTypeError,
    payload_user,
)
from sahha_sync.application.retry import Backoff, is_retryable
from sahha_sync.domain.errors import InvalidInputError

logger = get_logger(__name__)

QUEUED, WAITING, RUNNING, COMPLETED, DEAD = "queued", "waiting_retry", "running", "completed", "dead"
PURGED = "purged"


@dataclass(slots=True, eq=False)
class _Job:
    id: str
    job_type: str
    payload_json: bytes
    dedup_key: str | None
    submitted_at: float
    state: str = QUEUED
    attempts: int = 0
    error_kind: str = ""
    error: str = ""
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)


class InMemoryJobQueue(JobQueue):
    """An asyncio job queue with ``concurrency`` workers.

    A job runs up to ``max_attempts`` times. When an attempt raises an error whose ``retryable`` attribute is
    true, the next attempt starts after ``backoff_base * 2**(attempt-1)`` seconds (2 s, 4 s, 8 s... by default),
    or a random part of that with ``jitter`` (``Backoff``); any other error, or the last attempt failing, makes
    the job dead.
    ``dedup_key``: at most one job per key is queued or waiting for a retry at a time (a running job no longer
    holds its key, as with the durable queue's queueing lock).
    """

    def __init__(
        self, *, concurrency: int = 1, max_attempts: int = 3, backoff_base: float = 2.0, jitter: bool = False
    ) -> None:
        if concurrency < 1:
            raise InvalidInputError("concurrency must be at least 1", field="concurrency")
        if max_attempts < 1:
            raise InvalidInputError("max_attempts must be at least 1", field="max_attempts")
        if backoff_base < 0:
            raise InvalidInputError("backoff_base must not be negative", field="backoff_base")
        self.concurrency, self.max_attempts = concurrency, max_attempts
        self.backoff = Backoff(backoff_base, jitter=jitter)
        self._handlers: dict[str, JobHandler] = {}
        self._jobs: dict[str, _Job] = {}  # every job not yet completed (dead ones stay, for retry_dead)
        self._active: dict[str, _Job] = {}  # queued, waiting for a retry, or running
        self._dedup: dict[str, str] = {}
        self._ready: asyncio.Queue[_Job] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False
        self._counts = {"completed": 0, "failed": 0, "retries": 0, "dead": 0}

    def register(self, job_type: str, handler: JobHandler) -> None:
        self._handlers[job_type] = handler

    async def start(self) -> None:
        if self._closed:
            raise QueueClosedError("the queue was stopped and cannot start again")
        if self._workers:
            return
        self._workers = [
            asyncio.create_task(self._work(), name=f"in-memory-job-queue-worker-{n}") for n in range(self.concurrency)
        ]
        logger.info("queue.started", concurrency=self.concurrency, max_attempts=self.max_attempts)

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
        payload_json = dumps_payload(job_type, payload)
        if dedup_key is not None and dedup_key in self._dedup:
            logger.info("queue.job_deduplicated", job_id=self._dedup[dedup_key], job_type=job_type)
            return SubmitResult(self._dedup[dedup_key], duplicate=True)
        job = _Job(uuid.uuid4().hex, job_type, payload_json, dedup_key, time.monotonic())
        self._jobs[job.id] = job
        self._enqueue(job)
        logger.info("queue.job_submitted", job_id=job.id, job_type=job_type)
        return SubmitResult(job.id)

    async def get_stats(self) -> QueueStats:
        waiting = [j for j in self._active.values() if j.state != RUNNING]
        now = time.monotonic()
        oldest = max((now - j.submitted_at for j in waiting), default=None)
        return QueueStats(
            queued=len(waiting),
            running=len(self._active) - len(waiting),
            oldest_queued_age_seconds=oldest,
            **self._counts,
        )

    async def wait_idle(self, timeout: float | None = None) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def stop(self, *, drain: bool = True, timeout: float | None = None) -> None:
        self._closed = True
        drained = True
        if drain and self._workers:
            drained = await self.wait_idle(timeout)
        for job in self._active.values():
            if job.timer is not None:
                job.timer.cancel()
                job.timer = None
        for task in self._workers:
            task.cancel()
        for task in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers = []
        logger.info("queue.stopped", drained=drained, jobs_left=len(self._active))

    async def purge_user(self, user_id: str) -> int:
        purged = 0
        for job in list(self._jobs.values()):
            if job.state == RUNNING or payload_user(loads(job.payload_json)) != user_id:
                continue
            if job.timer is not None:
                job.timer.cancel()
            if job.state == DEAD:
                self._counts["dead"] -= 1
            if job.dedup_key is not None and self._dedup.get(job.dedup_key) == job.id:
                del self._dedup[job.dedup_key]
            job.state = PURGED  # a worker that takes it from the ready queue passes over it
            self._active.pop(job.id, None)
            del self._jobs[job.id]
            purged += 1
        self._update_idle()
        logger.info("queue.user_purged", jobs=purged)
        return purged

    async def worker_finished(self) -> None:
        """Return once the workers have ended (they end only when ``stop`` cancels them)."""
        if self._workers:
            await asyncio.wait(self._workers)

    async def dead_jobs(self) -> list[DeadJob]:
        """Jobs that failed for good, oldest first."""
        return [
            DeadJob(j.id, j.job_type, loads(j.payload_json), j.attempts, j.error_kind, j.error, j.dedup_key)
            for j in self._jobs.values()
            if j.state == DEAD
        ]

    async def retry_dead(self, job_ids: Sequence[str] | None = None) -> list[str]:
        """Queue dead jobs again (all of them, or those of ``job_ids``) under their ids, with fresh attempts; a
        dead job whose dedup key a pending job holds is dropped in its favour. Returns the ids queued."""
        if self._closed:
            raise QueueClosedError("cannot retry dead jobs: the queue is stopping or stopped")
        wanted = None if job_ids is None else set(job_ids)
        retried = []
        for job in list(self._jobs.values()):
            if job.state != DEAD or (wanted is not None and job.id not in wanted):
                continue
            self._counts["dead"] -= 1
            if job.dedup_key is not None and job.dedup_key in self._dedup:  # a pending job stands in for it
                del self._jobs[job.id]
                logger.info("queue.job_deduplicated", job_id=self._dedup[job.dedup_key], job_type=job.job_type)
                continue
            job.attempts, job.error_kind, job.error = 0, "", ""
            job.submitted_at = time.monotonic()
            self._enqueue(job)
            retried.append(job.id)
            logger.info("queue.job_resubmitted", job_id=job.id, job_type=job.job_type)
        return retried

    def _enqueue(self, job: _Job) -> None:
        job.state, job.timer = QUEUED, None
        self._active[job.id] = job
        if job.dedup_key is not None:
            self._dedup.setdefault(job.dedup_key, job.id)
        self._idle.clear()
        self._ready.put_nowait(job)

    async def _work(self) -> None:
        while True:
            job = await self._ready.get()
            if job.state != QUEUED:
                continue
            try:
                await self._run(job)
            except asyncio.CancelledError:
                job.state = QUEUED  # abandoned by a stop without drain; lost with the process
                raise
            finally:
                self._update_idle()

    async def _run(self, job: _Job) -> None:
        job.state = RUNNING
        job.attempts += 1
        if job.dedup_key is not None and self._dedup.get(job.dedup_key) == job.id:
            del self._dedup[job.dedup_key]
        context = JobContext(job.id, job.job_type, job.attempts, self.max_attempts)
        log = logger.bind(job_id=job.id, job_type=job.job_type, attempt=job.attempts)
        log.debug("queue.job_started")
        try:
            handler = self._handlers.get(job.job_type)
            if handler is None:
                raise UnknownJobTypeError(f"no handler is registered for job type {job.job_type!r}")
            await handler(loads(job.payload_json), context)
        except Exception as exc:
            self._failed(job, exc, log)
        else:
            job.state = COMPLETED
            self._counts["completed"] += 1
            del self._active[job.id], self._jobs[job.id]
            log.info("queue.job_completed")

    def _failed(self, job: _Job, exc: Exception, log: Any) -> None:
        self._counts["failed"] += 1
        job.error_kind, job.error = describe(exc)  # a driver's error text can quote health values
        if is_retryable(exc) and job.attempts < self.max_attempts:
            delay = self.backoff.delay(job.attempts)
            self._counts["retries"] += 1
            job.state = WAITING
            if job.dedup_key is not None:
                self._dedup.setdefault(job.dedup_key, job.id)
            job.timer = asyncio.get_running_loop().call_later(delay, self._enqueue, job)
            log.warning("queue.job_retry_scheduled", delay_seconds=round(delay, 3), error_kind=job.error_kind)
            return
        job.state = DEAD
        self._counts["dead"] += 1
        del self._active[job.id]
        reason = "attempts exhausted" if is_retryable(exc) else "not retryable"
        log.error("queue.job_dead", reason=reason, error_kind=job.error_kind, error=job.error)

    def _update_idle(self) -> None:
        if not self._active:
            self._idle.set()
