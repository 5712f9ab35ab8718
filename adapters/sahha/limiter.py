"""One limiter per client: at most ``max_concurrency`` requests in flight, starts at least ``min_interval``
apart, and a shared hold when the server says ``Retry-After``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

Sleep = Callable[[float], Awaitable[None]]


class RequestLimiter:
    """Callers book turns ``min_interval`` apart in order of arrival (first come, first served), so the
    n-th request never starts before ``n * min_interval`` after the first one: the rate a server's limit
    counts is honoured exactly. Booking ahead keeps a caller that wakes late (the event loop was busy
    parsing) from delaying every later turn; the next start may then follow it sooner, but never less
    than ``min_gap`` (half the spacing by default) after it."""

    def __init__(
        self,
        min_interval: float,
        max_concurrency: int,
        *,
        sleep: Sleep,
        monotonic: Callable[[], float],
        min_gap: float | None = None,
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

    def hold(self, seconds: float) -> None:
        """No request of this client starts in the next ``seconds`` (the server's ``Retry-After``)."""
        self._hold_until = max(self._hold_until, self._monotonic() + seconds)

    def slow_down(self, factor: float = 1.1, ceiling: float = 10.0) -> float:
        """Space requests ``factor`` times wider (a 429 says the spacing was too tight); returns the spacing.

        A spacing of 0 (off) stays off: without a spacing there is nothing to widen, and holds still apply.
        """
        self.min_interval = min(self.min_interval * factor, max(ceiling, self.min_interval))
        self.min_gap = self.min_interval * self._gap_share
        return self.min_interval

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._semaphore:
            await self._wait_turn()
            yield

    async def _wait_turn(self) -> None:
        while True:
            now = self._monotonic()
            turn = max(now, self._next, self._hold_until)
            self._next = turn + self.min_interval
            if turn > now:
                await self._sleep(turn - now)
            if self._hold_until > turn:
                continue  # the server asked for a pause while this caller waited: book again after it
            while (gap := self._last_start + self.min_gap - self._monotonic()) > 0:
                await self._sleep(gap)
            self._last_start = self._monotonic()
            return
