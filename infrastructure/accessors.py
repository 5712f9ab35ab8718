"""The seed's accessors: ``get_sahha_client()``, ``get_job_queue()``, ``get_archival_service()``,
``await get_archetype_tracker()``, and ``run_analysis(...)`` / ``get_run_analysis()``.

They share one ``SahhaSync`` per process, built from the environment on first use (nothing connects before).
The objects they return are thin handles that reach that shared instance when called, so they may be taken
at import time. The shared runtime's clients belong to the event loop that first used them: call
``await aclose()`` (alias ``shutdown()``) before that loop ends; it drains the queue and releases everything,
and the next call builds afresh.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sahha_sync.application.ports.job_queue import JobHandler, JobQueue, QueueStats, SubmitResult
from sahha_sync.application.use_cases import AnalysisOutcome, ArchetypeTracker
from sahha_sync.domain.analysis import AnalysisType
from sahha_sync.domain.snapshot import HealthSnapshot
from sahha_sync.domain.tracking import SyncStatus
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


class SahhaClient:
    """``get_sahha_client()``: the seed's ``fetch_health_data`` (the ``FetchHealthData`` use case)."""

    async def fetch_health_data(
        self, external_id: str, since_timestamp: datetime | None = None, days: int | None = None
    ) -> HealthSnapshot:
        """The user's data since the watermark ``since_timestamp`` (minus the lookback), or of the last
        ``days`` days; ``.to_dict()`` is the seed's return value."""
        return await shared().fetch_health_data(external_id, since_timestamp, days)


class SharedJobQueue(JobQueue):
    """``get_job_queue()``: the shared runtime's queue, with ``SYNC_SAHHA_DATA`` already registered."""

    def register(self, job_type: str, handler: JobHandler) -> None:
        shared().register(job_type, handler)

    async def start(self) -> None:
        await shared().start()

    async def submit_job(
        self,
        job_type: str,
        payload: Mapping[str, Any],
        *,
        dedup_key: str | None = None,
        recoverable: bool = False,
    ) -> SubmitResult:
        return await (await shared().job_queue()).submit_job(
            job_type, payload, dedup_key=dedup_key, recoverable=recoverable
        )

    async def get_stats(self) -> QueueStats:
        return await shared().queue_stats()

    async def purge_user(self, user_id: str) -> int:
        return await (await shared().job_queue()).purge_user(user_id)

    async def wait_idle(self, timeout: float | None = None) -> bool:
        return await shared().wait_for_archival(timeout)

    async def stop(self, *, drain: bool = True, timeout: float | None = None) -> None:
        await shared().stop_queue(drain=drain, timeout=timeout)


class SharedArchivalService:
    """``get_archival_service()``: the seed's ``archive_sahha_data``."""

    async def archive_sahha_data(
        self,
        user_id: str,
        archetype: str,
        analysis_type: str,
        sahha_data: HealthSnapshot | Mapping[str, Any],
        *,
        run_id: str | None = None,
    ) -> SyncStatus:
        return await shared().archive_sahha_data(user_id, archetype, analysis_type, sahha_data, run_id=run_id)


class SharedRunAnalysis:
    """``get_run_analysis()``: the whole flow in one call, as ``RunAnalysis``."""

    async def __call__(self, user_id: str, archetype: str, analysis_type: str | AnalysisType) -> AnalysisOutcome:
        return await self.run_analysis(user_id, archetype, analysis_type)

    async def run_analysis(self, user_id: str, archetype: str, analysis_type: str | AnalysisType) -> AnalysisOutcome:
        return await shared().run_analysis(user_id, archetype, analysis_type)


def get_sahha_client() -> SahhaClient:
    return SahhaClient()


def get_job_queue() -> SharedJobQueue:
    return SharedJobQueue()


def get_archival_service() -> SharedArchivalService:
    return SharedArchivalService()


async def get_archetype_tracker() -> ArchetypeTracker:
    """The seed awaits this one: ``tracker = await get_archetype_tracker()``."""
    return await shared().archetype_tracker()


def get_run_analysis() -> SharedRunAnalysis:
    return SharedRunAnalysis()


async def run_analysis(user_id: str, archetype: str, analysis_type: str | AnalysisType) -> AnalysisOutcome:
    """Fetch, analyse and answer at once; archival runs in the background on the shared queue."""
    return await shared().run_analysis(user_id, archetype, analysis_type)
