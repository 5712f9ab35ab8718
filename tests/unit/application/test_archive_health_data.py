"""ArchiveHealthData: the SYNC_SAHHA_DATA job — idempotent, part by part, failures recorded and retried."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from sahha_sync.adapters.memory import InMemoryEventStore, InMemoryStores
from sahha_sync.application.ports import (
    ArchiveUnavailableError,
    ConcurrencyError,
    RecordedEvent,
    SahhaUnavailableError,
)
from sahha_sync.application.use_cases import ArchivalJob, ArchiveHealthData
from sahha_sync.domain import (
    BIOMARKER,
    SCORE,
    ArchivalFailed,
    DomainEvent,
    InvalidInputError,
    SyncCompleted,
)
from tests.unit.application.conftest import (
    ARCHETYPE,
    BEHAVIOR,
    START,
    USER,
    Harness,
    RecordingQueue,
    context,
    days_of_data,
    steps,
)


async def recorded_run(harness: Harness) -> tuple[str, dict[str, Any]]:
    """A run recorded by RunAnalysis whose job payload was captured instead of run."""
    assert isinstance(harness.queue, RecordingQueue)
    harness.source.add(days_of_data(USER, START - timedelta(days=7), 7))
    outcome = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)
    job_type, payload, dedup_key = harness.queue.submitted[-1]
    assert job_type == "SYNC_SAHHA_DATA"
    assert dedup_key == f"run:{outcome.run_id}"
    return outcome.run_id, payload


def _as_queued_before_the_rename(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` as the previous version queued it: its records named their user ``profile_id``."""
    data = {**payload, "sahha_data": dict(payload["sahha_data"])}
    for part in ("biomarkers", "scores", "archetypes"):
        records = [dict(r) for r in data["sahha_data"].get(part, ())]
        for record in records:
            record["profile_id"] = record.pop("user_id")
        data["sahha_data"][part] = records
    return data


async def test_a_job_queued_by_the_previous_version_archives_the_same_rows() -> None:
    harness = Harness(queue=RecordingQueue())
    _, payload = await recorded_run(harness)
    old = _as_queued_before_the_rename(payload)
    assert "user_id" not in old["sahha_data"]["biomarkers"][0]

    status = await harness.archival.archive(old, context())

    assert status.state == "synced"
    stored = await harness.archive.read_window(USER, ArchivalJob.from_payload(payload).window)
    assert stored == ArchivalJob.from_payload(payload).snapshot.records  # type: ignore[union-attr]


async def test_a_failed_archival_leaves_sync_error_and_the_next_run_fetches_its_window_again(
    harness: Harness,
) -> None:
    harness.source.add(days_of_data(USER, START - timedelta(days=7), 7))
    harness.archive.faults.fail_with(ArchiveUnavailableError("connection refused"), operations={"upsert_scores"})
    failed = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)
    await harness.drain()

    status = await harness.status(failed.run_id)
    assert status.state == "failed"
    assert status.sync_error == "ArchiveUnavailableError: connection refused"
    assert status.biomarkers_synced
    assert not status.scores_synced
    failures = await harness.events_of(failed.run_id, ArchivalFailed)
    assert [(f.attempt, f.part, f.will_retry) for f in failures] == [
        (1, "scores", True),
        (2, "scores", True),
        (3, "scores", False),
    ]
    assert len(await harness.queue.dead_jobs()) == 1  # type: ignore[attr-defined]

    harness.archive.faults.clear_failures()
    harness.clock.advance(timedelta(days=1))
    harness.source.add(days_of_data(USER, START, 1, base=9000))  # and a new day arrived meanwhile
    retry = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)
    await harness.drain()

    assert retry.window.start <= failed.window.start
    assert (await harness.status(retry.run_id)).state == "synced"
    expected = days_of_data(USER, START - timedelta(days=7), 8)
    stored = await harness.archive.read_window(USER, retry.window)
    assert {b.key for b in stored.biomarkers} == {b.key for b in expected.biomarkers}
    assert {s.key for s in stored.scores} == {s.key for s in expected.scores}
    assert harness.archive.counts()["biomarkers"] == 8
    assert harness.archive.counts()["scores"] == 8
    inserted = [e.inserted for r in (failed, retry) for e in await harness.archived(r.run_id, SCORE)]
    assert inserted == [8]  # every score written exactly once
    biomarkers = [e.inserted for r in (failed, retry) for e in await harness.archived(r.run_id, BIOMARKER)]
    assert sum(biomarkers) == 8  # 7 by the failed run's first part, the new day by the retry

    harness.clock.advance(timedelta(hours=2))
    later = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)
    assert later.window.start == retry.window.end - timedelta(hours=48)  # the failed window is covered now


async def test_archiving_the_same_payload_twice_changes_nothing() -> None:
    harness = Harness(queue=RecordingQueue())
    run_id, payload = await recorded_run(harness)

    first = await harness.archival.archive(payload, context(job_id="job-a"))
    archived = harness.archive.snapshot()
    events = await harness.events(run_id)
    second = await harness.archival.archive(payload, context(job_id="job-b"))

    assert first.state == second.state == "synced"
    assert harness.archive.snapshot() == archived
    assert await harness.events(run_id) == events
    assert harness.archive.counts()["biomarkers"] == 7


async def test_new_records_sent_for_a_synced_run_are_archived_and_the_run_stays_synced() -> None:
    harness = Harness(queue=RecordingQueue())
    run_id, payload = await recorded_run(harness)
    await harness.archival.archive(payload, context(job_id="job-a"))
    late = steps(USER, START - timedelta(days=8))
    payload["sahha_data"]["biomarkers"].append(late.to_dict())

    status = await harness.archival.archive(payload, context(job_id="job-b"))

    assert status.state == "synced"
    assert harness.archive.counts()["biomarkers"] == 8
    counts = [(e.inserted, e.unchanged) for e in await harness.archived(run_id, BIOMARKER)]
    assert counts == [(7, 0), (1, 7)]
    assert len(await harness.archived(run_id, SCORE)) == 1  # nothing new: no second event


async def test_a_failure_of_scores_leaves_biomarkers_synced_and_sync_error_set_until_a_retry_succeeds() -> None:
    harness = Harness(queue=RecordingQueue())
    run_id, payload = await recorded_run(harness)
    harness.archive.faults.fail_with(
        ArchiveUnavailableError("server closed the connection"), times=1, operations={"upsert_scores"}
    )

    with pytest.raises(ArchiveUnavailableError):
        await harness.archival.archive(payload, context(attempt=1))

    status = await harness.status(run_id)
    assert status.biomarkers_synced
    assert not status.scores_synced
    assert not status.sahha_data_synced
    assert status.sync_error is not None
    assert "ArchiveUnavailableError" in status.sync_error
    (failure,) = await harness.events_of(run_id, ArchivalFailed)
    assert (failure.part, failure.attempt, failure.will_retry) == ("scores", 1, True)

    status = await harness.archival.archive(payload, context(attempt=2))

    assert status.state == "synced"
    assert status.sync_error is None
    assert len(await harness.archived(run_id, BIOMARKER)) == 1  # the archived part is not redone
    assert len(await harness.events_of(run_id, SyncCompleted)) == 1


async def test_a_payload_without_sahha_data_fetches_the_runs_window_again() -> None:
    harness = Harness(queue=RecordingQueue())
    _run_id, payload = await recorded_run(harness)
    del payload["sahha_data"]

    status = await harness.archival.archive(payload, context())

    assert status.state == "synced"
    assert harness.archive.counts()["biomarkers"] == 7
    assert harness.source.calls[-1].window.start.isoformat() == payload["window"]["start"]


async def test_a_refetch_that_fails_is_recorded_and_raised_for_the_queue_to_retry() -> None:
    harness = Harness(queue=RecordingQueue())
    run_id, payload = await recorded_run(harness)
    del payload["sahha_data"]
    harness.source.fail_with(SahhaUnavailableError("Sahha answered 503"))

    with pytest.raises(SahhaUnavailableError):
        await harness.archival.archive(payload, context(attempt=1))

    (failure,) = await harness.events_of(run_id, ArchivalFailed)
    assert (failure.part, failure.error_kind, failure.will_retry) == (None, "SahhaUnavailableError", True)
    assert harness.archive.counts()["biomarkers"] == 0


async def test_without_sahha_data_and_without_a_source_the_job_fails_for_good() -> None:
    harness = Harness(queue=RecordingQueue())
    run_id, payload = await recorded_run(harness)
    del payload["sahha_data"]
    archival = ArchiveHealthData(unit_of_work=harness.stores.unit_of_work, clock=harness.clock)

    with pytest.raises(InvalidInputError) as raised:
        await archival.archive(payload, context(attempt=1))

    assert raised.value.field == "sahha_data"
    (failure,) = await harness.events_of(run_id, ArchivalFailed)
    assert not failure.will_retry


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p: p.pop("run_id"), "run_id"),
        (lambda p: p.update(window={"start": "yesterday"}), "window"),
        (lambda p: p.update(user_id=""), "user_id"),
        (lambda p: p["sahha_data"].pop("fetched_at"), "sahha_data"),
        (lambda p: p.update(run_id="not-a-recorded-run"), "run_id"),
        (lambda p: p.update(user_id="someone-else"), "user_id"),
    ],
)
async def test_a_malformed_payload_is_an_invalid_input_error_that_is_not_retried(change: Any, field: str) -> None:
    harness = Harness(queue=RecordingQueue())
    _, payload = await recorded_run(harness)
    change(payload)

    with pytest.raises(InvalidInputError) as raised:
        await harness.archival.archive(payload, context())

    assert raised.value.field == field
    assert not raised.value.retryable


async def test_the_recorded_error_names_the_failure_without_health_values() -> None:
    harness = Harness(queue=RecordingQueue())
    run_id, payload = await recorded_run(harness)
    harness.archive.faults.fail_with(ValueError("steps value 8003 rejected"), operations={"upsert_biomarkers"})

    with pytest.raises(ValueError, match="8003"):
        await harness.archival.archive(payload, context(attempt=1))

    (failure,) = await harness.events_of(run_id, ArchivalFailed)
    assert failure.error_kind == "ValueError"
    assert "8003" not in failure.error
    assert not failure.will_retry  # not a retryable error
    assert "8003" not in ((await harness.status(run_id)).sync_error or "")


async def test_no_retry_is_announced_on_the_last_attempt() -> None:
    harness = Harness(queue=RecordingQueue())
    run_id, payload = await recorded_run(harness)
    harness.archive.faults.fail_with(ArchiveUnavailableError("timeout"), operations={"upsert_biomarkers"})

    with pytest.raises(ArchiveUnavailableError):
        await harness.archival.archive(payload, context(attempt=3, max_attempts=3))

    (failure,) = await harness.events_of(run_id, ArchivalFailed)
    assert (failure.part, failure.will_retry) == ("biomarkers", False)


class RacingEventStore(InMemoryEventStore):
    """Refuses the next ``conflicts`` appends to existing streams as if another writer had appended first."""

    def __init__(self) -> None:
        super().__init__()
        self.conflicts = 0

    async def append(
        self, stream_id: str, events: Sequence[DomainEvent], *, expected_version: int
    ) -> list[RecordedEvent]:
        if self.conflicts and expected_version > 0:
            self.conflicts -= 1
            raise ConcurrencyError(stream_id, expected_version, expected_version + 1)
        return await super().append(stream_id, events, expected_version=expected_version)


@pytest.mark.parametrize(("conflicts", "synced"), [(1, True), (2, False)])
async def test_an_append_conflict_is_retried_once_from_a_fresh_read(conflicts: int, synced: bool) -> None:
    harness = Harness(queue=RecordingQueue())
    events = RacingEventStore()
    harness.stores = InMemoryStores(archive=harness.archive, events=events, tracking=harness.stores.tracking)
    harness.run = type(harness.run)(
        source=harness.source,
        analyst=harness.analyst,
        unit_of_work=harness.stores.unit_of_work,
        queue=harness.queue,
        clock=harness.clock,
    )
    harness.archival = ArchiveHealthData(unit_of_work=harness.stores.unit_of_work, clock=harness.clock)
    run_id, payload = await recorded_run(harness)
    events.conflicts = conflicts

    if synced:
        status = await harness.archival.archive(payload, context())
        assert status.state == "synced"
    else:
        with pytest.raises(ConcurrencyError):
            await harness.archival.archive(payload, context())
        assert harness.archive.counts()["biomarkers"] == 0  # the part's upsert was rolled back with it
    assert len(await harness.archived(run_id, BIOMARKER)) == (1 if synced else 0)


class CountingUnitsOfWork:
    """The harness's unit-of-work factory, counting the units opened; ``failing_commits`` commits raise."""

    def __init__(self, stores: InMemoryStores, failing_commits: int = 0) -> None:
        self.stores = stores
        self.opened = 0
        self.failing_commits = failing_commits

    def __call__(self) -> Any:
        self.opened += 1
        uow = self.stores.unit_of_work()
        commit = uow.commit

        async def flaky_commit() -> None:
            if self.failing_commits:
                self.failing_commits -= 1
                raise ArchiveUnavailableError("the server closed the connection at commit")
            await commit()

        uow.commit = flaky_commit  # type: ignore[method-assign]
        return uow


async def test_a_job_with_its_data_is_one_transaction_with_every_part_and_its_events() -> None:
    harness = Harness(queue=RecordingQueue())
    run_id, payload = await recorded_run(harness)
    units = CountingUnitsOfWork(harness.stores)
    archival = ArchiveHealthData(unit_of_work=units, clock=harness.clock)

    status = await archival.archive(payload, context())

    assert status.state == "synced"
    assert units.opened == 1
    kinds = [type(e).__name__ for e in await harness.events(run_id)][-4:]
    assert kinds == ["RecordsArchived", "RecordsArchived", "RecordsArchived", "SyncCompleted"]


async def test_when_the_transaction_of_a_job_fails_the_parts_are_archived_one_by_one() -> None:
    harness = Harness(queue=RecordingQueue())
    run_id, payload = await recorded_run(harness)
    units = CountingUnitsOfWork(harness.stores, failing_commits=1)
    archival = ArchiveHealthData(unit_of_work=units, clock=harness.clock)

    status = await archival.archive(payload, context())

    assert status.state == "synced"
    assert units.opened == 1 + 3 + 1  # the failed one, one per part, the completion
    assert len(await harness.archived(run_id, BIOMARKER)) == 1
    assert len(await harness.events_of(run_id, SyncCompleted)) == 1
    assert harness.archive.counts()["biomarkers"] == 7


async def test_when_parts_fail_one_by_one_too_the_failing_part_is_recorded() -> None:
    harness = Harness(queue=RecordingQueue())
    run_id, payload = await recorded_run(harness)
    units = CountingUnitsOfWork(harness.stores, failing_commits=2)  # the job's transaction, then the first part's
    archival = ArchiveHealthData(unit_of_work=units, clock=harness.clock)

    with pytest.raises(ArchiveUnavailableError):
        await archival.archive(payload, context(attempt=1))

    (failure,) = await harness.events_of(run_id, ArchivalFailed)
    assert failure.part == "biomarkers"
    assert not (await harness.status(run_id)).biomarkers_synced
