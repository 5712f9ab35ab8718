"""Generated weeks of data, odd ones included: the metrics never crash or go NaN, the words match the numbers.

Each example is one to three weeks of a user with a random work schedule and offset, nights (sometimes split,
sometimes in the daytime, with naps), activity, efficiency as a fraction or a percent, heart-rate artefacts,
and Sahha's sleep days or sleep bouts. For every one: the metric set is JSON without NaN, MCTQ's figures agree
with each other, the chronotype's label is the one its MSFsc calls for, and every finding passes the check
that its figures are the computed ones.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sahha_sync.domain.analysis import AnalysisInput, AnalysisType
from sahha_sync.domain.metrics import (
    BEHAVIOR_RULES,
    CIRCADIAN_RULES,
    MetricSet,
    check_insight,
    chronotype_label,
    compute_metrics,
    findings,
    shift_like,
)
from sahha_sync.domain.schedule import WorkSchedule
from sahha_sync.testing.analyst import HealthDataBuilder

FIRST = date(2026, 11, 2)

day_specs = st.fixed_dictionaries(
    {
        "onset": st.integers(min_value=-6 * 60, max_value=14 * 60),  # minutes after midnight of the wake-up day
        "duration": st.integers(min_value=60, max_value=13 * 60),
        "gap": st.none() | st.integers(min_value=10, max_value=50),  # a spell awake splitting the night
        "nap": st.booleans(),
        "steps": st.none() | st.integers(min_value=0, max_value=40_000),
        "efficiency": st.none() | st.floats(min_value=0.5, max_value=1.0) | st.floats(min_value=50.0, max_value=100.0),
        "resting": st.none() | st.sampled_from([48.0, 55.5, 61.0, 72.0, 250.0, 0.0]),
        "asleep": st.none() | st.integers(min_value=120, max_value=700),
    }
)


@st.composite
def generated_inputs(draw: st.DrawFn) -> AnalysisInput:
    tz = timezone(timedelta(minutes=draw(st.sampled_from([-480, -300, 0, 60, 330, 780]))))
    sahha_days = draw(st.booleans())
    builder = HealthDataBuilder(tz=tz)
    for index, spec in enumerate(draw(st.lists(day_specs, min_size=1, max_size=21))):
        day = FIRST + timedelta(days=index)
        midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
        onset = midnight + timedelta(minutes=spec["onset"])
        wake = onset + timedelta(minutes=spec["duration"])
        if sahha_days:
            builder.sleep_day(onset, wake, forms=("daily", "intraday"))
        elif spec["gap"] is not None and spec["duration"] > 120:
            middle = onset + timedelta(minutes=spec["duration"] // 2)
            builder.night(onset, middle).night(middle + timedelta(minutes=spec["gap"]), wake)
        else:
            builder.night(onset, wake)
        if spec["nap"] and not sahha_days:
            builder.night(midnight + timedelta(hours=14), midnight + timedelta(hours=15, minutes=20))
        for kind in ("steps", "efficiency", "resting", "asleep"):
            if spec[kind] is not None:
                name = {"efficiency": "sleep_efficiency", "resting": "heart_rate_resting", "asleep": "sleep_duration"}
                builder.daily(day, name.get(kind, kind), spec[kind])
    workdays = draw(st.frozensets(st.integers(min_value=0, max_value=6)))
    schedule = draw(st.none() | st.just(WorkSchedule(workdays=workdays)))
    return builder.build(draw(st.sampled_from(list(AnalysisType))), work_schedule=schedule)


def assert_mctq_is_consistent(metrics: MetricSet) -> None:
    relative = metrics.value("circadian.social_jet_lag_relative")
    absolute = metrics.value("circadian.social_jet_lag_absolute")
    if relative is None or absolute is None:
        return
    assert abs(abs(relative) - absolute) < 1e-3
    correction = metrics.value("circadian.chronotype_correction")
    work, free = (
        metrics.value("circadian.sleep_duration_work_days"),
        metrics.value("circadian.sleep_duration_free_days"),
    )
    assert correction is not None
    assert work is not None
    assert free is not None
    assert correction >= 0
    if free <= work:
        assert correction == 0
        assert metrics.value("circadian.chronotype_msfsc") == metrics.value("circadian.mid_sleep_free_days")


def assert_the_chronotype_is_named_as_its_number_says(metrics: MetricSet, texts: dict[str | None, str]) -> None:
    msfsc = metrics.value("circadian.chronotype_msfsc")
    text = texts.get("circadian.chronotype_msfsc")
    if msfsc is None or text is None:
        return
    label = chronotype_label(msfsc)
    for kind in ("early", "intermediate", "late"):
        assert (f"{kind} chronotype" in text) == (kind == label and not shift_like(metrics)), text
    correction = metrics.value("circadian.chronotype_correction")
    assert ("corrected for sleep debt" in text) == (correction is not None and correction > 0), text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated_inputs())
def test_generated_weeks_give_finite_consistent_metrics_and_true_findings(analysis_input: AnalysisInput) -> None:
    metrics = compute_metrics(analysis_input)
    json.dumps(metrics.to_dict(), allow_nan=False)

    assert_mctq_is_consistent(metrics)
    rules = CIRCADIAN_RULES if analysis_input.analysis_type is AnalysisType.CIRCADIAN else BEHAVIOR_RULES
    found = findings(metrics, rules)
    for finding in found:
        assert check_insight(finding.insight, metrics) is None, finding.insight.text
    assert_the_chronotype_is_named_as_its_number_says(metrics, {f.insight.metric: f.insight.text for f in found})
