"""``RecoverPendingArchivals``: the outbox of every queue — runs whose archival was requested and never
finished are submitted again.

The event store is the source of truth. A run is pending when its stream has ``ArchivalRequested`` and no
terminal event after it: ``SyncCompleted``, or ``ArchivalFailed`` with ``will_retry=False`` (the job died).
Dead runs are left alone by default, and so are runs whose job is a dead letter of the queue (one that killed its
worker on every attempt leaves no event): the durable queue keeps their dead letters (``sahha-sync jobs
retry-dead`` submits them again) and the next analysis run of the user fetches their window again anyway
(``earliest_unsynced_start``); ``include_dead=True`` submits them too.

A recovered job carries no health data: it names its run and window, and ``ArchiveHealthData`` fetches the
window again. Jobs are dedup-keyed per run, so a run whose job is still queued is not queued twice, and a run
that is archived meanwhile is left alone by the job. Run it when a queue starts (with the in-memory queue this
turns "jobs lost on restart" into "jobs re-done after restart") and on demand (``sahha-sync recover``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.job_queue import JobQueue
from sahha_sync.application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from sahha_sync.application.use_cases._support import PAGE_SIZE, every_event, read_history
from sahha_sync.application.use_cases.archival_job import ArchivalJob
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.events import (
    AnalysisRequested,
    ArchivalFailed,
    ArchivalRequested,
    DomainEvent,
    SyncCompleted,
)
from sahha_sync.domain.tracking import TrackingRecord

log = get_logger(__name__)


def _is_terminal(event: DomainEvent, *, include_dead: bool) -> bool:
    if isinstance(event, SyncCompleted):
        return True
    return isinstance(event, ArchivalFailed) and not event.will_retry and not include_dead


@dataclass(frozen=True, slots=True, kw_only=True)
class RecoverPendingArchivals:
    """``await recover() -> int``: how many archival jobs were submitted (duplicates of queued jobs not
    counted)."""

    unit_of_work: UnitOfWorkFactory
    queue: JobQueue
    page_size: int = PAGE_SIZE
    include_dead: bool = False

    def __post_init__(self) -> None:
        if self.page_size < 1:
            raise InvalidInputError("page_size must be at least 1", field="page_size")

    async def __call__(self) -> int:
        return await self.recover()

    async def recover(self) -> int:
        async with self.unit_of_work() as uow:
            run_ids = await self._pending_run_ids(uow)
            jobs = [job for run_id in run_ids if (job := await self._job_for(uow, run_id)) is not None]
        if not self.include_dead:  # a job that died (even with its worker) stays dead until `retry-dead`
            dead = {job.dedup_key for job in await self.queue.dead_jobs()}
            jobs = [job for job in jobs if job.dedup_key not in dead]
        submitted = 0
        for job in jobs:  # outside the unit of work: submitting may reach another server
            result = await self.queue.submit_job(job.JOB_TYPE, job.to_payload(), dedup_key=job.dedup_key)
            if not result.duplicate:
                submitted += 1
                log.info("archival.recovery_submitted", run_id=job.run_id, job_id=result.job_id)
        log.info("archival.recovered", pending_runs=len(run_ids), submitted=submitted)
        return submitted

    async def _pending_run_ids(self, uow: UnitOfWork) -> list[str]:
        """Runs with an archival request and no terminal event after it, in the order of their request."""
        pending: dict[str, None] = {}
        async for recorded in every_event(uow, self.page_size):
            event = recorded.event
            if isinstance(event, ArchivalRequested):
                pending.pop(event.run_id, None)
                pending[event.run_id] = None
            elif _is_terminal(event, include_dead=self.include_dead):
                pending.pop(event.run_id, None)
        return list(pending)

    async def _job_for(self, uow: UnitOfWork, run_id: str) -> ArchivalJob | None:
        """The run's archival job without data, from its tracking row (or its stream when the row is missing)."""
        record = await uow.tracking.get(run_id)
        if record is None:
            events = await read_history(uow, run_id)
            if not events or not isinstance(events[0], AnalysisRequested):
                log.warning("archival.recovery_skipped", run_id=run_id, reason="no analysis.requested")
                return None
            record = TrackingRecord.fold(events)
        try:
            return ArchivalJob.for_run(record)
        except InvalidInputError:
            log.warning("archival.recovery_skipped", run_id=run_id, reason="no fetch window")
            return None
