"""The durable queue's retry policy: retryable errors only, while attempts last, after a jittered backoff."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from procrastinate.jobs import Job

from sahha_sync.adapters.queue._retry import RetryPolicy
from sahha_sync.application.ports.health_data_source import SahhaUnavailableError
from sahha_sync.application.retry import Backoff
from sahha_sync.domain.errors import InvalidInputError

POLICY = RetryPolicy(max_attempts=3, backoff=Backoff(10.0))


def job(attempts: int) -> Job:
    return Job(id=1, queue="q", lock=None, queueing_lock=None, task_name="t", attempts=attempts)


def wait_of(policy: RetryPolicy, attempts: int) -> tuple[timedelta, timedelta] | None:
    """The least and the most the retry can have been scheduled after the failure (the clock runs meanwhile)."""
    before = datetime.now(UTC)
    decision = policy.get_retry_decision(exception=SahhaUnavailableError("down"), job=job(attempts))
    after = datetime.now(UTC)
    if decision is None or decision.retry_at is None:
        return None
    return decision.retry_at - after, decision.retry_at - before


def test_a_retryable_error_is_retried_after_at_most_its_backoff() -> None:
    for attempts, ceiling in ((0, 10), (1, 20)):
        wait = wait_of(POLICY, attempts)
        assert wait is not None
        assert timedelta(0) <= wait[1]
        assert wait[0] <= timedelta(seconds=ceiling)


def test_without_jitter_the_wait_is_the_whole_backoff() -> None:
    policy = RetryPolicy(max_attempts=3, backoff=Backoff(10.0, jitter=False))
    for attempts, ceiling in ((0, 10), (1, 20)):
        wait = wait_of(policy, attempts)
        assert wait is not None
        assert wait[0] <= timedelta(seconds=ceiling) <= wait[1]


def test_the_last_attempt_is_not_retried() -> None:
    assert wait_of(POLICY, 2) is None


def test_an_error_that_is_not_retryable_is_not_retried() -> None:
    assert POLICY.get_retry_decision(exception=InvalidInputError("bad"), job=job(0)) is None
    assert POLICY.get_retry_decision(exception=RuntimeError("bug"), job=job(0)) is None


def test_a_job_cancelled_by_shutdown_is_put_back_at_once_whatever_its_attempts() -> None:
    decision = POLICY.get_retry_decision(exception=asyncio.CancelledError(), job=job(2))
    assert decision is not None
    assert decision.retry_at is not None
    assert decision.retry_at <= datetime.now(UTC)
