"""A compact digest of the data: one row of key figures per local day, for a prompt (never the raw payload).

Days are numbered from the first day with data (``1``) and carry their weekday and kind (``W`` work day, ``F``
free day, by the schedule), never their calendar date. The columns follow the analysis type: activity for a
behaviour analysis; sleep, mid-sleep, efficiency and resting heart rate for a circadian one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sahha_sync.domain.metrics.days import LocalDay, day_number
from sahha_sync.domain.metrics.model import format_clock
from sahha_sync.domain.metrics.sleep import Night
from sahha_sync.domain.schedule import WorkSchedule

MISSING = "-"
LEADING = ("day", "dow", "kind")
BEHAVIOR_COLUMNS = ("steps", "active_h", "sedentary_min", "intensity_min", "act_sc", "ready_sc", "well_sc")
CIRCADIAN_COLUMNS = ("sleep_h", "mid", "sleep_eff", "rhr", "sleep_sc", "ready_sc", "mental_sc")
Cell = Callable[[LocalDay], str]


@dataclass(frozen=True, slots=True)
class Digest:
    """Rows of text cells under ``columns``, oldest day first; ``-`` marks a missing figure."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def newest(self, count: int) -> Digest:
        """The newest ``count`` days only (a prompt's budget may not hold them all)."""
        return Digest(self.columns, self.rows[-count:] if count > 0 else ())

    def to_text(self) -> str:
        return "\n".join(" ".join(row) for row in (self.columns, *self.rows))

    def to_dict(self) -> dict[str, Any]:
        return {"columns": list(self.columns), "rows": [list(row) for row in self.rows]}


def number_cell(series: Mapping[LocalDay, float], decimals: int = 0, scale: float = 1.0) -> Cell:
    def cell(day: LocalDay) -> str:
        value = series.get(day)
        return MISSING if value is None else f"{value * scale:.{decimals}f}"

    return cell


def mid_sleep_cell(nights: Mapping[LocalDay, Night]) -> Cell:
    def cell(day: LocalDay) -> str:
        night = nights.get(day)
        return MISSING if night is None else format_clock(night.midpoint_hour)

    return cell


def build_digest(days: Sequence[LocalDay], cells: Mapping[str, Cell], schedule: WorkSchedule) -> Digest:
    """One row per day in ``days`` with a cell per column of ``cells`` (after day, weekday and kind)."""
    if not days:
        return Digest((*LEADING, *cells), ())
    first = days[0].date
    rows = tuple(
        (
            day_number(day, first),
            day.date.strftime("%a"),
            "F" if schedule.is_free(day.date) else "W",
            *(cell(day) for cell in cells.values()),
        )
        for day in days
    )
    return Digest((*LEADING, *cells), rows)
