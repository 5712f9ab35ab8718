"""Clocks: the system's UTC time, and a manual clock that tests move by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sahha_sync.application.ports.clock import Clock
from sahha_sync.domain.errors import InvalidInputError


def _require_aware(moment: datetime, field: str) -> None:
    if not isinstance(moment, datetime):
        raise InvalidInputError(f"{field} must be a datetime, got {type(moment).__name__}", field=field)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInputError(f"{field} must be timezone-aware, got a naive datetime", field=field)


class SystemClock(Clock):
    """The current time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock(Clock):
    """A clock that stands still until told to move: ``advance(delta)`` or ``set(moment)``.

    ``now()`` is always in UTC, whatever offset ``start`` or ``set`` were given in.
    """

    def __init__(self, start: datetime) -> None:
        _require_aware(start, "start")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` (never backwards: use ``set`` for that); returns the new time."""
        if delta < timedelta(0):
            raise InvalidInputError("a clock advances by a non-negative delta; use set() to go back", field="delta")
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> datetime:
        """Jump to ``moment`` (timezone-aware); returns the new time."""
        _require_aware(moment, "moment")
        self._now = moment.astimezone(UTC)
        return self._now
