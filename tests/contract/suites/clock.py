"""``ClockContract``: the time is timezone-aware UTC and does not run backwards."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sahha_sync.application.ports.clock import Clock


class ClockContract:
    """Override ``clock`` to return the adapter under test."""

    @pytest.fixture
    def clock(self) -> Clock:
        raise NotImplementedError("override the 'clock' fixture to return the Clock under test")

    def test_now_is_timezone_aware_utc(self, clock: Clock) -> None:
        now = clock.now()
        assert now.tzinfo is not None
        assert now.utcoffset() == timedelta(0)

    def test_now_never_runs_backwards(self, clock: Clock) -> None:
        readings = [clock.now() for _ in range(100)]
        assert readings == sorted(readings)

    def test_the_clock_is_a_clock(self, clock: Clock) -> None:
        assert isinstance(clock, Clock)
