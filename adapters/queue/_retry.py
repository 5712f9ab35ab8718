"""The seed's retry policy on procrastinate: a few attempts, exponential backoff with jitter, and only for
errors that say they are ``retryable``.

procrastinate's ``job.attempts`` counts the attempts already finished, so the attempt that just failed is
``job.attempts + 1``; ``max_attempts`` here counts every attempt (procrastinate's own ``RetryStrategy`` counts
retries). A job cancelled by a worker's shutdown is put back at once: it did not fail, its worker went away.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from procrastinate import BaseRetryStrategy, RetryDecision
from procrastinate.jobs import Job


def backoff_delay(attempt: int, *, base: float, jitter: float) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based): ``base * 2**(attempt-1)`` plus jitter."""
    return float(base * 2 ** (attempt - 1) + random.uniform(0, jitter))


def is_retryable(exc: BaseException) -> bool:
    return getattr(exc, "retryable", False) is True


@dataclass(frozen=True, slots=True)
class RetryPolicy(BaseRetryStrategy):
    max_attempts: int
    backoff_base: float
    jitter: float

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, asyncio.CancelledError):
            return RetryDecision(retry_at=datetime.now(UTC))
        attempt = job.attempts + 1
        if not is_retryable(exception) or attempt >= self.max_attempts:
            return None
        delay = backoff_delay(attempt, base=self.backoff_base, jitter=self.jitter)
        return RetryDecision(retry_at=datetime.now(UTC) + timedelta(seconds=delay))
