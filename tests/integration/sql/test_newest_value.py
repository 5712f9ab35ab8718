"""Archival jobs that run out of order keep the newest value in the SQL archive, for records as the real API
serves them: biomarkers without ``createdAtUtc``, ordered by when their fetch was answered."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.clock import ManualClock
from sahha_sync.adapters.sql import sql_unit_of_work_factory
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
from tests.sql_stores import Committed

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
    (row,) = (await Committed(engine, "archive").read_window(user, WINDOW)).biomarkers
    return row.value


@dataclass
class TwoRuns:
    """Two recorded runs of one user whose fetches were answered an hour apart, their jobs not run yet."""

    unit_of_work: UnitOfWorkFactory
    archival: ArchiveHealthData
    user: str
    day: Biomarker
    early: TrackingRecord
    late: TrackingRecord


@pytest.fixture
async def runs(sql_engine: AsyncEngine) -> TwoRuns:
    unit_of_work = sql_unit_of_work_factory(sql_engine)
    archival = ArchiveHealthData(unit_of_work=unit_of_work, clock=ManualClock(T0 + timedelta(hours=3)))
    user = unique_id()
    early = await record_run(unit_of_work, user, T0 + timedelta(hours=1))
    late = await record_run(unit_of_work, user, T0 + timedelta(hours=2))
    return TwoRuns(unit_of_work, archival, user, biomarker(user), early, late)


async def test_an_old_job_retried_after_a_newer_one_leaves_the_newer_value(
    runs: TwoRuns, sql_engine: AsyncEngine
) -> None:
    await runs.archival.archive(queued(runs.late, fetched(runs.day, "455", T0 + timedelta(hours=2))), attempt(1))
    old = queued(runs.early, fetched(runs.day, "400", T0 + timedelta(hours=1)))
    status = await runs.archival.archive(old, attempt(2))

    assert await stored_value(sql_engine, runs.user) == "455"
    assert status.state == "synced"  # the older job's rows were archived already: left alone, not lost


async def test_a_job_queued_before_records_said_when_they_were_observed_counts_from_its_fetch(
    runs: TwoRuns, sql_engine: AsyncEngine
) -> None:
    old = queued(runs.early, fetched(runs.day, "400", T0 + timedelta(hours=1)))
    for record in old["sahha_data"]["biomarkers"]:
        del record["observed_at"]

    await runs.archival.archive(queued(runs.late, fetched(runs.day, "455", T0 + timedelta(hours=2))), attempt(1))
    await runs.archival.archive(old, attempt(2))

    assert await stored_value(sql_engine, runs.user) == "455"


async def test_the_seeds_archive_call_with_older_data_leaves_the_newer_value(
    runs: TwoRuns, sql_engine: AsyncEngine
) -> None:
    seed = ArchiveRecordedRun(archiver=runs.archival, unit_of_work=runs.unit_of_work)
    for run, value, hours in ((runs.late, "455", 2), (runs.early, "400", 1)):
        data = fetched(runs.day, value, T0 + timedelta(hours=hours)).to_dict()
        await seed.archive_sahha_data(runs.user, ARCHETYPE, ANALYSIS, data, run_id=run.run_id)

    assert await stored_value(sql_engine, runs.user) == "455"
