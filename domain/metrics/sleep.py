"""Nights of sleep from ``sleep_start_time`` / ``sleep_end_time`` biomarkers, in the user's local time.

Each of those biomarkers carries its moment as an ISO datetime with the user's local offset in ``value``;
when the value cannot be read, the record's own time stands in (its start for a sleep start, its end for a
sleep end). Every end is paired with the latest unused start before it, at most ``MAX_NIGHT`` earlier. A
night belongs to the local date on which the user woke; when one date has several sleeps (a nap), the
longest is the main sleep.

Clock times are read in the offset each moment was sent with, so a night in another time zone keeps its
local clock times. The midpoint is the moment halfway between onset and wake (in elapsed time, so a
daylight-saving change during the night is measured correctly), read on the wake-up clock.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sahha_sync.domain.health import Biomarker
from sahha_sync.domain.metrics.days import is_weekend

SLEEP_START = "sleep_start_time"
SLEEP_END = "sleep_end_time"
MAX_NIGHT = timedelta(hours=18)


def clock_hour(moment: datetime) -> float:
    return moment.hour + moment.minute / 60 + moment.second / 3600 + moment.microsecond / 3.6e9


@dataclass(frozen=True, slots=True)
class Night:
    """One main sleep: ``onset`` and ``wake`` are aware datetimes in the offsets they were sent with."""

    onset: datetime
    wake: datetime

    @property
    def wake_date(self) -> date:
        return self.wake.date()

    @property
    def duration_hours(self) -> float:
        return (self.wake - self.onset).total_seconds() / 3600

    @property
    def midpoint(self) -> datetime:
        return (self.onset + (self.wake - self.onset) / 2).astimezone(self.wake.tzinfo)

    @property
    def onset_hour(self) -> float:
        return clock_hour(self.onset)

    @property
    def wake_hour(self) -> float:
        return clock_hour(self.wake)

    @property
    def midpoint_hour(self) -> float:
        return clock_hour(self.midpoint)

    @property
    def free_day(self) -> bool:
        """A sleep that ends on a Saturday or Sunday: the night before a free day (MCTQ's free-day sleep)."""
        return is_weekend(self.wake_date)


def _moment(record: Biomarker, *, use_end: bool) -> datetime:
    try:
        parsed = datetime.fromisoformat(record.value.strip())
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None or parsed.utcoffset() is None:
        return record.end_date_time if use_end else record.start_date_time
    return parsed


def _unique(moments: list[datetime]) -> list[datetime]:
    """Sorted, one per instant (the same instant sent twice in two offsets keeps the smaller offset)."""
    unique: dict[datetime, datetime] = {}
    for moment in sorted(moments, key=lambda m: (m, m.utcoffset())):
        unique.setdefault(moment, moment)
    return list(unique.values())


def _pair(starts: list[datetime], ends: list[datetime]) -> list[Night]:
    """Each end with the latest unused start before it (at most ``MAX_NIGHT`` earlier); both lists sorted."""
    nights: list[Night] = []
    first_unused = 0
    for wake in ends:
        latest = bisect_left(starts, wake, lo=first_unused) - 1
        if latest < first_unused or wake - starts[latest] > MAX_NIGHT:
            continue
        nights.append(Night(starts[latest], wake))
        first_unused = latest + 1
    return nights


def nights_from(biomarkers: Iterable[Biomarker]) -> tuple[Night, ...]:
    """The main sleep of each night, ordered by wake date."""
    starts: list[datetime] = []
    ends: list[datetime] = []
    for record in biomarkers:
        if record.type == SLEEP_START:
            starts.append(_moment(record, use_end=False))
        elif record.type == SLEEP_END:
            ends.append(_moment(record, use_end=True))
    main: dict[date, Night] = {}
    for night in _pair(_unique(starts), _unique(ends)):
        current = main.get(night.wake_date)
        if current is None or night.duration_hours > current.duration_hours:
            main[night.wake_date] = night
    return tuple(main[day] for day in sorted(main))
