"""On the durable queue, a database that crashes (stops immediately) right after acknowledgements loses none of
them: a webhook's job is committed synchronously before its 202. The archival's write-behind submit keeps its speed
(its commit does not wait for the disk) because recovery re-creates a job the crash lost.

The throwaway cluster writes its WAL lazily (``wal_writer_delay`` 10 s), so a commit that did not wait for the disk
is very likely lost by the crash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from sahha_sync import migrations
from sahha_sync.adapters.clock import ManualClock
from sahha_sync.adapters.llm import OfflineAnalyst
from sahha_sync.adapters.memory import InMemoryHealthDataSource
from sahha_sync.adapters.queue import ProcrastinateJobQueue
from sahha_sync.adapters.sql import create_engine, sql_unit_of_work_factory
from sahha_sync.application.use_cases import ArchiveHealthData, RecoverPendingArchivals, RunAnalysis
from sahha_sync.application.use_cases.ingest_webhook import IngestWebhookRecords
from tests.integration.outage import ThrowawayPostgres, throwaway_postgres
from tests.integration.webhook.serving import WebhookServer, deliver_until, free_port

pytestmark = pytest.mark.postgres

__all__ = ["throwaway_postgres"]  # the fixture, used by name below

TOTAL, ENOUGH = 300, 120
LAZY_WAL = {"wal_writer_delay": "10s", "wal_writer_flush_after": "0"}


def queued(url: str, job_type: str) -> list[tuple[str, ...]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT args->'payload'->'key'->>'type', args->'payload'->>'run_id' FROM procrastinate_jobs "
            "WHERE task_name = %s AND status = 'todo'",
            (job_type,),
        ).fetchall()
    return [tuple(row) for row in rows]


async def test_a_database_crash_right_after_acknowledgements_loses_no_webhook(
    throwaway_postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    url = throwaway_postgres.create_database("hooks")
    migrations.upgrade(url)
    throwaway_postgres.configure(**LAZY_WAL)
    port = free_port()
    server = WebhookServer(
        tmp_path / "serve.log",
        port,
        SAHHA_SYNC_DATABASE_URL=url,
        SAHHA_SYNC_QUEUE="postgres",
    )

    acknowledged = await deliver_until(port, TOTAL, ENOUGH, throwaway_postgres.stop)
    server.kill()
    throwaway_postgres.start()

    stored = {row[0] for row in queued(url, IngestWebhookRecords.JOB_TYPE)}
    assert len(acknowledged) >= ENOUGH
    assert acknowledged - stored == set()


async def test_recovery_re_creates_an_archival_job_that_a_database_crash_lost(
    throwaway_postgres: ThrowawayPostgres,
) -> None:
    """The one recoverable submit: ``run_analysis``'s archival, whose request (``ArchivalRequested``) is committed
    synchronously before the job is buffered. Whether or not the crash lost the job, after recovery it is queued."""
    url = throwaway_postgres.create_database("runs")
    migrations.upgrade(url)
    throwaway_postgres.configure(**LAZY_WAL)
    engine = create_engine(url)
    now = datetime(2026, 11, 29, 3, 30, tzinfo=UTC)
    queue = ProcrastinateJobQueue(url, run_worker=False)
    await queue.start()
    run = RunAnalysis(
        source=InMemoryHealthDataSource(),
        analyst=OfflineAnalyst(),
        unit_of_work=sql_unit_of_work_factory(engine),
        queue=queue,
        clock=ManualClock(now),
        lookback=timedelta(hours=48),
        initial_days=7,
    )
    outcome = await run.run_analysis("user-crash", "Peak Performer", "behavior_analysis")
    await queue.stop(drain=False, timeout=10)  # the buffered job is written, its commit not waiting for the disk
    await engine.dispose()
    throwaway_postgres.stop()
    throwaway_postgres.start()

    engine = create_engine(url)
    after = ProcrastinateJobQueue(url, run_worker=False)
    await after.start()
    try:
        await RecoverPendingArchivals(unit_of_work=sql_unit_of_work_factory(engine), queue=after).recover()
    finally:
        await after.stop(drain=False)
        await engine.dispose()

    runs = [row[1] for row in queued(url, ArchiveHealthData.JOB_TYPE)]
    assert runs == [outcome.run_id]
