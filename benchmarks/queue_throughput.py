"""Jobs per second through the in-memory and the durable queue, and how long ``submit_job`` keeps the caller.

    python benchmarks/queue_throughput.py [--server postgresql://postgres@127.0.0.1:5432/postgres]
                                          [--noop-jobs 1000] [--archival-jobs 200]

It creates a database of its own on the server (dropped at the end), migrates it, and for each queue runs:
- a no-op handler, and the real archival handler (``ArchiveHealthData`` on the SQL stores, jobs carrying
  their fetched data as ``RunAnalysis`` submits them), each with 1 and 4 worker tasks;
- jobs are submitted while the workers run, so the submit latency is measured under a busy worker.
Throughput is jobs / (first submit → queue idle). Figures are printed side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import structlog
from psycopg import sql

from sahha_sync import migrations
from sahha_sync.adapters.clock import SystemClock
from sahha_sync.adapters.memory import InMemoryJobQueue
from sahha_sync.adapters.queue import ProcrastinateJobQueue
from sahha_sync.adapters.sahha.emulator import SyntheticPopulation
from sahha_sync.adapters.sql import create_engine, sql_unit_of_work_factory
from sahha_sync.application.ports import JobContext, JobQueue, UnitOfWorkFactory
from sahha_sync.application.use_cases import ArchivalJob, ArchiveHealthData
from sahha_sync.domain import FetchWindow
from sahha_sync.domain.events import AnalysisRequested, ArchivalRequested, DomainEvent, HealthDataFetched, stream_id_for
from sahha_sync.domain.snapshot import HealthSnapshot
from sahha_sync.domain.tracking import TrackingRecord

DAY0 = datetime(2026, 10, 1, tzinfo=UTC)
Handler = Callable[[Mapping[str, Any], JobContext], Awaitable[None]]


async def noop(payload: Mapping[str, Any], context: JobContext) -> None:
    return None


def make_queue(kind: str, url: str, concurrency: int) -> JobQueue:
    if kind == "memory":
        return InMemoryJobQueue(concurrency=concurrency)
    return ProcrastinateJobQueue(
        url, concurrency=concurrency, poll_interval=0.5, queue_name=f"bench-{uuid.uuid4().hex}"
    )


async def measure(queue: JobQueue, handler: Handler, jobs: list[tuple[dict[str, Any], str | None]]) -> dict[str, float]:
    queue.register("BENCH", handler)
    await queue.start()
    latencies = []
    started = time.perf_counter()
    for payload, key in jobs:
        before = time.perf_counter()
        await queue.submit_job("BENCH", payload, dedup_key=key)
        latencies.append(time.perf_counter() - before)
    idle = await queue.wait_idle(600)
    elapsed = time.perf_counter() - started
    stats = await queue.get_stats()
    await queue.stop(drain=False)
    assert idle, "the queue did not finish within 10 minutes"
    assert stats.completed == len(jobs), f"{stats.completed} of {len(jobs)} jobs completed ({stats})"
    ordered = sorted(latencies)
    return {
        "jobs_per_s": len(jobs) / elapsed,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
    }


async def record_runs(unit_of_work: UnitOfWorkFactory, count: int, tag: str) -> list[tuple[dict[str, Any], str]]:
    """``count`` runs that asked for their archival, and their jobs with the fetched data (one user-day each)."""
    people = SyntheticPopulation(seed=11, size=50)
    jobs = []
    for i in range(count):
        user, start = people.profile_ids[i % 50], DAY0 + timedelta(days=i // 50)
        window = FetchWindow(start, start + timedelta(days=1))
        records = people.records_for(user, window)
        run_id, at = f"{tag}-{i}", window.end
        events: list[DomainEvent] = [
            AnalysisRequested(run_id=run_id, occurred_at=at, user_id=user, archetype="a", analysis_type="t"),
            HealthDataFetched(
                run_id=run_id, occurred_at=at, window_start=window.start, window_end=window.end,
                biomarker_count=len(records.biomarkers), score_count=len(records.scores), is_incremental=False,
                watermark=None,
            ),
            ArchivalRequested(run_id=run_id, occurred_at=at, job_id=None, biomarker_count=0, score_count=0),
        ]  # fmt: skip
        async with unit_of_work() as uow:
            await uow.events.append(stream_id_for(run_id), events, expected_version=0)
            record = await uow.tracking.save(TrackingRecord.fold(events))
            await uow.commit()
        snapshot = HealthSnapshot.from_records(
            records, fetched_at=at, window=window, is_incremental=False, watermark=None
        )
        job = ArchivalJob.for_run(record, snapshot)
        jobs.append((job.to_payload(), job.dedup_key))
    return jobs


def admin(server: str, statement: sql.Composable) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(statement)


async def run(args: argparse.Namespace) -> list[tuple[str, str, int, dict[str, float]]]:
    name = f"sahha_sync_bench_{uuid.uuid4().hex[:10]}"
    admin(args.server, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = args.server.rsplit("/", 1)[0] + f"/{name}"
    results = []
    try:
        await asyncio.to_thread(migrations.upgrade, url)
        engine = create_engine(url)
        unit_of_work = sql_unit_of_work_factory(engine)
        archiver = ArchiveHealthData(unit_of_work=unit_of_work, clock=SystemClock())
        for workload in ("no-op", "archival"):
            for concurrency in (1, 4):
                for kind in ("memory", "durable"):
                    if workload == "no-op":
                        jobs: list[tuple[dict[str, Any], str | None]] = [
                            ({"n": n}, None) for n in range(args.noop_jobs)
                        ]
                        handler: Handler = noop
                    else:
                        tag = f"{kind}-{concurrency}"
                        jobs = list(await record_runs(unit_of_work, args.archival_jobs, tag))
                        handler = archiver
                    figures = await measure(make_queue(kind, url, concurrency), handler, jobs)
                    results.append((workload, kind, concurrency, figures))
                    print(f"  {workload:8} {kind:8} x{concurrency}: {figures['jobs_per_s']:8.1f} jobs/s", flush=True)
        await engine.dispose()
    finally:
        admin(args.server, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    return results


def report(results: list[tuple[str, str, int, dict[str, float]]]) -> None:
    by_key = {(w, k, c): f for w, k, c, f in results}
    print()
    print(f"{'workload':10} {'tasks':>5} | {'memory jobs/s':>13} {'p50 ms':>8} {'p99 ms':>8} | "
          f"{'durable jobs/s':>14} {'p50 ms':>8} {'p99 ms':>8}")  # fmt: skip
    for workload in ("no-op", "archival"):
        for concurrency in (1, 4):
            m, d = by_key[(workload, "memory", concurrency)], by_key[(workload, "durable", concurrency)]
            print(
                f"{workload:10} {concurrency:>5} | {m['jobs_per_s']:>13.1f} {m['p50_ms']:>8.3f} {m['p99_ms']:>8.3f} | "
                f"{d['jobs_per_s']:>14.1f} {d['p50_ms']:>8.3f} {d['p99_ms']:>8.3f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--noop-jobs", type=int, default=1000)
    parser.add_argument("--archival-jobs", type=int, default=200)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    report(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
