"""RebuildProjections: replaying the event store gives the tracking rows the live projection wrote."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sahha_sync.application.ports import AnalystUnavailableError, ArchiveUnavailableError, SahhaUnavailableError
from sahha_sync.application.use_cases import RebuildProjections, Watermarks
from sahha_sync.domain import TrackingRecord
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

USERS = (USER, "user-2")
ARCHETYPES = (ARCHETYPE, "Night Owl")
TYPES = (BEHAVIOR, "circadian_analysis")


def without_ids(rows: list[TrackingRecord]) -> list[TrackingRecord]:
    return [dataclasses.replace(row, id=None) for row in rows]


def scripted_harness() -> Harness:
    harness = Harness(queue=RecordingQueue())
    for user in USERS:
        harness.source.add(days_of_data(user, START - timedelta(days=10), 14))
    return harness


async def rebuild_and_compare(harness: Harness) -> None:
    live = await harness.stores.tracking.list_all()

    rebuilt_count = await RebuildProjections(unit_of_work=harness.stores.unit_of_work, page_size=3).rebuild()

    rebuilt = await harness.stores.tracking.list_all()
    assert rebuilt_count == len(live)
    assert rebuilt == live  # same rows under the same ids


async def test_a_rebuild_equals_the_live_projection_after_runs_failures_and_fallbacks() -> None:
    harness = scripted_harness()
    queue = harness.queue
    assert isinstance(queue, RecordingQueue)
    await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)
    await harness.archival.archive(queue.submitted[-1][1], context())  # synced
    harness.clock.advance(timedelta(hours=5))
    await harness.run.run_analysis(USER, "Night Owl", BEHAVIOR)
    harness.archive.faults.fail_with(ArchiveUnavailableError("timeout"), times=1, operations={"upsert_scores"})
    with pytest.raises(ArchiveUnavailableError):
        await harness.archival.archive(queue.submitted[-1][1], context())  # half archived, failed
    harness.source.fail_with(SahhaUnavailableError("503"), times=1)
    await harness.run.run_analysis("user-2", ARCHETYPE, "circadian")  # archive fallback
    harness.analyst.error = AnalystUnavailableError("model down")
    with pytest.raises(AnalystUnavailableError):
        await harness.run.run_analysis("user-2", ARCHETYPE, BEHAVIOR)  # analysis failed, data still queued
    harness.analyst.error = None
    await Watermarks(unit_of_work=harness.stores.unit_of_work, clock=harness.clock).update_last_analysis_date(
        USER, "Early Bird", BEHAVIOR
    )
    states = {row.status.state for row in await harness.stores.tracking.list_all()}
    assert states == {"synced", "failed", "pending", "not_requested"}

    await rebuild_and_compare(harness)


async def test_a_rebuild_restores_a_lost_tracking_table() -> None:
    harness = scripted_harness()
    await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)
    live = await harness.stores.tracking.list_all()
    await harness.stores.tracking.clear()

    await RebuildProjections(unit_of_work=harness.stores.unit_of_work).rebuild()

    assert without_ids(await harness.stores.tracking.list_all()) == without_ids(live)


operations = st.lists(
    st.one_of(
        st.tuples(st.just("run"), st.sampled_from(USERS), st.sampled_from(ARCHETYPES), st.sampled_from(TYPES)),
        st.tuples(st.just("archive"), st.integers(0, 20)),
        st.tuples(
            st.just("archive_fails"), st.integers(0, 20), st.sampled_from(["upsert_biomarkers", "upsert_scores"])
        ),
        st.tuples(st.just("source_down"), st.sampled_from(USERS)),
        st.tuples(st.just("analyst_fails"), st.sampled_from(USERS)),
        st.tuples(st.just("host"), st.sampled_from(USERS), st.sampled_from(ARCHETYPES)),
        st.tuples(st.just("advance"), st.integers(1, 30)),
    ),
    max_size=12,
)


async def play(harness: Harness, script: list[tuple[object, ...]]) -> None:
    queue = harness.queue
    assert isinstance(queue, RecordingQueue)
    for op, *args in script:
        if op == "run":
            await harness.run.run_analysis(str(args[0]), str(args[1]), str(args[2]))
        elif op in ("archive", "archive_fails") and queue.submitted:
            payload = queue.submitted[int(str(args[0])) % len(queue.submitted)][1]
            if op == "archive_fails":
                harness.archive.faults.fail_with(ArchiveUnavailableError("down"), times=1, operations={str(args[1])})
            with contextlib.suppress(ArchiveUnavailableError):
                await harness.archival.archive(payload, context())
            harness.archive.faults.clear_failures()
        elif op == "source_down":
            harness.source.fail_with(SahhaUnavailableError("503"), times=1)
            await harness.run.run_analysis(str(args[0]), ARCHETYPE, BEHAVIOR)
        elif op == "analyst_fails":
            harness.analyst.error = AnalystUnavailableError("down")
            with pytest.raises(AnalystUnavailableError):
                await harness.run.run_analysis(str(args[0]), ARCHETYPE, BEHAVIOR)
            harness.analyst.error = None
        elif op == "host":
            tracker = Watermarks(unit_of_work=harness.stores.unit_of_work, clock=harness.clock)
            await tracker.update_last_analysis_date(str(args[0]), str(args[1]), BEHAVIOR)
        elif op == "advance":
            harness.clock.advance(timedelta(hours=int(str(args[0]))))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=operations)
def test_a_rebuild_equals_the_live_projection_for_any_sequence_of_runs_and_failures(
    script: list[tuple[object, ...]],
) -> None:
    async def scenario() -> None:
        harness = scripted_harness()
        await play(harness, script)
        await rebuild_and_compare(harness)

    asyncio.run(scenario())
