"""The seed's retry policy on procrastinate: a few attempts, waits by ``Backoff``, and only for errors that
say they are ``retryable``.

procrastinate's ``job.attempts`` counts the attempts already finished, so the attempt that just failed is
``job.attempts + 1``; ``max_attempts`` here counts every attempt (procrastinate's own ``RetryStrategy`` counts
retries). A job cancelled by a worker's shutdown is put back at once: it did not fail, its worker went away.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from procrastinate import BaseRetryStrategy, RetryDecision
from procrastinate.jobs import Job

from sahha_sync.application.retry import Backoff, is_retryable


@dataclass(frozen=True, slots=True)
class RetryPolicy(BaseRetryStrategy):
    max_attempts: int
    backoff: Backoff

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, asyncio.CancelledError):
            return RetryDecision(retry_at=datetime.now(UTC))
        attempt = job.attempts + 1
        if not is_retryable(exception) or attempt >= self.max_attempts:
            return None
        return RetryDecision(retry_at=datetime.now(UTC) + timedelta(seconds=self.backoff.delay(attempt)))
