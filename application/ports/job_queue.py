"""Background jobs: archival runs here, so the host never waits for it."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

from sahha_sync.domain.errors import SahhaSyncError


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a handler knows about the attempt it runs in (``attempt`` counts from 1)."""

    job_id: str
    job_type: str
    attempt: int
    max_attempts: int

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts


JobHandler = Callable[[Mapping[str, Any], JobContext], Awaitable[None]]


class JobQueueError(SahhaSyncError):
    """The queue could not complete the operation."""


class QueueUnavailableError(JobQueueError):
    retryable: ClassVar[bool] = True


class QueueClosedError(JobQueueError):
    """A job was submitted to a queue that is stopping or stopped."""


class UnknownJobTypeError(JobQueueError):
    """No handler is registered for the job type."""


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """``duplicate`` is true when a pending job with the same ``dedup_key`` existed: nothing new was queued.

    ``buffered`` is true when a ``recoverable`` submit returned before the job was stored: it is written in the
    background, shortly after. A duplicate that only the database knows of (a job with the same key queued by
    another process) is then found when it is written: the pending job stands in for it, and ``job_id`` names a
    job that will not exist.
    """

    job_id: str
    duplicate: bool = False
    buffered: bool = False


@dataclass(frozen=True, slots=True)
class DeadJob:
    """A job that used up its attempts or failed for good (a dead letter); ``retry_dead`` queues it again.

    ``payload`` is the job's payload without the keys a queue drops when a job ends (the durable queue's
    health data), ``error_kind`` the class name of the last error and ``error`` its message.
    """

    job_id: str
    job_type: str
    payload: dict[str, Any]
    attempts: int
    error_kind: str
    error: str
    dedup_key: str | None = None


@dataclass(frozen=True, slots=True)
class QueueStats:
    """The seed's figures (``queued``, ``completed``, ``failed``, ``retries``) and a few more.

    ``failed`` counts failed attempts; ``dead`` counts jobs that used up their attempts.
    """

    queued: int = 0
    running: int = 0
    completed: int = 0
    failed: int = 0
    retries: int = 0
    dead: int = 0
    oldest_queued_age_seconds: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


USER_KEY = "user_id"


def payload_user(payload: Mapping[str, Any]) -> str | None:
    """The user a job's payload concerns: every job that concerns one carries it under ``USER_KEY``. Queues use
    it to purge a forgotten user's jobs."""
    user = payload.get(USER_KEY)
    return user if isinstance(user, str) else None


@runtime_checkable
class JobQueue(Protocol):
    @abstractmethod
    def register(self, job_type: str, handler: JobHandler) -> None:
        """Run ``handler(payload, context)`` for jobs of ``job_type``. An exception whose ``retryable`` is true is
        retried with backoff until the attempts run out; any other exception makes the job dead at once."""

    @abstractmethod
    async def start(self) -> None:
        """Start the background workers (once, at startup)."""

    @abstractmethod
    async def submit_job(
        self,
        job_type: str,
        payload: Mapping[str, Any],
        *,
        dedup_key: str | None = None,
        recoverable: bool = False,
    ) -> SubmitResult:
        """Queue a job and return at once; ``payload`` must be JSON-serialisable (it is copied at submit).

        With ``dedup_key``, at most one pending job per key exists: a second submit returns the first's id
        with ``duplicate=True``. Raises ``QueueClosedError`` once ``stop`` began.

        ``recoverable`` says the caller can submit the job again if it is lost, because its request is recorded
        elsewhere (an archival's ``ArchivalRequested`` event, which ``RecoverPendingArchivals`` re-submits). A
        durable queue may then return before the job is stored and write it in the background, batched with
        others (``SubmitResult.buffered``); a crash in between loses only what recovery re-submits. Without it,
        the job is stored when ``submit_job`` returns (a webhook delivery, acknowledged once it is safe).
        """

    @abstractmethod
    async def get_stats(self) -> QueueStats: ...

    @abstractmethod
    async def purge_user(self, user_id: str) -> int:
        """Delete the queued, retry-waiting and dead jobs whose payload concerns ``user_id`` (``payload_user``);
        returns how many. A job already running finishes. Erasure calls it so no job keeps a forgotten user's data."""

    @abstractmethod
    async def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no job is queued, waiting for a retry or running; False if ``timeout`` passed first."""

    @abstractmethod
    async def stop(self, *, drain: bool = True, timeout: float | None = None) -> None:
        """Stop taking jobs; with ``drain``, finish the queued ones (within ``timeout``) first."""

    @abstractmethod
    async def worker_finished(self) -> None:
        """Return once this queue's workers have ended: after ``stop``, or by themselves (a durable queue whose
        database went away). Returns at once when no worker runs here. A worker process waits on it beside
        its stop signal."""

    # -- dead letters: jobs that failed for good stay until retried or purged

    @abstractmethod
    async def dead_jobs(self) -> list[DeadJob]:
        """The jobs that failed for good, oldest first."""

    @abstractmethod
    async def retry_dead(self, job_ids: Sequence[str] | None = None) -> list[str]:
        """Queue dead jobs again with fresh attempts (all of them, or those of ``job_ids``; unknown ids are
        passed over) and return the ids they run under: the same ids, or new ones on a queue that submits them
        as new jobs. A dead job whose dedup key a pending job holds gives way to it. Raises
        ``QueueClosedError`` once ``stop`` began."""
