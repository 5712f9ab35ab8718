"""Where an archival job's time goes without a queue: ``ArchiveHealthData.archive_jobs`` on Postgres, batch by batch.

    python benchmarks/archival_cpu.py [--jobs 400] [--batch 32] [--window-days 7] [--revision head]
                                      [--server postgresql://postgres@127.0.0.1:5432/postgres]

It creates a database of its own on the server (dropped at the end), migrates it, records ``--jobs`` runs that
asked for their archival (as ``queue_throughput.py`` does: each job carries a window of one user's data), then
decodes and archives them ``--batch`` at a time, one batch after the other, and prints per job: the wall time,
this process's CPU time (decoding the payloads apart), the CPU time of the database server's processes (Linux's
/proc: run it on a machine at rest, as anything else the server does counts too), and the time Python's garbage
collector took. The runs are recorded before the timing
starts. Comparing two versions of the library (or of the schema) on the same machine shows what a change saved on
each side; a queue adds its own work to every figure (``queue_throughput.py --goals``). ``--revision`` migrates the
database to an older revision instead of the newest, to measure what a revision changed (e.g.
``--revision 0014_analysis_results_latest``: the erasure guard before ``0015_erasure_check_once``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import structlog
from psycopg import sql

sys.path.insert(0, str(Path(__file__).parent))

from queue_throughput import CpuCount, admin, record_runs

from sahha_sync import migrations
from sahha_sync.adapters.clock import SystemClock
from sahha_sync.adapters.sql import create_engine, sql_unit_of_work_factory
from sahha_sync.application.ports import JobContext
from sahha_sync.application.use_cases import ArchivalJob, ArchiveHealthData


class GcTime:
    """The time Python's garbage collections took while counting."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


async def run(args: argparse.Namespace) -> None:
    name = f"sahha_sync_bench_{uuid.uuid4().hex[:10]}"
    admin(args.server, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = args.server.rsplit("/", 1)[0] + f"/{name}"
    try:
        await asyncio.to_thread(migrations.upgrade, url, args.revision)
        engine = create_engine(url)
        unit_of_work = sql_unit_of_work_factory(engine)
        payloads = [payload for payload, _ in await record_runs(unit_of_work, args.jobs, "cpu", args.window_days)]
        archival = ArchiveHealthData(unit_of_work=unit_of_work, clock=SystemClock(), batch_size=args.batch)
        collector, counted = GcTime(), CpuCount([])
        decoding = 0.0
        counted.start()
        started = time.perf_counter()
        for first in range(0, len(payloads), args.batch):
            before = time.process_time()
            jobs = [ArchivalJob.from_payload(payload) for payload in payloads[first : first + args.batch]]
            decoding += time.process_time() - before
            contexts = [JobContext(str(first + n), ArchivalJob.JOB_TYPE, 1, 3) for n in range(len(jobs))]
            outcomes = await archival.archive_jobs(list(zip(jobs, contexts, strict=True)))
            failed = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
            assert not failed, f"{len(failed)} jobs failed: {failed[0]!r}"
        wall = time.perf_counter() - started
        _, database, cpu = counted.stop()
        await engine.dispose()
    finally:
        admin(args.server, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    per_job = 1000 / args.jobs
    print(f"{args.jobs} archival jobs of {args.window_days}-day windows, {args.batch} a batch, schema {args.revision}:")
    print(f"  wall {wall * per_job:.2f} ms a job ({args.jobs / wall:.0f} jobs/s, one batch at a time)")
    print(f"  Python CPU {cpu * per_job:.2f} ms a job, of which decoding payloads {decoding * per_job:.2f}")
    print(f"  Postgres CPU (every process of the server) {database * per_job:.2f} ms a job")
    print(f"  garbage collection {collector.seconds * per_job:.2f} ms a job")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--window-days", type=int, default=7)
    parser.add_argument("--revision", default="head", help="the schema revision to migrate the database to")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
