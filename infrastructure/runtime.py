"""``SahhaSync``: sahha-sync for one process, as an async context manager.

    async with SahhaSync.from_env() as sync:
        outcome = await sync.run_analysis("user-0001", "Peak Performer", "behavior_analysis")

Entering starts the archival queue's workers; leaving drains the queue and closes every client, engine and
connection the container opened. Logging is left to the host (``configure_logging`` is for entrypoints).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from dependency_injector import providers

from sahha_sync.adapters.webhook import SahhaWebhookReceiver
from sahha_sync.application.ports.health_data_source import HealthDataSource
from sahha_sync.application.ports.job_queue import JobHandler, JobQueue, QueueStats
from sahha_sync.application.use_cases import (
    ArchiveRecordedRun,
    CollectStats,
    ErasureReport,
    FetchHealthData,
    ForgetUser,
    OperationsStats,
    ReadStoredAnalyses,
    RunAnalysis,
    Watermarks,
)
from sahha_sync.application.use_cases.archival_outcome import ArchivalListener
from sahha_sync.domain.tracking import TrackingRecord
from sahha_sync.infrastructure.container import Container, build_container, resolve, shutdown
from sahha_sync.infrastructure.delegation import delegate
from sahha_sync.infrastructure.settings import Settings


async def _started_run_analysis(sync: SahhaSync) -> RunAnalysis:
    await sync.start()  # its archival job runs on the queue's workers
    use_case: RunAnalysis = await resolve(sync.container.run_analysis)
    return use_case


async def _fetch_health_data(sync: SahhaSync) -> FetchHealthData:
    use_case: FetchHealthData = await resolve(sync.container.fetch_health_data)
    return use_case


async def _archive_recorded_run(sync: SahhaSync) -> ArchiveRecordedRun:
    use_case: ArchiveRecordedRun = await resolve(sync.container.archive_recorded_run)
    return use_case


class SahhaSync:
    """The host's handle on sahha-sync: the use cases, built from one ``Container``.

    Everything is built on first use; nothing connects before. ``start()`` (or ``async with``) starts the
    queue's workers, and ``run_analysis`` starts them when needed; ``aclose()`` releases everything.

    When the queue starts, ``RecoverPendingArchivals`` runs in the background (the container's ``recovery``,
    unless ``recover_on_start`` is false): runs whose archival job was lost with an earlier process (an
    in-memory queue, or a durable queue's job not yet written) are submitted again, and so are webhook
    deliveries still in the inbox (``RecoverWebhookInbox``); the host does not wait for it.

    ``run_workers=False`` (or ``SAHHA_SYNC_RUN_WORKERS=false``; the durable queue only) makes a host that only
    submits: its archival and webhook jobs run in ``sahha-sync worker`` processes, and leaving does not wait for
    them. It applies to the container this builds from the settings. The seed's accessors
    and agents (``sahha_sync.infrastructure``) are handles on one of these.

    ``on_archived`` (optional, plain or ``async``) hears each run's archival outcome that this process's workers
    commit (``ArchivalOutcome``: completed, or an attempt failed); other processes' outcomes reach a host through
    Postgres's ``NOTIFY`` channel ``sahha_sync_archived``.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        container: Container | None = None,
        recover_on_start: bool = True,
        on_archived: ArchivalListener | None = None,
        run_workers: bool | None = None,
    ) -> None:
        self.settings = settings if settings is not None else Settings.from_env()
        if run_workers is not None and run_workers != self.settings.run_workers:
            self.settings = Settings(**{**dict(self.settings), "run_workers": run_workers})
        self.container = container if container is not None else build_container(self.settings)
        if on_archived is not None:
            self.container.on_archived.override(providers.Object(on_archived))
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
        """The started queue, with the container's handlers and any given to ``register`` registered."""
        async with self._lock:
            if self._queue is None:
                queue: JobQueue = await resolve(self.container.job_queue)
                for job_type, handler in self._handlers.items():
                    queue.register(job_type, handler)
                await queue.start()
                self._queue = queue
                if self.recover_on_start:
                    self._recovery = await resolve(self.container.recovery)
            return self._queue

    async def wait_for_recovery(self) -> None:
        """Return once the recovery started with the queue has ended (at once if none runs)."""
        if self._recovery is not None:
            await asyncio.shield(self._recovery)

    async def _stop_recovery(self) -> None:
        self._recovery = None
        result = self.container.recovery.shutdown()  # cancels it, if it still runs
        if result is not None:
            await result

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

    # the use cases a host calls: each method is the use case's own (its signature is written there)

    run_analysis = delegate(
        _started_run_analysis,
        RunAnalysis.run_analysis,
        doc="``run_analysis(user_id, archetype, analysis_type, *, work_schedule=None) -> AnalysisOutcome``: fetch, "
        "analyse, answer; the archival job is submitted and runs in the background (``RunAnalysis``).",
    )
    fetch_health_data = delegate(
        _fetch_health_data,
        FetchHealthData.fetch_health_data,
        doc="The seed's ``fetch_health_data(user_id, since_timestamp=None, days=None) -> HealthSnapshot``: the "
        "user's data since the watermark (minus the lookback), or of the last ``days`` days (``FetchHealthData``).",
    )
    archive_sahha_data = delegate(
        _archive_recorded_run,
        ArchiveRecordedRun.archive_sahha_data,
        doc="The seed's ``archive_sahha_data(user_id, archetype, analysis_type, sahha_data, *, run_id=None)``: "
        "archive now, for a recorded run, as the queue's job would, for hosts that run the archival in a job "
        "system of their own (``ArchiveRecordedRun``).",
    )

    async def archetype_tracker(self) -> Watermarks:
        tracker: Watermarks = await resolve(self.container.archetype_tracker)
        return tracker

    async def stored_analyses(self) -> ReadStoredAnalyses:
        """The analyses past runs answered with (``get``, ``latest``, ``history``)."""
        reader: ReadStoredAnalyses = await resolve(self.container.read_stored_analyses)
        return reader

    async def webhook_receiver(self, **options: Any) -> SahhaWebhookReceiver:
        """Sahha's webhook receiver, an ASGI app for the host to mount, checking ``SAHHA_SYNC_WEBHOOK_SECRET`` and
        answering a delivery only once it is stored: on the durable queue, or with the in-memory queue in the
        database's webhook inbox first (drained by this runtime's queue, and re-read when it starts);
        ``options`` (``max_body_bytes``, ``read_timeout``) as ``SahhaWebhookReceiver`` takes them."""
        queue = await self.job_queue()
        receiver: SahhaWebhookReceiver = await resolve(self.container.webhook_receiver, intake__queue=queue, **options)
        return receiver

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
        source: HealthDataSource = await resolve(self.container.source)
        use_case: CollectStats = await resolve(
            self.container.collect_stats, queue=self._queue, sahha_stats=source.client_stats
        )
        return await use_case.collect(since)
