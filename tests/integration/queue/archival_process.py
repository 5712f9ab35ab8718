"""A worker (or host) process for the queue's process tests: the archival job wired as in production.

``python archival_process.py worker --database-url URL [--queue postgres|memory] ...`` runs
``ArchiveHealthData`` (SQL stores, the Sahha client on an in-process emulator) behind a queue through
``run_worker``, with ``RecoverPendingArchivals`` at start, until SIGTERM. It logs JSON lines to stdout.

``--crash-run RUN`` makes the job of that run SIGKILL its worker (a crash loop); ``--outage-limit`` is how long
the worker waits for an absent database before it exits non-zero.

``python archival_process.py host --database-url URL --runs N [--queue memory|postgres]`` records N runs that
asked for their archival, submits their jobs as ``RunAnalysis`` does (recoverable) and exits at once: a host
that stopped before its jobs ran. On the in-memory queue the jobs were never run; on the durable queue they
were never written (the writer had no turn before the exit).

The test process imports ``record_runs`` and ``ground_truth`` from here (by path), so both sides agree on
the runs: run ``i`` archives day ``i // users`` of user ``i % users``, in October 2026, from a
``SyntheticPopulation(seed=SEED)``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog

from sahha_sync.adapters.clock import SystemClock
from sahha_sync.adapters.memory import InMemoryJobQueue
from sahha_sync.adapters.queue import ProcrastinateJobQueue, run_worker
from sahha_sync.adapters.sahha import SahhaHealthDataSource
from sahha_sync.adapters.sahha.emulator import (
    EMULATOR_BASE_URL,
    EMULATOR_CLIENT_ID,
    EMULATOR_CLIENT_SECRET,
    SahhaEmulator,
    SyntheticPopulation,
    emulator_transport,
)
from sahha_sync.adapters.sql import create_engine, sql_unit_of_work_factory
from sahha_sync.application.ports import JobContext, JobQueue, UnitOfWorkFactory
from sahha_sync.application.use_cases import ArchivalJob, ArchiveHealthData, RecoverPendingArchivals
from sahha_sync.domain import FetchWindow
from sahha_sync.domain.events import (
    AnalysisRequested,
    ArchivalRequested,
    DomainEvent,
    HealthDataFetched,
    stream_id_for,
)
from sahha_sync.domain.snapshot import HealthSnapshot, dedupe_by_key
from sahha_sync.domain.tracking import TrackingRecord

SEED, USERS = 7, 20
DAY0 = datetime(2026, 10, 1, tzinfo=UTC)


def population() -> SyntheticPopulation:
    return SyntheticPopulation(seed=SEED, size=USERS)


def run_window(i: int) -> tuple[str, FetchWindow]:
    user = population().profile_ids[i % USERS]
    start = DAY0 + timedelta(days=i // USERS)
    return user, FetchWindow(start, start + timedelta(days=1))


async def record_runs(unit_of_work: UnitOfWorkFactory, count: int, *, with_data: bool = True) -> list[ArchivalJob]:
    """``count`` runs that fetched their window and asked for its archival; their jobs (every other one
    without data, so the job fetches it again from Sahha)."""
    people, jobs = population(), []
    for i in range(count):
        user, window = run_window(i)
        records = people.records_for(user, window)
        run_id, at = f"r{i:04d}", window.end + timedelta(hours=1)
        events: list[DomainEvent] = [
            AnalysisRequested(run_id=run_id, occurred_at=at, user_id=user, archetype="a", analysis_type="t"),
            HealthDataFetched(
                run_id=run_id, occurred_at=at, window_start=window.start, window_end=window.end,
                biomarker_count=len(records.biomarkers), score_count=len(records.scores),
                archetype_count=len(records.archetypes), is_incremental=False, watermark=None,
            ),
            ArchivalRequested(
                run_id=run_id, occurred_at=at, job_id=None, biomarker_count=len(records.biomarkers),
                score_count=len(records.scores), archetype_count=len(records.archetypes),
            ),
        ]  # fmt: skip
        async with unit_of_work() as uow:
            await uow.events.append(stream_id_for(run_id), events, expected_version=0)
            record = await uow.tracking.save(TrackingRecord.fold(events))
            await uow.commit()
        snapshot = HealthSnapshot.from_records(
            records, fetched_at=at, window=window, is_incremental=False, watermark=None
        )
        jobs.append(ArchivalJob.for_run(record, snapshot if with_data and i % 2 == 0 else None))
    return jobs


def ground_truth(count: int) -> dict[str, int]:
    """Distinct biomarkers, scores and archetypes that the first ``count`` runs' windows hold."""
    people = population()
    found: dict[str, list[Any]] = {"biomarkers": [], "scores": [], "archetypes": []}
    for i in range(count):
        records = people.records_for(*run_window(i))
        found["biomarkers"] += records.biomarkers
        found["scores"] += records.scores
        found["archetypes"] += records.archetypes
    return {table: len(dedupe_by_key(rows)) for table, rows in found.items()}


def make_queue(args: argparse.Namespace) -> JobQueue:
    if args.queue == "memory":
        return InMemoryJobQueue(concurrency=args.concurrency, backoff_base=0.01)
    return ProcrastinateJobQueue(
        args.database_url, concurrency=args.concurrency, backoff_base=0.01, jitter=False, poll_interval=0.05,
        heartbeat=args.heartbeat, stalled_after=args.heartbeat * 3, shutdown_timeout=args.shutdown_timeout,
        max_attempts=args.max_attempts, outage_limit=args.outage_limit, connect_timeout=args.connect_timeout,
    )  # fmt: skip


async def worker(args: argparse.Namespace) -> None:
    engine = create_engine(args.database_url)
    unit_of_work = sql_unit_of_work_factory(engine)
    emulator = SahhaEmulator(population())
    for i in range(USERS):  # draw the month of data now: a first draw inside a job would hold up its heartbeat
        emulator.population.records_for(*run_window(i))
    async with httpx.AsyncClient(transport=emulator_transport(emulator), base_url=EMULATOR_BASE_URL) as http:
        source = SahhaHealthDataSource(
            http, client_id=EMULATOR_CLIENT_ID, client_secret=EMULATOR_CLIENT_SECRET,
            base_url=EMULATOR_BASE_URL, rate_limit_delay=0.0,
        )  # fmt: skip
        archiver = ArchiveHealthData(unit_of_work=unit_of_work, clock=SystemClock(), source=source)

        async def archive(payload: Mapping[str, Any], context: JobContext) -> None:
            if payload.get("run_id") == args.crash_run:  # a job that kills its worker, as a segfault or OOM would
                os.kill(os.getpid(), signal.SIGKILL)
            await asyncio.sleep(args.job_delay)  # long enough to be killed mid-way
            await archiver(payload, context)

        queue = make_queue(args)
        recovery = RecoverPendingArchivals(unit_of_work=unit_of_work, queue=queue)
        await run_worker(
            queue,
            {ArchiveHealthData.JOB_TYPE: archive},
            on_start=recovery.recover,
            shutdown_timeout=args.shutdown_timeout,
        )
    await engine.dispose()


async def host(args: argparse.Namespace) -> None:
    engine = create_engine(args.database_url)
    jobs = await record_runs(sql_unit_of_work_factory(engine), args.runs)
    queue = InMemoryJobQueue() if args.queue == "memory" else ProcrastinateJobQueue(args.database_url, run_worker=False)
    results = [
        await queue.submit_job(job.JOB_TYPE, job.to_payload(), dedup_key=job.dedup_key, recoverable=True)
        for job in jobs
    ]
    # no await between the last submit and the exit: the durable queue's writer never had a turn
    structlog.get_logger("host").info("host.exiting", jobs_left=len(results), buffered=sum(r.buffered for r in results))
    os._exit(0)  # the process ends before its queue ran (or wrote) a single job


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("worker", "host"))
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--queue", choices=("postgres", "memory"), default="postgres")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--heartbeat", type=float, default=0.3)
    parser.add_argument("--shutdown-timeout", type=float, default=3.0)
    parser.add_argument("--job-delay", type=float, default=0.0)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--crash-run", default=None, help="The run whose job SIGKILLs its worker.")
    parser.add_argument("--max-attempts", type=int, default=3)
    parser.add_argument("--outage-limit", type=float, default=60.0)
    parser.add_argument("--connect-timeout", type=float, default=10.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(),
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
    )
    asyncio.run(worker(args) if args.mode == "worker" else host(args))


if __name__ == "__main__":
    main()
