"""Worker processes and a database that goes away: a throwaway cluster stopped (a crash) and started again.

A worker that was running jobs when the database went away records their outcome once it is back, so no job
stays ``doing`` behind a live worker; it keeps going and finishes the queue. A worker whose database stays away
longer than it waits exits non-zero, so a supervisor restarts it.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from sahha_sync import migrations
from tests.integration.outage import ThrowawayPostgres, throwaway_postgres
from tests.integration.queue._processes import (
    Worker,
    assert_archived_exactly_once,
    completed,
    queue_is_empty,
    scalar,
    start,
    submit_runs,
    wait_for,
    workers,
)

pytestmark = pytest.mark.postgres

__all__ = ["throwaway_postgres", "workers"]  # the fixtures, used by name below

RUNS = 24
OUTAGE_SECONDS = 4.0
QUICK = ("--connect-timeout", "1")  # a call to the absent database fails after a second, not ten
BACK_WITHIN = 60.0  # what the README promises: no job left running a minute after the database is back


def running(url: str) -> int:
    return int(scalar(url, "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'"))


async def test_jobs_running_through_an_outage_end_once_the_database_is_back(
    throwaway_postgres: ThrowawayPostgres, workers: list[Worker], tmp_path: Path
) -> None:
    url = throwaway_postgres.create_database("outage")
    migrations.upgrade(url)
    streams = await submit_runs(url, RUNS)
    worker = start(workers, url, tmp_path, "--job-delay", "0.3", "--heartbeat", "0.3", *QUICK)
    wait_for(lambda: completed(url) >= 4 and running(url) > 0, "jobs to be running")

    throwaway_postgres.stop()  # immediate: the running jobs' outcome cannot be recorded
    await asyncio.sleep(OUTAGE_SECONDS)
    throwaway_postgres.start()

    back = time.monotonic()
    wait_for(lambda: queue_is_empty(url), "every job to end", timeout=BACK_WITHIN)
    assert time.monotonic() - back < BACK_WITHIN
    assert worker.process.poll() is None  # it waited for its database rather than giving up
    events = [e.get("event") for e in worker.events()]
    assert "queue.database_away" in events
    assert "queue.database_back" in events
    assert worker.terminate() == 0
    assert_archived_exactly_once(url, streams)


async def test_a_worker_whose_database_stays_away_exits_non_zero(
    throwaway_postgres: ThrowawayPostgres, workers: list[Worker], tmp_path: Path
) -> None:
    url = throwaway_postgres.create_database("gone")
    migrations.upgrade(url)
    worker = start(workers, url, tmp_path, "--outage-limit", "1.5", *QUICK)
    wait_for(worker.has_started, "the worker to start")

    throwaway_postgres.stop()
    try:
        wait_for(lambda: worker.process.poll() is not None, "the worker to give up", timeout=30.0)
    finally:
        throwaway_postgres.start()

    assert worker.process.returncode not in (0, None)
    assert "queue.database_away_too_long" in [e.get("event") for e in worker.events()]
