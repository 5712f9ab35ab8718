"""A job that kills its worker (SIGKILL, as a segfault or the OOM killer would) ends as a dead letter.

Each worker restart's recovery re-submits the run whose job died; its attempts carry over, so after the
maximum the job is dead with the reason "worker died", later restarts do not bring it back, the other runs are
archived, and ``retry-dead`` queues it again.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from sahha_sync.adapters.queue import ProcrastinateJobQueue
from tests.integration.queue._processes import (
    Worker,
    events_per_run,
    helpers,
    queue_is_empty,
    scalar,
    start,
    submit_runs,
    wait_for,
    workers,
)

pytestmark = pytest.mark.postgres

__all__ = ["workers"]  # the fixture, used by name below

RUNS, POISON, MAX_ATTEMPTS = 6, "r0003", 3
# one job at a time: a job running beside the poison one dies with the worker too, and spends its attempts
CRASHING = ("--crash-run", POISON, "--max-attempts", str(MAX_ATTEMPTS), "--heartbeat", "0.2", "--concurrency", "1")


def dead_letters(url: str) -> list[tuple[str, int, str]]:
    query = (
        "SELECT args->'payload'->>'run_id', attempts, coalesce(args->'last_error'->>'kind', '') "
        "FROM procrastinate_jobs WHERE status = 'failed'"
    )
    return [tuple(row) for row in helpers.rows(url, query)]


def pending(url: str) -> int:
    return int(scalar(url, "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"))


async def test_a_job_that_kills_its_worker_ends_as_a_dead_letter_and_retry_dead_brings_it_back(
    postgres_url: str, workers: list[Worker], tmp_path: Path
) -> None:
    url = postgres_url
    streams = await submit_runs(url, RUNS)
    kills = 0
    while not dead_letters(url):
        assert kills <= MAX_ATTEMPTS, "the job kept killing its worker past its attempts"
        process = start(workers, url, tmp_path, *CRASHING).process
        wait_for(lambda p=process: p.poll() is not None or bool(dead_letters(url)), "a crash or a dead letter")
        if process.poll() is not None:
            assert process.returncode == -signal.SIGKILL
            kills += 1
    assert kills == MAX_ATTEMPTS
    dead = dead_letters(url)[0]
    assert len(dead_letters(url)) == 1, dead_letters(url)
    assert dead[0] == POISON
    assert dead[2] == "WorkerLost"

    survivor = workers[-1]
    wait_for(lambda: pending(url) == 0, "the other runs")
    assert survivor.terminate() == 0
    archived = events_per_run(url, "sync.completed")
    assert set(archived) == set(streams) - {f"run-{POISON}"}

    restarted = start(workers, url, tmp_path, *CRASHING)  # its recovery finds the run pending: it stays dead
    wait_for(restarted.has_started, "the restarted worker")
    wait_for(lambda: any(e.get("event") == "archival.recovered" for e in restarted.events()), "its recovery")
    assert restarted.process.poll() is None
    assert pending(url) == 0
    assert restarted.terminate() == 0

    queue = ProcrastinateJobQueue(url, run_worker=False)
    try:
        (retried,) = await queue.retry_dead()
    finally:
        await queue.stop(drain=False)
    assert dead_letters(url) == []
    healed = start(workers, url, tmp_path)  # the job no longer kills its worker
    wait_for(lambda: queue_is_empty(url), "the retried job")
    assert healed.terminate() == 0
    assert events_per_run(url, "sync.completed")[f"run-{POISON}"] == 1
    assert retried
