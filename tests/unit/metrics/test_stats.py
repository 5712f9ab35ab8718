"""Statistics on plain numbers and on the 24-hour clock, against hand-worked figures."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sahha_sync.domain.metrics.model import Metric, format_clock, round_significant
from sahha_sync.domain.metrics.stats import (
    circular_mean_hour,
    circular_sd_hours,
    clock_difference,
    coefficient_of_variation,
    linear_fit,
    median,
    sample_sd,
    slope,
    t_quantile,
)

hours = st.floats(min_value=0.0, max_value=23.999, allow_nan=False)


def test_the_mean_of_23_00_and_01_00_is_midnight_not_noon() -> None:
    mean_hour = circular_mean_hour([23.0, 1.0])
    assert mean_hour is not None
    assert clock_difference(mean_hour, 0.0) == pytest.approx(0.0, abs=1e-9)


def test_the_spread_of_23_00_and_01_00_is_about_one_hour() -> None:
    # angles of +-15 degrees: R = cos(15 deg) = 0.965926; -2 ln R = 0.069330; sqrt = 0.263306 rad = 1.0058 h
    assert circular_sd_hours([23.0, 1.0]) == pytest.approx(1.0058, abs=1e-4)


def test_equal_times_have_no_spread() -> None:
    assert circular_sd_hours([22.5, 22.5, 22.5]) == pytest.approx(0.0, abs=1e-6)


def test_opposite_times_have_no_mean() -> None:
    assert circular_mean_hour([0.0, 12.0]) is None


def test_a_clock_difference_wraps_across_midnight() -> None:
    assert clock_difference(1.0, 23.0) == pytest.approx(2.0)
    assert clock_difference(23.0, 1.0) == pytest.approx(-2.0)
    assert clock_difference(5.5, 3.0) == pytest.approx(2.5)


def test_slope_of_a_straight_line_is_its_gradient() -> None:
    assert slope([1, 2, 3, 4], [1000, 2000, 3000, 4000]) == pytest.approx(1000.0)
    assert slope([5, 5], [1, 2]) is None


def test_sample_sd_and_coefficient_of_variation() -> None:
    # 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squares sum 32, sample variance 32/7
    values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]
    assert sample_sd(values) == pytest.approx(math.sqrt(32 / 7))
    assert coefficient_of_variation(values) == pytest.approx(math.sqrt(32 / 7) / 5)
    assert coefficient_of_variation([0.0, 0.0, 0.0]) is None


@given(st.lists(hours, min_size=1, max_size=20), st.floats(min_value=-24, max_value=24))
def test_rotating_all_times_rotates_their_mean(values: list[float], shift: float) -> None:
    before = circular_mean_hour(values)
    after = circular_mean_hour([(v + shift) % 24 for v in values])
    if before is None or after is None or circular_sd_hours(values) > 6:
        return  # no clear mean: nothing to rotate
    assert abs(clock_difference(after, (before + shift) % 24)) < 1e-6


@given(hours, hours)
def test_clock_differences_lie_within_half_a_day(a: float, b: float) -> None:
    difference = clock_difference(a, b)
    assert -12.0 <= difference < 12.0
    assert abs(clock_difference((b + difference) % 24, a)) < 1e-9


def test_figures_keep_five_significant_digits() -> None:
    assert round_significant(9184.8889) == 9184.9
    assert round_significant(0.00043219) == 0.00043219
    assert round_significant(-0.0) == 0.0


def test_a_clock_metric_reads_as_hours_and_minutes() -> None:
    assert format_clock(23.4167) == "23:25"
    assert format_clock(23.999) == "00:00"
    assert Metric.of("circadian.onset.mean", 1.5, "hour_of_day", 3).display() == "01:30"


def test_a_metric_without_a_value_says_why() -> None:
    metric = Metric.of("x", math.inf, "hour", 2)
    assert metric.value is None
    assert metric.reason
    assert metric.display() == "n/a"


def test_the_median_is_the_middle_value_or_the_mean_of_the_two_middle_ones() -> None:
    assert median([5.0, 1.0, 250.0]) == 5.0
    assert median([1.0, 2.0, 3.0, 10.0]) == 2.5


@pytest.mark.parametrize(
    ("df", "table"),  # Student's t, two-sided 95 %, from the standard tables
    [(10, 2.228), (12, 2.179), (13, 2.160), (20, 2.086), (30, 2.042), (60, 2.000), (120, 1.980)],
)
def test_the_t_quantile_matches_the_tables(df: int, table: float) -> None:
    assert t_quantile(0.975, df) == pytest.approx(table, abs=1e-3)


def test_the_slopes_standard_error_is_the_residual_spread_over_the_spread_of_x() -> None:
    fit = linear_fit([0.0, 1.0, 2.0, 3.0], [1.0, 3.0, 2.0, 5.0])

    # beta = 5.5 / 5 = 1.1; residuals -0.1 0.8 -1.3 0.6, SSR 2.7; SE = sqrt(2.7 / 2 / 5) = 0.51962
    assert fit is not None
    assert (fit.slope, fit.standard_error) == (pytest.approx(1.1), pytest.approx(0.51962, abs=1e-5))


def test_the_interval_is_the_slope_plus_or_minus_t_times_its_standard_error() -> None:
    xs = [float(x) for x in range(14)]
    fit = linear_fit(xs, [2.0 * x + (1.0 if x % 2 else -1.0) for x in xs])

    assert fit is not None
    low, high = fit.interval()
    assert (high - low) / 2 == pytest.approx(2.179 * fit.standard_error, rel=1e-3)  # df = 12
    assert low < fit.slope < high


def test_a_fit_needs_three_points_spread_over_x() -> None:
    assert linear_fit([1.0, 2.0], [3.0, 4.0]) is None
    assert linear_fit([1.0, 1.0, 1.0], [3.0, 4.0, 5.0]) is None
