"""Local days on the user's own calendar: travel across the date line, offset changes, Sahha's 18:00 sleep days."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sahha_sync.domain.analysis import AnalysisType
from sahha_sync.domain.metrics import LocalDay, compute_facts, compute_metrics, data_quality_notes
from sahha_sync.domain.metrics.days import Calendar, Stamp, window_stamp
from sahha_sync.testing.analyst import HealthDataBuilder

TOKYO = timezone(timedelta(hours=9))
LOS_ANGELES = timezone(timedelta(hours=-7))
BERLIN_WINTER, BERLIN_SUMMER = timezone(timedelta(hours=1)), timezone(timedelta(hours=2))


def flight_west() -> HealthDataBuilder:
    """Steps in Tokyo on 8-10 July, a flight on the evening of the 10th, steps in Los Angeles on 10-11 July."""
    builder = HealthDataBuilder()
    for day, steps in ((8, 7000), (9, 8000), (10, 9000)):
        builder.daily(date(2025, 7, day), "steps", steps, tz=TOKYO)
    for day, steps in ((10, 4000), (11, 6000)):
        builder.daily(date(2025, 7, day), "steps", steps, tz=LOS_ANGELES)
    return builder


def test_a_date_that_happens_twice_keeps_both_days_records() -> None:
    metrics = compute_metrics(flight_west().build())

    steps = metrics.get("behavior.steps.level")
    assert steps is not None
    # five days: 7,000 8,000 9,000 (Tokyo's 10 July) 4,000 (Los Angeles' 10 July) 6,000 -> median 7,000
    assert (steps.value, steps.days) == (7000.0, 5)
    assert metrics.coverage.days_with_data == 5
    assert metrics.coverage.repeated_dates == (date(2025, 7, 10),)
    assert metrics.coverage.span_days == 5


def test_the_flight_is_a_data_quality_fact() -> None:
    metrics = compute_metrics(flight_west().build())

    assert metrics.coverage.offset_changes == ((date(2025, 7, 10), timedelta(hours=9), timedelta(hours=-7)),)
    notes = data_quality_notes(metrics)
    assert any("2025-07-10: +09:00 to -07:00" in note for note in notes)
    assert any("The date 2025-07-10 happened twice" in note for note in notes)
    undated = data_quality_notes(metrics, dated=False)
    assert any("day 3: +09:00 to -07:00" in note for note in undated)
    assert not any("2025" in note for note in undated)


def test_the_repeated_date_has_two_rows_in_the_digest_in_the_order_they_happened() -> None:
    digest = compute_facts(flight_west().build()).digest

    assert [(row[0], row[3]) for row in digest.rows] == [
        ("1", "7000"), ("2", "8000"), ("3", "9000"), ("3b", "4000"), ("4", "6000"),
    ]  # fmt: skip


def test_a_daylight_saving_change_is_noted_but_does_not_split_a_day() -> None:
    builder = HealthDataBuilder()
    for day in (27, 28):
        builder.daily(date(2026, 3, day), "steps", 8000, tz=BERLIN_WINTER)
    for day in (29, 30):  # 29 March 2026: 02:00 CET becomes 03:00 CEST
        builder.daily(date(2026, 3, day), "steps", 8000, tz=BERLIN_SUMMER)
    builder.night(datetime(2026, 3, 28, 23, tzinfo=BERLIN_WINTER), datetime(2026, 3, 29, 7, tzinfo=BERLIN_SUMMER))
    metrics = compute_metrics(builder.build(AnalysisType.CIRCADIAN))

    assert metrics.coverage.days_with_data == 4
    assert metrics.coverage.repeated_dates == ()
    assert metrics.coverage.offset_changes == ((date(2026, 3, 29), timedelta(hours=1), timedelta(hours=2)),)
    assert any("by travel or daylight saving" in note for note in data_quality_notes(metrics))


def test_a_sahha_sleep_day_falls_on_the_morning_it_ends_and_an_activity_day_on_its_date() -> None:
    nz = timezone(timedelta(hours=12))
    sleep = window_stamp(
        "sleep_duration", datetime(2025, 7, 10, 18, tzinfo=nz), datetime(2025, 7, 11, 17, 59, 59, tzinfo=nz)
    )
    steps = window_stamp("steps", datetime(2025, 7, 11, tzinfo=nz), datetime(2025, 7, 11, 23, 59, 59, tzinfo=nz))

    assert (sleep.date, steps.date) == (date(2025, 7, 11), date(2025, 7, 11))


def test_a_stream_with_offsets_an_hour_apart_on_one_date_is_one_day() -> None:
    calendar = Calendar([
        Stamp("steps", date(2026, 3, 29), timedelta(hours=1)),
        Stamp("steps", date(2026, 3, 29), timedelta(hours=2)),
    ])  # fmt: skip

    assert calendar.days == (LocalDay(date(2026, 3, 29)),)
