"""The durable queue's job counters are kept in shards (revision 0016_job_counter_shards): each connection adds to
the row of its own shard, so jobs ending at once in several workers do not wait for each other, and the figures
add the shards up."""

from __future__ import annotations

from collections import Counter

import psycopg
import pytest

from sahha_sync import migrations
from sahha_sync.migrations._job_counters import SHARDS
from tests.integration.queue import _durable as helpers

pytestmark = pytest.mark.postgres

COUNTERS = "SELECT queue_name, shard, completed, failed, retries FROM sahha_sync_job_counters ORDER BY 1, 2"


def end_a_running_job(conn: psycopg.Connection[tuple[object, ...]], queue: str) -> None:
    """A job of ``queue`` that ran and succeeded, deleted as procrastinate deletes a finished job."""
    (job_id,) = conn.execute(
        "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status) "
        "VALUES (%s, 'test.job', '{}', 'doing') RETURNING id",
        [queue],
    ).fetchone() or (None,)
    conn.execute("DELETE FROM procrastinate_jobs WHERE id = %s", [job_id])


async def test_jobs_ended_on_two_connections_count_in_their_own_shards(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as one, psycopg.connect(postgres_url, autocommit=True) as two:
        for conn, times in ((one, 2), (two, 3)):
            for _ in range(times):
                end_a_running_job(conn, "q")
        shards = Counter({one.info.backend_pid % SHARDS: 2})
        shards[two.info.backend_pid % SHARDS] += 3
    assert helpers.rows(postgres_url, COUNTERS) == [("q", shard, n, 0, 0) for shard, n in sorted(shards.items())]
    queue = helpers.fast_queue(postgres_url, queue_name="q")
    try:
        assert (await queue.get_stats()).completed == 5
    finally:
        await queue.stop(drain=False)


async def test_the_figures_add_up_the_shards_of_their_queue_only(postgres_url: str) -> None:
    helpers.execute(
        postgres_url,
        "INSERT INTO sahha_sync_job_counters (queue_name, shard, completed, failed, retries) "
        "VALUES ('q', 3, 10, 2, 1), ('q', 41, 5, 1, 1), ('other', 3, 100, 100, 100)",
    )
    queue = helpers.fast_queue(postgres_url, queue_name="q")
    try:
        stats = await queue.get_stats()
    finally:
        await queue.stop(drain=False)
    assert (stats.completed, stats.failed, stats.retries) == (15, 3, 2)


def test_downgrading_adds_the_shards_back_into_one_row_a_queue(new_postgres_database: str) -> None:
    url = new_postgres_database
    migrations.upgrade(url, "0016_job_counter_shards")
    helpers.execute(
        url,
        "INSERT INTO sahha_sync_job_counters (queue_name, shard, completed, failed, retries) "
        "VALUES ('q', 3, 10, 2, 1), ('q', 41, 5, 1, 1), ('other', 9, 7, 0, 0)",
    )
    migrations.downgrade(url, "0015_erasure_check_once")
    summed = "SELECT queue_name, completed, failed, retries FROM sahha_sync_job_counters ORDER BY 1"
    assert helpers.rows(url, summed) == [("other", 7, 0, 0), ("q", 15, 3, 2)]
    with psycopg.connect(url, autocommit=True) as conn:
        end_a_running_job(conn, "q")  # the one-row trigger counts again
    assert helpers.rows(url, summed) == [("other", 7, 0, 0), ("q", 16, 3, 2)]
    migrations.upgrade(url, "0016_job_counter_shards")
    assert helpers.rows(url, COUNTERS) == [("other", 0, 7, 0, 0), ("q", 0, 16, 3, 2)]
