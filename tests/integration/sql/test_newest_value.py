"""Archival jobs that run out of order keep the newest value in the SQL archive, for records as the real API
serves them: biomarkers without ``createdAtUtc``, ordered by when their fetch was answered."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.clock import ManualClock
from sahha_sync.adapters.sql import SqlHealthArchive, sql_unit_of_work_factory
from sahha_sync.application.ports import JobContext, UnitOfWorkFactory
from sahha_sync.application.use_cases.archival_job import ArchivalJob
from sahha_sync.application.use_cases.archive_health_data import ArchiveHealthData
from sahha_sync.application.use_cases.archive_recorded_run import ArchiveRecordedRun
from sahha_sync.domain.events import AnalysisRequested, DomainEvent, HealthDataFetched, stream_id_for
from sahha_sync.domain.health import Biomarker, HealthRecords
from sahha_sync.domain.snapshot import HealthSnapshot
from sahha_sync.domain.tracking import TrackingRecord
from sahha_sync.domain.windows import FetchWindow
from sahha_sync.testing.records import T0, biomarker, unique_id

WINDOW = FetchWindow(T0 - timedelta(days=1), T0 + timedelta(days=2))
ARCHETYPE, ANALYSIS = "Peak Performer", "behavior_analysis"


async def record_run(unit_of_work: UnitOfWorkFactory, user: str, at: datetime) -> TrackingRecord:
    """A run of ``user`` that fetched ``WINDOW`` ``at`` (its archival job not run yet)."""
    run_id = unique_id("run")
    events: list[DomainEvent] = [
        AnalysisRequested(run_id=run_id, occurred_at=at, user_id=user, archetype=ARCHETYPE, analysis_type=ANALYSIS),
        HealthDataFetched(
            run_id=run_id, occurred_at=at, window_start=WINDOW.start, window_end=WINDOW.end,
            biomarker_count=1, score_count=0, is_incremental=False, watermark=None,
        ),
    ]  # fmt: skip
    record = TrackingRecord.fold(events)
    async with unit_of_work() as uow:
        await uow.events.append(stream_id_for(run_id), events, expected_version=0)
        await uow.tracking.save(record)
        await uow.commit()
    return record


def fetched(day: Biomarker, value: str, at: datetime) -> HealthSnapshot:
    """What a fetch answered ``at`` held: ``day`` with ``value``, without ``createdAtUtc`` (as the API sends it)."""
    record = dataclasses.replace(day, value=value, created_at_utc=None, observed_at=at)
    return HealthSnapshot.from_records(
        HealthRecords(biomarkers=(record,)), fetched_at=at, window=WINDOW, is_incremental=False, watermark=None
    )


def queued(record: TrackingRecord, snapshot: HealthSnapshot) -> dict[str, Any]:
    """The job's payload as the queue stores it (JSON-ready)."""
    return ArchivalJob.for_run(record, snapshot).to_payload()


def attempt(n: int) -> JobContext:
    return JobContext(job_id=f"job-{n}", job_type=ArchivalJob.JOB_TYPE, attempt=n, max_attempts=5)


async def stored_value(engine: AsyncEngine, user: str) -> str:
    (row,) = (await SqlHealthArchive(engine).read_window(user, WINDOW)).biomarkers
    return row.value


async def test_an_old_job_retried_after_a_newer_one_leaves_the_newer_value(sql_engine: AsyncEngine) -> None:
    unit_of_work = sql_unit_of_work_factory(sql_engine)
    archival = ArchiveHealthData(unit_of_work=unit_of_work, clock=ManualClock(T0 + timedelta(hours=3)))
    user = unique_id()
    day = biomarker(user)
    early = await record_run(unit_of_work, user, T0 + timedelta(hours=1))
    late = await record_run(unit_of_work, user, T0 + timedelta(hours=2))

    await archival.archive(queued(late, fetched(day, "455", T0 + timedelta(hours=2))), attempt(1))
    status = await archival.archive(queued(early, fetched(day, "400", T0 + timedelta(hours=1))), attempt(2))

    assert await stored_value(sql_engine, user) == "455"
    assert status.state == "synced"  # the older job's rows were archived already: left alone, not lost


async def test_a_job_queued_before_records_said_when_they_were_observed_counts_from_its_fetch(
    sql_engine: AsyncEngine,
) -> None:
    unit_of_work = sql_unit_of_work_factory(sql_engine)
    archival = ArchiveHealthData(unit_of_work=unit_of_work, clock=ManualClock(T0 + timedelta(hours=3)))
    user = unique_id()
    day = biomarker(user)
    early = await record_run(unit_of_work, user, T0 + timedelta(hours=1))
    late = await record_run(unit_of_work, user, T0 + timedelta(hours=2))
    old_payload = queued(early, fetched(day, "400", T0 + timedelta(hours=1)))
    for record in old_payload["sahha_data"]["biomarkers"]:
        del record["observed_at"]

    await archival.archive(queued(late, fetched(day, "455", T0 + timedelta(hours=2))), attempt(1))
    await archival.archive(old_payload, attempt(2))

    assert await stored_value(sql_engine, user) == "455"


async def test_the_seeds_archive_call_with_older_data_leaves_the_newer_value(sql_engine: AsyncEngine) -> None:
    unit_of_work = sql_unit_of_work_factory(sql_engine)
    archival = ArchiveHealthData(unit_of_work=unit_of_work, clock=ManualClock(T0 + timedelta(hours=3)))
    seed = ArchiveRecordedRun(archiver=archival, unit_of_work=unit_of_work)
    user = unique_id()
    day = biomarker(user)
    early = await record_run(unit_of_work, user, T0 + timedelta(hours=1))
    late = await record_run(unit_of_work, user, T0 + timedelta(hours=2))

    await seed.archive_sahha_data(
        user, ARCHETYPE, ANALYSIS, fetched(day, "455", T0 + timedelta(hours=2)).to_dict(), run_id=late.run_id
    )
    await seed.archive_sahha_data(
        user, ARCHETYPE, ANALYSIS, fetched(day, "400", T0 + timedelta(hours=1)).to_dict(), run_id=early.run_id
    )

    assert await stored_value(sql_engine, user) == "455"
