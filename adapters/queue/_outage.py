"""Riding out a database outage: which errors mean "the database is away", and a clock of how long it has been.

A worker meets an outage in four places: fetching a job, recording a job's outcome, its heartbeat, and its
LISTEN connection. In each it waits and tries again, with a short backoff, for up to ``limit`` seconds of
continuous outage; past that it gives up and the worker stops with an error (its process exits non-zero, and a
supervisor restarts it). A job's outcome is recorded as soon as the database is back, so no job stays ``doing``
behind a worker that is still alive.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import psycopg
import psycopg_pool
from procrastinate import exceptions as procrastinate_errors

from sahha_sync.application.logs import get_logger
from sahha_sync.application.retry import Backoff

logger = get_logger(__name__)

T = TypeVar("T")
_AWAY: Any = object()
BACKOFF = Backoff(0.1, cap=2.0, jitter=False)


def is_outage(exc: BaseException) -> bool:
    """The database could not be reached or dropped the connection (not: it refused a statement)."""
    cause = exc.__cause__ or exc
    if isinstance(exc, procrastinate_errors.AppNotOpen):
        return True
    return isinstance(cause, psycopg.OperationalError | psycopg_pool.PoolTimeout | OSError)


class OutageClock:
    """How long the database has been away, as seen by one worker; reset by any call that reached it."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self._since: float | None = None
        self._back_at = float("-inf")

    def back_for(self) -> float:
        """Seconds since the database last came back (infinite when it never went away); 0 while it is away."""
        return 0.0 if self._since is not None else time.monotonic() - self._back_at

    def reached(self) -> None:
        if self._since is not None:
            self._back_at = time.monotonic()
            logger.info("queue.database_back", away_seconds=round(self._back_at - self._since, 1))
        self._since = None

    def missed(self, doing: str, exc: BaseException) -> None:
        """Note a failed call; re-raise ``exc`` once the outage has lasted longer than ``limit``."""
        now = time.monotonic()
        if self._since is None:
            self._since = now
            logger.warning("queue.database_away", doing=doing, error_kind=type(exc.__cause__ or exc).__name__)
        if now - self._since > self.limit:
            logger.error("queue.database_away_too_long", doing=doing, limit_seconds=self.limit)
            raise exc

    async def once(self, doing: str, call: Callable[[], Awaitable[T]], away: T) -> T:
        """``await call()``, or ``away`` when the database is away (not tried again here)."""
        try:
            result = await call()
        except Exception as exc:
            if not is_outage(exc):
                raise
            self.missed(doing, exc)
            return away
        self.reached()
        return result

    async def through(self, doing: str, call: Callable[[], Awaitable[T]]) -> T:
        """``await call()``, tried again while the database is away (up to ``limit``)."""
        failures = 0
        while (result := await self.once(doing, call, _AWAY)) is _AWAY:
            failures += 1
            await asyncio.sleep(BACKOFF.delay(failures))
        return cast(T, result)
