"""``RecoverPendingArchivals`` submits again, without data, the archivals that were requested and never ended."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sahha_sync.adapters.memory import InMemoryJobQueue, InMemoryStores
from sahha_sync.application.ports import JobContext
from sahha_sync.application.use_cases.archival_job import ArchivalJob
from sahha_sync.application.use_cases.recover_pending_archivals import RecoverPendingArchivals
from sahha_sync.domain.events import (
    AnalysisRequested,
    ArchivalFailed,
    ArchivalRequested,
    DomainEvent,
    HealthDataFetched,
    SyncCompleted,
    stream_id_for,
)
from sahha_sync.domain.tracking import TrackingRecord

T0 = datetime(2026, 11, 1, tzinfo=UTC)


async def record_run(stores: InMemoryStores, run_id: str, *after: type[DomainEvent] | DomainEvent) -> None:
    """A run that fetched a day of data and asked for its archival, then ``after`` happened."""
    at = T0 + timedelta(minutes=1)
    events: list[DomainEvent] = [
        AnalysisRequested(run_id=run_id, occurred_at=T0, user_id=f"user-{run_id}", archetype="a", analysis_type="t"),
        HealthDataFetched(
            run_id=run_id, occurred_at=at, window_start=T0 - timedelta(days=1), window_end=T0,
            biomarker_count=3, score_count=1, is_incremental=False, watermark=None,
        ),
        ArchivalRequested(run_id=run_id, occurred_at=at, job_id=None, biomarker_count=3, score_count=1),
    ]  # fmt: skip
    for item in after:
        events.append(item if isinstance(item, DomainEvent) else item(run_id=run_id, occurred_at=at))
    async with stores.unit_of_work() as uow:
        await uow.events.append(stream_id_for(run_id), events, expected_version=0)
        await uow.tracking.save(TrackingRecord.fold(events))
        await uow.commit()


def failed(run_id: str, *, will_retry: bool) -> ArchivalFailed:
    return ArchivalFailed(
        run_id=run_id,
        occurred_at=T0,
        attempt=1,
        error_kind="SahhaUnavailableError",
        error="down",
        will_retry=will_retry,
    )


class Jobs:
    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []

    async def __call__(self, payload: Mapping[str, Any], context: JobContext) -> None:
        self.payloads.append(dict(payload))

    def run_ids(self) -> list[str]:
        return [p["run_id"] for p in self.payloads]


async def recover(stores: InMemoryStores, **options: Any) -> tuple[int, Jobs, InMemoryJobQueue]:
    queue = InMemoryJobQueue(backoff_base=0.001)
    jobs = Jobs()
    queue.register(ArchivalJob.JOB_TYPE, jobs)
    submitted = await RecoverPendingArchivals(unit_of_work=stores.unit_of_work, queue=queue, **options).recover()
    await queue.start()
    assert await queue.wait_idle(10)
    await queue.stop()
    return submitted, jobs, queue


async def test_runs_whose_archival_never_ended_are_submitted_again() -> None:
    stores = InMemoryStores()
    await record_run(stores, "pending")
    await record_run(stores, "retrying", failed("retrying", will_retry=True))
    await record_run(stores, "synced", SyncCompleted)
    submitted, jobs, _ = await recover(stores)
    assert submitted == 2
    assert jobs.run_ids() == ["pending", "retrying"]


async def test_a_recovered_job_names_its_run_and_window_but_carries_no_health_data() -> None:
    stores = InMemoryStores()
    await record_run(stores, "r1")
    _, jobs, _ = await recover(stores)
    (payload,) = jobs.payloads
    assert "sahha_data" not in payload
    job = ArchivalJob.from_payload(payload)
    assert (job.run_id, job.user_id, job.archetype, job.analysis_type) == ("r1", "user-r1", "a", "t")
    assert (job.window.start, job.window.end) == (T0 - timedelta(days=1), T0)
    async with stores.unit_of_work() as uow:
        row = await uow.tracking.get("r1")
    assert row is not None
    assert job.tracking_record_id == row.id


async def test_dead_runs_are_left_to_retry_dead_unless_asked_for() -> None:
    stores = InMemoryStores()
    await record_run(stores, "dead", failed("dead", will_retry=False))
    assert (await recover(stores))[0] == 0
    submitted, jobs, _ = await recover(stores, include_dead=True)
    assert (submitted, jobs.run_ids()) == (1, ["dead"])


async def test_a_run_whose_job_is_still_queued_is_not_queued_twice() -> None:
    stores = InMemoryStores()
    await record_run(stores, "r1")
    queue = InMemoryJobQueue()
    job = ArchivalJob.for_run(TrackingRecord.fold(await read_events(stores, "r1")))
    await queue.submit_job(job.JOB_TYPE, job.to_payload(), dedup_key=job.dedup_key)
    assert await RecoverPendingArchivals(unit_of_work=stores.unit_of_work, queue=queue).recover() == 0
    assert (await queue.get_stats()).queued == 1
    await queue.stop(drain=False)


async def test_every_page_of_the_event_store_is_read() -> None:
    stores = InMemoryStores()
    names = [f"r{n:02}" for n in range(7)]
    for name in names:
        await record_run(stores, name)
    await record_run(stores, "done", SyncCompleted)
    submitted, jobs, _ = await recover(stores, page_size=2)
    assert submitted == 7
    assert sorted(jobs.run_ids()) == names


async def test_a_run_without_a_tracking_row_is_recovered_from_its_stream() -> None:
    stores = InMemoryStores()
    await record_run(stores, "r1")
    await stores.tracking.clear()
    _, jobs, _ = await recover(stores)
    assert jobs.run_ids() == ["r1"]
    assert jobs.payloads[0]["tracking_record_id"] is None


async def read_events(stores: InMemoryStores, run_id: str) -> Sequence[DomainEvent]:
    async with stores.unit_of_work() as uow:
        return [recorded.event for recorded in await uow.events.read_stream(stream_id_for(run_id))]
