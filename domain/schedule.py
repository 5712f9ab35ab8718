"""Which days are work days and which are free: MCTQ's work-day / free-day split, and behaviour by kind of day.

A night counts as a free-day night when the day the user wakes on is free (Sahha files a night under the
morning it ends on). With the default schedule, work days Monday to Friday, the nights before Saturday and
Sunday are the free-day nights, as the Munich ChronoType Questionnaire defines them for a Monday-Friday worker.
A host that knows better (a Monday-Wednesday worker, holidays, a Saturday shift) passes its own schedule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sahha_sync.domain.errors import InvalidInputError

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONDAY_TO_FRIDAY = frozenset(range(5))


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkSchedule:
    """Work days by weekday (``date.weekday()`` numbers, 0 = Monday), with dated exceptions either way.

    ``free_dates`` are free whatever their weekday (holidays, leave); ``work_dates`` are work days whatever
    their weekday (a Saturday shift). ``workdays`` also gives MCTQ's number of work days a week.
    """

    workdays: frozenset[int] = MONDAY_TO_FRIDAY
    free_dates: frozenset[date] = field(default_factory=frozenset)
    work_dates: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        workdays, free, work = frozenset(self.workdays), frozenset(self.free_dates), frozenset(self.work_dates)
        if not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in workdays):
            raise InvalidInputError("workdays must be weekday numbers 0 (Monday) to 6 (Sunday)", field="workdays")
        if not all(isinstance(d, date) for d in free | work):
            raise InvalidInputError("free_dates and work_dates must be dates", field="free_dates")
        if free & work:
            raise InvalidInputError("a date cannot be both a free date and a work date", field="work_dates")
        object.__setattr__(self, "workdays", workdays)
        object.__setattr__(self, "free_dates", free)
        object.__setattr__(self, "work_dates", work)

    @classmethod
    def of_days(
        cls, names: Iterable[str], *, free_dates: Iterable[date] = (), work_dates: Iterable[date] = ()
    ) -> WorkSchedule:
        """From weekday names or their first three letters: ``WorkSchedule.of_days(["mon", "tue", "wed"])``."""
        numbers: set[int] = set()
        for name in names:
            text = name.strip().lower()
            match = [i for i, day in enumerate(DAY_NAMES) if len(text) >= 3 and day.lower().startswith(text)]
            if not match:
                raise InvalidInputError(f"{name!r} is not a day of the week", field="workdays")
            numbers.add(match[0])
        return cls(workdays=frozenset(numbers), free_dates=frozenset(free_dates), work_dates=frozenset(work_dates))

    def is_free(self, day: date) -> bool:
        if day in self.free_dates:
            return True
        if day in self.work_dates:
            return False
        return day.weekday() not in self.workdays

    @property
    def workdays_per_week(self) -> int:
        return len(self.workdays)

    def describe(self) -> str:
        """``work days Monday to Friday; free days Saturday and Sunday`` (with the dated exceptions counted)."""
        work = [i for i in range(7) if i in self.workdays]
        free = [i for i in range(7) if i not in self.workdays]
        text = f"work days {_names(work)}; free days {_names(free)}"
        extra = len(self.free_dates) + len(self.work_dates)
        return text + (f" ({extra} dated exception{'s' if extra != 1 else ''})" if extra else "")


def _names(days: list[int]) -> str:
    if not days:
        return "none"
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return f"{DAY_NAMES[days[0]]} to {DAY_NAMES[days[-1]]}"
    names = [DAY_NAMES[d] for d in days]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


DEFAULT_SCHEDULE = WorkSchedule()
