"""Archival with real worker processes: a worker killed mid-way loses nothing, two workers share the work and
do nothing twice, and a host that stopped before its jobs ran (in-memory) or were written (durable) gets them
re-done after a restart."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.integration.queue._processes import (
    JOBS,
    SCRIPT,
    WAIT,
    Worker,
    archival,
    assert_archived_exactly_once,
    completed,
    events_per_run,
    queue_is_empty,
    scalar,
    start,
    submit_runs,
    wait_for,
    workers,
)

__all__ = ["workers"]  # the fixture, used by name below


@pytest.mark.postgres
async def test_a_worker_killed_mid_way_loses_no_job_and_archives_every_record_once(
    postgres_url: str, workers: list[Worker], tmp_path: Path
) -> None:
    streams = await submit_runs(postgres_url, JOBS)
    first = start(workers, postgres_url, tmp_path, "--job-delay", "0.02")
    wait_for(lambda: completed(postgres_url) >= JOBS // 4, "a quarter of the jobs")
    first.kill()
    done_by_first = completed(postgres_url)
    assert done_by_first < JOBS
    second = start(workers, postgres_url, tmp_path)
    wait_for(lambda: queue_is_empty(postgres_url), "every job to finish")
    assert second.terminate() == 0
    assert_archived_exactly_once(postgres_url, streams)
    assert len(second.completed_job_ids()) >= JOBS - done_by_first


@pytest.mark.postgres
async def test_two_workers_share_the_jobs_and_none_is_done_twice(
    postgres_url: str, workers: list[Worker], tmp_path: Path
) -> None:
    pair = [start(workers, postgres_url, tmp_path, "--job-delay", "0.01") for _ in range(2)]
    # both must be polling before the jobs arrive, or on a busy machine the first one up takes them all
    wait_for(lambda: all(worker.has_started() for worker in pair), "both workers to start")
    streams = await submit_runs(postgres_url, JOBS)
    wait_for(lambda: queue_is_empty(postgres_url), "every job to finish")
    assert [worker.terminate() for worker in pair] == [0, 0]
    done = [worker.completed_job_ids() for worker in pair]
    assert all(len(ids) > 0 for ids in done)
    assert len(set(done[0]) | set(done[1])) == len(done[0]) + len(done[1]) == completed(postgres_url)
    # at least one job per run; more when the workers' start-up recovery re-submitted a run whose job was
    # already running (that second job finds the run archived and changes nothing)
    assert completed(postgres_url) >= JOBS
    assert_archived_exactly_once(postgres_url, streams)


@pytest.mark.postgres
async def test_sigterm_lets_a_worker_finish_its_running_jobs_and_exit(
    postgres_url: str, workers: list[Worker], tmp_path: Path
) -> None:
    streams = await submit_runs(postgres_url, 40)
    worker = start(workers, postgres_url, tmp_path, "--job-delay", "0.2", "--shutdown-timeout", "5")
    wait_for(lambda: completed(postgres_url) >= 2, "a few jobs")
    assert worker.terminate() == 0
    left = scalar(postgres_url, "SELECT count(*) FROM procrastinate_jobs WHERE status <> 'todo'")
    assert left == 0  # nothing left running or aborted: the rest waits for the next worker
    assert 0 < completed(postgres_url) < 40
    assert events_per_run(postgres_url, "archival.failed") == Counter()
    follower = start(workers, postgres_url, tmp_path)
    wait_for(lambda: queue_is_empty(postgres_url), "every job to finish")
    assert follower.terminate() == 0
    assert_archived_exactly_once(postgres_url, streams)


def test_jobs_of_an_in_memory_queue_lost_with_the_host_are_re_done_after_a_restart(
    sqlite_url: str, workers: list[Worker], tmp_path: Path
) -> None:
    runs = 20
    host = subprocess.run(
        [sys.executable, str(SCRIPT), "host", "--database-url", sqlite_url, "--queue", "memory", "--runs", str(runs)],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=True,
    )
    assert '"jobs_left": 20' in host.stdout
    url = sqlite_url
    count = _sqlite_counter(url)
    assert (count("SELECT count(*) FROM biomarkers"), count(_SYNCED)) == (0, 0)
    worker = start(workers, url, tmp_path, "--queue", "memory")
    wait_for(lambda: count(_SYNCED) == runs, "the recovered jobs")
    assert worker.terminate() == 0
    truth = archival.ground_truth(runs)
    assert count("SELECT count(*) FROM biomarkers") == truth["biomarkers"]
    assert count("SELECT count(*) FROM scores") == truth["scores"]
    assert count("SELECT count(DISTINCT stream_id) FROM sync_events WHERE type = 'sync.completed'") == runs
    assert any(e.get("event") == "archival.recovered" and e.get("submitted") == runs for e in worker.events())


@pytest.mark.postgres
def test_jobs_a_host_died_before_writing_are_re_done_by_the_next_worker(
    postgres_url: str, workers: list[Worker], tmp_path: Path
) -> None:
    runs = 30
    host = subprocess.run(
        [sys.executable, str(SCRIPT), "host", "--database-url", postgres_url, "--runs", str(runs)],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=True,
    )
    assert f'"buffered": {runs}' in host.stdout  # every submit returned before its job was stored
    assert scalar(postgres_url, "SELECT count(*) FROM procrastinate_jobs") == 0  # and none ever was
    worker = start(workers, postgres_url, tmp_path)  # its start-up recovery finds the runs in the event store
    wait_for(lambda: sum(events_per_run(postgres_url, "sync.completed").values()) == runs, "the recovered jobs")
    wait_for(lambda: queue_is_empty(postgres_url), "the queue to empty")
    assert worker.terminate() == 0
    assert_archived_exactly_once(postgres_url, [f"run-r{i:04d}" for i in range(runs)])


_SYNCED = "SELECT count(*) FROM sync_events WHERE type = 'sync.completed'"  # on SQLite: no schema


def _sqlite_counter(url: str) -> Any:
    import sqlite3

    path = url.removeprefix("sqlite:///")

    def count(query: str) -> int:
        with sqlite3.connect(path, timeout=30) as conn:
            return int(conn.execute(query).fetchone()[0])

    return count
