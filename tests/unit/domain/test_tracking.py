"""Sync status and tracking rows as folds over a run's events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sahha_sync.domain.events import (
    AnalysisCompleted,
    AnalysisRequested,
    ArchivalFailed,
    ArchivalRequested,
    DomainEvent,
    HealthDataFetched,
    HealthDataFetchFailed,
    RecordsArchived,
    SyncCompleted,
)
from sahha_sync.domain.tracking import SyncStatus, TrackingRecord, earliest_unsynced_start
from sahha_sync.domain.windows import FetchWindow

T = datetime(2025, 10, 8, tzinfo=UTC)
RUN = "run-1"
WINDOW = FetchWindow(T - timedelta(days=7), T)


def requested() -> AnalysisRequested:
    return AnalysisRequested(run_id=RUN, occurred_at=T, user_id="u", archetype="Peak Performer", analysis_type="b")


def fetched(window: FetchWindow = WINDOW, source: str = "sahha") -> HealthDataFetched:
    return HealthDataFetched(
        run_id=RUN,
        occurred_at=T,
        window_start=window.start,
        window_end=window.end,
        biomarker_count=3,
        score_count=2,
        is_incremental=False,
        watermark=None,
        source=source,
    )


def completed() -> AnalysisCompleted:
    return AnalysisCompleted(
        run_id=RUN, occurred_at=T, analyst="offline", model="m", prompt_version="1", input_hash="h"
    )


def archival_requested() -> ArchivalRequested:
    return ArchivalRequested(run_id=RUN, occurred_at=T, job_id="j", biomarker_count=3, score_count=2)


def biomarkers_archived() -> RecordsArchived:
    return RecordsArchived(run_id=RUN, occurred_at=T, kind="biomarker", inserted=3, updated=0, unchanged=0)


def scores_archived() -> RecordsArchived:
    return RecordsArchived(run_id=RUN, occurred_at=T, kind="score", inserted=2, updated=0, unchanged=0)


def archetypes_archived() -> RecordsArchived:
    return RecordsArchived(run_id=RUN, occurred_at=T, kind="archetype", inserted=1, updated=0, unchanged=0)


def failed(part: str | None = None, attempt: int = 1) -> ArchivalFailed:
    return ArchivalFailed(
        run_id=RUN,
        occurred_at=T,
        attempt=attempt,
        error_kind="ArchiveUnavailableError",
        error="connection lost",
        will_retry=False,
        part=part,
    )


def sync_completed(at: datetime = T + timedelta(minutes=1)) -> SyncCompleted:
    return SyncCompleted(run_id=RUN, occurred_at=at)


def test_scores_failing_leaves_the_biomarkers_flag_true_and_sets_the_error() -> None:
    status = SyncStatus.fold([archival_requested(), biomarkers_archived(), failed(part="scores")])
    assert status.biomarkers_synced is True
    assert status.scores_synced is False
    assert status.sahha_data_synced is False
    assert status.sync_error == "ArchiveUnavailableError: connection lost"
    assert status.state == "failed"


def test_biomarkers_failing_leaves_the_scores_flag_true_and_sets_the_error() -> None:
    status = SyncStatus.fold([archival_requested(), failed(part="biomarkers"), scores_archived()])
    assert (status.biomarkers_synced, status.scores_synced) == (False, True)
    assert status.sync_error is not None


def test_a_completed_sync_sets_every_flag_and_clears_an_earlier_error() -> None:
    status = SyncStatus.fold(
        [
            archival_requested(),
            failed(attempt=1),
            biomarkers_archived(),
            scores_archived(),
            archetypes_archived(),
            sync_completed(),
        ]
    )
    assert status == SyncStatus(
        sahha_data_synced=True,
        synced_kinds=frozenset({"biomarker", "score", "archetype"}),
        sync_completed_at=T + timedelta(minutes=1),
        sync_error=None,
        archival_requested=True,
    )
    assert status.state == "synced"


@pytest.mark.parametrize(
    ("events", "state"),
    [
        ([], "not_requested"),
        ([archival_requested()], "pending"),
        ([archival_requested(), biomarkers_archived()], "pending"),
        ([archival_requested(), failed()], "failed"),
        ([archival_requested(), sync_completed()], "synced"),
    ],
)
def test_the_state_of_a_sync(events: list[DomainEvent], state: str) -> None:
    assert SyncStatus.fold(events).state == state


def test_a_failed_fetch_sets_the_sync_error() -> None:
    failure = HealthDataFetchFailed(
        run_id=RUN,
        occurred_at=T,
        window_start=WINDOW.start,
        window_end=WINDOW.end,
        error_kind="SahhaUnavailableError",
        error="503",
        fallback_used=True,
    )
    assert SyncStatus.fold([failure]).sync_error == "SahhaUnavailableError: 503"


archival_events = st.lists(
    st.sampled_from(
        [
            archival_requested(),
            biomarkers_archived(),
            scores_archived(),
            archetypes_archived(),
            failed(),
            failed("scores"),
        ]
    )
)


@given(events=archival_events)
def test_a_part_once_synced_stays_synced(events: list[DomainEvent]) -> None:
    status = SyncStatus()
    for event in events:
        after = status.apply(event)
        assert after.biomarkers_synced >= status.biomarkers_synced
        assert after.scores_synced >= status.scores_synced
        assert after.archetypes_synced >= status.archetypes_synced
        status = after
    assert status == SyncStatus.fold(events)


def test_a_tracking_row_is_the_fold_of_its_runs_stream() -> None:
    record = TrackingRecord.fold([requested(), fetched(source="archive"), completed(), archival_requested()])
    assert (record.run_id, record.user_id, record.archetype, record.analysis_type) == (
        RUN,
        "u",
        "Peak Performer",
        "b",
    )
    assert record.window == WINDOW
    assert record.data_source == "archive"
    assert record.analysis_timestamp == WINDOW.end
    assert record.status.state == "pending"
    assert record.is_synced is False


def test_a_run_that_was_not_analysed_has_no_watermark() -> None:
    record = TrackingRecord.fold([requested(), fetched()])
    assert record.analysis_timestamp is None


def test_a_stream_must_start_with_the_request() -> None:
    with pytest.raises(ValueError, match=r"analysis\.requested"):
        TrackingRecord.fold([fetched()])


def _row(window: FetchWindow, synced: bool) -> TrackingRecord:
    events: list[DomainEvent] = [requested(), fetched(window), completed(), archival_requested()]
    if synced:
        events.append(sync_completed())
    return TrackingRecord.fold(events)


def test_the_earliest_unsynced_start_is_that_of_the_oldest_unsynced_window() -> None:
    day = timedelta(days=1)
    runs = [
        _row(FetchWindow(T - 5 * day, T - 4 * day), synced=True),
        _row(FetchWindow(T - 4 * day, T - 3 * day), synced=False),
        _row(FetchWindow(T - 3 * day, T - 2 * day), synced=False),
    ]
    assert earliest_unsynced_start(runs) == T - 4 * day


def test_an_unsynced_window_covered_by_a_synced_one_is_not_unsynced() -> None:
    day = timedelta(days=1)
    runs = [_row(FetchWindow(T - 4 * day, T - 3 * day), synced=False), _row(FetchWindow(T - 5 * day, T), synced=True)]
    assert earliest_unsynced_start(runs) is None


def test_a_partly_covered_unsynced_window_still_counts() -> None:
    day = timedelta(days=1)
    runs = [_row(FetchWindow(T - 4 * day, T - 2 * day), synced=False), _row(FetchWindow(T - 3 * day, T), synced=True)]
    assert earliest_unsynced_start(runs) == T - 4 * day


def test_no_runs_means_nothing_unsynced() -> None:
    assert earliest_unsynced_start([]) is None
