"""The worked examples documented by the ``mctq`` R package (rOpenSci; Vartanian et al.), pinned.

Each case is an example from the package's reference documentation, input and expected output as printed
there: ``sdu()`` (sleep duration), ``msl()`` (local time of mid-sleep), ``sd_week()`` (average weekly sleep
duration), ``msf_sc()`` (chronotype: sleep-corrected mid-sleep on free days) and ``sjl()`` / ``sjl_rel()``
(absolute and relative social jet lag by the default "shorter interval" method). The package computes on
``hms`` clock times and ``Duration`` seconds; here clock times are hours of the day and durations hours, so
the expected values are the documented ones converted (``03:38:42`` is 3 + 38/60 + 42/3600 hours).
``msf_sc()``'s alarm-clock case is not pinned: wearable data carries no alarm flag.

The last tests run two of the examples through measured nights, end to end.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from sahha_sync.domain.analysis import AnalysisType
from sahha_sync.domain.metrics import compute_metrics, mctq
from sahha_sync.testing.analyst import HealthDataBuilder


def clock(text: str) -> float:
    """``"04:46:00.3402"`` -> hours of the day."""
    parts = [float(p) for p in text.split(":")]
    return parts[0] + parts[1] / 60 + (parts[2] if len(parts) > 2 else 0.0) / 3600


def seconds(value: float) -> float:
    return value / 3600


@pytest.mark.parametrize(
    ("onset", "end", "hours"),
    [
        ("23:00", "08:00", seconds(32400)),  # sdu() scalar example 1: "32400s (~9 hours)"
        ("02:00", "12:30", seconds(37800)),  # scalar example 2: "37800s (~10.5 hours)"
        ("04:12", "14:30", seconds(37080)),  # vector example: "37080s (~10.3 hours)"
        ("21:20", "03:45", seconds(23100)),  # vector example: "23100s (~6.42 hours)"
    ],
)
def test_sleep_duration_matches_mctq_sdu(onset: str, end: str, hours: float) -> None:
    assert mctq.sleep_duration(clock(onset), clock(end)) == pytest.approx(hours, abs=1e-9)


@pytest.mark.parametrize(
    ("onset", "duration", "expected"),
    [
        ("23:30", 8.0, "03:30:00"),  # msl() scalar example 1
        ("01:00", 10.0, "06:00:00"),  # scalar example 2
        ("00:10", 9.25, "04:47:30"),  # vector example
        ("01:15", 5.45, "03:58:30"),  # vector example
    ],
)
def test_mid_sleep_matches_mctq_msl(onset: str, duration: float, expected: str) -> None:
    assert mctq.mid_sleep(clock(onset), duration) == pytest.approx(clock(expected), abs=1e-9)


@pytest.mark.parametrize(
    ("work", "free", "workdays", "expected"),
    [
        (4.0, 8.0, 5, seconds(18514.2857142857)),  # sd_week() scalar example 1
        (7.0, 7.0, 4, seconds(25200)),  # scalar example 2
        (4.5, 8.0, 3, seconds(23400)),  # vector example
        (5.45, 7.3, 7, seconds(19620)),  # vector example
        (5.45, 9.5, 5, seconds(23785.7142857143)),  # "converting the output to hms": 06:36:25.714286
        (4.5, 7.8, 3, seconds(22988.5714285714)),  # "rounding the output at the seconds level"
    ],
)
def test_weekly_sleep_duration_matches_mctq_sd_week(work: float, free: float, workdays: int, expected: float) -> None:
    assert mctq.weekly_sleep_duration(work, free, workdays) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("msf", "work", "free", "week", "expected"),
    [
        ("04:00:00", 6.0, 7.0, 6.29, "03:38:42"),  # msf_sc() scalar example 1
        ("01:00:00", 5.5, 9.0, 6.75, "23:52:30"),  # scalar example 2: the correction crosses midnight
        ("03:45:00", 9.0, 5.0, 8.5, "03:45:00"),  # vector example: SDf <= SDw, no correction
        ("04:45:00", 6.45, 10.0, 9.2, "04:21:00"),  # vector example
        ("05:40:00", 5.43678, 9.345111, 7.5453, "04:46:00.3402"),  # "rounding the output at the seconds level"
    ],
)
def test_chronotype_matches_mctq_msf_sc(msf: str, work: float, free: float, week: float, expected: str) -> None:
    assert mctq.chronotype_msfsc(clock(msf), work, free, week) == pytest.approx(clock(expected), abs=1e-7)


@pytest.mark.parametrize(
    ("msw", "msf", "relative"),
    [
        ("03:30", "05:00", seconds(5400)),  # sjl() scalar example 1: 1.5 h absolute and relative
        ("04:30", "23:30", seconds(-18000)),  # scalar example 2: 5 h absolute, -5 h relative
        ("02:05", "23:05", seconds(-10800)),  # vector example: 3 h absolute, -3 h relative
        ("04:05", "04:05", 0.0),  # vector example: 0 s
        ("19:15", "02:30", seconds(26100)),  # "using different methods": shorter interval, relative 7.25 h
        ("02:45", "04:15", seconds(5400)),  # "using different methods": shorter interval, relative 1.5 h
        ("01:15", "03:25", seconds(7800)),  # "converting the output to hms": 02:10:00
        ("04:19:33.1234", "02:55:05", seconds(-5068.12339997292)),  # "rounding": absolute 5068.1234 s
    ],
)
def test_social_jet_lag_matches_mctq_sjl_and_sjl_rel(msw: str, msf: str, relative: float) -> None:
    assert mctq.social_jet_lag_relative(clock(msw), clock(msf)) == pytest.approx(relative, abs=1e-7)
    assert mctq.social_jet_lag_absolute(clock(msw), clock(msf)) == pytest.approx(abs(relative), abs=1e-7)


def test_the_first_msf_sc_example_from_measured_nights() -> None:
    # work nights 6 h (00:00-06:00), free nights 7 h with mid-sleep 04:00 (00:30-07:30), five work days a week:
    # SDweek = (5*6 + 2*7)/7 = 6.2857 h, which the package's example rounds to 6.29 h (so 03:38:34, not 03:38:42)
    builder = HealthDataBuilder()
    for offset in range(14):
        day = date(2026, 11, 2) + timedelta(days=offset)
        onset, wake = ("00:30", "07:30") if day.weekday() >= 5 else ("00:00", "06:00")
        builder.night(datetime.fromisoformat(f"{day}T{onset}+00:00"), datetime.fromisoformat(f"{day}T{wake}+00:00"))
    metrics = compute_metrics(builder.build(AnalysisType.CIRCADIAN))

    assert metrics.value("circadian.mid_sleep_free_days") == pytest.approx(4.0)
    assert metrics.value("circadian.sleep_duration_week") == pytest.approx(6.2857, abs=1e-4)
    assert metrics.value("circadian.chronotype_msfsc") == pytest.approx(clock("03:38:42"), abs=10 / 3600)


def test_the_second_sjl_example_from_measured_nights() -> None:
    # work nights 00:30-08:30 (MSW 04:30), free nights 20:00-03:00 (MSF 23:30): sjl 5 h, sjl_rel -5 h
    builder = HealthDataBuilder()
    for offset in range(7):
        day = date(2026, 11, 2) + timedelta(days=offset)
        if day.weekday() >= 5:
            onset = datetime.fromisoformat(f"{day - timedelta(days=1)}T20:00+00:00")
            builder.night(onset, onset + timedelta(hours=7))
        else:
            builder.night(datetime.fromisoformat(f"{day}T00:30+00:00"), datetime.fromisoformat(f"{day}T08:30+00:00"))
    metrics = compute_metrics(builder.build(AnalysisType.CIRCADIAN))

    assert metrics.value("circadian.social_jet_lag_relative") == pytest.approx(-5.0)
    assert metrics.value("circadian.social_jet_lag_absolute") == pytest.approx(5.0)
