"""``SahhaSync``: sahha-sync for one process, as an async context manager.

    async with SahhaSync.from_env() as sync:
        outcome = await sync.run_analysis("user-0001", "Peak Performer", "behavior_analysis")

Entering starts the archival queue's workers; leaving drains the queue and closes every client, engine and
connection the container opened. Logging is left to the host (``configure_logging`` is for entrypoints).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import structlog

from sahha_sync.application.ports.job_queue import JobHandler, JobQueue, QueueStats
from sahha_sync.application.use_cases import (
    AnalysisOutcome,
    ArchetypeTracker,
    CollectStats,
    ErasureReport,
    FetchHealthData,
    ForgetUser,
    OperationsStats,
    RecoverPendingArchivals,
    RunAnalysis,
)
from sahha_sync.domain.analysis import AnalysisType
from sahha_sync.domain.schedule import WorkSchedule
from sahha_sync.domain.snapshot import HealthSnapshot
from sahha_sync.domain.tracking import SyncStatus, TrackingRecord
from sahha_sync.infrastructure.archival_service import ArchivalService
from sahha_sync.infrastructure.container import Container, build_container, resolve, shutdown
from sahha_sync.infrastructure.settings import Settings

log = structlog.get_logger(__name__)


class SahhaSync:
    """The host's handle on sahha-sync: the use cases, built from one ``Container``.

    Everything is built on first use; nothing connects before. ``start()`` (or ``async with``) starts the
    queue's workers, and ``run_analysis`` starts them when needed; ``aclose()`` releases everything.

    When the queue starts, ``RecoverPendingArchivals`` runs in the background (unless ``recover_on_start`` is
    false): runs whose archival job was lost with an earlier process (an in-memory queue, or a durable queue's
    job not yet written) are submitted again, and the host does not wait for it.
    """

    def __init__(
        self, settings: Settings | None = None, *, container: Container | None = None, recover_on_start: bool = True
    ) -> None:
        self.settings = settings if settings is not None else Settings.from_env()
        self.container = container if container is not None else build_container(self.settings)
        self.recover_on_start = recover_on_start
        self._queue: JobQueue | None = None
        self._recovery: asyncio.Task[None] | None = None
        self._handlers: dict[str, JobHandler] = {}
        self._lock = asyncio.Lock()

    @classmethod
    def from_env(cls, **overrides: Any) -> SahhaSync:
        """Settings from the environment, ``overrides`` (by field name, e.g. ``queue="memory"``) on top."""
        return cls(Settings.from_env(**overrides))

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def start(self) -> Self:
        """Start the queue's workers (once; later calls do nothing)."""
        await self.job_queue()
        return self

    async def aclose(self) -> None:
        """Drain the queue, then close clients and engines. The object can be used again afterwards (the
        in-memory stores, if configured, start empty)."""
        async with self._lock:
            await self._stop_recovery()
            self._queue = None
            await shutdown(self.container)

    async def job_queue(self) -> JobQueue:
        """The started queue, with ``SYNC_SAHHA_DATA`` and any handlers given to ``register`` registered."""
        async with self._lock:
            if self._queue is None:
                queue: JobQueue = await resolve(self.container.job_queue)
                for job_type, handler in self._handlers.items():
                    queue.register(job_type, handler)
                await queue.start()
                self._queue = queue
                if self.recover_on_start:
                    self._recovery = asyncio.create_task(self._recover(), name="sahha-sync-recovery")
            return self._queue

    async def _recover(self) -> None:
        """Submit again the archival of runs that asked for it and never ended; never fails the host (the next
        start, or ``sahha-sync recover``, tries again)."""
        try:
            use_case: RecoverPendingArchivals = await resolve(self.container.recover_pending_archivals)
            await use_case.recover()
        except Exception as exc:
            log.warning("archival.recovery_failed", error_kind=type(exc).__name__)

    async def wait_for_recovery(self) -> None:
        """Return once the recovery started with the queue has ended (at once if none runs)."""
        if self._recovery is not None:
            await asyncio.shield(self._recovery)

    async def _stop_recovery(self) -> None:
        task, self._recovery = self._recovery, None
        if task is None:
            return
        task.cancel()  # nothing if it ended
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def stop_queue(self, *, drain: bool = True, timeout: float | None = None) -> None:
        """Stop the queue's workers (finishing queued jobs first with ``drain``); ``start()`` starts a new one."""
        async with self._lock:
            if self._queue is None:
                return
            await self._stop_recovery()
            queue, self._queue = self._queue, None
            await queue.stop(drain=drain, timeout=timeout)
            result = self.container.job_queue.shutdown()
            if result is not None:
                await result

    def register(self, job_type: str, handler: JobHandler) -> None:
        """Run ``handler`` for jobs of ``job_type`` (now, or when the queue is built)."""
        self._handlers[job_type] = handler
        if self._queue is not None:
            self._queue.register(job_type, handler)

    async def run_analysis(
        self,
        user_id: str,
        archetype: str,
        analysis_type: str | AnalysisType,
        *,
        work_schedule: WorkSchedule | None = None,
    ) -> AnalysisOutcome:
        """Fetch, analyse, answer; the archival job is submitted and runs in the background. ``work_schedule``:
        the user's work and free days, when the host knows them (else Monday-Friday and the weekend)."""
        await self.start()
        use_case: RunAnalysis = await resolve(self.container.run_analysis)
        return await use_case.run_analysis(user_id, archetype, analysis_type, work_schedule=work_schedule)

    async def fetch_health_data(
        self, external_id: str, since_timestamp: datetime | None = None, days: int | None = None
    ) -> HealthSnapshot:
        use_case: FetchHealthData = await resolve(self.container.fetch_health_data)
        return await use_case.fetch_health_data(external_id, since_timestamp, days)

    async def archive_sahha_data(
        self,
        user_id: str,
        archetype: str,
        analysis_type: str,
        sahha_data: HealthSnapshot | Mapping[str, Any],
        *,
        run_id: str | None = None,
    ) -> SyncStatus:
        service: ArchivalService = await resolve(self.container.archival_service)
        return await service.archive_sahha_data(user_id, archetype, analysis_type, sahha_data, run_id=run_id)

    async def archetype_tracker(self) -> ArchetypeTracker:
        tracker: ArchetypeTracker = await resolve(self.container.archetype_tracker)
        return tracker

    async def tracking_record(self, run_id: str) -> TrackingRecord | None:
        """The run's row of ``archetype_analysis_tracking`` (window, watermark, sync status)."""
        unit_of_work = await resolve(self.container.unit_of_work)
        async with unit_of_work() as uow:
            record: TrackingRecord | None = await uow.tracking.get(run_id)
            return record

    async def queue_stats(self) -> QueueStats:
        return await (await self.job_queue()).get_stats()

    async def wait_for_archival(self, timeout: float | None = None) -> bool:
        """Wait until the queue has nothing queued, waiting or running; False if ``timeout`` passed first."""
        return await (await self.job_queue()).wait_idle(timeout)

    async def forget_user(self, user_id: str) -> ErasureReport:
        """Erase the user's biomarkers, scores, archetypes, quarantined records, tracking rows and stored analyses,
        and replace their runs' events by ``user.forgotten`` tombstones, in one transaction (``ForgetUser``)."""
        use_case: ForgetUser = await resolve(self.container.forget_user)
        return await use_case.forget(user_id)

    async def stats(self, since: datetime | None = None) -> OperationsStats:
        """The monitoring figures (``CollectStats``): from the events and tracking rows, plus this process's queue
        (when started) and Sahha client counters."""
        source = await resolve(self.container.source)
        client_stats = getattr(source, "stats", None)
        built = self.container.collect_stats(
            queue=self._queue, sahha_stats=None if client_stats is None else (lambda: client_stats().to_dict())
        )
        use_case: CollectStats = await built if asyncio.isfuture(built) or asyncio.iscoroutine(built) else built
        return await use_case.collect(since)
