"""Main sleeps ("nights") from Sahha's sleep clock times, in the user's local time.

Two shapes of data are read:

- **Sahha's sleep days**: ``sleep_start_time``, ``sleep_end_time`` and ``sleep_mid_time`` records whose window
  is the sleep day (18:00 of the evening before to 17:59:59, in the user's offset) and whose ``value`` is the
  moment (``2025-07-11T06:00+12:00``), ``daily`` or ``intraday``. Each window gives one main sleep, filed under
  the day the window ends on; Sahha's own mid-sleep is used when sent.
- **Sleep bouts**: ``sleep_start_time`` / ``sleep_end_time`` records whose window is the bout itself. Every end
  is paired with the latest unused start before it (at most ``MAX_NIGHT`` earlier); a value that cannot be read
  gives way to the record's own time. Bouts less than ``MERGE_GAP`` apart are one sleep period (a night with a
  spell awake): it runs from the first onset to the last wake, and its time asleep is the bouts' sum. A period
  belongs to the sleep day whose 18:00 window holds its onset. The main sleep of a day is its longest period at
  night; a period in the daytime (its middle between 12:00 and 20:00) is the main sleep only on a day without
  a night period, and is then marked ``daytime`` (as in shift work). A main sleep lasts at least
  ``MIN_MAIN_SLEEP``. The other periods are naps: left out of sleep timing, and counted.

Clock times are read in the offset each moment was sent with, so a night in another time zone keeps its local
clock times. The computed midpoint is halfway between onset and wake in elapsed time (so a daylight-saving
change during the night is measured correctly), read on the wake-up clock.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sahha_sync.domain.health import Biomarker

SLEEP_START = "sleep_start_time"
SLEEP_END = "sleep_end_time"
SLEEP_MID = "sleep_mid_time"
SLEEP_TIME_TYPES = frozenset({SLEEP_START, SLEEP_END, SLEEP_MID})
MAX_NIGHT = timedelta(hours=18)
MERGE_GAP = timedelta(hours=1)
MIN_MAIN_SLEEP = timedelta(hours=2)
DAY_WINDOW = timedelta(hours=20)  # a sleep-time record whose window is this long is a whole sleep day
SLEEP_DAY_SHIFT = timedelta(hours=6)  # a sleep day runs 18:00 to 18:00: onset + 6 h falls on its date
DAYTIME_HOURS = (12.0, 20.0)


def clock_hour(moment: datetime) -> float:
    return moment.hour + moment.minute / 60 + moment.second / 3600 + moment.microsecond / 3.6e9


@dataclass(frozen=True, slots=True)
class Night:
    """One main sleep: ``onset`` and ``wake`` are aware datetimes in the offsets they were sent with.

    ``mid`` is Sahha's own mid-sleep when it sent one; ``asleep_hours`` the time asleep when the sleep was
    several bouts (else the span); ``sleep_date`` the day Sahha filed it under (else the day its onset's
    18:00 window ends on).
    """

    onset: datetime
    wake: datetime
    mid: datetime | None = None
    asleep_hours: float | None = None
    daytime: bool = False
    sleep_date: date | None = None

    @property
    def day(self) -> date:
        return self.sleep_date if self.sleep_date is not None else (self.onset + SLEEP_DAY_SHIFT).date()

    @property
    def offset(self) -> timedelta:
        return self.wake.utcoffset() or timedelta(0)

    @property
    def duration_hours(self) -> float:
        """Sleep onset to sleep end (MCTQ's sleep duration, ``SD = SE - SO``), in elapsed hours."""
        return (self.wake - self.onset).total_seconds() / 3600

    @property
    def asleep(self) -> float:
        return self.duration_hours if self.asleep_hours is None else self.asleep_hours

    @property
    def midpoint(self) -> datetime:
        if self.mid is not None:
            return self.mid
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


@dataclass(frozen=True, slots=True)
class SleepLog:
    """The main sleeps, oldest first, and how many other sleeps (naps) were left out."""

    nights: tuple[Night, ...]
    naps: int = 0


def _parsed(record: Biomarker) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(record.value.strip())
    except ValueError:
        return None
    return parsed if parsed.utcoffset() is not None else None


def _is_day_window(record: Biomarker) -> bool:
    return record.end_date_time - record.start_date_time >= DAY_WINDOW


def _window_nights(records: list[Biomarker]) -> list[Night]:
    """One night per Sahha sleep-day window that has a readable start and end (daily forms win)."""
    windows: dict[tuple[datetime, datetime], dict[str, datetime]] = defaultdict(dict)
    for record in sorted(records, key=lambda r: r.periodicity.lower() == "daily"):
        moment = _parsed(record)
        if moment is not None:
            windows[record.start_date_time, record.end_date_time][record.type] = moment
    nights = []
    for (_, window_end), moments in windows.items():
        onset, wake, mid = moments.get(SLEEP_START), moments.get(SLEEP_END), moments.get(SLEEP_MID)
        if onset is None or wake is None or not timedelta(0) < wake - onset <= MAX_NIGHT:
            continue
        if mid is not None and not onset <= mid <= wake:
            mid = None
        night = Night(onset, wake, mid, sleep_date=window_end.date())
        nights.append(replace(night, daytime=_daytime(night)))
    return nights


def _moment(record: Biomarker, *, use_end: bool) -> datetime:
    parsed = _parsed(record)
    if parsed is None:
        return record.end_date_time if use_end else record.start_date_time
    return parsed


def _unique(moments: list[datetime]) -> list[datetime]:
    """Sorted, one per instant (the same instant sent twice in two offsets keeps the smaller offset)."""
    unique: dict[datetime, datetime] = {}
    for moment in sorted(moments, key=lambda m: (m, m.utcoffset())):
        unique.setdefault(moment, moment)
    return list(unique.values())


def _pair(starts: list[datetime], ends: list[datetime]) -> list[tuple[datetime, datetime]]:
    """Each end with the latest unused start before it (at most ``MAX_NIGHT`` earlier); both lists sorted."""
    bouts: list[tuple[datetime, datetime]] = []
    first_unused = 0
    for wake in ends:
        latest = bisect_left(starts, wake, lo=first_unused) - 1
        if latest < first_unused or wake - starts[latest] > MAX_NIGHT:
            continue
        bouts.append((starts[latest], wake))
        first_unused = latest + 1
    return bouts


def _periods(bouts: list[tuple[datetime, datetime]]) -> list[Night]:
    """Bouts less than ``MERGE_GAP`` apart merged into sleep periods; time asleep is the bouts' union."""
    periods: list[tuple[datetime, datetime, timedelta, int]] = []
    for onset, wake in sorted(bouts):
        if periods and onset - periods[-1][1] <= MERGE_GAP:
            first, last, asleep, count = periods[-1]
            added = wake - max(onset, last) if wake > last else timedelta(0)
            periods[-1] = (first, max(last, wake), asleep + added, count + 1)
        else:
            periods.append((onset, wake, wake - onset, 1))
    return [
        Night(first, last, asleep_hours=None if count == 1 else asleep.total_seconds() / 3600)
        for first, last, asleep, count in periods
    ]


def _daytime(night: Night) -> bool:
    return DAYTIME_HOURS[0] <= night.midpoint_hour < DAYTIME_HOURS[1]


def _main_sleeps(periods: list[Night]) -> tuple[list[Night], int]:
    by_day: dict[date, list[Night]] = defaultdict(list)
    for period in periods:
        by_day[period.day].append(period)
    mains, naps = [], 0
    for day_periods in by_day.values():
        long_enough = [p for p in day_periods if p.wake - p.onset >= MIN_MAIN_SLEEP]
        at_night = [p for p in long_enough if not _daytime(p)]
        pool = at_night or long_enough
        if not pool:
            naps += len(day_periods)
            continue
        main = max(pool, key=lambda p: (p.duration_hours, p.onset))
        mains.append(replace(main, daytime=not at_night))
        naps += len(day_periods) - 1
    return mains, naps


def sleep_log(biomarkers: Iterable[Biomarker]) -> SleepLog:
    """The main sleep of each sleep day, oldest first, and the count of naps left out."""
    windows: list[Biomarker] = []
    starts: list[datetime] = []
    ends: list[datetime] = []
    for record in biomarkers:
        if record.type not in SLEEP_TIME_TYPES:
            continue
        if _is_day_window(record):
            windows.append(record)
        elif record.type == SLEEP_START:
            starts.append(_moment(record, use_end=False))
        elif record.type == SLEEP_END:
            ends.append(_moment(record, use_end=True))
    mains, naps = _main_sleeps(_periods(_pair(_unique(starts), _unique(ends))))
    chosen = {(n.day, n.offset): n for n in mains}
    chosen.update({(n.day, n.offset): n for n in _window_nights(windows)})  # Sahha's own sleep day wins
    return SleepLog(tuple(chosen[key] for key in sorted(chosen, key=lambda k: (k[0], -k[1]))), naps)


def nights_from(biomarkers: Iterable[Biomarker]) -> tuple[Night, ...]:
    """The main sleep of each sleep day, oldest first."""
    return sleep_log(biomarkers).nights
