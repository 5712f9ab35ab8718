"""Several processes fetching from one Sahha account: the shared rate budget against per-process limiters.

    python benchmarks/rate_budget.py
    python benchmarks/rate_budget.py --processes 2 4 --seconds 12 --server-rps 40 --postgres postgresql://...

Serves the Sahha emulator on 127.0.0.1 from one uvicorn process (see ``sahha_fetch.py``), so its token-bucket
limit of ``--server-rps`` requests/s (bursts of ``--server-burst``, 429 with ``Retry-After`` beyond) is the
account's, whichever process asks; each request takes ``--latency-ms``. A scratch database on the ``--postgres``
server holds the shared budget (migrated first, dropped at the end). For each count in ``--processes`` and each
mode, that many worker processes fetch the last ``--days`` days for users of their own (disjoint), ``--lanes``
fetches at a time, for ``--seconds`` from a common start:

- ``shared``: every client draws from the account's ``PostgresRateBudget`` (spacing ``1 / (server_rps *
  --headroom)`` for all of them together) — what a Postgres deployment runs;
- ``per-process``: every client has only its own limiter at that same spacing (the account's rate), as each
  process had before the budget was shared.

Printed per run: requests answered per second by all processes together, as a share of the server's limit,
the 429s as a share of the requests sent, and (shared) the requests per round trip to the budget.
Goal: >= 85 % of the limit with <= 1 % 429s for two processes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import structlog
from psycopg import sql
from sahha_fetch import add_server_options, emulator_server
from sqlalchemy.engine import make_url

from sahha_sync import migrations
from sahha_sync.adapters.sahha import SahhaHealthDataSource
from sahha_sync.adapters.sahha.emulator import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET, SyntheticPopulation
from sahha_sync.adapters.sql import PostgresRateBudget, create_engine
from sahha_sync.application.ports.rate_budget import NO_USAGE, SlotGrant, Usage
from sahha_sync.domain import FetchWindow

MODES = ("shared", "per-process")


@dataclass
class Totals:
    requests: int = 0
    answered: int = 0
    rate_limited: int = 0
    failed_fetches: int = 0
    reservations: int = 0


# -- one worker process -------------------------------------------------------------------------------------------


class CountingBudget(PostgresRateBudget):
    """The shared budget, counting the round trips it makes for reservations."""

    reservations = 0

    async def reserve(self, count: int, spacing: float, used: Usage = NO_USAGE) -> SlotGrant:
        self.reservations += 1
        return await super().reserve(count, spacing, used)


async def work(spec: dict[str, object]) -> dict[str, int]:
    """Fetch for ``spec["users"]`` from the start moment read on stdin, for ``spec["seconds"]``; the counts."""
    shared = spec["mode"] == "shared"
    engine = create_engine(str(spec["postgres"])) if shared else None
    budget = CountingBudget(engine, str(spec["account"])) if engine is not None else None
    lanes = int(str(spec["lanes"]))
    now = datetime.now(UTC)
    window = FetchWindow(now - timedelta(days=int(str(spec["days"]))), now)
    users = [str(user) for user in spec["users"]]  # type: ignore[attr-defined]
    failed = 0
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=lanes)) as http:
        source = SahhaHealthDataSource(
            http,
            client_id=EMULATOR_CLIENT_ID,
            client_secret=EMULATOR_CLIENT_SECRET,
            base_url=str(spec["base_url"]),
            rate_limit_delay=float(str(spec["spacing"])),
            max_concurrency=lanes,
            max_retries=5,
            cache_ttl=0.0,
            rate_budget=budget,
        )
        print("ready", flush=True)
        start_at = float(await asyncio.to_thread(sys.stdin.readline))
        await asyncio.sleep(max(0.0, start_at - time.time()))

        async def lane(mine: list[str]) -> None:
            nonlocal failed
            while True:
                for user in mine:
                    try:
                        await source.fetch(user, window)
                    except Exception:
                        failed += 1

        lanes_running = [asyncio.create_task(lane(users[n::lanes])) for n in range(lanes)]
        await asyncio.sleep(max(0.0, start_at + float(str(spec["seconds"])) - time.time()))
        stats = source.stats()  # the figures at the end of the measured window
        others = {*lanes_running, *asyncio.all_tasks()} - {asyncio.current_task()}  # with the fetches they share
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
    if engine is not None:
        await engine.dispose()
    return {
        "requests": stats.requests,
        "answered": stats.successes,
        "rate_limited": stats.rate_limited,
        "failed_fetches": failed,
        "reservations": 0 if budget is None else budget.reservations,
    }


# -- the runs --------------------------------------------------------------------------------------------------------


def run(args: argparse.Namespace, base_url: str, postgres: str, mode: str, processes: int) -> Totals:
    """``processes`` workers in ``mode`` for ``args.seconds``; their counts added up."""
    account = f"bench-{uuid.uuid4().hex[:8]}"
    users = list(SyntheticPopulation(args.seed, size=args.users).profile_ids)
    workers = []
    for n in range(processes):
        spec = {
            "mode": mode,
            "postgres": postgres,
            "account": account,
            "base_url": base_url,
            "spacing": 1.0 / (args.server_rps * args.headroom),
            "lanes": args.lanes,
            "days": args.days,
            "seconds": args.seconds,
            "users": users[n::processes],
        }
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
        workers.append(subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
    for worker in workers:
        if worker.stdout.readline().strip() != "ready":
            raise SystemExit("a worker did not start")
    start_at = f"{time.time() + 0.5}\n"
    for worker in workers:
        worker.stdin.write(start_at)
        worker.stdin.flush()
    totals = Totals()
    for worker in workers:
        counts = json.loads(worker.stdout.readline())
        worker.wait(timeout=60)
        for key, value in counts.items():
            setattr(totals, key, getattr(totals, key) + value)
    return totals


@contextlib.contextmanager
def scratch_database(server: str) -> Iterator[str]:
    """A new database on ``server``, migrated to the newest revision, dropped afterwards."""
    name = f"sahha_sync_bench_{uuid.uuid4().hex[:8]}"
    admin = make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        migrations.upgrade(url)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def report_line(args: argparse.Namespace, mode: str, processes: int, totals: Totals) -> bool:
    rate = totals.answered / args.seconds
    share = rate / args.server_rps
    limited = totals.rate_limited / totals.requests if totals.requests else 0.0
    print(
        f"{processes:>9}  {mode:<11}  {rate:8.1f}  {share:8.1%}  {totals.requests:8d}  {totals.rate_limited:6d}"
        f"  {limited:6.1%}  {totals.failed_fetches:6d}"
        + (f"  {totals.requests / totals.reservations:12.1f}" if totals.reservations else "")
    )
    return share >= 0.85 and limited <= 0.01


def main(args: argparse.Namespace) -> None:
    print(
        f"Rate budget benchmark: the emulator on loopback, limit {args.server_rps:g} req/s (burst "
        f"{args.server_burst:g}), {args.latency_ms:g} ms latency;"
    )
    print(
        f"  each process spaced at {1000 / (args.server_rps * args.headroom):.2f} ms ({args.headroom:.0%} of the "
        f"account's limit), {args.lanes} fetches at a time, {args.seconds:g} s per run, {args.users} users split"
    )
    print()
    print("processes  mode         answered/s  of limit  requests    429s   429 %  failed  requests/trip")
    goal: dict[int, bool] = {}
    with scratch_database(args.postgres) as postgres, emulator_server(args) as base_url:
        for processes in args.processes:
            for mode in MODES:
                time.sleep(1.0)  # the server's bucket fills again between runs
                met = report_line(args, mode, processes, run(args, base_url, postgres, mode, processes))
                if mode == "shared":
                    goal[processes] = met
    print()
    for processes, met in goal.items():
        print(
            f"goal for {processes} processes sharing the budget (>= 85 % of the limit, <= 1 % 429s): "
            f"{'met' if met else 'NOT met'}"
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--seconds", type=float, default=10.0)
    add_server_options(parser, users=200)
    parser.add_argument("--lanes", type=int, default=8)
    parser.add_argument("--headroom", type=float, default=0.97, help="the account's spacing as a share of the limit")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    # the per-process runs log a warning per 429: keep stdout for the figures, and only errors on stderr
    structlog.configure(
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR),
    )
    logging.getLogger("psycopg").setLevel(logging.ERROR)  # a reservation cut short when a run ends
    if arguments.worker:
        print(json.dumps(asyncio.run(work(json.loads(arguments.worker)))), flush=True)
    else:
        main(arguments)
