"""Late-arriving data: a record that becomes available up to ``lookback`` after its span ended is fetched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from sahha_sync.domain.windows import DEFAULT_LOOKBACK, FetchWindow, Watermark, plan_fetch_window

START = datetime(2025, 10, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def test_a_daily_record_of_yesterday_falls_in_a_window_that_starts_before_it_ended() -> None:
    window = FetchWindow(START + timedelta(hours=12), START + 2 * DAY)
    assert window.overlaps(START, START + DAY)


def test_a_record_that_ended_when_the_window_starts_is_not_in_it() -> None:
    window = FetchWindow(START + DAY, START + 2 * DAY)
    assert not window.overlaps(START, START + DAY)


def test_an_instant_at_the_window_start_is_in_it_and_one_at_the_end_is_not() -> None:
    window = FetchWindow(START, START + DAY)
    assert window.overlaps(START, START)
    assert not window.overlaps(START + DAY, START + DAY)


@given(
    span_start=st.integers(0, 10 * 24 * 60).map(lambda m: START + timedelta(minutes=m)),
    span_length=st.integers(0, 24 * 60).map(lambda m: timedelta(minutes=m)),
    delay=st.integers(0, int(DEFAULT_LOOKBACK.total_seconds() // 60)).map(lambda m: timedelta(minutes=m)),
    gaps=st.lists(st.integers(1, 3 * 24 * 60).map(lambda m: timedelta(minutes=m)), min_size=1, max_size=40),
)
def test_a_record_arriving_within_the_lookback_after_its_span_is_fetched_by_a_later_run(
    span_start: datetime, span_length: timedelta, delay: timedelta, gaps: list[timedelta]
) -> None:
    span_end = span_start + span_length
    available_at = span_end + delay
    now, watermark, fetched = START - DAY, None, False
    for gap in [*gaps, timedelta(days=30)]:  # one more run, long after the record is available
        now += gap
        plan = plan_fetch_window(now, watermark, lookback=DEFAULT_LOOKBACK, initial_days=7)
        if now >= available_at and plan.window.overlaps(span_start, span_end):
            fetched = True
        watermark = Watermark(plan.window.end)
    assert fetched
