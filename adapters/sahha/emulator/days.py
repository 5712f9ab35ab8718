"""One local day of one synthetic user: biomarkers and scores, each version with the moment Sahha has it.

Shaped as Sahha's answers are: a sleep day runs from 18:00 of the evening before to 17:59:59 and holds that
night (Sahha's own ``sleep_start_time``/``sleep_end_time``/``sleep_mid_time`` among it), an activity day from
00:00:00 to 23:59:59. ``intraday`` records are the day's running totals, revised during the day under the key of
the ``daily`` record that replaces them; ``weekly`` records (sleep regularity as a 0-1 fraction, sleep debt in
hours) span eight sleep days. Some types are in no list the client knows (an ``engagement`` category). API
biomarkers carry no ``createdAtUtc``; scores do. Data arrives late the way wearables deliver it: most within a
few hours, some up to ``max_delay`` later (the phone was not synced), which is why fetches reach back a lookback.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

from sahha_sync.adapters.sahha.emulator.personas import Persona, stable_uuid
from sahha_sync.adapters.sahha.emulator.scores import day_scores
from sahha_sync.domain import Biomarker, Score

DAY = timedelta(days=1)
LAST_MS = timedelta(milliseconds=1)
LAST_SECOND = timedelta(seconds=1)
SLEEP_DAY_START = time(18)  # of the evening before
RUNNING_TOTAL_HOURS = (10, 14, 19)  # local hours at which today's intraday totals are revised

# Types no list of the client names (Sahha adds types; an ``engagement`` category exists): category, type, unit.
UNLISTED_TYPES: tuple[tuple[str, str, str], ...] = (
    ("engagement", "app_sessions", "count"),
    ("activity", "stand_hours", "hour"),
)


@dataclass(frozen=True, slots=True)
class Timed:
    """A version of a record and the moment it becomes available from the API (the newest of a key wins)."""

    record: Biomarker | Score
    available_at: datetime


@dataclass(frozen=True, slots=True)
class DaySummary:
    """What the archetypes are computed from."""

    day: date
    steps: int
    sleep_minutes: int
    efficiency: float
    bedtime_hour: float
    wake_hour: float
    score: float
    available_at: datetime


def _delay(rng: random.Random, max_delay: timedelta, late_fraction: float) -> timedelta:
    if rng.random() < late_fraction:
        return timedelta(seconds=round(rng.uniform(6 * 3600, max_delay.total_seconds())))
    return timedelta(seconds=round(rng.uniform(300, min(6 * 3600, max_delay.total_seconds()))))


def _ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class DayBuilder:
    """Draws one day of one persona in ``tz``; deterministic in (seed, profile id, day, offset when travelling)."""

    def __init__(
        self,
        persona: Persona,
        day: date,
        *,
        seed: int,
        max_delay: timedelta,
        late_fraction: float,
        tz: timezone | None = None,
    ):
        self.p = persona
        self.day = day
        self.seed = seed
        self.tz = tz or timezone(persona.utc_offset)
        away = "" if self.tz.utcoffset(None) == persona.utc_offset else f":{self.tz.utcoffset(None)}"
        self.rng = random.Random(f"day:{seed}:{persona.profile_id}:{day.isoformat()}{away}")
        self.start = datetime.combine(day, time(0), self.tz)
        self.end = self.start + DAY - LAST_SECOND
        self.sleep_day = (datetime.combine(day - DAY, SLEEP_DAY_START, self.tz), self.start + DAY * 0.75 - LAST_SECOND)
        self.max_delay = max_delay
        self.late_fraction = late_fraction
        self.records: list[Timed] = []
        self._keep = True  # False: only the summary is drawn (the same draws, no biomarker built or kept)

    def summary(self) -> DaySummary | None:
        """The day's summary alone, as ``build`` gives it (the same draws), without building its biomarkers:
        what the archetypes of the weeks and months around a fetched window read."""
        self._keep = False
        return self.build()[1]

    def build(self) -> tuple[list[Timed], DaySummary | None]:
        if self.rng.random() > self.p.wear_rate:
            return [], None
        weekend = self.day.weekday() >= 5
        bedtime = self.p.bedtime_hour + (self.p.weekend_shift_hours if weekend else 0.0) + self.rng.gauss(0, 0.5)
        sleep_min, efficiency, woke_at, sleep_ready = self._sleep(bedtime, weekend)
        self._weekly(bedtime, sleep_min, sleep_ready)
        steps = self._activity(weekend, sleep_min)
        self._vitals(sleep_min)
        day_ready = self.start + DAY + _delay(self.rng, self.max_delay, self.late_fraction)
        score = self._scores(sleep_min, steps, bedtime, day_ready)
        wake_hour = (woke_at - self.start).total_seconds() / 3600
        summary = DaySummary(
            self.day, steps, sleep_min, efficiency, bedtime, wake_hour, score, max(day_ready, sleep_ready)
        )
        return self.records, summary

    def _bio(
        self,
        category: str,
        type_: str,
        value: str,
        unit: str,
        value_type: str,
        *,
        window: tuple[datetime, datetime] | None = None,
        aggregation: str = "total",
        periodicity: str = "daily",
    ) -> Biomarker | None:
        if not self._keep:
            return None
        start, end = window or (self.start, self.end)
        return Biomarker(
            user_id=self.p.profile_id,
            sahha_profile_id=self.p.sahha_profile_id,
            sahha_id=stable_uuid("biomarker", self.seed, self.p.profile_id, type_, start, periodicity, value),
            category=category,
            type=type_,
            value=value,
            unit=unit,
            value_type=value_type,
            start_date_time=start,
            end_date_time=end,
            periodicity=periodicity,
            aggregation=aggregation,
        )

    def _add(self, ready: datetime, *records: Biomarker | Score | None) -> None:
        if self._keep:
            self.records.extend(Timed(record, ready) for record in records if record is not None)

    def _sleep(self, bedtime: float, weekend: bool) -> tuple[int, float, datetime, datetime]:
        r = self.rng
        asleep_at = self.start - DAY + timedelta(seconds=round(bedtime * 60) * 60)
        in_bed = max(240, round(r.gauss(self.p.sleep_need_hours * 60 + (35 if weekend else 0), 45)))
        awake = round(r.uniform(5, 40))
        latency = round(r.uniform(4, 30))
        asleep = in_bed - awake
        deep = round(asleep * r.uniform(0.13, 0.23))
        rem = round(asleep * r.uniform(0.18, 0.26))
        woke_at = asleep_at + timedelta(minutes=in_bed)
        mid = asleep_at + timedelta(minutes=in_bed // 2)
        ready = woke_at + _delay(r, self.max_delay, self.late_fraction)
        clock_times = [("sleep_start_time", asleep_at), ("sleep_end_time", woke_at), ("sleep_mid_time", mid)]
        soon = woke_at + timedelta(minutes=r.randint(10, 90))
        if soon < ready:  # the phone told Sahha of the night before the day's figures were final
            self._add(soon, *(self._clock(name, at, "intraday") for name, at in clock_times))
        efficiency = 100.0 * asleep / in_bed
        self._add(
            ready,
            *(self._clock(name, at, "daily") for name, at in clock_times),
            self._sleep_bio("sleep_duration", str(asleep), "minute", "integer"),
            self._sleep_bio("sleep_in_bed_duration", str(in_bed), "minute", "integer"),
            self._sleep_bio("sleep_awake_duration", str(awake), "minute", "integer"),
            self._sleep_bio("sleep_latency", str(latency), "minute", "integer"),
            self._sleep_bio("sleep_deep_duration", str(deep), "minute", "integer"),
            self._sleep_bio("sleep_rem_duration", str(rem), "minute", "integer"),
            self._sleep_bio("sleep_light_duration", str(asleep - deep - rem), "minute", "integer"),
            self._sleep_bio("sleep_interruptions", str(r.randint(0, 6)), "count", "integer"),
            self._sleep_bio("sleep_efficiency", f"{efficiency:.1f}", "percent", "double", aggregation="average"),
        )
        return asleep, efficiency, woke_at, ready

    def _sleep_bio(self, type_: str, value: str, unit: str, value_type: str, **kw: str) -> Biomarker | None:
        return self._bio("sleep", type_, value, unit, value_type, window=self.sleep_day, **kw)

    def _clock(self, type_: str, at: datetime, periodicity: str) -> Biomarker | None:
        value = at.isoformat(timespec="minutes")  # "2025-07-11T06:00+12:00": Sahha's clock times have no seconds
        return self._sleep_bio(type_, value, "datetime", "datetime", aggregation="none", periodicity=periodicity)

    def _weekly(self, bedtime: float, sleep_min: int, ready: datetime) -> None:
        """The week up to this sleep day: eight sleep-day windows."""
        r = self.rng
        window = (self.sleep_day[0] - 7 * DAY, self.sleep_day[1])
        regularity = max(0.0, min(1.0, 1.0 - abs(bedtime - self.p.bedtime_hour) * 0.08 - r.uniform(0.0, 0.06)))
        debt = max(0.0, (self.p.sleep_need_hours * 60 - sleep_min) / 60 * r.uniform(3.0, 7.0))
        self._add(
            ready,
            self._bio(
                "sleep",
                "sleep_regularity",
                f"{regularity:.3f}",
                "percentage",
                "double",
                window=window,
                aggregation="average",
                periodicity="weekly",
            ),
            self._bio(
                "sleep",
                "sleep_debt",
                f"{debt:.2f}",
                "hour",
                "double",
                window=window,
                aggregation="total",
                periodicity="weekly",
            ),
        )

    def _activity(self, weekend: bool, sleep_min: int) -> int:
        r = self.rng
        mean = self.p.steps_mean * (0.85 if weekend else 1.0) * (0.9 if sleep_min < 360 else 1.0)
        steps = max(150, round(r.gauss(mean, mean * 0.28)))
        high = max(0, round(steps / 1000 * r.uniform(0.8, 2.6) - 4))
        mid = max(0, round(steps / 1000 * r.uniform(2.0, 4.5)))
        low = max(10, round(steps / 1000 * r.uniform(8.0, 14.0)))
        waking = 24 * 60 - sleep_min
        sedentary = max(0, waking - low - mid - high - round(r.uniform(60, 180)))
        active_hours = min(16, max(0, round(steps / 900 + r.gauss(0, 1.2))))
        energy = steps * 0.04 + mid * 4.0 + high * 9.0
        sessions, stand = r.randint(0, 12), min(16, max(0, round(active_hours * r.uniform(0.6, 1.2))))
        for hour in RUNNING_TOTAL_HOURS:  # today's running totals, under the daily record's key
            share = min(1.0, (hour - 7) / 15 * r.uniform(0.8, 1.1))
            at = self.start + timedelta(hours=hour, minutes=r.randint(0, 59))
            self._add(
                at,
                self._bio("activity", "steps", str(round(steps * share)), "count", "integer", periodicity="intraday"),
                self._bio(
                    "activity",
                    "active_energy_burned",
                    f"{energy * share:.1f}",
                    "kcal",
                    "double",
                    periodicity="intraday",
                ),
            )
        ready = self.start + DAY + _delay(r, self.max_delay, self.late_fraction)
        self._add(
            ready,
            self._bio("activity", "steps", str(steps), "count", "integer"),
            self._bio("activity", "active_hours", str(active_hours), "hour", "integer"),
            self._bio("activity", "activity_low_intensity_duration", str(low), "minute", "integer"),
            self._bio("activity", "activity_mid_intensity_duration", str(mid), "minute", "integer"),
            self._bio("activity", "activity_high_intensity_duration", str(high), "minute", "integer"),
            self._bio("activity", "activity_sedentary_duration", str(sedentary), "minute", "integer"),
            self._bio("activity", "active_energy_burned", f"{energy:.1f}", "kcal", "double"),
            *(
                self._bio(category, type_, str(value), unit, "integer")
                for (category, type_, unit), value in zip(UNLISTED_TYPES, (sessions, stand), strict=True)
            ),
        )
        return steps

    def _vitals(self, sleep_min: int) -> None:
        r = self.rng
        strain = 2.0 if sleep_min < 380 else 0.0
        rhr = self.p.resting_hr + strain + r.gauss(0, 1.6)
        hrv = max(8.0, self.p.hrv_rmssd - 3.0 * strain + r.gauss(0, 6.0))
        ready = self.start + DAY + _delay(r, self.max_delay, self.late_fraction)
        self._add(
            ready,
            self._bio("vitals", "heart_rate_resting", f"{rhr:.1f}", "bpm", "double", aggregation="average"),
            self._bio("vitals", "heart_rate_variability_rmssd", f"{hrv:.1f}", "ms", "double", aggregation="average"),
        )

    def _scores(self, sleep_min: int, steps: int, bedtime: float, ready: datetime) -> float:
        scores = day_scores(self.p, self.seed, self.start, sleep_min, steps, bedtime, _ms(ready.astimezone(UTC)))
        self._add(ready, *scores)
        return sum(s.score or 0.0 for s in scores) / len(scores)
