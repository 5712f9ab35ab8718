"""Fetch windows and watermarks: across any sequence of runs, no gap, the right overlap, no unsynced window skipped."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.events import (
    AnalysisCompleted,
    AnalysisRequested,
    ArchivalFailed,
    ArchivalRequested,
    DomainEvent,
    HealthDataFetched,
    HealthDataFetchFailed,
    SyncCompleted,
)
from sahha_sync.domain.tracking import TrackingRecord, earliest_unsynced_start
from sahha_sync.domain.windows import MAX_CHUNK, FetchWindow, Watermark, plan_fetch_window
from sahha_sync.testing.strategies import aware_datetimes, seconds

START = datetime(2025, 10, 1, 12, tzinfo=UTC)

# A step of the simulation: how far the clock moves before the run, and how its archival ends.
steps = st.tuples(
    st.integers(min_value=1, max_value=20 * 24 * 3600).map(lambda s: timedelta(seconds=s)),
    st.sampled_from(("synced", "failed", "pending", "sahha_down")),
)


def _run_record(window: FetchWindow, outcome: str, now: datetime, *, incremental: bool) -> TrackingRecord:
    """The tracking row of a run, folded from the events the use cases record."""
    run_id = uuid.uuid4().hex
    events: list[DomainEvent] = [
        AnalysisRequested(run_id=run_id, occurred_at=now, user_id="u", archetype="a", analysis_type="behavior"),
    ]
    if outcome == "sahha_down":  # the archive stood in; nothing new to archive, the window must be fetched again
        events.append(
            HealthDataFetchFailed(
                run_id=run_id,
                occurred_at=now,
                window_start=window.start,
                window_end=window.end,
                error_kind="SahhaUnavailableError",
                error="503",
                fallback_used=True,
            )
        )
    events += [
        HealthDataFetched(
            run_id=run_id,
            occurred_at=now,
            window_start=window.start,
            window_end=window.end,
            biomarker_count=1,
            score_count=1,
            is_incremental=incremental,
            watermark=None,
        ),
        AnalysisCompleted(
            run_id=run_id, occurred_at=now, analyst="offline", model="m", prompt_version="1", input_hash="h"
        ),
        ArchivalRequested(run_id=run_id, occurred_at=now, job_id="j", biomarker_count=1, score_count=1),
    ]
    if outcome == "synced":
        events.append(SyncCompleted(run_id=run_id, occurred_at=now))
    elif outcome == "failed":
        events.append(
            ArchivalFailed(run_id=run_id, occurred_at=now, attempt=3, error_kind="E", error="down", will_retry=False)
        )
    return TrackingRecord.fold(events)


@dataclass
class Simulation:
    lookback: timedelta
    initial_days: int
    now: datetime = START
    runs: list[TrackingRecord] | None = None

    def watermark(self) -> Watermark | None:
        marks = [r.watermark for r in self.runs or [] if r.watermark is not None]
        return max(marks, key=lambda mark: mark.value, default=None)

    def run(self, step: timedelta, outcome: str) -> tuple[FetchWindow, datetime | None, list[TrackingRecord]]:
        """One run: returns its window, the not_after it was planned with, and the runs unsynced before it."""
        self.now += step
        runs = self.runs = self.runs or []
        not_after = earliest_unsynced_start(runs)
        unsynced = [r for r in runs if not r.is_synced]
        plan = plan_fetch_window(
            self.now, self.watermark(), lookback=self.lookback, initial_days=self.initial_days, not_after=not_after
        )
        runs.append(_run_record(plan.window, outcome, self.now, incremental=plan.is_incremental))
        return plan.window, not_after, unsynced


@given(
    lookback_hours=st.integers(min_value=0, max_value=96),
    initial_days=st.integers(min_value=1, max_value=30),
    plan=st.lists(steps, min_size=2, max_size=25),
)
def test_consecutive_windows_leave_no_gap_and_overlap_by_the_lookback(
    lookback_hours: int, initial_days: int, plan: list[tuple[timedelta, str]]
) -> None:
    lookback = timedelta(hours=lookback_hours)
    sim = Simulation(lookback, initial_days)
    previous, _, _ = sim.run(*plan[0])
    assert previous.end - previous.start == timedelta(days=initial_days)
    for step, outcome in plan[1:]:
        window, not_after, _ = sim.run(step, outcome)
        assert window.start <= previous.end, "a gap between two consecutive windows"
        if not_after is None:
            assert previous.end - window.start == lookback
        else:
            assert previous.end - window.start >= lookback
            assert window.start == min(previous.end - lookback, not_after)
        previous = window


@given(
    lookback_hours=st.integers(min_value=0, max_value=96),
    plan=st.lists(steps, min_size=1, max_size=25),
)
def test_a_window_whose_archival_did_not_succeed_is_fetched_again_by_the_next_run(
    lookback_hours: int, plan: list[tuple[timedelta, str]]
) -> None:
    sim = Simulation(timedelta(hours=lookback_hours), 7)
    for step, outcome in plan:
        window, _, unsynced_before = sim.run(step, outcome)
        synced_before = [r.window for r in (sim.runs or [])[:-1] if r.is_synced and r.window is not None]
        for run in unsynced_before:
            assert run.window is not None
            assert window.covers(run.window) or any(s.covers(run.window) for s in synced_before)


@given(plan=st.lists(steps, min_size=1, max_size=25))
def test_after_a_successful_archival_no_earlier_window_is_left_unsynced(plan: list[tuple[timedelta, str]]) -> None:
    sim = Simulation(timedelta(hours=48), 7)
    for step, outcome in plan:
        sim.run(step, outcome)
        if outcome == "synced":
            assert earliest_unsynced_start(sim.runs or []) is None


@given(
    now=aware_datetimes,
    watermark=st.none() | aware_datetimes,
    not_after=aware_datetimes,
    lookback=st.integers(min_value=0, max_value=200).map(lambda h: timedelta(hours=h)),
)
def test_a_plan_never_starts_after_an_unsynced_window(
    now: datetime, watermark: datetime | None, not_after: datetime, lookback: timedelta
) -> None:
    mark = None if watermark is None else Watermark(watermark)
    plan = plan_fetch_window(now, mark, lookback=lookback, not_after=not_after)
    assert plan.window.start <= not_after
    assert plan.window.end == now
    assert plan.is_incremental == (watermark is not None)


@given(now=aware_datetimes, lookback=st.integers(min_value=0, max_value=200).map(lambda h: timedelta(hours=h)))
def test_a_watermark_in_the_future_still_gives_a_window_ending_now(now: datetime, lookback: timedelta) -> None:
    plan = plan_fetch_window(now, Watermark(now + timedelta(days=3)), lookback=lookback)
    assert plan.window.end == now
    assert plan.window.start < now


def test_without_a_watermark_the_window_is_the_last_initial_days() -> None:
    plan = plan_fetch_window(START, None, initial_days=7)
    assert plan.window == FetchWindow(START - timedelta(days=7), START)
    assert plan.is_incremental is False


def test_with_a_watermark_the_window_reaches_back_by_the_lookback() -> None:
    plan = plan_fetch_window(START, Watermark(START - timedelta(hours=8)))
    assert plan.window == FetchWindow(START - timedelta(hours=8 + 48), START)
    assert plan.is_incremental is True


@given(
    value=aware_datetimes,
    now=aware_datetimes,
    lookback=st.integers(min_value=0, max_value=200).map(lambda h: timedelta(hours=h)),
)
def test_an_incremental_fetch_starts_a_lookback_before_the_watermark_and_never_after_now(
    value: datetime, now: datetime, lookback: timedelta
) -> None:
    start = Watermark(value).fetch_start(now, lookback)
    assert start <= now - lookback
    assert start == value - lookback or value > now


@given(
    start=aware_datetimes,
    length=seconds,
    max_length=st.none() | st.integers(min_value=3600, max_value=60 * 24 * 3600).map(lambda s: timedelta(seconds=s)),
)
def test_chunks_cover_the_window_exactly_with_pieces_of_at_most_the_maximum(
    start: datetime, length: timedelta, max_length: timedelta | None
) -> None:
    window = FetchWindow(start, start + length)
    limit = MAX_CHUNK if max_length is None else max_length
    pieces = list(window.chunks() if max_length is None else window.chunks(max_length))
    assert pieces[0].start == window.start
    assert pieces[-1].end == window.end
    assert all(a.end == b.start for a, b in itertools.pairwise(pieces))
    assert all(timedelta(0) < p.end - p.start <= limit for p in pieces)


def test_the_default_chunk_is_thirty_days() -> None:
    window = FetchWindow(START - timedelta(days=61), START)
    assert [(p.end - p.start).days for p in window.chunks()] == [30, 30, 1]


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (datetime(2025, 1, 1), START, "start"),  # naive on purpose
        (START, datetime(2025, 1, 2), "end"),  # naive on purpose
        (START, START, "start"),
        (START, START - timedelta(seconds=1), "start"),
    ],
)
def test_a_malformed_window_is_refused_naming_the_field(start: datetime, end: datetime, field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        FetchWindow(start, end)
    assert caught.value.field == field
    assert field in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"now": datetime(2025, 1, 1)}, "now"),  # naive on purpose
        ({"not_after": datetime(2025, 1, 1)}, "not_after"),  # naive on purpose
        ({"lookback": timedelta(hours=-1)}, "lookback"),
        ({"initial_days": 0}, "initial_days"),
    ],
)
def test_a_malformed_plan_request_is_refused_naming_the_field(kwargs: dict[str, object], field: str) -> None:
    arguments: dict[str, object] = {"now": START, "watermark": Watermark(START - timedelta(hours=1)), **kwargs}
    with pytest.raises(InvalidInputError) as caught:
        plan_fetch_window(**arguments)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_a_window_reads_back_from_its_dict() -> None:
    window = FetchWindow(START - timedelta(days=2), START)
    assert FetchWindow.from_dict(window.to_dict()) == window
