"""ArchiveHealthData.archive_jobs: several archival jobs in one transaction, each as archive_job archives it."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Generator, Sequence
from datetime import timedelta
from typing import Any

import pytest

from sahha_sync.adapters.memory import InMemoryJobQueue
from sahha_sync.application import turns
from sahha_sync.application.ports import ArchiveUnavailableError, JobContext
from sahha_sync.application.use_cases import ArchivalJob, ArchiveHealthData
from sahha_sync.domain import (
    BIOMARKER,
    SCORE,
    ArchivalFailed,
    InvalidInputError,
    RecordsArchived,
    SyncCompleted,
    SyncStatus,
)
from tests.unit.application.conftest import (
    ARCHETYPE,
    BEHAVIOR,
    START,
    Harness,
    RecordingQueue,
    context,
    days_of_data,
)
from tests.unit.application.test_archive_health_data import CountingUnitsOfWork

USERS = ("user-a", "user-b", "user-c")


async def recorded_runs(harness: Harness, users: Sequence[str]) -> list[ArchivalJob]:
    """A run of each of ``users`` (a user named twice: two runs of two archetypes, the second fetching the same days
    again), as RunAnalysis records them; their archival jobs, captured instead of run."""
    assert isinstance(harness.queue, RecordingQueue)
    jobs: list[ArchivalJob] = []
    for user in users:
        before = sum(job.user_id == user for job in jobs)
        harness.source.add(days_of_data(user, START - timedelta(days=7), 7))
        await harness.run.run_analysis(user, f"{ARCHETYPE} {before}" if before else ARCHETYPE, BEHAVIOR)
        jobs.append(ArchivalJob.from_payload(harness.queue.submitted[-1][1]))
    return jobs


def contexts(jobs: Sequence[ArchivalJob]) -> list[tuple[ArchivalJob, JobContext]]:
    return [(job, context(job_id=f"job-{n}")) for n, job in enumerate(jobs)]


async def part_counts(harness: Harness, jobs: Sequence[ArchivalJob]) -> list[list[tuple[str, int, int, int]]]:
    """Each run's ``RecordsArchived`` as (kind, inserted, updated, unchanged), in order."""
    return [
        [(e.kind, e.inserted, e.updated, e.unchanged) for e in await harness.events_of(job.run_id, RecordsArchived)]
        for job in jobs
    ]


async def test_a_batch_is_one_transaction_that_records_what_archiving_each_job_alone_records() -> None:
    users = [*USERS, USERS[0]]  # the first user's second run re-fetches the same days
    alone, together = Harness(queue=RecordingQueue()), Harness(queue=RecordingQueue())
    alone_jobs, batch_jobs = await recorded_runs(alone, users), await recorded_runs(together, users)
    for job, job_context in contexts(alone_jobs):
        await alone.archival.archive_job(job, job_context)
    units = CountingUnitsOfWork(together.stores)
    archival = ArchiveHealthData(unit_of_work=units, clock=together.clock)

    outcomes = await archival.archive_jobs(contexts(batch_jobs))

    assert [o.state for o in outcomes if isinstance(o, SyncStatus)] == ["synced"] * 4
    assert units.opened == 1
    assert await part_counts(together, batch_jobs) == await part_counts(alone, alone_jobs)
    assert [c[0][1:] for c in await part_counts(together, batch_jobs)][::3] == [(7, 0, 0), (0, 0, 7)]
    assert together.archive.counts() == alone.archive.counts()
    for job in batch_jobs:
        assert len(await together.events_of(job.run_id, SyncCompleted)) == 1
        assert (await together.status(job.run_id)).state == "synced"
        assert (await together.stores.tracking.freshness(job.user_id)) is not None


async def test_a_job_that_names_no_recorded_run_gets_its_error_and_the_others_are_archived() -> None:
    harness = Harness(queue=RecordingQueue())
    jobs = await recorded_runs(harness, USERS[:2])
    stray = dataclasses.replace(jobs[0], run_id="no-such-run")

    outcomes = await harness.archival.archive_jobs(contexts([jobs[0], stray, jobs[1]]))

    assert isinstance(outcomes[1], InvalidInputError)
    assert outcomes[1].field == "run_id"
    assert [outcomes[0].state, outcomes[2].state] == ["synced", "synced"]  # type: ignore[union-attr]
    assert await harness.events("no-such-run") == []


async def test_when_a_part_fails_in_the_batch_each_job_is_archived_alone_and_its_failing_part_recorded() -> None:
    harness = Harness(queue=RecordingQueue())
    jobs = await recorded_runs(harness, USERS)
    harness.archive.faults.fail_with(ArchiveUnavailableError("connection reset"), operations={"upsert_scores"})

    outcomes = await harness.archival.archive_jobs(contexts(jobs))

    assert all(isinstance(o, ArchiveUnavailableError) for o in outcomes)
    for job in jobs:
        (failure,) = await harness.events_of(job.run_id, ArchivalFailed)
        assert failure.part == "scores"
        assert failure.will_retry
        assert len(await harness.archived(job.run_id, BIOMARKER)) == 1  # the part before it landed, once
        assert await harness.archived(job.run_id, SCORE) == []
    assert harness.archive.counts()["biomarkers"] == 7 * len(USERS)


async def test_a_run_named_twice_in_a_batch_is_archived_once_and_its_second_job_changes_nothing() -> None:
    harness = Harness(queue=RecordingQueue())
    jobs = await recorded_runs(harness, USERS[:2])

    outcomes = await harness.archival.archive_jobs(contexts([jobs[0], jobs[1], jobs[0]]))

    assert [o.state for o in outcomes if isinstance(o, SyncStatus)] == ["synced"] * 3
    assert len(await harness.archived(jobs[0].run_id, BIOMARKER)) == 1
    assert len(await harness.events_of(jobs[0].run_id, SyncCompleted)) == 1


async def test_a_job_whose_records_name_another_user_is_archived_alone() -> None:
    harness = Harness(queue=RecordingQueue())
    jobs = await recorded_runs(harness, USERS[:2])
    assert jobs[1].snapshot is not None
    foreign = dataclasses.replace(jobs[0], snapshot=jobs[1].snapshot)  # user-a's run carrying user-b's rows
    units = CountingUnitsOfWork(harness.stores)
    archival = ArchiveHealthData(unit_of_work=units, clock=harness.clock)

    outcomes = await archival.archive_jobs(contexts([foreign, jobs[1]]))

    assert [o.state for o in outcomes if isinstance(o, SyncStatus)] == ["synced", "synced"]
    assert units.opened == 2  # no batch of one: each on its own
    counts = await part_counts(harness, [foreign, jobs[1]])
    assert counts[0][0] == ("biomarker", 7, 0, 0)
    assert counts[1][0] == ("biomarker", 0, 0, 7)


class BatchSizes(ArchiveHealthData):
    """The archival, noting the size of each batch it is given."""

    sizes: list[int]

    async def archive_jobs(self, jobs: Sequence[tuple[ArchivalJob, JobContext]]) -> list[Any]:
        self.sizes.append(len(jobs))
        return await super().archive_jobs(jobs)


async def test_through_a_queue_running_several_jobs_at_once_jobs_are_archived_together() -> None:
    recording = Harness(queue=RecordingQueue())
    users = [f"user-{n}" for n in range(12)]
    await recorded_runs(recording, users)
    archival = BatchSizes(unit_of_work=recording.stores.unit_of_work, clock=recording.clock, batch_size=4)
    archival.sizes = []
    queue = InMemoryJobQueue(concurrency=6)
    queue.register(ArchiveHealthData.JOB_TYPE, archival)
    await queue.start()
    assert isinstance(recording.queue, RecordingQueue)
    for job_type, payload, key in recording.queue.submitted:
        await queue.submit_job(job_type, payload, dedup_key=key)
    assert await queue.wait_idle(timeout=10)
    await queue.stop()

    assert sum(archival.sizes) == len(users)
    assert max(archival.sizes) == 4
    assert len(archival.sizes) < len(users)
    assert (await queue.get_stats()).completed == len(users)
    for n in range(len(users)):
        assert (await recording.stores.tracking.latest(f"user-{n}", BEHAVIOR, ARCHETYPE)) is not None
    synced = [r for r in await recording.stores.tracking.list_all() if r.is_synced]
    assert len(synced) == len(users)


@pytest.mark.parametrize("batch_size", [1, 8])
async def test_a_job_without_its_data_is_archived_alone_whatever_the_batch_size(batch_size: int) -> None:
    harness = Harness(queue=RecordingQueue())
    (job,) = await recorded_runs(harness, USERS[:1])
    archival = ArchiveHealthData(
        unit_of_work=harness.stores.unit_of_work, clock=harness.clock, source=harness.source, batch_size=batch_size
    )
    payload = dataclasses.replace(job, snapshot=None).to_payload()

    statuses = await asyncio.gather(archival.archive(payload, context()), archival.archive(payload, context()))

    assert [s.state for s in statuses] == ["synced", "synced"]
    assert len(await harness.events_of(job.run_id, SyncCompleted)) == 1


@pytest.mark.parametrize(("records", "pauses"), [(14, 0), (1_001, 16)])
async def test_a_payload_is_decoded_on_the_loop_pausing_every_64_records(
    monkeypatch: pytest.MonkeyPatch, records: int, pauses: int
) -> None:
    harness = Harness(queue=RecordingQueue())
    (job,) = await recorded_runs(harness, USERS[:1])
    payload = job.to_payload()
    payload["sahha_data"]["biomarkers"] = (payload["sahha_data"]["biomarkers"] * records)[: records - 7]
    seen: list[tuple[threading.Thread, int]] = []
    steps = ArchivalJob.payload_steps

    def noted(data: Any) -> Generator[None, None, ArchivalJob]:
        paused = 0
        decoding = steps(data)
        while True:
            try:
                next(decoding)
            except StopIteration as done:
                seen.append((threading.current_thread(), paused))
                decoded: ArchivalJob = done.value
                return decoded
            paused += 1
            yield

    monkeypatch.setattr(ArchivalJob, "payload_steps", noted)
    status = await harness.archival.archive(payload, context())
    assert status.state == "synced"
    assert seen == [(threading.main_thread(), pauses)]


async def test_decoding_in_turns_gives_the_loop_turns_and_the_same_job(monkeypatch: pytest.MonkeyPatch) -> None:
    harness = Harness(queue=RecordingQueue())
    (job,) = await recorded_runs(harness, USERS[:1])
    payload = job.to_payload()
    payload["sahha_data"]["biomarkers"] *= 40
    monkeypatch.setattr(turns, "TURN_SECONDS", 0.0)  # a turn at every pause
    ticks = 0

    async def beside() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(beside())
    await asyncio.sleep(0)
    before = ticks
    decoded = await turns.Turns().run(ArchivalJob.payload_steps(payload))
    meanwhile = ticks - before
    other.cancel()
    assert decoded == ArchivalJob.from_payload(payload)
    assert meanwhile == -(-len(payload["sahha_data"]["biomarkers"]) // 64)  # a turn at each of its pauses
