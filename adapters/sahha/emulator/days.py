"""One local day of one synthetic user: biomarkers and scores, each with the moment Sahha has it.

The night that ends on the morning of ``day`` belongs to ``day`` (Sahha files sleep under the wake-up day).
Data arrives late the way wearables deliver it: most within a few hours of the day's end or the wake-up,
some up to ``max_delay`` later (the phone was not synced), which is why fetches reach back a lookback.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

from sahha_sync.adapters.sahha.catalog import score_state
from sahha_sync.adapters.sahha.emulator.personas import Persona, stable_uuid
from sahha_sync.domain import Biomarker, Score, ScoreFactor

DAY = timedelta(days=1)
LAST_MS = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class Timed:
    """A record and the moment it becomes available from the API."""

    record: Biomarker | Score
    available_at: datetime


@dataclass(frozen=True, slots=True)
class DaySummary:
    """What the weekly archetypes are computed from."""

    day: date
    steps: int
    sleep_minutes: int
    bedtime_hour: float
    available_at: datetime


def _delay(rng: random.Random, max_delay: timedelta, late_fraction: float) -> timedelta:
    if rng.random() < late_fraction:
        return timedelta(seconds=round(rng.uniform(6 * 3600, max_delay.total_seconds())))
    return timedelta(seconds=round(rng.uniform(300, min(6 * 3600, max_delay.total_seconds()))))


def _ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class DayBuilder:
    """Draws one day of one persona; deterministic in (seed, profile id, day)."""

    def __init__(self, persona: Persona, day: date, *, seed: int, max_delay: timedelta, late_fraction: float):
        self.p = persona
        self.day = day
        self.seed = seed
        self.rng = random.Random(f"day:{seed}:{persona.profile_id}:{day.isoformat()}")
        self.tz = timezone(persona.utc_offset)
        self.start = datetime.combine(day, time(0), self.tz)
        self.end = self.start + DAY - LAST_MS
        self.max_delay = max_delay
        self.late_fraction = late_fraction
        self.records: list[Timed] = []
        self.created: datetime | None = None  # createdAtUtc of the group being drawn: when it became available

    def build(self) -> tuple[list[Timed], DaySummary | None]:
        if self.rng.random() > self.p.wear_rate:
            return [], None
        weekend = self.day.weekday() >= 5
        bedtime = self.p.bedtime_hour + (self.p.weekend_shift_hours if weekend else 0.0) + self.rng.gauss(0, 0.5)
        sleep_min, sleep_end = self._sleep(bedtime, weekend)
        steps = self._activity(weekend, sleep_min)
        self._vitals(sleep_min)
        day_ready = self.start + DAY + _delay(self.rng, self.max_delay, self.late_fraction)
        self._scores(sleep_min, steps, bedtime, self._ready_at(day_ready))
        summary = DaySummary(self.day, steps, sleep_min, bedtime, max(day_ready, sleep_end))
        return self.records, summary

    def _bio(
        self,
        category: str,
        type_: str,
        value: str,
        unit: str,
        value_type: str,
        *,
        session: tuple[datetime, datetime] | None = None,
        aggregation: str = "total",
    ) -> Biomarker:
        start, end = session or (self.start, self.end)
        return Biomarker(
            user_id=self.p.profile_id,
            sahha_profile_id=self.p.sahha_profile_id,
            sahha_id=stable_uuid("biomarker", self.seed, self.p.profile_id, type_, self.day),
            category=category,
            type=type_,
            value=value,
            unit=unit,
            value_type=value_type,
            start_date_time=start,
            end_date_time=end,
            created_at_utc=self.created,
            periodicity="daily" if session is None else "intraday",
            aggregation="none" if session is not None else aggregation,
        )

    def _ready_at(self, ready: datetime) -> datetime:
        """Start a group of records that become available at ``ready``."""
        self.created = _ms(ready.astimezone(UTC))
        return ready

    def _add(self, ready: datetime, *records: Biomarker | Score) -> None:
        self.records.extend(Timed(record, ready) for record in records)

    def _sleep(self, bedtime: float, weekend: bool) -> tuple[int, datetime]:
        r = self.rng
        asleep_at = self.start - DAY + timedelta(seconds=round(bedtime * 3600))
        in_bed = max(240, round(r.gauss(self.p.sleep_need_hours * 60 + (35 if weekend else 0), 45)))
        awake = round(r.uniform(5, 40))
        latency = round(r.uniform(4, 30))
        asleep = in_bed - awake
        deep = round(asleep * r.uniform(0.13, 0.23))
        rem = round(asleep * r.uniform(0.18, 0.26))
        woke_at = asleep_at + timedelta(minutes=in_bed)
        ready = self._ready_at(woke_at + _delay(r, self.max_delay, self.late_fraction))
        session = (asleep_at, woke_at)
        self._add(
            ready,
            self._bio("sleep", "sleep_start_time", _local(asleep_at), "datetime", "datetime", session=session),
            self._bio("sleep", "sleep_end_time", _local(woke_at), "datetime", "datetime", session=session),
            self._bio("sleep", "sleep_duration", str(asleep), "minute", "integer"),
            self._bio("sleep", "sleep_in_bed_duration", str(in_bed), "minute", "integer"),
            self._bio("sleep", "sleep_awake_duration", str(awake), "minute", "integer"),
            self._bio("sleep", "sleep_latency", str(latency), "minute", "integer"),
            self._bio("sleep", "sleep_deep_duration", str(deep), "minute", "integer"),
            self._bio("sleep", "sleep_rem_duration", str(rem), "minute", "integer"),
            self._bio("sleep", "sleep_light_duration", str(asleep - deep - rem), "minute", "integer"),
            self._bio("sleep", "sleep_interruptions", str(r.randint(0, 6)), "count", "integer"),
            self._bio("sleep", "sleep_efficiency", f"{100.0 * asleep / in_bed:.1f}", "percent", "double"),
        )
        return asleep, ready

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
        ready = self._ready_at(self.start + DAY + _delay(r, self.max_delay, self.late_fraction))
        self._add(
            ready,
            self._bio("activity", "steps", str(steps), "count", "integer"),
            self._bio("activity", "active_hours", str(active_hours), "hour", "integer"),
            self._bio("activity", "activity_low_intensity_duration", str(low), "minute", "integer"),
            self._bio("activity", "activity_mid_intensity_duration", str(mid), "minute", "integer"),
            self._bio("activity", "activity_high_intensity_duration", str(high), "minute", "integer"),
            self._bio("activity", "activity_sedentary_duration", str(sedentary), "minute", "integer"),
            self._bio("activity", "active_energy_burned", f"{energy:.1f}", "kcal", "double"),
        )
        return steps

    def _vitals(self, sleep_min: int) -> None:
        r = self.rng
        strain = 2.0 if sleep_min < 380 else 0.0
        rhr = self.p.resting_hr + strain + r.gauss(0, 1.6)
        hrv = max(8.0, self.p.hrv_rmssd - 3.0 * strain + r.gauss(0, 6.0))
        ready = self._ready_at(self.start + DAY + _delay(r, self.max_delay, self.late_fraction))
        self._add(
            ready,
            self._bio("vitals", "heart_rate_resting", f"{rhr:.1f}", "bpm", "double", aggregation="average"),
            self._bio("vitals", "heart_rate_variability_rmssd", f"{hrv:.1f}", "ms", "double", aggregation="average"),
        )

    def _scores(self, sleep_min: int, steps: int, bedtime: float, ready: datetime) -> None:
        regularity = max(0.0, 100.0 - abs(bedtime - self.p.bedtime_hour) * 40.0)
        sleep = [
            _factor("sleep_duration", sleep_min, 480, "minute"),
            _factor("sleep_regularity", round(regularity, 1), 80, "index"),
        ]
        activity = [
            _factor("steps", steps, 7500, "count"),
            _factor("active_hours", min(16, round(steps / 900)), 10, "hour"),
        ]
        readiness = [
            _factor("resting_heart_rate", round(self.p.resting_hr, 1), 60, "bpm", lower_is_better=True),
            _factor("heart_rate_variability", round(self.p.hrv_rmssd, 1), 60, "ms"),
            sleep[0],
        ]
        groups = {
            "sleep": sleep,
            "activity": activity,
            "readiness": readiness,
            "wellbeing": [sleep[0], activity[0], readiness[0]],
            "mental_wellbeing": [sleep[1], activity[1]],
        }
        self._add(ready, *(self._score(kind, factors) for kind, factors in groups.items()))

    def _score(self, kind: str, factors: list[ScoreFactor]) -> Score:
        value = round(sum(f.score or 0.0 for f in factors) / len(factors), 2)
        return Score(
            user_id=self.p.profile_id,
            sahha_profile_id=self.p.sahha_profile_id,
            sahha_id=stable_uuid("score", self.seed, self.p.profile_id, kind, self.day),
            type=kind,
            score=value,
            state=score_state(value),
            factors=tuple(factors),
            data_sources=self.p.data_sources,
            score_date_time=self.start,
            created_at_utc=self.created,
        )


def _factor(name: str, value: float, goal: float, unit: str, *, lower_is_better: bool = False) -> ScoreFactor:
    ratio = goal / value if lower_is_better and value else value / goal
    score = round(max(0.0, min(1.0, ratio)), 2)
    return ScoreFactor(
        name=name, value=float(value), goal=float(goal), score=score, state=score_state(score), unit=unit
    )


def _local(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")
