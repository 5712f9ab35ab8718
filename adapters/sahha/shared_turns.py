"""Request starts drawn from the account's shared ``RateBudget``, a few at a time, for one ``RequestLimiter``.

A reservation books at most ``batch_span`` seconds of starts (and no more than the callers waiting), so a round
trip to the budget serves several requests and no process holds more than a moment of the schedule: processes
take turns, first come, first served. Requests started and 429s met are reported with the next reservation.

When the budget cannot be reached, ``take`` answers None and the limiter spaces requests itself at this
process's share of the rate: the account's rate divided by the processes that drew from the budget in the last
minute (as the last reservation counted them; two when it never reached the budget). One ``sahha.rate_budget_degraded``
line says so; every ``rejoin_after`` seconds one caller tries the budget again, and ``sahha.rate_budget_rejoined``
says when it answered.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable

from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.rate_budget import NO_USAGE, RateBudget, RateBudgetError, Usage

logger = get_logger(__name__)

BATCH_SPAN = 0.25
MAX_BATCH = 32
REJOIN_AFTER = 5.0
UNKNOWN_PROCESSES = 2


class SharedTurns:
    """The starts this process reserved from ``budget`` and has not used yet, on the ``monotonic`` clock."""

    def __init__(
        self,
        budget: RateBudget,
        *,
        monotonic: Callable[[], float],
        batch_span: float = BATCH_SPAN,
        rejoin_after: float = REJOIN_AFTER,
    ) -> None:
        self._budget = budget
        self._monotonic = monotonic
        self._batch_span = batch_span
        self._rejoin_after = rejoin_after
        self._starts: deque[float] = deque()
        self._lock = asyncio.Lock()
        self._unreported = NO_USAGE
        self._degraded_since: float | None = None
        self._retry_at = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        self.processes: int | None = None

    @property
    def degraded(self) -> bool:
        return self._degraded_since is not None

    @property
    def fallback_share(self) -> float:
        """The share of the account's rate this process keeps to while the budget cannot be reached."""
        return 1.0 / max(self.processes or UNKNOWN_PROCESSES, 1)

    def count(self, used: Usage) -> None:
        self._unreported += used

    async def take(self, spacing: float, demand: int) -> float | None:
        """The moment (``monotonic``) of the caller's start, or None while the budget cannot be reached."""
        now = self._monotonic()
        while self._starts and self._starts[0] < now - max(self._batch_span, spacing):
            self._starts.popleft()  # left over by callers that gave up: too old to use now
        if self._starts:
            return self._starts.popleft()
        if self.degraded and (now < self._retry_at or self._lock.locked()):
            return None  # cut off, and not yet time to try again (or another caller is trying)
        async with self._lock:
            if not self._starts and not await self._reserve(spacing, demand):
                return None
            return self._starts.popleft()

    def pause(self, seconds: float, until: float) -> None:
        """Drop the starts before ``until`` (``monotonic``) and pause every process for ``seconds``."""
        self._starts = deque(start for start in self._starts if start >= until)
        used, self._unreported = self._unreported, NO_USAGE
        task = asyncio.get_running_loop().create_task(self._share_pause(seconds, used))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reserve(self, spacing: float, demand: int) -> bool:
        if self.degraded and self._monotonic() < self._retry_at:
            return False  # a caller that queued for the lock behind the try that failed
        span = math.floor(self._batch_span / spacing) if spacing > 0 else MAX_BATCH
        count = max(1, min(demand, span, MAX_BATCH))
        used, self._unreported = self._unreported, NO_USAGE
        try:
            grant = await self._budget.reserve(count, spacing, used)
        except RateBudgetError as exc:
            self._unreported += used
            self._fall_back(spacing, exc)
            return False
        except BaseException:
            self._unreported += used
            raise
        now = self._monotonic()
        if self._degraded_since is not None:
            logger.info("sahha.rate_budget_rejoined", degraded_s=round(now - self._degraded_since, 1))
            self._degraded_since = None
        self.processes = grant.processes
        self._starts.extend(now + grant.delay + n * grant.spacing for n in range(grant.count))
        return True

    def _fall_back(self, spacing: float, error: RateBudgetError) -> None:
        now = self._monotonic()
        self._retry_at = now + self._rejoin_after
        if self._degraded_since is not None:
            return
        self._degraded_since = now
        logger.warning(
            "sahha.rate_budget_degraded",
            processes=self.processes or UNKNOWN_PROCESSES,
            share=round(self.fallback_share, 3),
            spacing_ms=round(spacing / self.fallback_share * 1000, 2),
            retry_in_s=self._rejoin_after,
            reason=str(error),
        )

    async def _share_pause(self, seconds: float, used: Usage) -> None:
        try:
            await self._budget.pause(seconds, used)
        except RateBudgetError as exc:
            self._unreported += used
            logger.warning("sahha.rate_budget_pause_not_shared", pause_s=round(seconds, 3), reason=str(exc))
