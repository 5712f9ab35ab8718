"""One limiter per client: at most ``max_concurrency`` requests in flight, starts at least ``min_interval``
apart, and a shared hold when the server says ``Retry-After``. Given the account's ``RateBudget``, the starts
come from the schedule every process shares (``SharedTurns``), and a hold pauses every process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from sahha_sync.adapters.sahha.shared_turns import BATCH_SPAN, REJOIN_AFTER, SharedTurns
from sahha_sync.application.ports.rate_budget import RateBudget, Usage

Sleep = Callable[[float], Awaitable[None]]


class RequestLimiter:
    """Callers book turns ``min_interval`` apart in order of arrival (first come, first served), so the
    n-th request never starts before ``n * min_interval`` after the first one: the rate a server's limit
    counts is honoured exactly. Booking ahead keeps a caller that wakes late (the event loop was busy
    parsing) from delaying every later turn; the next start may then follow it sooner, but never less
    than ``min_gap`` (half the spacing by default) after it.

    With a ``budget``, the turns are starts reserved from the account's schedule, which every process with a
    budget for the account shares; while the budget cannot be reached, turns are booked here again, spaced for
    this process's share of the rate (see ``SharedTurns``)."""

    def __init__(
        self,
        min_interval: float,
        max_concurrency: int,
        *,
        sleep: Sleep,
        monotonic: Callable[[], float],
        min_gap: float | None = None,
        budget: RateBudget | None = None,
        batch_span: float = BATCH_SPAN,
        rejoin_after: float = REJOIN_AFTER,
    ) -> None:
        if min_interval < 0:
            raise ValueError("min_interval must not be negative")
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.min_interval = min_interval
        self._gap_share = 0.5 if min_gap is None or not min_interval else min(min_gap, min_interval) / min_interval
        self.min_gap = min_interval * self._gap_share
        self.max_concurrency = max_concurrency
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._sleep = sleep
        self._monotonic = monotonic
        self._next = 0.0
        self._last_start = float("-inf")
        self._hold_until = 0.0
        self._waiting = 0
        self.shared = (
            None
            if budget is None
            else SharedTurns(budget, monotonic=monotonic, batch_span=batch_span, rejoin_after=rejoin_after)
        )

    def hold(self, seconds: float) -> None:
        """No request of this client starts in the next ``seconds`` (the server's ``Retry-After``)."""
        self._hold_until = max(self._hold_until, self._monotonic() + seconds)
        if self.shared is not None:
            self.shared.pause(seconds, self._hold_until)

    def report_failure(self, kind: str) -> None:
        """Count a failed attempt of ``kind`` where the account's figures need it (429s, with a budget)."""
        if self.shared is not None and kind == "rate_limited":
            self.shared.count(Usage(rate_limited=1))

    def slow_down(self, factor: float = 1.1, ceiling: float = 10.0) -> float:
        """Space requests ``factor`` times wider (a 429 says the spacing was too tight); returns the spacing.

        A spacing of 0 (off) stays off: without a spacing there is nothing to widen, and holds still apply.
        """
        self.min_interval = min(self.min_interval * factor, max(ceiling, self.min_interval))
        self.min_gap = self.min_interval * self._gap_share
        return self.min_interval

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self._turn()
        try:
            if self.shared is not None:
                self.shared.count(Usage(requests=1))
            yield
        finally:
            self._semaphore.release()

    async def _turn(self) -> None:
        """A place among ``max_concurrency`` (kept until ``slot`` ends) and this caller's turn to start."""
        self._waiting += 1
        try:
            await self._semaphore.acquire()
            try:
                await self._wait_turn()
            except BaseException:
                self._semaphore.release()
                raise
        finally:
            self._waiting -= 1

    async def _shared_turn(self) -> float | None:
        """A start reserved from the budget once any hold is over; None without a budget or while it cannot be
        reached (the turn is then booked here)."""
        if self.shared is None:
            return None
        if (hold := self._hold_until - self._monotonic()) > 0:
            await self._sleep(hold)  # starts reserved after the hold begin after the account's pause
        return await self.shared.take(self.min_interval, self._waiting)

    def _local_spacing(self) -> float:
        if self.shared is None or not self.shared.degraded:
            return self.min_interval
        return self.min_interval / self.shared.fallback_share

    async def _wait_turn(self) -> None:
        while True:
            turn = await self._shared_turn()
            now = self._monotonic()
            if turn is None:  # no budget, or it cannot be reached: book the turn here
                turn = max(now, self._next, self._hold_until)
                self._next = turn + self._local_spacing()
            if turn > now:
                await self._sleep(turn - now)
            if self._hold_until > turn:
                continue  # the server asked for a pause while this caller waited: book again after it
            while (gap := self._last_start + self.min_gap - self._monotonic()) > 0:
                await self._sleep(gap)
            self._last_start = self._monotonic()
            return
