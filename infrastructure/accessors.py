"""The seed's accessors: ``get_sahha_client()``, ``get_job_queue()``, ``get_archival_service()``,
``await get_archetype_tracker()``, and ``run_analysis(...)`` / ``get_run_analysis()``.

They share one ``SahhaSync`` per process, built from the environment on first use (nothing connects before).
The objects they return are handles (``RuntimeHandle``) that reach that shared instance when called, so they
may be taken at import time; their methods are ``SahhaSync``'s own (``delegate``), not copies. The shared
runtime's clients belong to the event loop that first used them: call ``await aclose()`` (alias
``shutdown()``) before that loop ends; it drains the queue and releases everything, and the next call builds
afresh.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sahha_sync.application.ports.job_queue import DeadJob, JobHandler, JobQueue, QueueStats, SubmitResult
from sahha_sync.application.use_cases import Watermarks
from sahha_sync.domain.snapshot import HealthSnapshot
from sahha_sync.infrastructure.delegation import delegate
from sahha_sync.infrastructure.runtime import SahhaSync

_shared: SahhaSync | None = None


def shared() -> SahhaSync:
    """The process's ``SahhaSync`` (built from the environment on first call)."""
    global _shared
    if _shared is None:
        _shared = SahhaSync.from_env()
    return _shared


async def aclose() -> None:
    """Drain the shared queue and close the shared clients and engines."""
    global _shared
    current, _shared = _shared, None
    if current is not None:
        await current.aclose()


shutdown = aclose


class RuntimeHandle:
    """A handle on a ``SahhaSync``: the one given, or else the process's shared one, found at each call."""

    def __init__(self, sync: SahhaSync | None = None) -> None:
        self._sync = sync

    @property
    def runtime(self) -> SahhaSync:
        return self._sync if self._sync is not None else shared()


async def runtime_of(handle: RuntimeHandle) -> SahhaSync:
    return handle.runtime


async def _queue_of(handle: RuntimeHandle) -> JobQueue:
    return await handle.runtime.job_queue()


class SahhaClient(RuntimeHandle):
    """``get_sahha_client()``: the seed's ``fetch_health_data`` (the ``FetchHealthData`` use case); the result's
    ``.to_dict()`` is the seed's return value."""

    async def fetch_health_data(
        self, external_id: str, since_timestamp: datetime | None = None, days: int | None = None
    ) -> HealthSnapshot:
        """The seed's call: ``external_id`` is the seed's (and Sahha's) name for the host's user id."""
        return await self.runtime.fetch_health_data(external_id, since_timestamp, days)


class SharedJobQueue(RuntimeHandle, JobQueue):
    """``get_job_queue()``: the runtime's queue, with the container's handlers already registered."""

    def register(self, job_type: str, handler: JobHandler) -> None:
        self.runtime.register(job_type, handler)

    async def start(self) -> None:
        await self.runtime.start()

    async def submit_job(
        self,
        job_type: str,
        payload: Mapping[str, Any],
        *,
        dedup_key: str | None = None,
        recoverable: bool = False,
    ) -> SubmitResult:
        queue = await _queue_of(self)
        return await queue.submit_job(job_type, payload, dedup_key=dedup_key, recoverable=recoverable)

    async def get_stats(self) -> QueueStats:
        return await (await _queue_of(self)).get_stats()

    async def purge_user(self, user_id: str) -> int:
        return await (await _queue_of(self)).purge_user(user_id)

    async def wait_idle(self, timeout: float | None = None) -> bool:
        return await (await _queue_of(self)).wait_idle(timeout)

    async def stop(self, *, drain: bool = True, timeout: float | None = None) -> None:
        await self.runtime.stop_queue(drain=drain, timeout=timeout)

    async def worker_finished(self) -> None:
        await (await _queue_of(self)).worker_finished()

    async def dead_jobs(self) -> list[DeadJob]:
        return await (await _queue_of(self)).dead_jobs()

    async def retry_dead(self, job_ids: Sequence[str] | None = None) -> list[str]:
        return await (await _queue_of(self)).retry_dead(job_ids)


class SharedArchivalService(RuntimeHandle):
    """``get_archival_service()``: the seed's ``archive_sahha_data``."""

    archive_sahha_data = delegate(runtime_of, SahhaSync.archive_sahha_data)


class SharedRunAnalysis(RuntimeHandle):
    """``get_run_analysis()``: the whole flow in one call, as ``RunAnalysis`` (``handle(...)`` or
    ``handle.run_analysis(...)``)."""

    run_analysis = __call__ = delegate(runtime_of, SahhaSync.run_analysis)


def get_sahha_client() -> SahhaClient:
    return SahhaClient()


def get_job_queue() -> SharedJobQueue:
    return SharedJobQueue()


def get_archival_service() -> SharedArchivalService:
    return SharedArchivalService()


async def get_archetype_tracker() -> Watermarks:
    """The seed awaits this one: ``tracker = await get_archetype_tracker()``."""
    return await shared().archetype_tracker()


def get_run_analysis() -> SharedRunAnalysis:
    return SharedRunAnalysis()


run_analysis = SharedRunAnalysis().run_analysis
"""``await run_analysis(user_id, archetype, analysis_type)``: fetch, analyse and answer at once; archival runs in
the background on the shared queue."""
