"""The archival job's helpers: whether the job names a recorded run, the events its parts add, and how its failures
are recorded."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.job_queue import JobContext
from sahha_sync.application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from sahha_sync.application.retry import is_retryable
from sahha_sync.application.use_cases._support import append_and_project, describe_error, in_transaction, read_history
from sahha_sync.application.use_cases.archival_job import ArchivalJob
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.events import AnalysisRequested, ArchivalFailed, DomainEvent, RecordsArchived, SyncCompleted
from sahha_sync.domain.health import UpsertCounts
from sahha_sync.domain.record_kinds import RecordKind
from sahha_sync.domain.tracking import SyncStatus, TrackingRecord

log = get_logger("sahha_sync.application.use_cases.archive_health_data")  # the job's own logger name


class NotARun(Exception):
    """The job names no recorded run of its user (``error``); nothing is recorded, nothing retried."""

    def __init__(self, error: InvalidInputError) -> None:
        super().__init__(str(error))
        self.error = error


def status_of_run(job: ArchivalJob, history: list[DomainEvent]) -> SyncStatus:
    """The run's sync status; ``InvalidInputError`` when the payload names no recorded run of that user."""
    if not history or not isinstance(history[0], AnalysisRequested):
        raise InvalidInputError(f"no analysis run {job.run_id} is recorded", field="run_id")
    if history[0].user_id != job.user_id:
        raise InvalidInputError(f"run {job.run_id} belongs to another user", field="user_id")
    return SyncStatus.fold(history)


def part_archived(
    run_id: str, now: datetime, status: SyncStatus, kind: RecordKind[Any], counts: UpsertCounts
) -> list[DomainEvent]:
    """The part's ``RecordsArchived`` (logged), or none when it was archived before and nothing new was written."""
    if status.is_synced(kind) and counts.written == 0:
        return []
    log.info("archival.part_archived", run_id=run_id, part=kind.plural, **dataclasses.asdict(counts))
    return [RecordsArchived.counted(run_id, now, kind.name, counts)]


def completion(
    run_id: str, now: datetime, history: Sequence[DomainEvent], new_events: Sequence[DomainEvent]
) -> list[DomainEvent]:
    """``SyncCompleted`` when ``new_events`` (after ``history``) archive the run's last part."""
    folded = SyncStatus.fold([*history, *new_events])
    if folded.all_kinds_synced and not folded.sahha_data_synced:
        return [SyncCompleted(run_id=run_id, occurred_at=now)]
    return []


def failure_event(
    run_id: str, now: datetime, context: JobContext, exc: Exception, *, part: str | None
) -> ArchivalFailed:
    """``ArchivalFailed`` for ``exc`` (``part``: the kind's plural, or None for the job as a whole), logged."""
    kind, text = describe_error(exc)
    will_retry = is_retryable(exc) and not context.is_last_attempt
    log.warning(
        "archival.failed",
        run_id=run_id,
        job_id=context.job_id,
        part=part,
        attempt=context.attempt,
        error_kind=kind,
        will_retry=will_retry,
    )
    return ArchivalFailed(
        run_id=run_id,
        occurred_at=now,
        attempt=context.attempt,
        error_kind=kind,
        error=text,
        will_retry=will_retry,
        part=part,
    )


async def record_failure(unit_of_work: UnitOfWorkFactory, failure: ArchivalFailed) -> None:
    """Append ``failure`` to its recorded run in a transaction of its own; a failure to record is logged, never
    raised."""
    run_id = failure.run_id

    async def work(uow: UnitOfWork) -> TrackingRecord | None:
        history = await read_history(uow, run_id)
        if not history or not isinstance(history[0], AnalysisRequested):
            return None
        return await append_and_project(uow, run_id, history, [failure])

    try:
        await in_transaction(unit_of_work, work)
    except Exception as record_exc:
        log.error("archival.failure_not_recorded", run_id=run_id, error_kind=type(record_exc).__name__)
