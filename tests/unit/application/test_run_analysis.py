"""RunAnalysis: fetch → analyse → answer at once → archive in the background."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from sahha_sync.adapters.memory import InMemoryHealthArchive, InMemoryJobQueue
from sahha_sync.application.ports import AnalystError, AnalystUnavailableError, SahhaUnavailableError
from sahha_sync.application.use_cases import ArchiveHealthData, RecoverPendingArchivals, RunAnalysis
from sahha_sync.domain import (
    BIOMARKER,
    AnalysisCompleted,
    AnalysisFailed,
    ArchivalRequested,
    HealthDataFetched,
    HealthDataFetchFailed,
    HealthRecords,
    QuarantinedRecord,
    RecordKind,
    RecordsQuarantined,
    UpsertCounts,
)
from tests.unit.application.conftest import (
    ARCHETYPE,
    BEHAVIOR,
    START,
    USER,
    Harness,
    RecordingQueue,
    ScriptedAnalyst,
    days_of_data,
    steps,
)


class GatedArchive(InMemoryHealthArchive):
    """An archive whose biomarker writes wait until ``gate`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.writing = asyncio.Event()

    async def upsert(self, kind: RecordKind[Any], rows: Sequence[Any]) -> UpsertCounts:
        if kind == BIOMARKER:
            self.writing.set()
            await self.gate.wait()
        return await super().upsert(kind, rows)


async def test_the_host_gets_its_answer_while_the_archival_job_is_still_pending() -> None:
    archive = GatedArchive()
    harness = Harness(archive=archive)
    harness.source.add(days_of_data(USER, START - timedelta(days=7), 7))
    await harness.queue.start()
    try:
        outcome = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)
        assert outcome.analysis.summary == "7 biomarkers and 7 scores"
        assert outcome.archival is not None
        assert not outcome.archival.duplicate
        await asyncio.wait_for(archive.writing.wait(), timeout=10)  # the job runs, held at the gate
        assert (await harness.status(outcome.run_id)).state == "pending"
        assert (await harness.queue.get_stats()).running == 1
        assert archive.counts()["biomarkers"] == 0

        archive.gate.set()
        await harness.drain()
        status = await harness.status(outcome.run_id)
        assert status.state == "synced"
        assert status.biomarkers_synced
        assert status.scores_synced
        assert status.archetypes_synced
        assert archive.counts()["biomarkers"] == 7
        assert archive.counts()["scores"] == 7
    finally:
        archive.gate.set()
        await harness.queue.stop(drain=False)


async def test_the_first_run_fetches_the_initial_days_and_the_next_is_incremental_with_the_lookback(
    harness: Harness,
) -> None:
    harness.source.add(days_of_data(USER, START - timedelta(days=10), 12))
    first = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)
    await harness.drain()
    assert (first.window.start, first.window.end) == (START - timedelta(days=7), START)
    assert not first.is_incremental
    assert first.watermark_source == "none"

    harness.clock.advance(timedelta(hours=6))
    second = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)
    await harness.drain()
    assert second.is_incremental
    assert second.watermark_source == "archetype"
    assert second.watermark == START
    assert (second.window.start, second.window.end) == (START - timedelta(hours=48), START + timedelta(hours=6))
    assert (await harness.record(second.run_id)).analysis_timestamp == START + timedelta(hours=6)
    assert (await harness.status(second.run_id)).state == "synced"


async def test_the_analyst_sees_archived_rows_of_the_period_merged_with_fresh_ones_fresh_winning(
    harness: Harness,
) -> None:
    old_day, recent_day = START - timedelta(days=5), START - timedelta(hours=30)
    harness.source.add(days_of_data(USER, START - timedelta(days=7), 7))
    await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)
    await harness.drain()
    await harness.archive.upsert_biomarkers([steps(USER, recent_day, 111)])  # an archived value Sahha has since changed
    harness.source.add(HealthRecords(biomarkers=(steps(USER, recent_day, 999),)))

    harness.clock.advance(timedelta(hours=1))
    outcome = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)

    seen = {b.start_date_time: b.value for b in harness.analyst.inputs[-1].biomarkers}
    assert outcome.window.start > old_day  # the old day was not fetched again ...
    assert old_day in seen  # ... but comes from the archive
    assert seen[recent_day] == "999"  # fresh wins over archived
    assert len(seen) == 7


async def test_when_the_source_is_down_the_archive_stands_in_and_the_outcome_and_events_say_so(
    harness: Harness,
) -> None:
    harness.source.add(days_of_data(USER, START - timedelta(days=7), 7))
    first = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)
    await harness.drain()
    harness.source.fail_with(SahhaUnavailableError("Sahha answered 503 after 3 retries"))
    harness.clock.advance(timedelta(hours=3))
    submitted_before = (await harness.queue.get_stats()).completed

    outcome = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)

    newest = max(b.end_date_time for b in first.snapshot.biomarkers)
    assert outcome.data_source == "archive"
    assert outcome.stale_as_of == newest
    assert outcome.archival is None
    assert outcome.analysis.summary == "6 biomarkers and 7 scores"  # the period moved 3 h past the first day's start
    assert harness.analyst.inputs[-1].data_source == "archive"
    (failed,) = await harness.events_of(outcome.run_id, HealthDataFetchFailed)
    assert failed.fallback_used
    assert failed.error_kind == "SahhaUnavailableError"
    (stand_in,) = await harness.events_of(outcome.run_id, HealthDataFetched)
    assert stand_in.source == "archive"
    assert await harness.events_of(outcome.run_id, ArchivalRequested) == []
    await harness.drain()
    assert (await harness.queue.get_stats()).completed == submitted_before  # no job for a fallback run
    record = await harness.record(outcome.run_id)
    assert record.data_source == "archive"
    assert not record.is_synced

    harness.source.clear_failures()
    harness.clock.advance(timedelta(hours=1))
    after = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)
    assert after.data_source == "sahha"
    assert after.window.start <= outcome.window.start  # the fallback run's window is fetched again


async def test_the_fallback_analyst_answers_when_the_analyst_fails_and_the_result_is_marked() -> None:
    fallback = ScriptedAnalyst(name="offline")
    harness = Harness(
        queue=RecordingQueue(),
        analyst=ScriptedAnalyst(name="openai", error=AnalystUnavailableError("model timed out")),
        fallback_analyst=fallback,
    )
    harness.source.add(days_of_data(USER, START - timedelta(days=7), 7))

    outcome = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)

    assert outcome.fallback_analyst_used
    assert outcome.analysis.analyst == "offline"
    assert any("fallback" in note for note in outcome.analysis.data_quality_notes)
    (failed,) = await harness.events_of(outcome.run_id, AnalysisFailed)
    assert failed.analyst == "openai"
    assert failed.error_kind == "AnalystUnavailableError"
    (completed,) = await harness.events_of(outcome.run_id, AnalysisCompleted)
    assert completed.analyst == "offline"


async def test_when_every_analyst_fails_the_error_is_clear_and_the_fetched_data_is_still_archived() -> None:
    queue = RecordingQueue()
    harness = Harness(
        queue=queue,
        analyst=ScriptedAnalyst(name="openai", error=AnalystUnavailableError("model timed out")),
        fallback_analyst=ScriptedAnalyst(name="offline", error=AnalystError("no data to analyse")),
    )
    harness.source.add(days_of_data(USER, START - timedelta(days=7), 7))

    with pytest.raises(AnalystError, match=r"openai.*fallback offline"):
        await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)

    (row,) = await harness.stores.tracking.list_all()
    assert row.analysis_timestamp is None  # the watermark did not move
    assert len(await harness.events_of(row.run_id, AnalysisFailed)) == 2
    assert len(queue.submitted) == 1  # Sahha's data is archived all the same


async def test_quarantined_records_are_kept_in_the_archive_and_counted_in_an_event(harness: Harness) -> None:
    bad = QuarantinedRecord(
        user_id=USER,
        kind="biomarker",
        reason="value is not a long",
        raw='{"value": "lots"}',
        received_at=START - timedelta(days=1),
    )
    harness.source.add(HealthRecords(biomarkers=(steps(USER, START - timedelta(days=2)),), quarantined=(bad,)))

    outcome = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)

    (event,) = await harness.events_of(outcome.run_id, RecordsQuarantined)
    assert event.count == 1
    assert event.reasons == ("value is not a long",)
    assert harness.archive.quarantined == (bad,)


async def test_a_job_the_queue_refuses_is_recovered_from_the_recorded_run(harness: Harness) -> None:
    harness.source.add(days_of_data(USER, START - timedelta(days=7), 7))
    await harness.queue.stop()

    outcome = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)

    assert outcome.archival is None
    assert (await harness.status(outcome.run_id)).state == "pending"  # ArchivalRequested is recorded

    restarted = InMemoryJobQueue(backoff_base=0.001)  # as after a restart: recovery finds the run and re-submits
    restarted.register(ArchiveHealthData.JOB_TYPE, harness.archival)
    await restarted.start()
    try:
        assert await RecoverPendingArchivals(unit_of_work=harness.stores.unit_of_work, queue=restarted).recover() == 1
        assert await restarted.wait_idle(timeout=10)
    finally:
        await restarted.stop()
    assert (await harness.status(outcome.run_id)).state == "synced"
    assert harness.archive.counts()["biomarkers"] == 7  # fetched again from the source by the job


async def test_only_the_run_whose_request_is_recorded_lets_the_queue_write_its_job_behind() -> None:
    queue = RecordingQueue()
    harness = Harness(queue=queue)
    harness.source.add(days_of_data(USER, START - timedelta(days=7), 7))
    outcome = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)
    assert (await harness.events_of(outcome.run_id, ArchivalRequested)) != []  # committed before the submit
    await RecoverPendingArchivals(unit_of_work=harness.stores.unit_of_work, queue=queue).recover()
    # the run's own submit may be written behind; recovery waits for the store, so its count is exact
    assert queue.recoverable == [True, False]


@pytest.mark.parametrize(("horizon_days", "fetched_again"), [(30, False), (60, True)])
async def test_unarchived_windows_are_fetched_again_only_within_the_horizon(
    horizon_days: int, fetched_again: bool
) -> None:
    harness = Harness(queue=RecordingQueue())
    harness.source.add(days_of_data(USER, START - timedelta(days=7), 7))
    failed = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)  # its job never ran: not archived
    harness.clock.advance(timedelta(days=40))
    run = RunAnalysis(
        source=harness.source,
        analyst=harness.analyst,
        unit_of_work=harness.stores.unit_of_work,
        queue=harness.queue,
        clock=harness.clock,
        unsynced_horizon=timedelta(days=horizon_days),
    )

    outcome = await run.run_analysis(USER, ARCHETYPE, BEHAVIOR)

    expected_start = failed.window.start if fetched_again else START - timedelta(hours=48)
    assert outcome.window.start == expected_start
