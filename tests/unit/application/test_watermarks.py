"""Watermarks (the seed's ArchetypeTracker): the lookup with its fallback chain, and recording a host's analysis."""

from __future__ import annotations

from datetime import datetime, timedelta

from sahha_sync.application.use_cases import ArchetypeTracker, RebuildProjections, Watermarks
from tests.unit.application.conftest import (
    ARCHETYPE,
    BEHAVIOR,
    START,
    USER,
    Harness,
    RecordingQueue,
    context,
    days_of_data,
)


def tracker_of(harness: Harness) -> Watermarks:
    return Watermarks(unit_of_work=harness.stores.unit_of_work, clock=harness.clock)


def test_the_seeds_tracker_is_the_watermarks() -> None:
    assert ArchetypeTracker is Watermarks


async def test_the_watermark_falls_back_from_the_archetype_to_the_analysis_type_to_none() -> None:
    harness = Harness(queue=RecordingQueue())
    tracker = tracker_of(harness)
    assert await tracker.get_last_analysis_date_with_fallback(USER, ARCHETYPE, BEHAVIOR) == (None, "none")

    harness.source.add(days_of_data(USER, START - timedelta(days=7), 7))
    await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)

    assert await tracker.get_last_analysis_date_with_fallback(USER, ARCHETYPE, BEHAVIOR) == (START, "archetype")
    assert await tracker.get_last_analysis_date_with_fallback(USER, "Night Owl", "behavior") == (
        START,
        "analysis_type",
    )
    assert await tracker.get_last_analysis_date_with_fallback(USER, ARCHETYPE, "circadian_analysis") == (None, "none")
    assert await tracker.get_last_analysis_date_with_fallback("user-2", ARCHETYPE, BEHAVIOR) == (None, "none")


async def test_a_run_for_another_archetype_starts_from_the_analysis_type_watermark() -> None:
    queue = RecordingQueue()
    harness = Harness(queue=queue)
    harness.source.add(days_of_data(USER, START - timedelta(days=7), 7))
    await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)
    # archive the first run so its window does not hold the next one back
    await harness.archival.archive(queue.submitted[-1][1], context())
    harness.clock.advance(timedelta(hours=5))

    outcome = await harness.run.run_analysis(USER, "Night Owl", BEHAVIOR)

    assert outcome.watermark_source == "analysis_type"
    assert outcome.is_incremental
    assert outcome.window.start == START - timedelta(hours=48)


async def test_a_host_recorded_analysis_becomes_the_watermark_and_survives_a_rebuild() -> None:
    harness = Harness(queue=RecordingQueue())
    tracker = tracker_of(harness)
    analysed_at = datetime(2026, 3, 9, 18, 30, tzinfo=START.tzinfo)

    row = await tracker.update_last_analysis_date(USER, ARCHETYPE, BEHAVIOR, analysis_timestamp=analysed_at)

    assert row.id is not None
    assert row.analysis_timestamp == analysed_at
    assert await tracker.get_last_analysis_date_with_fallback(USER, ARCHETYPE, BEHAVIOR) == (analysed_at, "archetype")
    await RebuildProjections(unit_of_work=harness.stores.unit_of_work).rebuild()
    assert await tracker.get_last_analysis_date_with_fallback(USER, ARCHETYPE, BEHAVIOR) == (analysed_at, "archetype")


async def test_recording_an_analysis_without_a_time_uses_now_and_an_older_one_never_moves_the_watermark_back() -> None:
    harness = Harness(queue=RecordingQueue())
    tracker = tracker_of(harness)

    await tracker.update_last_analysis_date(USER, ARCHETYPE, BEHAVIOR)
    await tracker.update_last_analysis_date(USER, ARCHETYPE, BEHAVIOR, START - timedelta(days=3))

    assert await tracker.get_last_analysis_date_with_fallback(USER, ARCHETYPE, BEHAVIOR) == (START, "archetype")


async def test_a_host_recorded_analysis_does_not_hold_back_the_next_fetch() -> None:
    harness = Harness(queue=RecordingQueue())
    await tracker_of(harness).update_last_analysis_date(USER, ARCHETYPE, BEHAVIOR)
    harness.clock.advance(timedelta(hours=4))

    outcome = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)

    assert outcome.window.start == START - timedelta(hours=48)
