"""An archival batch: the jobs of several runs archived in one transaction, each kind upserted once for all their
users (``HealthArchive.upsert_by_user``), their events appended and their tracking rows saved together. What each
run records is what archiving its job alone records (``ArchiveHealthData.archive_job``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sahha_sync.application.ports.clock import Clock
from sahha_sync.application.ports.unit_of_work import UnitOfWork
from sahha_sync.application.use_cases._archival_runs import completion, part_archived, status_of_run
from sahha_sync.application.use_cases._support import append_and_project_runs
from sahha_sync.application.use_cases.archival_job import ArchivalJob
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.events import DomainEvent, stream_id_for
from sahha_sync.domain.health import HealthRecords, UpsertCounts
from sahha_sync.domain.record_kinds import RECORD_KINDS
from sahha_sync.domain.tracking import SyncStatus


def batchable(job: ArchivalJob) -> bool:
    """Whether ``job`` may be archived in a batch: it carries its data, all of its user (the batch counts each
    user's rows for that user's run)."""
    if job.snapshot is None:
        return False
    records = job.snapshot.records
    return all(r.user_id == job.user_id for kind in RECORD_KINDS for r in kind.records_in(records))


@dataclass(slots=True)
class _BatchedRun:
    """A job of a batch that names its recorded run: where its outcome goes, its records, its run's history and
    status, and the events its archival adds."""

    at: int
    job: ArchivalJob
    records: HealthRecords
    history: list[DomainEvent]
    status: SyncStatus
    events: list[DomainEvent] = field(default_factory=list)


async def archive_batch(uow: UnitOfWork, jobs: Sequence[ArchivalJob], clock: Clock) -> list[SyncStatus | BaseException]:
    """The parts, events and tracking rows of ``jobs`` (each ``batchable``, each of another run) in the one
    transaction of ``uow``; a job naming no recorded run gets its error and leaves nothing. A part that fails
    raises: the caller archives the jobs one by one, so the part is recorded against its run."""
    histories = await uow.events.read_streams([stream_id_for(job.run_id) for job in jobs])
    outcomes: list[SyncStatus | BaseException] = []
    runs: list[_BatchedRun] = []
    for job in jobs:
        history = [recorded.event for recorded in histories.get(stream_id_for(job.run_id), ())]
        try:
            status = status_of_run(job, history)
        except InvalidInputError as exc:
            outcomes.append(exc)
            continue
        assert job.snapshot is not None
        runs.append(_BatchedRun(len(outcomes), job, job.snapshot.records, history, status))
        outcomes.append(status)
    for users_once in _rounds(runs):  # a user's rows are counted for one run at a time
        for kind in RECORD_KINDS:
            counts = await uow.archive.upsert_by_user(
                kind, [r for run in users_once for r in kind.records_in(run.records)]
            )
            for run in users_once:
                counted = counts.get(run.job.user_id, UpsertCounts())
                run.events += part_archived(run.job.run_id, clock.now(), run.status, kind, counted)
    for run in runs:
        run.events += completion(run.job.run_id, clock.now(), run.history, run.events)
    changed = [run for run in runs if run.events]
    records = await append_and_project_runs(uow, [(run.job.run_id, run.history, run.events) for run in changed])
    for run, record in zip(changed, records, strict=True):
        outcomes[run.at] = record.status
    return outcomes


def _rounds(runs: list[_BatchedRun]) -> list[list[_BatchedRun]]:
    """``runs`` in rounds that name each user at most once, in order."""
    rounds: list[list[_BatchedRun]] = []
    seen: list[set[str]] = []
    for run in runs:
        user = run.job.user_id
        n = next((i for i, users in enumerate(seen) if user not in users), len(seen))
        if n == len(seen):
            rounds.append([])
            seen.append(set())
        rounds[n].append(run)
        seen[n].add(user)
    return rounds
