"""Nights and sleep timing in local time: across midnight, across time zones, across DST, with missing nights."""

from __future__ import annotations

import dataclasses
import random
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sahha_sync.domain.analysis import AnalysisType
from sahha_sync.domain.metrics import Night, compute_metrics, nights_from, sleep_log
from sahha_sync.testing.analyst import HealthDataBuilder


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def circadian(builder: HealthDataBuilder) -> dict[str, float | None]:
    metrics = compute_metrics(builder.build(AnalysisType.CIRCADIAN))
    return {m.name: m.value for m in metrics.circadian}


def test_sleep_across_midnight_averages_to_midnight_not_noon() -> None:
    builder = (
        HealthDataBuilder()
        .night(at("2026-11-02T23:30:00+00:00"), at("2026-11-03T07:30:00+00:00"))
        .night(at("2026-11-04T00:30:00+00:00"), at("2026-11-04T08:30:00+00:00"))
    )

    values = circadian(builder)

    # onsets 23:30 and 00:30 -> 00:00; wakes 07:30 and 08:30 -> 08:00; midpoints 03:30 and 04:30 -> 04:00
    assert values["circadian.onset.mean"] == 0.0
    assert values["circadian.wake.mean"] == pytest.approx(8.0)
    assert values["circadian.midpoint.mean"] == pytest.approx(4.0)


def test_a_night_belongs_to_the_day_the_user_woke() -> None:
    nights = nights_from(
        HealthDataBuilder().night(at("2026-11-02T23:30+00:00"), at("2026-11-03T07:30+00:00")).biomarkers
    )

    assert [n.day for n in nights] == [date(2026, 11, 3)]
    assert nights[0].duration_hours == pytest.approx(8.0)


def test_after_a_flight_sleep_times_stay_on_the_local_clock() -> None:
    builder = HealthDataBuilder()
    for day in (1, 2, 3):  # New York, UTC-05:00
        builder.night(at(f"2026-11-0{day}T23:00-05:00"), at(f"2026-11-0{day + 1}T07:00-05:00"))
    for day in (5, 6, 7):  # London, UTC+00:00
        builder.night(at(f"2026-11-0{day}T23:00+00:00"), at(f"2026-11-0{day + 1}T07:00+00:00"))

    values = circadian(builder)

    # in UTC the onsets would be 04:00 and 23:00, a five-hour spread; on the local clock they never move
    assert values["circadian.onset.mean"] == pytest.approx(23.0)
    assert values["circadian.onset.spread"] == pytest.approx(0.0, abs=1e-3)
    assert values["circadian.midpoint.mean"] == pytest.approx(3.0)


def test_the_night_of_the_flight_is_read_on_the_wake_up_clock() -> None:
    night = Night(at("2026-11-04T22:00-05:00"), at("2026-11-05T12:00+00:00"))

    # 03:00Z to 12:00Z: nine hours; halfway is 07:30Z, which is 07:30 on the London clock
    assert night.duration_hours == pytest.approx(9.0)
    assert night.onset_hour == pytest.approx(22.0)
    assert night.midpoint_hour == pytest.approx(7.5)


def test_the_spring_forward_night_is_an_hour_shorter_than_its_clock_times_suggest() -> None:
    # Europe/Berlin, 29 March 2026: 02:00 CET becomes 03:00 CEST
    night = Night(at("2026-03-28T23:00+01:00"), at("2026-03-29T07:00+02:00"))

    # 22:00Z to 05:00Z: seven hours; halfway 01:30Z = 03:30 CEST
    assert night.duration_hours == pytest.approx(7.0)
    assert (night.onset_hour, night.wake_hour) == (pytest.approx(23.0), pytest.approx(7.0))
    assert night.midpoint_hour == pytest.approx(3.5)


def test_the_fall_back_night_is_an_hour_longer() -> None:
    # Europe/Berlin, 25 October 2026: 03:00 CEST becomes 02:00 CET
    night = Night(at("2026-10-24T23:00+02:00"), at("2026-10-25T07:00+01:00"))

    # 21:00Z to 06:00Z: nine hours; halfway 01:30Z = 02:30 CET
    assert night.duration_hours == pytest.approx(9.0)
    assert night.midpoint_hour == pytest.approx(2.5)


def test_sleep_times_across_a_dst_change_keep_their_local_clock_times() -> None:
    builder = HealthDataBuilder()
    builder.night(at("2026-03-27T23:00+01:00"), at("2026-03-28T07:00+01:00"))
    builder.night(at("2026-03-28T23:00+01:00"), at("2026-03-29T07:00+02:00"))
    builder.night(at("2026-03-29T23:00+02:00"), at("2026-03-30T07:00+02:00"))

    values = circadian(builder)

    assert values["circadian.onset.mean"] == pytest.approx(23.0)
    assert values["circadian.wake.spread"] == pytest.approx(0.0, abs=1e-3)
    # the minutes asleep come from the nights' spans here: 8 h, 7 h, 8 h, whose median is 8 h
    assert values["circadian.sleep_duration.level"] == pytest.approx(480.0)


def test_missing_nights_are_left_out_and_counted() -> None:
    builder = HealthDataBuilder()
    for wake_day in (2, 3, 6):  # Mon, Tue and Fri, 2-6 Nov 2026; Wednesday's night is missing
        builder.night(at(f"2026-11-0{wake_day - 1}T23:00+00:00"), at(f"2026-11-0{wake_day}T07:00+00:00"))
    builder.night(at("2026-11-05T00:00+00:00"), at("2026-11-05T08:00+00:00"))  # Thursday: an hour later
    metrics = compute_metrics(builder.build(AnalysisType.CIRCADIAN))

    assert metrics.coverage.nights == 4
    onset = metrics.get("circadian.onset.mean")
    assert onset is not None
    assert onset.days == 4
    # consecutive pairs: Mon-Tue (0 h) and Thu-Fri (04:00 -> 03:00, 1 h): mean shift 0.5 h over 4 nights
    shift = metrics.get("circadian.midpoint_shift")
    assert shift is not None
    assert (shift.value, shift.days) == (pytest.approx(0.5), 4)


def test_too_few_consecutive_nights_give_no_midpoint_shift_and_say_why() -> None:
    builder = HealthDataBuilder()
    for wake_day in (2, 4, 6):
        builder.night(at(f"2026-11-0{wake_day - 1}T23:00+00:00"), at(f"2026-11-0{wake_day}T07:00+00:00"))
    shift = compute_metrics(builder.build(AnalysisType.CIRCADIAN)).get("circadian.midpoint_shift")

    assert shift is not None
    assert shift.value is None
    assert "consecutive nights" in (shift.reason or "")


def test_an_unreadable_sleep_time_falls_back_to_the_records_own_times() -> None:
    builder = HealthDataBuilder().night(
        at("2026-11-02T22:45+01:00"), at("2026-11-03T06:15+01:00"), record_times_only=True
    )
    nights = nights_from(builder.biomarkers)

    assert [(n.onset_hour, n.wake_hour) for n in nights] == [(pytest.approx(22.75), pytest.approx(6.25))]


def test_sahhas_own_sleep_day_gives_the_night_with_its_mid_sleep() -> None:
    # as real answers have it: 18:00 -> 17:59:59 windows, values without seconds, daily and intraday forms
    builder = HealthDataBuilder().sleep_day(
        at("2025-07-10T22:40+12:00"), at("2025-07-11T06:00+12:00"), mid=at("2025-07-11T02:00+12:00"),
        forms=("daily", "intraday"),
    )  # fmt: skip
    start = next(b for b in builder.biomarkers if b.type == "sleep_start_time")

    log = sleep_log(builder.biomarkers)

    assert (start.value, start.start_date_time.hour, start.end_date_time.isoformat()) == (
        "2025-07-10T22:40+12:00",
        18,
        "2025-07-11T17:59:59+12:00",
    )
    assert len(log.nights) == 1
    night = log.nights[0]
    assert (night.day, night.onset_hour, night.wake_hour) == (date(2025, 7, 11), pytest.approx(22 + 2 / 3), 6.0)
    assert night.midpoint_hour == pytest.approx(2.0)  # Sahha's, not the computed 02:20


def test_a_sleep_day_without_a_mid_sleep_gets_the_computed_one() -> None:
    builder = HealthDataBuilder().sleep_day(at("2025-07-10T22:40+12:00"), at("2025-07-11T06:00+12:00"))

    assert [n.midpoint_hour for n in nights_from(builder.biomarkers)] == [pytest.approx(2 + 1 / 3)]


def test_a_sleep_day_record_of_sahha_belongs_to_the_morning_its_window_ends_on() -> None:
    builder = HealthDataBuilder().sleep_day(at("2025-07-10T22:40+12:00"), at("2025-07-11T06:00+12:00"))
    window = next(b for b in builder.biomarkers if b.type == "sleep_end_time")
    builder.biomarkers.append(
        dataclasses.replace(window, type="sleep_duration", value="440", unit="minute", value_type="integer")
    )
    metrics = compute_metrics(builder.build(AnalysisType.CIRCADIAN))

    assert metrics.coverage.days_with_data == 1
    assert metrics.coverage.first_day == date(2025, 7, 11)
    assert metrics.value("circadian.sleep_duration.level") == 440.0


def test_split_sleep_is_one_night_from_its_first_onset() -> None:
    builder = HealthDataBuilder()
    builder.night(at("2026-11-02T23:00+00:00"), at("2026-11-03T02:00+00:00"))
    builder.night(at("2026-11-03T02:30+00:00"), at("2026-11-03T07:00+00:00"))

    nights = nights_from(builder.biomarkers)

    assert [(n.onset_hour, n.wake_hour, n.asleep) for n in nights] == [(23.0, 7.0, pytest.approx(7.5))]


def test_a_long_afternoon_nap_does_not_replace_a_short_night() -> None:
    builder = HealthDataBuilder()
    for day in range(2, 9):  # waking Mon 2 Nov to Sun 8 Nov 2026; work nights 23:00-07:00, free nights 01:00-09:00
        wake_day = date(2026, 11, day)
        if wake_day.weekday() < 5:
            builder.night(at(f"{wake_day - timedelta(days=1)}T23:00+00:00"), at(f"{wake_day}T07:00+00:00"))
        elif day == 7:  # Saturday: a four-hour night, then a five-hour nap
            builder.night(at(f"{wake_day}T03:00+00:00"), at(f"{wake_day}T07:00+00:00"))
            builder.night(at(f"{wake_day}T13:00+00:00"), at(f"{wake_day}T18:00+00:00"))
        else:
            builder.night(at(f"{wake_day}T01:00+00:00"), at(f"{wake_day}T09:00+00:00"))
    metrics = compute_metrics(builder.build(AnalysisType.CIRCADIAN))

    # MSF stays 05:00 (the night's 05:00 and Sunday's 05:00), so social jet lag stays 2.0 h, not 2.7 h
    assert metrics.value("circadian.social_jet_lag_relative") == pytest.approx(2.0)
    assert (metrics.coverage.nights, metrics.coverage.naps) == (7, 1)


def test_a_nap_on_the_same_day_does_not_replace_the_main_sleep() -> None:
    builder = (
        HealthDataBuilder()
        .night(at("2026-11-02T23:00+00:00"), at("2026-11-03T07:00+00:00"))
        .night(at("2026-11-03T14:00+00:00"), at("2026-11-03T14:40+00:00"))
    )
    nights = nights_from(builder.biomarkers)

    assert len(nights) == 1
    assert nights[0].duration_hours == pytest.approx(8.0)


def test_a_start_without_an_end_is_not_a_night() -> None:
    builder = HealthDataBuilder().night(at("2026-11-02T23:00+00:00"), at("2026-11-03T07:00+00:00"))
    builder.biomarkers = [b for b in builder.biomarkers if b.type == "sleep_start_time"]

    assert nights_from(builder.biomarkers) == ()


def test_the_same_moment_sent_twice_is_one_night() -> None:
    builder = HealthDataBuilder().night(at("2026-11-02T23:00+00:00"), at("2026-11-03T07:00+00:00"))
    builder.night(at("2026-11-02T23:00+00:00"), at("2026-11-03T07:00+00:00"))

    assert len(nights_from(builder.biomarkers)) == 1


def test_a_single_night_gives_times_but_no_spread() -> None:
    metrics = compute_metrics(
        HealthDataBuilder()
        .night(at("2026-11-02T23:00+00:00"), at("2026-11-03T07:00+00:00"))
        .build(AnalysisType.CIRCADIAN)
    )
    onset, spread = metrics.get("circadian.onset.mean"), metrics.get("circadian.onset.spread")

    assert onset is not None
    assert (onset.value, onset.days) == (pytest.approx(23.0), 1)
    assert spread is not None
    assert spread.value is None
    assert spread.reason == "needs at least 3 nights of data, has 1"


def test_one_hour_of_spread_in_bedtimes() -> None:
    builder = HealthDataBuilder()
    start = at("2026-11-02T23:00+00:00")
    for index, minutes in enumerate((-60, 0, 60)):
        onset = start + timedelta(days=index, minutes=minutes)
        builder.night(onset, onset.replace(hour=7, minute=0) + timedelta(days=1 if minutes < 60 else 0))

    spread = compute_metrics(builder.build(AnalysisType.CIRCADIAN)).get("circadian.onset.spread")

    # 22:00, 23:00, 00:00: R = (1 + 2 cos 15 deg) / 3 = 0.97729; sqrt(-2 ln R) = 0.21432 rad = 0.8187 h
    assert spread is not None
    assert spread.value == pytest.approx(0.8187, abs=1e-3)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=5 * 60, max_value=11 * 60),  # wake, minutes after local midnight
            st.integers(min_value=3 * 60, max_value=11 * 60),  # duration, minutes
            st.integers(min_value=-2, max_value=2),  # the local offset, hours: DST or a short trip
        ),
        min_size=1,
        max_size=14,
    ),
    st.randoms(use_true_random=False),
)
def test_any_sequence_of_nights_is_recovered_in_any_order(
    specs: list[tuple[int, int, int]], rng: random.Random
) -> None:
    builder, expected = HealthDataBuilder(), []
    for index, (wake_minutes, duration, offset_hours) in enumerate(specs):
        tz = timezone(timedelta(hours=offset_hours))
        wake = datetime(2026, 11, 2 + index, tzinfo=tz) + timedelta(minutes=wake_minutes)
        onset = (wake - timedelta(minutes=duration)).astimezone(tz)
        builder.night(onset, wake)
        expected.append(Night(onset, wake))
    rng.shuffle(builder.biomarkers)

    nights = nights_from(builder.biomarkers)

    assert [(n.onset, n.wake) for n in nights] == [(n.onset, n.wake) for n in expected]
    assert [n.onset_hour for n in nights] == pytest.approx([n.onset_hour for n in expected])


def test_a_short_evening_nap_does_not_hide_a_long_daytime_sleep() -> None:
    builder = HealthDataBuilder()
    builder.night(at("2026-11-03T09:00+00:00"), at("2026-11-03T17:00+00:00"))  # after a night shift
    builder.night(at("2026-11-02T20:30+00:00"), at("2026-11-02T21:30+00:00"))  # an hour before the shift

    log = sleep_log(builder.biomarkers)

    assert [(n.onset_hour, n.wake_hour, n.daytime) for n in log.nights] == [(9.0, 17.0, True)]
    assert log.naps == 1
