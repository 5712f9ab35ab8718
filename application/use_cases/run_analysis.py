"""``RunAnalysis``: the seed's end-to-end flow — fetch, analyse, answer, and archive in the background.

Order of work for one run (DESIGN.md, promises 1 and 3):

1. one short read-only unit of work: the watermark (with the tracker's fallback), the user's recent runs (for
   the earliest window not archived yet) and the archived rows of the analysis period;
2. no unit of work open: fetch the planned window from the source (falling back to the archive when the source
   fails), then call the analyst (falling back to ``fallback_analyst`` when it fails);
3. one unit of work: append the run's events and save its tracking row, then commit;
4. submit the archival job and return without waiting for it.

Why record before submitting: the event store is the outbox. Once step 3 committed, the run's
``ArchivalRequested`` is durable; if the process dies before step 4, or the queue refuses the job, the run
has ``ArchivalRequested`` and no terminal event, and ``RecoverPendingArchivals`` submits it again (the job
then fetches the window again). The other order could run a job for a run that was never recorded, or lose
the job with the process while nothing on disk says it was wanted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import uuid4

import structlog

from sahha_sync.application.ports.analyst import Analyst
from sahha_sync.application.ports.clock import Clock
from sahha_sync.application.ports.health_data_source import HealthDataSource, HealthDataSourceError
from sahha_sync.application.ports.job_queue import JobQueue, JobQueueError, SubmitResult
from sahha_sync.application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from sahha_sync.application.use_cases._analysing import AnalystChain
from sahha_sync.application.use_cases._support import (
    describe_error,
    fetch_in_chunks,
    newest_record_time,
    require_run_key,
    within,
)
from sahha_sync.application.use_cases.archetype_tracker import last_analysis_with_fallback
from sahha_sync.application.use_cases.archival_job import ArchivalJob
from sahha_sync.domain.analysis import Analysis, AnalysisInput, AnalysisType
from sahha_sync.domain.events import (
    AnalysisCompleted,
    AnalysisRequested,
    ArchivalRequested,
    DomainEvent,
    HealthDataFetched,
    HealthDataFetchFailed,
    RecordsQuarantined,
)
from sahha_sync.domain.health import HealthRecords
from sahha_sync.domain.snapshot import HealthSnapshot, merge_by_key
from sahha_sync.domain.tracking import TrackingRecord, earliest_unsynced_start
from sahha_sync.domain.windows import DEFAULT_INITIAL_DAYS, DEFAULT_LOOKBACK, FetchWindow, plan_fetch_window

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisOutcome:
    """What ``RunAnalysis`` answers the host with, before archival has run.

    ``window`` is the window planned for the fetch; ``snapshot`` the data the run used (fresh from the source,
    or with ``data_source="archive"`` the archived rows of the analysis period, as of ``stale_as_of``).
    ``archival`` is None when no job was submitted (archive fallback, or the queue refused: recovery
    re-submits it).
    """

    run_id: str
    tracking_record_id: int | None
    analysis: Analysis
    window: FetchWindow
    is_incremental: bool
    data_source: str
    stale_as_of: datetime | None
    snapshot: HealthSnapshot
    archival: SubmitResult | None
    watermark: datetime | None = None
    watermark_source: str = "none"
    fallback_analyst_used: bool = False


@dataclass(frozen=True, slots=True)
class _Context:
    watermark: datetime | None
    watermark_source: str
    not_after: datetime | None
    archived: HealthRecords


@dataclass(frozen=True, slots=True)
class _Fetch:
    snapshot: HealthSnapshot
    data_source: str
    stale_as_of: datetime | None
    events: tuple[DomainEvent, ...]


class RunAnalysis:
    """``await run_analysis(user_id, archetype, analysis_type) -> AnalysisOutcome``.

    ``unsynced_horizon`` bounds how far back unarchived runs are looked for (and so how far a fetch may reach).
    """

    def __init__(
        self,
        *,
        source: HealthDataSource,
        analyst: Analyst,
        unit_of_work: UnitOfWorkFactory,
        queue: JobQueue,
        clock: Clock,
        lookback: timedelta = DEFAULT_LOOKBACK,
        initial_days: int = DEFAULT_INITIAL_DAYS,
        fallback_analyst: Analyst | None = None,
        unsynced_horizon: timedelta = timedelta(days=30),
        include_archetypes: bool = True,
    ) -> None:
        self._source = source
        self._analysts = AnalystChain(analyst, fallback_analyst)
        self._unit_of_work = unit_of_work
        self._queue = queue
        self._clock = clock
        self._lookback = lookback
        self._initial_days = initial_days
        self._horizon = unsynced_horizon
        self._include_archetypes = include_archetypes

    async def __call__(self, user_id: str, archetype: str, analysis_type: str | AnalysisType) -> AnalysisOutcome:
        return await self.run_analysis(user_id, archetype, analysis_type)

    async def run_analysis(self, user_id: str, archetype: str, analysis_type: str | AnalysisType) -> AnalysisOutcome:
        user, kind, atype = require_run_key(user_id, archetype, analysis_type)
        now = self._clock.now()
        run_id = uuid4().hex
        period = FetchWindow.last_days(now, self._initial_days)
        log.info("run_analysis.started", run_id=run_id, user_id=user, analysis_type=atype.value)
        context = await self._read_context(user, kind, atype, now, period)
        plan = plan_fetch_window(
            now,
            context.watermark,
            lookback=self._lookback,
            initial_days=self._initial_days,
            not_after=context.not_after,
        )
        requested = AnalysisRequested(
            run_id=run_id, occurred_at=now, user_id=user, archetype=kind, analysis_type=atype.value
        )
        fetched = await self._fetch(run_id, user, plan.window, plan.is_incremental, context, period)
        fresh = within(fetched.snapshot.records, period) if fetched.data_source == "sahha" else HealthRecords()
        analysis_input = AnalysisInput(
            user_id=user,
            archetype=kind,
            analysis_type=atype,
            period=period,
            biomarkers=tuple(merge_by_key(context.archived.biomarkers, fresh.biomarkers)),
            scores=tuple(merge_by_key(context.archived.scores, fresh.scores)),
            archetypes=tuple(merge_by_key(context.archived.archetypes, fresh.archetypes)),
            data_source=fetched.data_source,
            stale_as_of=fetched.stale_as_of,
        )
        result = await self._analysts.analyse(run_id, analysis_input, self._clock)
        events: list[DomainEvent] = [requested, *fetched.events, *result.events]
        if result.analysis is not None:
            events.append(_completed(run_id, self._clock.now(), result.analysis))
        record, archival = await self._record_and_submit(run_id, events, fetched)
        if result.analysis is None:
            assert result.error is not None
            raise result.error
        log.info(
            "run_analysis.completed",
            run_id=run_id,
            tracking_record_id=record.id,
            data_source=fetched.data_source,
            total_items=fetched.snapshot.total_items,
            is_incremental=plan.is_incremental,
            job_id=None if archival is None else archival.job_id,
        )
        return AnalysisOutcome(
            run_id=run_id,
            tracking_record_id=record.id,
            analysis=result.analysis,
            window=plan.window,
            is_incremental=plan.is_incremental,
            data_source=fetched.data_source,
            stale_as_of=fetched.stale_as_of,
            snapshot=fetched.snapshot,
            archival=archival,
            watermark=context.watermark,
            watermark_source=context.watermark_source,
            fallback_analyst_used=result.fallback_used,
        )

    async def _read_context(
        self, user: str, archetype: str, atype: AnalysisType, now: datetime, period: FetchWindow
    ) -> _Context:
        async with self._unit_of_work() as uow:
            watermark, source = await last_analysis_with_fallback(uow, user, archetype, atype)
            runs = await uow.tracking.runs_for_user(user, window_end_after=now - self._horizon)
            archived = await uow.archive.read_window(user, period)
        return _Context(watermark, source, earliest_unsynced_start(runs), archived)

    async def _fetch(
        self,
        run_id: str,
        user: str,
        window: FetchWindow,
        incremental: bool,
        context: _Context,
        period: FetchWindow,
    ) -> _Fetch:
        try:
            records = await fetch_in_chunks(self._source, user, window, include_archetypes=self._include_archetypes)
        except HealthDataSourceError as exc:
            return self._archive_fallback(run_id, window, incremental, context, period, exc)
        now = self._clock.now()
        snapshot = HealthSnapshot.from_records(
            records, fetched_at=now, window=window, is_incremental=incremental, watermark=context.watermark
        )
        events: list[DomainEvent] = [_fetched(run_id, now, snapshot, source="sahha")]
        if snapshot.quarantined:
            reasons = tuple(sorted({q.reason for q in snapshot.quarantined}))
            events.append(
                RecordsQuarantined(run_id=run_id, occurred_at=now, count=len(snapshot.quarantined), reasons=reasons)
            )
        return _Fetch(snapshot, "sahha", None, tuple(events))

    def _archive_fallback(
        self,
        run_id: str,
        window: FetchWindow,
        incremental: bool,
        context: _Context,
        period: FetchWindow,
        exc: HealthDataSourceError,
    ) -> _Fetch:
        """The archived rows of the analysis period stand in for the fetch; the run stays unsynced."""
        now = self._clock.now()
        kind, text = describe_error(exc)
        log.warning("run_analysis.source_failed", run_id=run_id, error_kind=kind, fallback="archive")
        failed = HealthDataFetchFailed(
            run_id=run_id,
            occurred_at=now,
            window_start=window.start,
            window_end=window.end,
            error_kind=kind,
            error=text,
            fallback_used=True,
        )
        snapshot = HealthSnapshot.from_records(
            context.archived, fetched_at=now, window=period, is_incremental=False, watermark=context.watermark
        )
        # The event keeps the planned window (not the period) so that the next run fetches it again.
        stand_in = _fetched(run_id, now, snapshot, source="archive", window=window, incremental=incremental)
        return _Fetch(snapshot, "archive", newest_record_time(context.archived), (failed, stand_in))

    async def _record_and_submit(
        self, run_id: str, events: list[DomainEvent], fetched: _Fetch
    ) -> tuple[TrackingRecord, SubmitResult | None]:
        archive_it = fetched.data_source == "sahha"
        snapshot = fetched.snapshot
        if archive_it:
            events.append(
                ArchivalRequested(
                    run_id=run_id,
                    occurred_at=self._clock.now(),
                    job_id=None,
                    biomarker_count=len(snapshot.biomarkers),
                    score_count=len(snapshot.scores),
                    archetype_count=len(snapshot.archetypes),
                )
            )
        async with self._unit_of_work() as uow:
            record = await self._record(uow, run_id, events, snapshot if archive_it else None)
            await uow.commit()
        if not archive_it:
            return record, None
        return record, await self._submit(ArchivalJob.for_run(record, snapshot))

    @staticmethod
    async def _record(
        uow: UnitOfWork, run_id: str, events: list[DomainEvent], snapshot: HealthSnapshot | None
    ) -> TrackingRecord:
        if snapshot is not None and snapshot.quarantined:
            await uow.archive.quarantine(snapshot.quarantined)
        await uow.events.append(events[0].stream_id, events, expected_version=0)
        return await uow.tracking.save(TrackingRecord.fold(events))

    async def _submit(self, job: ArchivalJob) -> SubmitResult | None:
        try:
            return await self._queue.submit_job(job.JOB_TYPE, job.to_payload(), dedup_key=job.dedup_key)
        except JobQueueError as exc:
            # The run is recorded with ArchivalRequested: recovery submits it again later.
            log.warning("run_analysis.archival_submit_failed", run_id=job.run_id, error_kind=type(exc).__name__)
            return None


def _fetched(
    run_id: str,
    now: datetime,
    snapshot: HealthSnapshot,
    *,
    source: str,
    window: FetchWindow | None = None,
    incremental: bool | None = None,
) -> HealthDataFetched:
    span = window or snapshot.window
    return HealthDataFetched(
        run_id=run_id,
        occurred_at=now,
        window_start=span.start,
        window_end=span.end,
        biomarker_count=len(snapshot.biomarkers),
        score_count=len(snapshot.scores),
        archetype_count=len(snapshot.archetypes),
        is_incremental=snapshot.is_incremental if incremental is None else incremental,
        watermark=snapshot.watermark,
        source=source,
    )


def _completed(run_id: str, now: datetime, analysis: Analysis) -> AnalysisCompleted:
    return AnalysisCompleted(
        run_id=run_id,
        occurred_at=now,
        analyst=analysis.analyst,
        model=analysis.model,
        prompt_version=analysis.prompt_version,
        input_hash=analysis.input_hash,
        prompt_tokens=analysis.prompt_tokens,
        completion_tokens=analysis.completion_tokens,
    )


__all__ = ["AnalysisOutcome", "RunAnalysis"]
