"""Local days: which day of the user's own calendar a record, a score or a night belongs to.

A record belongs to the local date at the middle of its window, read in the offset of the window's end: an
activity day (00:00 → 23:59:59) to its date, a Sahha sleep day (18:00 → 17:59:59 the next day) to the morning
it ends on, a sleep bout to the date of its middle. The offsets are the ones Sahha sent, so a day never shifts
with the server's time zone.

A date can happen twice: after a flight west across the date line (Tokyo → Los Angeles) the same local date
starts again, and Sahha sends a second day record of the same type for it, in the new offset. The calendar then
keeps them as two days (``repeat`` 0 and 1, in the order they happened), so neither record is lost. Offsets that
differ from one day to the next (travel, daylight saving) are kept as a data-quality fact.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise

# Two day records of one type on one date whose offsets differ by more than this are two different days.
SAME_DAY_OFFSETS = timedelta(hours=2)


@dataclass(frozen=True, slots=True, order=True)
class LocalDay:
    """A day of the user's local calendar; ``repeat`` is 1 for the second day that had the same date."""

    date: date
    repeat: int = 0

    @property
    def position(self) -> float:
        """Days on a line, for trends: a repeated date lies half a day after its namesake."""
        return self.date.toordinal() + 0.5 * self.repeat

    def label(self) -> str:
        return self.date.isoformat() if not self.repeat else f"{self.date.isoformat()} (again)"


@dataclass(frozen=True, slots=True)
class Stamp:
    """What the calendar is told about one record: its stream (a record type), local date and UTC offset."""

    stream: str
    date: date
    offset: timedelta


def window_stamp(stream: str, start: datetime, end: datetime) -> Stamp:
    """The stamp of a record over ``[start, end]``: the date at its middle, on the clock of its end."""
    middle = (start + (end - start) / 2).astimezone(end.tzinfo)
    return Stamp(stream, middle.date(), end.utcoffset() or timedelta(0))


def moment_stamp(stream: str, moment: datetime) -> Stamp:
    return Stamp(stream, moment.date(), moment.utcoffset() or timedelta(0))


class Calendar:
    """The local days of a set of stamps; ``day(date, offset)`` places any record on one of them."""

    def __init__(self, stamps: Iterable[Stamp]) -> None:
        seen = list(stamps)
        self._repeats = _repeated_offsets(seen)
        offsets: dict[LocalDay, Counter[timedelta]] = defaultdict(Counter)
        for stamp in seen:
            offsets[self.day(stamp.date, stamp.offset)][stamp.offset] += 1
        self.days: tuple[LocalDay, ...] = tuple(sorted(offsets))
        self.offsets = {
            day: max(sorted(counts.items()), key=lambda item: item[1])[0] for day, counts in offsets.items()
        }

    def day(self, on: date, offset: timedelta) -> LocalDay:
        offsets = self._repeats.get(on)
        if offsets is None:
            return LocalDay(on)
        nearest = min(range(len(offsets)), key=lambda i: abs(offsets[i] - offset))
        return LocalDay(on, nearest)

    def stamp_day(self, stamp: Stamp) -> LocalDay:
        return self.day(stamp.date, stamp.offset)

    @property
    def repeated_dates(self) -> tuple[date, ...]:
        return tuple(sorted(self._repeats))

    def offset_changes(self) -> tuple[tuple[date, timedelta, timedelta], ...]:
        """``(date, offset before, offset after)`` for each day whose offset differs from the day before."""
        changes = []
        for earlier, later in pairwise(self.days):
            before, after = self.offsets[earlier], self.offsets[later]
            if before != after:
                changes.append((later.date, before, after))
        return tuple(changes)


def _repeated_offsets(stamps: list[Stamp]) -> dict[date, list[timedelta]]:
    """For each date that happened twice: the offsets of its occurrences, the earliest occurrence first.

    A date repeats when one stream has stamps on it whose offsets lie more than ``SAME_DAY_OFFSETS`` apart.
    A larger offset starts the same date earlier, so the occurrences are ordered by offset, largest first.
    """
    per_stream: dict[tuple[str, date], set[timedelta]] = defaultdict(set)
    for stamp in stamps:
        per_stream[stamp.stream, stamp.date].add(stamp.offset)
    repeats: dict[date, list[timedelta]] = {}
    for (_, on), offsets in sorted(per_stream.items()):
        clusters: list[timedelta] = []
        for offset in sorted(offsets, reverse=True):
            if not clusters or clusters[-1] - offset > SAME_DAY_OFFSETS:
                clusters.append(offset)
        if len(clusters) > 1 and len(clusters) > len(repeats.get(on, [])):
            repeats[on] = clusters
    return repeats


def day_number(day: LocalDay, first: date) -> str:
    """``"1"`` for ``first``, counting calendar days; the second occurrence of a repeated date gets a ``b``."""
    number = (day.date - first).days + 1
    return f"{number}b" if day.repeat else str(number)
