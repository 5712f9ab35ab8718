"""Fetch windows and watermarks: which span of time a run asks Sahha for.

Rules (README.md, "What it promises": nothing lost):
- no watermark: the last ``initial_days`` days up to now;
- a watermark: from ``watermark - lookback`` up to now, because wearables deliver data late;
- the start never skips a window whose archival has not succeeded (``not_after``);
- a window longer than ``MAX_CHUNK`` is fetched in chunks of at most 30 days;
- a watermark never moves backwards (it is the latest of the runs' marks).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sahha_sync.domain._checks import require_aware
from sahha_sync.domain.errors import InvalidInputError

DEFAULT_LOOKBACK = timedelta(hours=48)
DEFAULT_INITIAL_DAYS = 7
MAX_CHUNK = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class FetchWindow:
    """The half-open span ``[start, end)``; both ends timezone-aware, ``start < end``."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        require_aware(self.start, "start", where="fetch window")
        require_aware(self.end, "end", where="fetch window")
        if not self.start < self.end:
            raise InvalidInputError("fetch window: start must be before end", field="start")

    @classmethod
    def last_days(cls, now: datetime, days: int) -> FetchWindow:
        if days <= 0:
            raise InvalidInputError(f"days must be positive, got {days}", field="days")
        return cls(now - timedelta(days=days), now)

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """Whether a record spanning ``[start, end]`` falls in this window: its span meets ``[self.start, self.end)``.

        This is what a fetch of the window returns: a daily biomarker of yesterday is fetched by a window that
        starts this morning only if it ends after the window's start. Selecting by span, not by start, is what
        lets the lookback catch records that arrive up to ``lookback`` after their span ended (a score's span is
        the day it describes). A record of one instant (``start == end``) falls in the window when
        ``self.start <= start < self.end``.
        """
        return start < self.end and (end > self.start or self.start <= start)

    def covers(self, other: FetchWindow) -> bool:
        return self.start <= other.start and other.end <= self.end

    def chunks(self, max_length: timedelta = MAX_CHUNK) -> Iterator[FetchWindow]:
        """Consecutive windows of at most ``max_length`` that together are exactly this window."""
        if max_length <= timedelta(0):
            raise InvalidInputError("chunk length must be positive", field="max_length")
        start = self.start
        while start < self.end:
            end = min(start + max_length, self.end)
            yield FetchWindow(start, end)
            start = end

    def to_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> FetchWindow:
        return cls(datetime.fromisoformat(data["start"]), datetime.fromisoformat(data["end"]))


@dataclass(frozen=True, slots=True)
class Watermark:
    """How far a user's data has been analysed: the end of the last analysed window (a run's
    ``analysis_timestamp``). Each run's mark is kept; the latest of them is the watermark, so it never moves
    backwards."""

    value: datetime

    def __post_init__(self) -> None:
        require_aware(self.value, "watermark")

    def fetch_start(self, now: datetime, lookback: timedelta) -> datetime:
        """Where an incremental fetch starts: ``lookback`` before the watermark, because wearables deliver data
        late (a watermark later than ``now`` counts as ``now``)."""
        return min(self.value, now) - lookback


@dataclass(frozen=True, slots=True)
class WindowPlan:
    window: FetchWindow
    is_incremental: bool


def plan_fetch_window(
    now: datetime,
    watermark: Watermark | None,
    *,
    lookback: timedelta = DEFAULT_LOOKBACK,
    initial_days: int = DEFAULT_INITIAL_DAYS,
    not_after: datetime | None = None,
) -> WindowPlan:
    """The window a run fetches.

    ``not_after`` is the start of the earliest window whose archival has not succeeded: the plan's start is
    never later than it, so no unsynced data is skipped.
    """
    require_aware(now, "now")
    if lookback < timedelta(0):
        raise InvalidInputError("lookback must not be negative", field="lookback")
    if initial_days <= 0:
        raise InvalidInputError(f"initial_days must be positive, got {initial_days}", field="initial_days")
    if watermark is None:
        start = now - timedelta(days=initial_days)
        incremental = False
    else:
        start = watermark.fetch_start(now, lookback)
        incremental = True
    if not_after is not None:
        require_aware(not_after, "not_after")
        start = min(start, not_after)
    if start >= now:
        start = now - max(lookback, timedelta(seconds=1))
    return WindowPlan(FetchWindow(start, now), incremental)
