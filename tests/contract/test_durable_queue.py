"""The ``JobQueue`` contract, run against ``ProcrastinateJobQueue`` on the test PostgreSQL database."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from sahha_sync.adapters.queue import ProcrastinateJobQueue
from sahha_sync.application.ports import JobQueue
from sahha_sync.testing.job_queue import JobQueueContract


def fast_queue(url: str, **options: Any) -> ProcrastinateJobQueue:
    """A durable queue tuned for tests: short polls, heartbeats and shutdown, no jitter."""
    settings: dict[str, Any] = {
        "concurrency": 2,
        "jitter": False,
        "poll_interval": 0.05,
        "heartbeat": 0.5,
        "stalled_after": 1.5,
        "shutdown_timeout": 5.0,
    }
    return ProcrastinateJobQueue(url, **{**settings, **options})


@pytest.mark.postgres
class TestProcrastinateJobQueue(JobQueueContract):
    @pytest.fixture
    def make_queue(self, postgres_url: str) -> Callable[..., JobQueue]:
        """Queues of a queue name of the test's own: a worker an earlier test left stopping cannot take, put back
        or judge stalled a job of this one (the tables are emptied between tests, not the workers)."""
        queue_name = f"contract_{uuid.uuid4().hex[:12]}"

        def make(**options: Any) -> JobQueue:
            return fast_queue(postgres_url, **{"queue_name": queue_name, **options})

        return make
