"""Jobs per second through the in-memory and the durable queue, and how long ``submit_job`` keeps the caller.

    python benchmarks/queue_throughput.py [--server postgresql://postgres@127.0.0.1:5432/postgres]
                                          [--noop-jobs 1000] [--archival-jobs 200] [--revision head]

It creates a database of its own on the server (dropped at the end), migrates it, and for each queue runs:
- the in-memory queue; the durable queue with its worker in the benchmark's process; and the durable queue as a
  host uses it beside ``sahha-sync worker``: submitting only, its worker in a process of its own;
- a no-op handler, and the real archival handler (``ArchiveHealthData`` on the SQL stores, jobs carrying
  their fetched data as ``RunAnalysis`` submits them), each with 1 and 4 worker tasks;
- jobs are submitted while the workers run, so the submit latency is measured under a busy worker, for both
  kinds of submit: recoverable (written behind the caller) and stored (the caller waits for the insert).
Throughput is jobs / (first submit → queue idle). Figures are printed side by side.

    python benchmarks/queue_throughput.py --goals [--archival-jobs 400 --concurrency 8 --batch 32]

prints the scale figures in one run instead: on the durable queue with one worker process (``--concurrency`` jobs at
once, the archival jobs among them archived together up to ``--batch``: the library's defaults), archival jobs/s
beside no-op jobs/s; the same archival jobs with two worker processes; and the in-memory queue on a SQLite file with
its worker in-process, as the embedded defaults run it, before and once a user was erased. An archival job carries a
``--window-days`` window of one user's data (7 days of the emulator's users: about 257 records), as ``run_analysis``
submits it. Beside each durable figure it prints the CPU time a job took (read from Linux's /proc) in the worker
processes, in the database server's processes and in the benchmark's own process, which submits: their sum bounds
the jobs a second that this machine's cores can run, however the work is spread over them; the worker's own part
bounds what one worker process can run where it has a core to itself (the production layout: Postgres elsewhere).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import structlog
from psycopg import sql
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync import migrations
from sahha_sync.adapters.clock import SystemClock
from sahha_sync.adapters.memory import InMemoryJobQueue
from sahha_sync.adapters.queue import ProcrastinateJobQueue, run_worker
from sahha_sync.adapters.sahha.emulator import SyntheticPopulation
from sahha_sync.adapters.sql import create_engine, sql_unit_of_work_factory
from sahha_sync.application.ports import JobContext, JobQueue, UnitOfWorkFactory
from sahha_sync.application.use_cases import ArchivalJob, ArchiveHealthData, ForgetUser
from sahha_sync.domain import FetchWindow
from sahha_sync.domain.events import AnalysisRequested, ArchivalRequested, DomainEvent, HealthDataFetched, stream_id_for
from sahha_sync.domain.snapshot import HealthSnapshot
from sahha_sync.domain.tracking import TrackingRecord
from sahha_sync.infrastructure.settings import Settings

DAY0 = datetime(2026, 10, 1, tzinfo=UTC)
DEFAULTS = {name: Settings.model_fields[name].default for name in ("worker_concurrency", "archival_batch")}
Handler = Callable[[Mapping[str, Any], JobContext], Awaitable[None]]


async def noop(payload: Mapping[str, Any], context: JobContext) -> None:
    return None


CPU_PARTS = ("worker", "database", "submitter")  # the processes whose CPU time --goals counts, per job
KINDS = ("memory", "durable-inproc", "durable")
TITLES = {"memory": "memory", "durable-inproc": "durable, in-process worker", "durable": "durable, worker process"}


def make_queue(kind: str, url: str, concurrency: int, queue_name: str) -> JobQueue:
    if kind == "memory":
        return InMemoryJobQueue(concurrency=concurrency)
    return ProcrastinateJobQueue(
        url, concurrency=concurrency, queue_name=queue_name, run_worker=kind == "durable-inproc"
    )


def spawn_worker(url: str, queue_name: str, workload: str, concurrency: int, batch: int = 1) -> subprocess.Popen[str]:
    """A ``--serve`` process running the durable queue's worker; returns once it takes jobs."""
    command = [sys.executable, __file__, "--serve", url, queue_name, workload, str(concurrency), str(batch)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        process.kill()
        raise RuntimeError("the benchmark's worker process did not start")
    return process


async def serve(url: str, queue_name: str, workload: str, concurrency: int, batch: int) -> None:
    """The worker process: runs the queue's jobs until SIGTERM, as ``sahha-sync worker`` runs them."""
    engine = create_engine(url)
    handler = noop if workload == "no-op" else archiver_on(engine, batch)
    queue = ProcrastinateJobQueue(url, concurrency=concurrency, queue_name=queue_name)

    async def ready() -> None:
        print("ready", flush=True)

    await run_worker(queue, {"BENCH": handler}, on_start=ready, shutdown_timeout=5.0, freeze_start_up_objects=True)
    await engine.dispose()


def archiver_on(engine: AsyncEngine, batch: int = 1) -> Handler:
    """The archival handler; ``batch`` > 1 archives the jobs running at once together (up to ``batch``)."""
    return ArchiveHealthData(unit_of_work=sql_unit_of_work_factory(engine), clock=SystemClock(), batch_size=batch)


async def measure(queue: JobQueue, handler: Handler, jobs: list[tuple[dict[str, Any], str | None]]) -> dict[str, float]:
    """Jobs are submitted alternately as the two callers submit them: recoverable (an archival, whose request
    the event store keeps: the durable queue writes it behind) and stored (a webhook delivery: the submit
    returns once the job is in the table)."""
    queue.register("BENCH", handler)
    await queue.start()
    latencies: dict[bool, list[float]] = {True: [], False: []}
    started = time.perf_counter()
    for n, (payload, key) in enumerate(jobs):
        recoverable = n % 2 == 0
        before = time.perf_counter()
        await queue.submit_job("BENCH", payload, dedup_key=key, recoverable=recoverable)
        latencies[recoverable].append(time.perf_counter() - before)
        await asyncio.sleep(0)  # a host does other work between submits: the workers run meanwhile
    idle = await queue.wait_idle(600)
    elapsed = time.perf_counter() - started
    stats = await queue.get_stats()
    await queue.stop(drain=False)
    assert idle, "the queue did not finish within 10 minutes"
    assert stats.completed == len(jobs), f"{stats.completed} of {len(jobs)} jobs completed ({stats})"
    figures = {"jobs_per_s": len(jobs) / elapsed}
    for recoverable, name in ((True, "behind"), (False, "stored")):
        ordered = sorted(latencies[recoverable])
        figures[f"{name}_p50_ms"] = statistics.median(ordered) * 1000
        figures[f"{name}_p99_ms"] = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    return figures


async def record_runs(
    unit_of_work: UnitOfWorkFactory, count: int, tag: str, days: int = 1
) -> list[tuple[dict[str, Any], str]]:
    """``count`` runs that asked for their archival, and their jobs with the fetched data (``days`` of one user
    each; a user's windows follow each other, so every job brings new rows)."""
    people = SyntheticPopulation(seed=11, size=50)
    jobs = []
    for i in range(count):
        user, start = people.profile_ids[i % 50], DAY0 + timedelta(days=days * (i // 50))
        window = FetchWindow(start, start + timedelta(days=days))
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


def cpu_times(pids: list[int]) -> dict[int, float]:
    """CPU time (user and system, seconds) each of the processes ``pids`` used so far (Linux's /proc)."""
    times = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone
        times[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return times


def database_pids() -> list[int]:
    """The database server's processes on this machine (every ``postgres`` process: backends and helpers)."""
    pids = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        try:
            with open(f"/proc/{entry}/comm") as comm:
                if comm.read().strip() == "postgres":
                    pids.append(int(entry))
        except (OSError, ValueError):
            continue
    return pids


class CpuCount:
    """CPU seconds used from ``start()`` to ``stop()`` by the worker processes, the database server (its processes
    then: a backend that started meanwhile counts from its start, one that ended meanwhile is missed) and this
    process, which submits."""

    def __init__(self, workers: list[subprocess.Popen[str]]) -> None:
        self._workers = [w.pid for w in workers]

    def start(self) -> None:
        self._before = (cpu_times(self._workers), cpu_times(database_pids()), time.process_time())

    def stop(self) -> tuple[float, float, float]:
        workers, database, submitter = self._before
        now = (cpu_times(self._workers), cpu_times(database_pids()))
        used = [
            sum(t - before.get(pid, 0.0) for pid, t in after.items())
            for after, before in zip(now, (workers, database), strict=True)
        ]
        return used[0], used[1], time.process_time() - submitter


def admin(server: str, statement: sql.Composed) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(statement)


async def run(args: argparse.Namespace) -> list[tuple[str, str, int, dict[str, float]]]:
    name = f"sahha_sync_bench_{uuid.uuid4().hex[:10]}"
    admin(args.server, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = args.server.rsplit("/", 1)[0] + f"/{name}"
    results = []
    try:
        await asyncio.to_thread(migrations.upgrade, url, args.revision)
        engine = create_engine(url)
        unit_of_work = sql_unit_of_work_factory(engine)
        for workload in ("no-op", "archival"):
            for concurrency in (1, 4):
                for kind in KINDS:
                    tag = f"{kind}-{workload}-{concurrency}"
                    if workload == "no-op":
                        jobs: list[tuple[dict[str, Any], str | None]] = [
                            ({"n": n}, None) for n in range(args.noop_jobs)
                        ]
                    else:
                        jobs = list(await record_runs(unit_of_work, args.archival_jobs, tag, args.window_days))
                    handler = noop if workload == "no-op" else archiver_on(engine)
                    worker = spawn_worker(url, tag, workload, concurrency) if kind == "durable" else None
                    try:
                        figures = await measure(make_queue(kind, url, concurrency, tag), handler, jobs)
                    finally:
                        if worker is not None:
                            worker.send_signal(signal.SIGTERM)
                            worker.wait(30)
                    results.append((workload, kind, concurrency, figures))
                    print(f"  {workload:8} {kind:14} x{concurrency}: {figures['jobs_per_s']:8.1f} jobs/s", flush=True)
        await engine.dispose()
    finally:
        admin(args.server, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    return results


async def goals(args: argparse.Namespace) -> None:
    """The scale figures, in one run: see the module's docstring."""
    name = f"sahha_sync_bench_{uuid.uuid4().hex[:10]}"
    admin(args.server, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = args.server.rsplit("/", 1)[0] + f"/{name}"
    figures: dict[str, float] = {}
    try:
        await asyncio.to_thread(migrations.upgrade, url, args.revision)
        engine = create_engine(url)
        unit_of_work = sql_unit_of_work_factory(engine)
        noop_jobs: list[tuple[dict[str, Any], str | None]] = [({"n": n}, None) for n in range(args.noop_jobs)]
        for label, workload, processes in (("no-op", "no-op", 1), ("archival", "archival", 1), ("x2", "archival", 2)):
            tag = f"goal-{label}"
            jobs = (
                noop_jobs
                if workload == "no-op"
                else list(await record_runs(unit_of_work, args.archival_jobs, tag, args.window_days))
            )
            if workload == "archival" and label == "archival":
                figures["records"] = records_per_job(jobs)
            workers = [spawn_worker(url, tag, workload, args.concurrency, args.batch) for _ in range(processes)]
            cpu = CpuCount(workers)
            try:
                cpu.start()
                measured = await measure(make_queue("durable", url, args.concurrency, tag), noop, jobs)
                used = cpu.stop()
                figures.update(
                    {f"{label} {part}": t * 1000 / len(jobs) for part, t in zip(CPU_PARTS, used, strict=True)}
                )
            finally:
                for worker in workers:
                    worker.send_signal(signal.SIGTERM)
                for worker in workers:
                    worker.wait(30)
            figures[label] = measured["jobs_per_s"]
            print(
                f"  durable, {processes} worker process(es), {workload}: {measured['jobs_per_s']:.1f} jobs/s; CPU ms a "
                "job: " + ", ".join(f"{part} {figures[f'{label} {part}']:.2f}" for part in CPU_PARTS),
                flush=True,
            )
        await engine.dispose()
    finally:
        admin(args.server, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    figures["sqlite"] = await sqlite_archival(args)
    figures["sqlite erased"] = await sqlite_archival(args, erasure=True)
    print()
    print(f"archival jobs of {args.window_days}-day windows, {figures['records']:.0f} records a job on average")
    print(
        f"durable queue, one worker process x{args.concurrency}, batch {args.batch}: "
        f"archival {figures['archival']:.1f} jobs/s, no-op {figures['no-op']:.1f} jobs/s: "
        f"{figures['archival'] / figures['no-op']:.2f}x no-op (goal 0.5x)"
    )
    print(
        f"durable queue, two worker processes x{args.concurrency}: archival {figures['x2']:.1f} jobs/s, "
        f"{figures['x2'] / figures['archival']:.2f}x one process (goal 1.6x)"
    )
    print(
        f"in-memory queue on SQLite, worker in-process: archival {figures['sqlite']:.1f} jobs/s (goal 100); "
        f"{figures['sqlite erased']:.1f} jobs/s once a user was erased (the erasure guard checks every row)"
    )
    cores = os.cpu_count() or 1
    for label in ("no-op", "archival"):
        per_job = sum(figures[f"{label} {part}"] for part in CPU_PARTS)
        print(
            f"CPU of one {label} job on the durable queue (worker, database, submitter): {per_job:.1f} ms; "
            f"this machine's {cores} cores, all busy, would run {cores * 1000 / per_job:.0f} such jobs/s"
        )
    busy = figures["archival"] * sum(figures[f"archival {part}"] for part in CPU_PARTS) / 1000
    print(
        f"one worker process's archival kept {busy:.2f} of {cores} cores busy (worker, database and submitter): "
        f"more processes can reach at most {cores / busy:.2f}x one on this machine"
    )
    worker = figures["archival worker"]
    print(
        f"one worker process's own CPU per archival job: {worker:.1f} ms: with a core of its own (Postgres and the "
        f"submitters elsewhere) one process runs up to {1000 / worker:.0f} archival jobs/s, N processes up to N times "
        "that while Postgres keeps up"
    )


def records_per_job(jobs: list[tuple[dict[str, Any], str | None]]) -> float:
    data = [payload["sahha_data"] for payload, _ in jobs]
    return sum(len(d.get(k, ())) for d in data for k in ("biomarkers", "scores", "archetypes")) / len(data)


async def sqlite_archival(args: argparse.Namespace, *, erasure: bool = False) -> float:
    """Archival jobs/s of the in-memory queue on a SQLite file (the embedded defaults), its worker in-process;
    with ``erasure``, once another user was erased (every row written then passes the erasure guard's check)."""
    with tempfile.TemporaryDirectory(prefix="sahha-sync-bench-") as folder:
        url = f"sqlite:///{folder}/sync.db"
        await asyncio.to_thread(migrations.upgrade, url, args.revision)
        engine = create_engine(url)
        try:
            unit_of_work = sql_unit_of_work_factory(engine)
            jobs = list(await record_runs(unit_of_work, args.archival_jobs, "sqlite", args.window_days))
            if erasure:
                await ForgetUser(unit_of_work=unit_of_work, clock=SystemClock()).forget("someone-else")
            queue = InMemoryJobQueue(concurrency=args.concurrency)
            measured = await measure(queue, archiver_on(engine, args.batch), jobs)
        finally:
            await engine.dispose()
    print(
        f"  in-memory queue on SQLite, archival{' once a user was erased' if erasure else ''}: "
        f"{measured['jobs_per_s']:.1f} jobs/s",
        flush=True,
    )
    return measured["jobs_per_s"]


def report(results: list[tuple[str, str, int, dict[str, float]]]) -> None:
    by_key = {(w, k, c): f for w, k, c, f in results}
    columns = ("jobs_per_s", "behind_p50_ms", "behind_p99_ms", "stored_p50_ms", "stored_p99_ms")
    heads = ("jobs/s", "p50", "p99", "p50", "p99")
    print()
    print(f"{'':16}" + "".join(f"| {TITLES[kind]:^44} " for kind in KINDS))
    print(f"{'':16}" + f"| {'':8} {'recoverable ms':^17} {'stored ms':^17} " * len(KINDS))
    print(f"{'workload':10} {'tasks':>5} " + ("| " + " ".join(f"{h:>8}" for h in heads) + " ") * len(KINDS))
    for workload in ("no-op", "archival"):
        for concurrency in (1, 4):
            cells = ""
            for kind in KINDS:
                f = by_key[(workload, kind, concurrency)]
                numbers = (f"{f[c]:>8.1f}" if c == "jobs_per_s" else f"{f[c]:>8.3f}" for c in columns)
                cells += "| " + " ".join(numbers) + " "
            print(f"{workload:10} {concurrency:>5} {cells}")
    print(
        "\njobs/s: first submit to queue idle. Submit latency (ms) while the workers ran, for the two kinds of submit:"
        "\nrecoverable (an archival: the durable queue writes it behind) and stored (a webhook: waits for the insert)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--noop-jobs", type=int, default=1000)
    parser.add_argument("--archival-jobs", type=int, default=200)
    parser.add_argument("--goals", action="store_true", help="print the scale figures only (see above)")
    parser.add_argument("--window-days", type=int, default=7, help="days of data an archival job carries")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULTS["worker_concurrency"],
        help="jobs a worker runs at once, with --goals",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=DEFAULTS["archival_batch"],
        help="most archival jobs archived together, with --goals",
    )
    parser.add_argument(
        "--revision",
        default="head",
        help="the schema revision to migrate the benchmark's databases to (e.g. 0015_erasure_check_once: the job "
        "counters in one row a queue, before 0016_job_counter_shards)",
    )
    parser.add_argument(
        "--serve", nargs=5, metavar=("URL", "QUEUE", "WORKLOAD", "CONCURRENCY", "BATCH"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    if args.serve:
        url, queue_name, workload, concurrency, batch = args.serve
        asyncio.run(serve(url, queue_name, workload, int(concurrency), int(batch)))
        return
    if args.goals:
        asyncio.run(goals(args))
        return
    report(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
