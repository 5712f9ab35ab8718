"""The ``Analyst`` contract, and a builder of realistic analysis inputs for it (and for a host's own tests).

A host proves its own analyst keeps the promises by subclassing ``AnalystContract`` and overriding the
``analyst`` fixture::

    class TestMyAnalyst(AnalystContract):
        @pytest.fixture
        def analyst(self) -> Analyst:
            return MyAnalyst()
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any

import pytest

from sahha_sync.application.ports.analyst import Analyst, AnalystError
from sahha_sync.domain.analysis import Analysis, AnalysisInput, AnalysisType
from sahha_sync.domain.health import Biomarker, Score, ScoreFactor
from sahha_sync.domain.metrics import check_insight, compute_metrics
from sahha_sync.domain.windows import FetchWindow

PROFILE = "user-1"
_UNITS = {
    "steps": ("activity", "count", "integer"),
    "active_hours": ("activity", "hour", "double"),
    "activity_sedentary_duration": ("activity", "minute", "integer"),
    "activity_mid_intensity_duration": ("activity", "minute", "integer"),
    "activity_high_intensity_duration": ("activity", "minute", "integer"),
    "sleep_duration": ("sleep", "minute", "integer"),
    "sleep_in_bed_duration": ("sleep", "minute", "integer"),
    "sleep_efficiency": ("sleep", "percent", "double"),
    "sleep_regularity": ("sleep", "index", "double"),
    "sleep_debt": ("sleep", "minute", "double"),
    "heart_rate_resting": ("vitals", "bpm", "double"),
}


SLEEP_DAY_START = time(18, 0)
SLEEP_DAY_LENGTH = timedelta(days=1) - timedelta(seconds=1)


class HealthDataBuilder:
    """Hand-made biomarkers and scores, as Sahha would send them, in the user's local offset ``tz``.

    ``night`` gives sleep bouts (``sleep_start_time`` / ``sleep_end_time`` over the bout itself);
    ``sleep_day`` gives the shape of real Sahha answers: the sleep clock times of one sleep day, over its
    18:00 → 17:59:59 window, values without seconds, ``daily`` and/or ``intraday``.
    """

    def __init__(self, user_id: str = PROFILE, tz: tzinfo = UTC) -> None:
        self.user_id = user_id
        self.tz = tz
        self.biomarkers: list[Biomarker] = []
        self.scores: list[Score] = []

    def daily(
        self,
        day: date,
        biomarker_type: str,
        value: float,
        *,
        tz: tzinfo | None = None,
        unit: str | None = None,
        periodicity: str = "daily",
    ) -> HealthDataBuilder:
        """One biomarker over the local day ``day`` (units as Sahha sends them unless ``unit`` is given)."""
        category, default_unit, value_type = _UNITS.get(biomarker_type, ("activity", "count", "double"))
        start = datetime.combine(day, time(0, 0), tz or self.tz)
        text = str(int(value)) if value_type == "integer" else str(value)
        record = self._biomarker(biomarker_type, category, text, unit or default_unit, value_type, start, start)
        self.biomarkers.append(dataclasses.replace(record, periodicity=periodicity))
        return self

    def sleep_day(
        self, onset: datetime, wake: datetime, *, mid: datetime | None = None, forms: tuple[str, ...] = ("daily",)
    ) -> HealthDataBuilder:
        """Sahha's sleep clock times of the sleep day ending on the morning of ``wake``, in ``wake``'s offset."""
        tz = wake.tzinfo
        window_start = datetime.combine(wake.date() - timedelta(days=1), SLEEP_DAY_START, tz)
        window_end = window_start + SLEEP_DAY_LENGTH
        moments = {"sleep_start_time": onset, "sleep_end_time": wake, "sleep_mid_time": mid}
        for kind, moment in moments.items():
            if moment is None:
                continue
            for form in forms:
                record = self._biomarker(kind, "sleep", moment.isoformat(timespec="minutes"), "datetime", "datetime",
                                         window_start, window_end)  # fmt: skip
                self.biomarkers.append(dataclasses.replace(record, periodicity=form, aggregation="none"))
        return self

    def weekly(self, last_day: date, biomarker_type: str, value: str, unit: str) -> HealthDataBuilder:
        """A ``weekly`` biomarker over the eight days of windows ending on ``last_day`` (as Sahha sends them)."""
        end = datetime.combine(last_day, SLEEP_DAY_START, self.tz) - timedelta(seconds=1)
        start = end - timedelta(days=8) + timedelta(seconds=1)
        record = self._biomarker(biomarker_type, "sleep", value, unit, "double", start, end)
        self.biomarkers.append(dataclasses.replace(record, periodicity="weekly", aggregation="average"))
        return self

    def night(self, onset: datetime, wake: datetime, *, record_times_only: bool = False) -> HealthDataBuilder:
        """A sleep: ``sleep_start_time`` and ``sleep_end_time`` with the moments (in their offsets) as values."""
        for kind, moment in (("sleep_start_time", onset), ("sleep_end_time", wake)):
            value = "" if record_times_only else moment.isoformat(timespec="milliseconds")
            record = self._biomarker(kind, "sleep", value, "datetime", "datetime", onset, wake)
            self.biomarkers.append(dataclasses.replace(record, periodicity="intraday"))
        return self

    def score(
        self, day: date, score_type: str, value: float, *, state: str | None = None, factors: dict[str, float] | None
    ) -> HealthDataBuilder:
        moment = datetime.combine(day, time(12, 0), self.tz)
        factor_list = tuple(ScoreFactor(name=n, score=s, state=None) for n, s in (factors or {}).items())
        self.scores.append(
            Score(user_id=self.user_id, type=score_type, score_date_time=moment, score=value, state=state,
                  factors=factor_list)
        )  # fmt: skip
        return self

    def _biomarker(
        self, kind: str, category: str, value: str, unit: str, value_type: str, start: datetime, end: datetime
    ) -> Biomarker:
        if end == start:
            end = start + timedelta(hours=23, minutes=59, seconds=59)
        return Biomarker(
            user_id=self.user_id, category=category, type=kind, value=value, unit=unit, value_type=value_type,
            start_date_time=start, end_date_time=end, periodicity="daily",
            aggregation="total" if unit in {"count", "minute"} else "average",
        )  # fmt: skip

    def build(self, analysis_type: AnalysisType | str = AnalysisType.BEHAVIOR, **overrides: Any) -> AnalysisInput:
        starts = [b.start_date_time for b in self.biomarkers] + [s.score_date_time for s in self.scores]
        ends = [b.end_date_time for b in self.biomarkers] + [s.score_date_time for s in self.scores]
        end = max(ends, default=datetime(2026, 11, 9, tzinfo=UTC)) + timedelta(hours=1)
        start = min(starts, default=end - timedelta(days=7))
        fields: dict[str, Any] = {
            "user_id": self.user_id,
            "archetype": "Peak Performer",
            "analysis_type": AnalysisType.parse(analysis_type),
            "period": FetchWindow(start, end),
            "biomarkers": tuple(self.biomarkers),
            "scores": tuple(self.scores),
        }
        fields.update(overrides)
        return AnalysisInput(**fields)


def sample_input(
    days: int = 14,
    *,
    first_day: date = date(2026, 11, 2),
    analysis_type: AnalysisType | str = AnalysisType.BEHAVIOR,
    tz: tzinfo = timezone(timedelta(hours=1)),
    sahha_sleep_days: bool = False,
) -> AnalysisInput:
    """A realistic, deterministic user: weekday routine, later and longer weekend sleep, scores with factors.

    Sleep comes as bouts, or with ``sahha_sleep_days`` as real Sahha answers shape it: sleep clock times per
    18:00 sleep day (daily and intraday forms), with Sahha's weekly ``sleep_regularity`` and ``sleep_debt``.
    """
    builder = HealthDataBuilder(tz=tz)
    for index in range(days):
        day = first_day + timedelta(days=index)
        weekend = day.weekday() >= 5
        wobble = (index * 37 % 11 - 5) / 5  # -1.0 .. 1.0, deterministic
        builder.daily(day, "steps", 9000 + 800 * wobble - (2500 if weekend else 0) + 20 * index)
        builder.daily(day, "active_hours", round(6 + wobble, 1))
        builder.daily(day, "activity_sedentary_duration", 560 + 40 * wobble)
        builder.daily(day, "activity_mid_intensity_duration", 25 + 5 * wobble)
        builder.daily(day, "activity_high_intensity_duration", 8)
        builder.daily(day, "heart_rate_resting", round(58 + wobble, 1))
        builder.daily(day, "sleep_efficiency", round(89 + 2 * wobble, 1))
        bedtime = datetime.combine(day - timedelta(days=1), time(23, 0), tz) + timedelta(minutes=20 * wobble)
        if day.weekday() in (5, 6):
            bedtime += timedelta(hours=1, minutes=30)
        wake = datetime.combine(day, time(9, 30) if weekend else time(7, 0), tz)
        if sahha_sleep_days:
            builder.sleep_day(bedtime, wake, mid=bedtime + (wake - bedtime) / 2, forms=("daily", "intraday"))
        else:
            builder.night(bedtime, wake)
        builder.daily(day, "sleep_duration", (wake - bedtime).total_seconds() / 60 - 25)
        for score_type, base in _SCORE_BASES.items():
            factors = {
                name: round(base - 0.1 * rank + 0.02 * wobble, 2) for rank, name in enumerate(_FACTORS[score_type])
            }
            builder.score(day, score_type, round(base + 0.03 * wobble, 2), state="medium", factors=factors)
        if sahha_sleep_days and day.weekday() == 6:
            builder.weekly(day, "sleep_regularity", f"{0.9 + 0.01 * wobble:.3f}", "percentage")
            builder.weekly(day, "sleep_debt", f"{4 + wobble:.1f}", "hour")
    return builder.build(analysis_type)


_SCORE_BASES = {"sleep": 0.72, "activity": 0.64, "readiness": 0.7, "wellbeing": 0.68, "mental_wellbeing": 0.66}
_FACTORS = {
    "sleep": ("sleep_duration", "sleep_regularity", "sleep_debt"),
    "activity": ("steps", "active_hours", "extended_inactivity"),
    "readiness": ("resting_heart_rate", "heart_rate_variability", "sleep_debt"),
    "wellbeing": ("sleep_score", "activity_score"),
    "mental_wellbeing": ("circadian_alignment", "sleep_regularity"),
}


def with_changed_biomarker(analysis_input: AnalysisInput, biomarker_type: str = "steps") -> AnalysisInput:
    """The same input with one ``biomarker_type`` reading changed (the newest one, value + 1)."""
    biomarkers = list(analysis_input.biomarkers)
    index = max(i for i, b in enumerate(biomarkers) if b.type == biomarker_type)
    old = biomarkers[index]
    number = old.value_numeric or 0.0
    new_value = str(int(number) + 1) if old.value_type == "integer" else str(number + 1)
    biomarkers[index] = dataclasses.replace(old, value=new_value)
    return dataclasses.replace(analysis_input, biomarkers=tuple(biomarkers))


def edge_inputs() -> Iterable[AnalysisInput]:
    """Inputs an analyst must answer or refuse with an ``AnalystError``: empty, one day, unreadable sleep."""
    single = HealthDataBuilder().daily(date(2026, 11, 2), "steps", 4000)
    odd_sleep = HealthDataBuilder().night(
        datetime(2026, 11, 1, 23, tzinfo=UTC), datetime(2026, 11, 2, 7, tzinfo=UTC),
        record_times_only=True,
    )  # fmt: skip
    for analysis_type in AnalysisType:
        yield HealthDataBuilder().build(analysis_type)
        yield single.build(analysis_type)
        yield odd_sleep.build(analysis_type)


class AnalystContract:
    """Promises every ``Analyst`` keeps. Override ``analyst`` to yield the adapter under test.

    Among them: every insight cites a computed metric that has a value, and its figures are the computed ones
    (``sahha_sync.domain.metrics.check_insight``); an analyst drops what does not pass.
    """

    @pytest.fixture
    def analyst(self) -> Analyst:
        raise NotImplementedError("override the analyst fixture to yield the adapter under test")

    @pytest.mark.parametrize("analysis_type", list(AnalysisType))
    async def test_it_returns_an_analysis_with_a_summary(self, analyst: Analyst, analysis_type: AnalysisType) -> None:
        analysis = await analyst.analyse(sample_input(analysis_type=analysis_type))

        assert isinstance(analysis, Analysis)
        assert analysis.summary.strip()
        assert analysis.analyst == analyst.name
        assert analysis.model
        assert analysis.prompt_version

    async def test_equal_inputs_give_the_same_input_hash(self, analyst: Analyst) -> None:
        first = await analyst.analyse(sample_input())
        second = await analyst.analyse(sample_input())

        assert first.input_hash == second.input_hash
        assert len(first.input_hash) >= 16

    async def test_a_changed_biomarker_changes_the_input_hash(self, analyst: Analyst) -> None:
        original = sample_input()
        changed = with_changed_biomarker(original)

        assert (await analyst.analyse(original)).input_hash != (await analyst.analyse(changed)).input_hash

    async def test_the_hash_differs_between_analysis_types(self, analyst: Analyst) -> None:
        behaviour = await analyst.analyse(sample_input(analysis_type=AnalysisType.BEHAVIOR))
        circadian = await analyst.analyse(sample_input(analysis_type=AnalysisType.CIRCADIAN))

        assert behaviour.input_hash != circadian.input_hash

    @pytest.mark.parametrize("analysis_type", list(AnalysisType))
    async def test_every_insight_cites_a_metric_it_was_given_and_agrees_with_it(
        self, analyst: Analyst, analysis_type: AnalysisType
    ) -> None:
        analysis_input = sample_input(21, analysis_type=analysis_type, sahha_sleep_days=True)
        analysis = await analyst.analyse(analysis_input)
        metrics = compute_metrics(analysis_input)

        for insight in analysis.insights:
            assert check_insight(insight, metrics) is None, insight.text

    async def test_thin_or_odd_data_gives_an_analysis_or_an_analyst_error(self, analyst: Analyst) -> None:
        for analysis_input in edge_inputs():
            try:
                analysis = await analyst.analyse(analysis_input)
            except AnalystError:
                continue
            assert analysis.summary.strip()
