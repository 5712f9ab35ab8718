"""``ArchiveHealthData``: the ``SYNC_SAHHA_DATA`` job — upsert a run's data and record its sync status.

One part per record kind, in the order of ``RECORD_KINDS`` (biomarkers, then scores, then archetypes). A job is
one transaction: every part (each upsert a savepoint), its events (``RecordsArchived`` of each kind, with the
upsert counts, then ``SyncCompleted``) and the refreshed tracking row. A part that fails ends the job: the parts
before it stay archived and flagged, ``ArchivalFailed`` (``part``: the kind's plural) is recorded with them, and
the error is re-raised so the queue retries (only retryable errors are retried). When the transaction itself
fails (a lost connection, a commit refused), the parts are done again one by one, each in a transaction of its
own, so the part that fails is still known and the others still land.

Every attempt upserts every part (upserts are idempotent, so a retry cannot lose rows that a previous attempt
skipped); a part event is recorded when the part was not archived yet or the upsert wrote something. Running a
job twice therefore changes nothing — no row, no event — and a synced run stays synced. The archive keeps the
newest version of each row (``HealthArchive.upsert``): a retried job's older value never replaces the revised one
a later run archived. A synced run whose job carries no data (re-submitted by recovery after it succeeded) is
left alone without fetching. An optional ``on_archived`` listener hears each completion and each failed attempt
once it is committed (``ArchivalOutcome``).

With ``batch_size`` above 1, jobs that carry their data and come while others are archived wait and go together
(``Coalescer``): one transaction for the batch (``_archival_batches``), recording for each run what archiving its
job alone records. A batch whose transaction fails is archived again job by job, as above.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from sahha_sync.application.batches import Coalescer
from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.clock import Clock
from sahha_sync.application.ports.event_store import ConcurrencyError
from sahha_sync.application.ports.health_data_source import HealthDataSource
from sahha_sync.application.ports.job_queue import JobContext
from sahha_sync.application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from sahha_sync.application.turns import Turns
from sahha_sync.application.use_cases._archival_batches import archive_batch, batchable
from sahha_sync.application.use_cases._archival_runs import (
    NotARun,
    completion,
    failure_event,
    part_archived,
    record_failure,
    status_of_run,
)
from sahha_sync.application.use_cases._support import (
    append_and_project,
    fetch_in_chunks,
    in_transaction,
    read_history,
)
from sahha_sync.application.use_cases.archival_job import ArchivalJob
from sahha_sync.application.use_cases.archival_outcome import ArchivalListener, ArchivalOutcome, tell
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.events import (
    ArchivalFailed,
    DomainEvent,
)
from sahha_sync.domain.health import HealthRecords
from sahha_sync.domain.record_kinds import RECORD_KINDS, RecordKind
from sahha_sync.domain.tracking import SyncStatus

log = get_logger(__name__)


class ArchiveHealthData:
    """``await archival.archive_job(job, context) -> SyncStatus`` archives an ``ArchivalJob``. The instance itself
    is the queue's handler (``queue.register(ArchiveHealthData.JOB_TYPE, archival)``), which takes the job as
    its payload (``archive(payload, context)``).

    ``source`` is needed only for jobs without a snapshot (jobs re-submitted by recovery).
    """

    JOB_TYPE: ClassVar[str] = ArchivalJob.JOB_TYPE

    def __init__(
        self,
        *,
        unit_of_work: UnitOfWorkFactory,
        clock: Clock,
        source: HealthDataSource | None = None,
        include_archetypes: bool = True,
        on_archived: ArchivalListener | None = None,
        batch_size: int = 1,
        batches_at_once: int = 1,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._clock = clock
        self._source = source
        self._include_archetypes = include_archetypes
        self._on_archived = on_archived
        self._batches: Coalescer[tuple[ArchivalJob, JobContext], SyncStatus] = Coalescer(
            self.archive_jobs, max_size=batch_size, at_once=batches_at_once
        )

    @property
    def batch_size(self) -> int:
        """The most jobs archived together (1: each on its own)."""
        return self._batches.max_size

    async def __call__(self, payload: Mapping[str, Any], context: JobContext) -> None:
        await self.archive(payload, context)

    async def archive(self, payload: Mapping[str, Any], context: JobContext) -> SyncStatus:
        """The queue's form: ``payload`` is ``ArchivalJob.to_payload()``. Jobs that carry their data and come while
        others are archived wait, and are archived together (up to ``batch_size``, see ``archive_jobs``)."""
        job = await self._parse(payload, context)
        if self.batch_size == 1 or job.snapshot is None:
            return await self.archive_job(job, context)
        return await self._batches((job, context))

    async def archive_jobs(self, jobs: Sequence[tuple[ArchivalJob, JobContext]]) -> list[SyncStatus | BaseException]:
        """Several jobs at once, each with its outcome (its status, or the error ``archive_job`` would raise).

        Jobs carrying their data, each naming another run, are archived in one transaction: each is archived as
        ``archive_job`` archives it, and is told to the listener once committed. When that transaction fails
        (a part's upsert, a lost connection), nothing of it stays and each job is archived again on its own, so
        the part that failed is recorded against its run. A job without data, or naming a run already in the
        batch, is archived on its own afterwards.
        """
        outcomes: list[SyncStatus | BaseException | None] = [None] * len(jobs)
        together: dict[str, int] = {}
        for i, (job, _) in enumerate(jobs):
            if batchable(job):
                together.setdefault(job.run_id, i)
        if len(together) > 1:
            chosen = list(together.values())
            try:
                done = await in_transaction(
                    self._unit_of_work, lambda uow: archive_batch(uow, [jobs[i][0] for i in chosen], self._clock)
                )
            except Exception as exc:
                log.warning("archival.batch_one_by_one", jobs=len(chosen), error_kind=type(exc).__name__)
            else:
                for i, outcome in zip(chosen, done, strict=True):
                    outcomes[i] = outcome
                    if isinstance(outcome, SyncStatus):
                        await self._completed(*jobs[i], outcome)
        for i, (job, context) in enumerate(jobs):
            if outcomes[i] is None:
                try:
                    outcomes[i] = await self.archive_job(job, context)
                except Exception as exc:
                    outcomes[i] = exc
        return [outcome for outcome in outcomes if outcome is not None]

    async def archive_job(self, job: ArchivalJob, context: JobContext) -> SyncStatus:
        if job.snapshot is None:
            status = await self._check_run(job)
            if status.sahha_data_synced:
                log.info("archival.already_synced", run_id=job.run_id, job_id=context.job_id)
                return status
            try:
                records = await self._records(job)
            except Exception as exc:
                await self._tell(job, await self._record_failure(job.run_id, context, exc, part=None))
                raise
        else:
            records = job.snapshot.records
        try:
            status, failure = await in_transaction(
                self._unit_of_work, lambda uow: self._archive_together(uow, job, records, context)
            )
        except NotARun as refused:
            raise refused.error from None
        except ConcurrencyError as exc:
            await self._tell(job, await self._record_failure(job.run_id, context, exc, part=None))
            raise
        except Exception as exc:
            log.warning("archival.parts_one_by_one", run_id=job.run_id, error_kind=type(exc).__name__)
            return await self._archive_parts(job, records, context)
        if failure is not None:
            error, event = failure
            await self._tell(job, event)
            raise error
        await self._completed(job, context, status)
        return status

    async def _completed(self, job: ArchivalJob, context: JobContext, status: SyncStatus) -> None:
        log.info("archival.sync_completed", run_id=job.run_id, job_id=context.job_id, attempt=context.attempt)
        if status.sahha_data_synced:
            await self._tell(job, None)

    async def _tell(self, job: ArchivalJob, failure: ArchivalFailed | None) -> None:
        """The listener hears the run's completion (``failure`` None) or its failed attempt."""
        outcome = ArchivalOutcome(
            run_id=job.run_id,
            user_id=job.user_id,
            archetype=job.archetype,
            analysis_type=job.analysis_type,
            completed=failure is None,
            will_retry=failure is not None and failure.will_retry,
            error_kind=None if failure is None else failure.error_kind,
            part=None if failure is None else failure.part,
        )
        await tell(self._on_archived, outcome)

    async def _archive_together(
        self, uow: UnitOfWork, job: ArchivalJob, records: HealthRecords, context: JobContext
    ) -> tuple[SyncStatus, tuple[Exception, ArchivalFailed] | None]:
        """Every part, its events and the tracking row in the one transaction of ``uow``. A part that fails (its
        upsert is a savepoint, rolled back) ends the work: the parts before it are kept with its
        ``ArchivalFailed``, and the part's error is returned with it, to be raised once this is committed."""
        history = await read_history(uow, job.run_id)
        try:
            status = status_of_run(job, history)
        except InvalidInputError as exc:
            raise NotARun(exc) from exc
        new_events: list[DomainEvent] = []
        failure: tuple[Exception, ArchivalFailed] | None = None
        for kind in RECORD_KINDS:
            try:
                counts = await uow.archive.upsert(kind, kind.records_in(records))
            except Exception as exc:
                failure = (exc, self._failure_event(job.run_id, context, exc, part=kind.plural))
                new_events.append(failure[1])
                break
            new_events += part_archived(job.run_id, self._clock.now(), status, kind, counts)
        if failure is None:
            new_events += completion(job.run_id, self._clock.now(), history, new_events)
        if not new_events:
            return status, None
        return (await append_and_project(uow, job.run_id, history, new_events)).status, failure

    async def _archive_parts(self, job: ArchivalJob, records: HealthRecords, context: JobContext) -> SyncStatus:
        """Each part in a transaction of its own, so the part that fails is known and the others still land."""
        for kind in RECORD_KINDS:
            try:
                await self._archive_part(job.run_id, kind, records)
            except Exception as exc:
                await self._tell(job, await self._record_failure(job.run_id, context, exc, part=kind.plural))
                raise
        status = await self._complete(job.run_id, context)
        if status.sahha_data_synced:
            await self._tell(job, None)
        return status

    async def _parse(self, payload: Mapping[str, Any], context: JobContext) -> ArchivalJob:
        try:
            return await Turns().run(ArchivalJob.payload_steps(payload))  # never holding the host's loop long
        except InvalidInputError as exc:
            log.error("archival.payload_invalid", job_id=context.job_id, field=exc.field)
            run_id = payload.get("run_id") if isinstance(payload, Mapping) else None
            if isinstance(run_id, str) and run_id.strip():
                await self._record_failure(run_id.strip(), context, exc, part=None)
            raise

    async def _check_run(self, job: ArchivalJob) -> SyncStatus:
        async with self._unit_of_work() as uow:
            history = await read_history(uow, job.run_id)
        return status_of_run(job, history)

    async def _records(self, job: ArchivalJob) -> HealthRecords:
        if job.snapshot is not None:
            return job.snapshot.records
        if self._source is None:
            raise InvalidInputError(
                "the payload has no sahha_data and no source is configured to fetch it again", field="sahha_data"
            )
        records = await fetch_in_chunks(
            self._source, job.user_id, job.window, include_archetypes=self._include_archetypes
        )
        log.info("archival.window_refetched", run_id=job.run_id, total_items=records.total_items)
        return records

    async def _archive_part(self, run_id: str, kind: RecordKind[Any], records: HealthRecords) -> SyncStatus:
        async def work(uow: UnitOfWork) -> SyncStatus:
            history = await read_history(uow, run_id)
            status = SyncStatus.fold(history)
            counts = await uow.archive.upsert(kind, kind.records_in(records))
            events = part_archived(run_id, self._clock.now(), status, kind, counts)
            return (await append_and_project(uow, run_id, history, events)).status if events else status

        return await in_transaction(self._unit_of_work, work)

    async def _complete(self, run_id: str, context: JobContext) -> SyncStatus:
        async def work(uow: UnitOfWork) -> SyncStatus:
            history = await read_history(uow, run_id)
            done = completion(run_id, self._clock.now(), history, [])
            return (await append_and_project(uow, run_id, history, done)).status if done else SyncStatus.fold(history)

        status = await in_transaction(self._unit_of_work, work)
        log.info("archival.sync_completed", run_id=run_id, job_id=context.job_id, attempt=context.attempt)
        return status

    def _failure_event(self, run_id: str, context: JobContext, exc: Exception, *, part: str | None) -> ArchivalFailed:
        return failure_event(run_id, self._clock.now(), context, exc, part=part)

    async def _record_failure(
        self, run_id: str, context: JobContext, exc: Exception, *, part: str | None
    ) -> ArchivalFailed:
        """Append ``ArchivalFailed`` to a recorded run (and return it); a failure to record is logged, never
        raised."""
        failure = failure_event(run_id, self._clock.now(), context, exc, part=part)
        await record_failure(self._unit_of_work, failure)
        return failure
