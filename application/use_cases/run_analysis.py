"""``RunAnalysis``: the seed's end-to-end flow — fetch, analyse, answer, and archive in the background.

Order of work for one run (README.md, "What it promises": nothing lost, the host never waits for archival):

1. one short read-only unit of work: the user's freshness, the watermark (with the tracker's fallback), the
   user's recent runs (for the earliest window not archived yet), the archived rows of the analysis period, and
   the stored analysis of the user's last run of the same archetype and type;
2. no unit of work open: when the user's data is fresh within ``max_staleness``, the archive answers (with this
   process's last fetch of the user on top); else fetch the delta since the user's mark minus the lookback,
   one fetch per user at a time (falling back to the archive when the source fails; see ``_fetching``), then
   analyse (see ``_reuse_or_analyse``): the stored analysis when the input hash is unchanged, else the analyst,
   falling back to ``fallback_analyst`` when it fails while Sahha answered;
3. one unit of work: append the run's events, save its tracking row and its analysis, then commit;
4. submit the archival job and return without waiting for it.

Why record before submitting: the event store is the outbox. Once step 3 committed, the run's
``ArchivalRequested`` is durable; if the process dies before step 4, or the queue refuses the job, the run
has ``ArchivalRequested`` and no terminal event, and ``RecoverPendingArchivals`` submits it again (the job
then fetches the window again). The other order could run a job for a run that was never recorded (its events
would start a stream without ``AnalysisRequested``), or lose the job with the process while nothing on disk
says it was wanted. The cost of this order is at most a job submitted twice, which the dedup key and the
job's idempotence absorb.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import uuid4

from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.analysis_results import StoredAnalysis
from sahha_sync.application.ports.analyst import Analyst
from sahha_sync.application.ports.clock import Clock
from sahha_sync.application.ports.health_data_source import HealthDataSource
from sahha_sync.application.ports.job_queue import JobQueue, JobQueueError, SubmitResult
from sahha_sync.application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory, reading
from sahha_sync.application.use_cases._fetching import ARCHIVE, SAHHA, FetchResult, RunContext, RunFetcher
from sahha_sync.application.use_cases._freshness import current_freshness
from sahha_sync.application.use_cases._reuse_or_analyse import (
    AnalysisChoice,
    AnalysisUnavailableError,
    ReuseOrAnalyse,
    completed_event,
)
from sahha_sync.application.use_cases._support import require_run_key
from sahha_sync.application.use_cases.archival_job import ArchivalJob
from sahha_sync.application.use_cases.user_flights import UserFlights
from sahha_sync.application.use_cases.watermarks import find_watermark
from sahha_sync.domain.analysis import Analysis, AnalysisInput, AnalysisType
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.events import AnalysisRequested, ArchivalRequested, DomainEvent, HealthDataFetchFailed
from sahha_sync.domain.freshness import FreshnessBound
from sahha_sync.domain.health import HealthRecords
from sahha_sync.domain.schedule import WorkSchedule
from sahha_sync.domain.snapshot import HealthSnapshot, merge_by_key
from sahha_sync.domain.tracking import TrackingRecord, earliest_unsynced_start
from sahha_sync.domain.windows import DEFAULT_INITIAL_DAYS, DEFAULT_LOOKBACK, FetchWindow

log = get_logger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisOutcome:
    """What ``RunAnalysis`` answers the host with, before archival has run.

    ``data_source`` says where the data came from: ``sahha`` or ``emulator`` (fetched now, named as the source
    is configured), or ``archive`` — fresh within the bound, or standing in because the fetch failed
    (``source_failed``, with ``stale_as_of`` the newest archived record's time). ``fresh_as_of`` is up to when
    the data was current and ``data_age`` how old that was when the run used it (zero for a fetch; None when
    nothing is archived). ``window`` is the window fetched (the analysis period when nothing was);
    ``snapshot`` the data fetched (with ``archive``: the archived rows of the analysis period, with the
    records of the user's last fetch in this process on top). ``archival`` is None when no job was submitted
    (nothing fetched, or the queue refused it and recovery re-submits it). ``watermark`` and
    ``watermark_source`` say where the window started from (``user``: the user's archived fetches);
    ``fallback_analyst_used`` that the first analyst failed and the fallback answered; ``reused_from`` that the
    input was unchanged and the analysis is the stored one of that run (the analyst was not called). ``metrics``
    are the figures the analysis rests on.
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
    reused_from: str | None = None
    fresh_as_of: datetime | None = None
    data_age: timedelta | None = None
    source_failed: bool = False

    @property
    def reused(self) -> bool:
        return self.reused_from is not None

    @property
    def metrics(self) -> dict[str, object]:
        """The computed metrics (``MetricSet.to_dict``): each with its value, unit, days used, or why it is absent."""
        return self.analysis.metrics

    @property
    def degraded(self) -> bool:
        """True when Sahha or the analyst was down and a stand-in (the archive, the fallback) answered."""
        return self.source_failed or self.fallback_analyst_used


class RunAnalysis:
    """``await run_analysis(user_id, archetype, analysis_type, work_schedule=None) -> AnalysisOutcome``.

    The analysis period is the last ``initial_days`` days. ``work_schedule`` gives the user's work and free days
    (MCTQ's split of nights, and behaviour by kind of day); without it they are Monday-Friday and the weekend,
    and the metrics say that this is the default. ``unsynced_horizon`` bounds how far back runs whose
    archival did not succeed are looked for, and so how far back a fetch may reach. ``max_staleness``: how old
    the user's archived data may be for the archive to answer without a fetch (zero: fetch every time);
    ``archetype_period``: Sahha's archetypes are asked for at most once per period (zero: every fetch);
    ``webhook_silence``: a user whose webhook deliveries came less than this ago is answered from the archive
    (with a bound above zero), the runs polling only once deliveries fall silent (zero: they count through the
    mark alone).
    ``flights`` is shared by every ``RunAnalysis`` of a process (one fetch per user at a time); ``source_name``
    names a fetch's source in the outcome (``emulator`` for the emulator).
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
        max_staleness: timedelta = timedelta(0),
        archetype_period: timedelta = timedelta(0),
        webhook_silence: timedelta = timedelta(0),
        flights: UserFlights | None = None,
        source_name: str = SAHHA,
    ) -> None:
        self._fetcher = RunFetcher(
            source,
            clock,
            include_archetypes=include_archetypes,
            bound=FreshnessBound(max_staleness, archetype_period, webhook_silence),
            flights=flights if flights is not None else UserFlights(),
            lookback=lookback,
            initial_days=initial_days,
        )
        self._source_name = source_name
        self._analysis = ReuseOrAnalyse(analyst, fallback_analyst)
        self._unit_of_work = unit_of_work
        self._queue = queue
        self._clock = clock
        self._initial_days = initial_days
        self._horizon = unsynced_horizon

    async def run_analysis(
        self,
        user_id: str,
        archetype: str,
        analysis_type: str | AnalysisType,
        *,
        work_schedule: WorkSchedule | None = None,
    ) -> AnalysisOutcome:
        user, kind, atype = require_run_key(user_id, archetype, analysis_type)
        if work_schedule is not None and not isinstance(work_schedule, WorkSchedule):
            raise InvalidInputError("work_schedule must be a WorkSchedule", field="work_schedule")
        now, run_id = self._clock.now(), uuid4().hex
        period = FetchWindow.last_days(now, self._initial_days)
        log.info("run_analysis.started", run_id=run_id, user_id=user, analysis_type=atype.value)
        context, previous = await self._read_context(user, kind, atype, now, period)

        async def planning(unplanned: RunContext) -> RunContext:
            async with self._unit_of_work() as uow:
                return await self._with_planning(uow, unplanned, kind, atype, now)

        fetched = await self._fetcher.fetch(run_id, user, context, period, planning)
        context = fetched.context or context
        analysis_input = await asyncio.to_thread(
            _analysis_input, user, kind, atype, period, context.archived, fetched, work_schedule
        )
        source_failure = next((e for e in fetched.events if isinstance(e, HealthDataFetchFailed)), None)
        result = await self._analysis.analyse(
            run_id, analysis_input, previous=previous, source_failure=source_failure, clock=self._clock
        )
        requested = AnalysisRequested(
            run_id=run_id, occurred_at=now, user_id=user, archetype=kind, analysis_type=atype.value
        )
        events: list[DomainEvent] = [requested, *fetched.events, *result.events]
        stored = self._stored(requested, result)
        if stored is not None:
            reused = result.reused_from is not None
            events.append(completed_event(run_id, stored.created_at, stored.analysis, reused=reused))
        record, archival = await self._record_and_submit(run_id, events, fetched, stored)
        if result.analysis is None:
            error = result.error or AssertionError("an analyst result holds an analysis or an error")
            log.error("run_analysis.analysis_failed", run_id=run_id, error_kind=type(error).__name__)
            raise error
        mark, mark_source = context.poll_mark
        outcome = AnalysisOutcome(
            run_id=run_id,
            tracking_record_id=record.id,
            analysis=result.analysis,
            window=period if fetched.plan is None else fetched.plan.window,
            is_incremental=fetched.plan is not None and fetched.plan.is_incremental,
            data_source=self._source_name if fetched.data_source == SAHHA else fetched.data_source,
            stale_as_of=fetched.stale_as_of,
            snapshot=fetched.snapshot,
            archival=archival,
            watermark=None if mark is None else mark.value,
            watermark_source=mark_source,
            fallback_analyst_used=result.fallback_used,
            reused_from=result.reused_from,
            fresh_as_of=fetched.fresh_as_of,
            data_age=fetched.data_age,
            source_failed=fetched.source_failed,
        )
        _log_completed(outcome)
        return outcome

    __call__ = run_analysis

    async def _read_context(
        self, user: str, archetype: str, atype: AnalysisType, now: datetime, period: FetchWindow
    ) -> tuple[RunContext, StoredAnalysis | None]:
        async with reading(self._unit_of_work()) as uow:
            # freshness before the archive: the rows read next hold at least what the mark says is archived
            freshness = await current_freshness(uow, user)
            archived = await uow.archive.read_window(user, period)
            previous = await uow.analysis_results.latest(user, archetype, atype.value)
            context = RunContext(freshness, archived)
            if not self._fetcher.may_serve(user, freshness, period):  # a fetch is likely: plan it in this read
                context = await self._with_planning(uow, context, archetype, atype, now)
        return context, previous

    async def _with_planning(
        self, uow: UnitOfWork, context: RunContext, archetype: str, atype: AnalysisType, now: datetime
    ) -> RunContext:
        """``context`` with what planning a fetch needs: the watermark, and the earliest unarchived window."""
        user = context.freshness.user_id
        watermark, source = await find_watermark(uow, user, archetype, atype)
        runs = await uow.tracking.runs_for_user(user, window_end_after=now - self._horizon)
        not_after = earliest_unsynced_start(runs)
        return dataclasses.replace(
            context, watermark=watermark, watermark_source=source, not_after=not_after, planned=True
        )

    def _stored(self, requested: AnalysisRequested, result: AnalysisChoice) -> StoredAnalysis | None:
        if result.analysis is None:
            return None
        return StoredAnalysis(
            run_id=requested.run_id,
            user_id=requested.user_id,
            archetype=requested.archetype,
            analysis_type=requested.analysis_type,
            analysis=result.analysis,
            created_at=self._clock.now(),
            reused_from=result.reused_from,
        )

    async def _record_and_submit(
        self, run_id: str, events: list[DomainEvent], fetched: FetchResult, stored: StoredAnalysis | None
    ) -> tuple[TrackingRecord, SubmitResult | None]:
        """Record the run (events, tracking row, analysis) in one transaction, then submit its archival job."""
        snapshot = fetched.snapshot
        archive_it = fetched.data_source == SAHHA  # archived rows (and a fetch they include) are archived already
        if archive_it:
            events.append(_archival_requested(run_id, self._clock.now(), snapshot))
        async with self._unit_of_work() as uow:
            if archive_it and snapshot.quarantined:
                await uow.archive.quarantine(snapshot.quarantined)
            await uow.events.append(events[0].stream_id, events, expected_version=0)
            record = await uow.tracking.save(TrackingRecord.fold(events))
            if stored is not None:
                await uow.analysis_results.save(stored)
            await uow.commit()
        if not archive_it:
            return record, None
        return record, await self._submit(ArchivalJob.for_run(record, snapshot))

    async def _submit(self, job: ArchivalJob) -> SubmitResult | None:
        try:
            # Recoverable: the run's ArchivalRequested is committed, so the queue may write the job behind.
            payload = await asyncio.to_thread(job.to_payload)  # a window's records: milliseconds to encode
            return await self._queue.submit_job(job.JOB_TYPE, payload, dedup_key=job.dedup_key, recoverable=True)
        except JobQueueError as exc:
            # The run is recorded with ArchivalRequested: recovery submits it again later.
            log.warning("run_analysis.archival_submit_failed", run_id=job.run_id, error_kind=type(exc).__name__)
            return None


def _analysis_input(
    user: str,
    archetype: str,
    atype: AnalysisType,
    period: FetchWindow,
    archived: HealthRecords,
    fetched: FetchResult,
    work_schedule: WorkSchedule | None,
) -> AnalysisInput:
    """The archived rows of the period merged with the fresh ones of the period (fresh wins). The input says
    ``archive`` only when the fetch failed: data fresh within the bound is Sahha's data, as a fetch's is."""
    fresh = fetched.fresh
    return AnalysisInput(
        user_id=user,
        archetype=archetype,
        analysis_type=atype,
        period=period,
        biomarkers=tuple(merge_by_key(archived.biomarkers, fresh.biomarkers)),
        scores=tuple(merge_by_key(archived.scores, fresh.scores)),
        archetypes=tuple(merge_by_key(archived.archetypes, fresh.archetypes)),
        data_source=ARCHIVE if fetched.source_failed else SAHHA,
        stale_as_of=fetched.stale_as_of,
        work_schedule=work_schedule,
    )


def _archival_requested(run_id: str, now: datetime, snapshot: HealthSnapshot) -> ArchivalRequested:
    return ArchivalRequested(
        run_id=run_id,
        occurred_at=now,
        job_id=None,  # the job is submitted after this event commits (outbox)
        biomarker_count=len(snapshot.biomarkers),
        score_count=len(snapshot.scores),
        archetype_count=len(snapshot.archetypes),
    )


def _log_completed(outcome: AnalysisOutcome) -> None:
    log.info(
        "run_analysis.completed",
        run_id=outcome.run_id,
        tracking_record_id=outcome.tracking_record_id,
        data_source=outcome.data_source,
        data_age_seconds=None if outcome.data_age is None else round(outcome.data_age.total_seconds(), 3),
        is_incremental=outcome.is_incremental,
        total_items=outcome.snapshot.total_items,
        fallback_analyst_used=outcome.fallback_analyst_used,
        reused=outcome.reused,
        job_id=None if outcome.archival is None else outcome.archival.job_id,
    )


__all__ = ["AnalysisOutcome", "AnalysisUnavailableError", "RunAnalysis"]
