"""The seed's efficiency claims, measured: one simulated fortnight of analyses run three ways on the same data.

    python benchmarks/incremental_sim.py [--users N --days D --seed S --per-day K] [--postgres URL]

(a) the seed's baseline: every analysis fetches the full 7 days and appends them (plain INSERT, no dedup, into
    tables of the same shape without unique constraints);
(b) the full 7-day fetch with an upsert that rewrites every fetched row (ON CONFLICT DO UPDATE);
(c) sahha-sync as built: ``RunAnalysis`` with incremental windows and the 48 h lookback, the upsert that keeps the
    newest value (an equal value seen later only moves its ``observed_at`` on), and the client's fetch cache, on
    SQLite with the in-memory queue.

All three use the real Sahha client on the in-process emulator, whose clock is the simulated one (data arrives
late, as it does in the integrity simulation). Printed: Sahha API calls (data requests; token requests apart),
items fetched, rows written, rows stored, and the reductions of (c) against (a) and (b), beside the seed's claims
(90-96 % less storage, 40-44 % fewer API calls). Then the time the host waits for ``run_analysis`` with a
zero-latency analyst, p50/p99, with archival running in the background ("on": each call starts while the
previous run's job runs) and with archival kept out of every host call ("off": the queue is idle at each call). The
figures of (c) come from the "off" run: simulated hours pass between a user's runs in milliseconds here, and in real
time the queue is idle long before a user's next run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import structlog
from psycopg import sql as psql
from sqlalchemy.engine import make_url

from sahha_sync import migrations
from sahha_sync.adapters.clock import ManualClock
from sahha_sync.adapters.memory import InMemoryJobQueue
from sahha_sync.adapters.sahha import SahhaHealthDataSource
from sahha_sync.adapters.sahha.emulator import (
    EMULATOR_BASE_URL,
    EMULATOR_CLIENT_ID,
    EMULATOR_CLIENT_SECRET,
    SahhaEmulator,
    SyntheticPopulation,
    emulator_transport,
)
from sahha_sync.adapters.sql import SqlUnitOfWork, create_engine, sql_unit_of_work_factory
from sahha_sync.application.ports import Analyst
from sahha_sync.application.use_cases import ArchiveHealthData, RunAnalysis
from sahha_sync.domain import (
    Analysis,
    AnalysisInput,
    FetchWindow,
    HealthRecords,
    RecordsArchived,
)

START = datetime(2026, 11, 2, tzinfo=UTC)
TYPES = ("behavior_analysis", "circadian_analysis")
DATA_ROUTES = ("biomarker", "score", "archetypes")
KEYS = {
    "biomarkers": ("user_id", "type", "start_date_time", "end_date_time"),
    "scores": ("user_id", "type", "score_date_time"),
    "archetypes": ("user_id", "name", "periodicity", "start_date_time", "end_date_time"),
}


@dataclass
class Figures:
    api_calls: int = 0
    items_fetched: int = 0
    rows_written: int = 0
    rows_stored: int = 0


class InstantAnalyst(Analyst):
    """A zero-latency analyst: the host's wait is the library's own work."""

    name = "instant"

    async def analyse(self, analysis_input: AnalysisInput) -> Analysis:
        return Analysis(summary="", analyst=self.name, model="none", prompt_version="0", input_hash="")


def schedule(users: tuple[str, ...], days: int, per_day: int, seed: int) -> list[tuple[datetime, str, str]]:
    """(time, user, analysis type) of every analysis: ``per_day`` a day per user and type, at random times."""
    rng = random.Random(f"benchmark:{seed}")
    runs = [
        (START + timedelta(days=day, seconds=rng.randrange(86_400)), user, atype)
        for user in users
        for atype in TYPES
        for day in range(days)
        for _ in range(per_day)
    ]
    return sorted(runs)


class Sahha:
    """The emulator on the simulated clock and a client of it; ``api_calls`` counts data requests."""

    def __init__(self, seed: int, users: int, *, cache: bool) -> None:
        self.clock = ManualClock(START)
        population = SyntheticPopulation(seed, size=users)
        self.emulator = SahhaEmulator(population, seed=seed, clock=self.clock.now)
        self.http = httpx.AsyncClient(transport=emulator_transport(self.emulator), base_url=EMULATOR_BASE_URL)
        self.source = SahhaHealthDataSource(
            self.http,
            client_id=EMULATOR_CLIENT_ID,
            client_secret=EMULATOR_CLIENT_SECRET,
            base_url=EMULATOR_BASE_URL,
            rate_limit_delay=0.0,
            cache_ttl=60.0 if cache else 0.0,
            monotonic=lambda: self.clock.now().timestamp(),
            wall_clock=lambda: self.clock.now().timestamp(),
            now=self.clock.now,
        )

    @property
    def profile_ids(self) -> tuple[str, ...]:
        return self.emulator.population.profile_ids

    @property
    def api_calls(self) -> int:
        return sum(self.emulator.count(route) for route in DATA_ROUTES)


def _rows(records: HealthRecords) -> Iterator[tuple[str, dict[str, Any]]]:
    for name in ("biomarkers", "scores", "archetypes"):
        for record in getattr(records, name):
            row = {k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in record.to_dict().items()}
            yield name, row


class SeedTables:
    """The seed's tables in SQLite: without unique constraints (append) or with them (upsert every row)."""

    def __init__(self, *, unique: bool) -> None:
        self.db = sqlite3.connect(":memory:")
        self.unique = unique
        self._columns: dict[str, list[str]] = {}

    def _create(self, name: str, row: dict[str, Any]) -> None:
        columns = list(row)
        constraint = f", UNIQUE ({', '.join(KEYS[name])})" if self.unique else ""
        self.db.execute(f"CREATE TABLE {name} ({', '.join(columns)}{constraint})")
        self._columns[name] = columns

    def write(self, records: HealthRecords) -> int:
        written = 0
        for name, row in _rows(records):
            if name not in self._columns:
                self._create(name, row)
            columns = self._columns[name]
            sql = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
            if self.unique:
                updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in KEYS[name])
                sql += f" ON CONFLICT ({', '.join(KEYS[name])}) DO UPDATE SET {updates}"
            self.db.execute(sql, [row[c] for c in columns])
            written += 1
        return written

    def stored(self) -> int:
        return sum(self.db.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in self._columns)


async def seed_way(args: argparse.Namespace, *, upsert: bool) -> Figures:
    """(a) or (b): every analysis fetches the last 7 days; the rows are appended, or upserted, all of them."""
    sahha = Sahha(args.seed, args.users, cache=False)
    tables = SeedTables(unique=upsert)
    figures = Figures()
    for at, user, _ in schedule(sahha.profile_ids, args.days, args.per_day, args.seed):
        sahha.clock.set(at)
        records = await sahha.source.fetch(user, FetchWindow.last_days(at, 7), include_archetypes=True)
        figures.items_fetched += records.total_items
        figures.rows_written += tables.write(records)
    figures.api_calls, figures.rows_stored = sahha.api_calls, tables.stored()
    await sahha.http.aclose()
    return figures


async def sahha_sync_way(args: argparse.Namespace, folder: Path, *, overlap: bool) -> tuple[Figures, list[float]]:
    """(c): ``RunAnalysis`` as built. ``overlap``: each host call starts while the previous run's archival job
    runs (else the queue is idle at each call). Returns the figures and the host's waits."""
    url = await asyncio.to_thread(_new_database, args, folder, "on" if overlap else "off")
    engine = create_engine(url)
    sahha = Sahha(args.seed, args.users, cache=True)
    uow = sql_unit_of_work_factory(engine)
    queue = InMemoryJobQueue()
    queue.register(ArchiveHealthData.JOB_TYPE, ArchiveHealthData(unit_of_work=uow, clock=sahha.clock))
    await queue.start()
    run = RunAnalysis(source=sahha.source, analyst=InstantAnalyst(), unit_of_work=uow, queue=queue, clock=sahha.clock)
    figures, waits = Figures(), []
    for at, user, atype in schedule(sahha.profile_ids, args.days, args.per_day, args.seed):
        sahha.clock.set(at)
        await _settle(queue, at_most=1 if overlap else 0)
        began = time.perf_counter()
        outcome = await run.run_analysis(user, "benchmark", atype)
        waits.append(time.perf_counter() - began)
        figures.items_fetched += outcome.snapshot.total_items
    await queue.stop(drain=True)
    figures.api_calls = sahha.api_calls
    figures.rows_written, figures.rows_stored = await _archive_figures(engine)
    await engine.dispose()
    await sahha.http.aclose()
    if args.postgres:
        await asyncio.to_thread(_drop_database, url)
    return figures, waits


async def _settle(queue: InMemoryJobQueue, *, at_most: int) -> None:
    """Wait (untimed) until at most ``at_most`` jobs are queued or running. Simulated hours pass between a user's
    runs in milliseconds here, so without this the queue would fall behind as it never does in real time."""
    while (stats := await queue.get_stats()).queued + stats.running > at_most:  # noqa: ASYNC110 (the port has no event)
        await asyncio.sleep(0.0005)


def _new_database(args: argparse.Namespace, folder: Path, name: str) -> str:
    """A migrated, empty database: a SQLite file in ``folder``, or a new database on ``--postgres``."""
    if not args.postgres:
        url = f"sqlite:///{folder / f'{name}.db'}"
    else:
        database = f"sahha_sync_bench_{name}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.postgres, autocommit=True) as connection:
            connection.execute(psql.SQL("CREATE DATABASE {}").format(psql.Identifier(database)))
        url = make_url(args.postgres).set(database=database).render_as_string(hide_password=False)
    migrations.upgrade(url)
    return url


def _drop_database(url: str) -> None:
    """Drop a database this benchmark created (its name says so)."""
    database = make_url(url).database or ""
    if not database.startswith("sahha_sync_bench_"):
        raise ValueError(f"refusing to drop {database!r}: not created by this benchmark")
    admin = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(psql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psql.Identifier(database)))


async def _archive_figures(engine: Any) -> tuple[int, int]:
    """Rows written (inserted + updated, from the archival events) and rows stored (the three tables)."""
    written = 0
    async with SqlUnitOfWork(engine) as uow:
        recorded_events = await uow.events.read_all()
    for recorded in recorded_events:
        event = recorded.event
        if isinstance(event, RecordsArchived):
            written += event.inserted + event.updated
    async with engine.connect() as connection:
        stored = 0
        for table in ("biomarkers", "scores", "archetypes"):
            stored += (await connection.exec_driver_sql(f"SELECT count(*) FROM {table}")).scalar_one()
    return written, stored


def _less(new: int, old: int) -> str:
    return "n/a" if old == 0 else f"{100.0 * (old - new) / old:5.1f} %"


def _quantiles(waits: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(waits, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000, statistics.fmean(waits) * 1000


def report(args: argparse.Namespace, ways: dict[str, Figures], on: list[float], off: list[float]) -> None:
    runs = len(on)
    print(f"users={args.users} days={args.days} analyses/day/user/type={args.per_day} seed={args.seed} runs={runs}")
    print(f"{'':34}{'API calls':>11}{'items fetched':>15}{'rows written':>14}{'rows stored':>13}")
    for label, f in ways.items():
        print(f"{label:34}{f.api_calls:>11}{f.items_fetched:>15}{f.rows_written:>14}{f.rows_stored:>13}")
    a, b, c = ways.values()
    print("\nreductions of (c)                  vs (a) baseline   vs (b) full+upsert   seed's claim")
    claims = {"api_calls": "40-44 %", "items_fetched": "", "rows_written": "", "rows_stored": "90-96 %"}
    for name, claim in claims.items():
        new, old_a, old_b = getattr(c, name), getattr(a, name), getattr(b, name)
        print(f"  {name:32} {_less(new, old_a):>15} {_less(new, old_b):>20}   {claim}")
    backend = "Postgres" if args.postgres else "SQLite file"
    print(f"\nhost wait for run_analysis (zero-latency analyst, {backend}, in-memory queue), milliseconds:")
    print("  on: each call starts while the previous run's archival job runs; off: the queue is idle at each call")
    print(f"  (items fetched with archival on: {args.overlap_items}; a run planned while the same user's previous")
    print("  archival is still pending fetches that run's window again)")
    for label, waits in (("archival on (background)", on), ("archival off (kept out of calls)", off)):
        p50, p99, mean = _quantiles(waits)
        print(f"  {label:34} p50 {p50:7.2f}   p99 {p99:7.2f}   mean {mean:7.2f}")


async def main(args: argparse.Namespace) -> None:
    ways = {
        "(a) seed: 7 days, append": await seed_way(args, upsert=False),
        "(b) 7 days, upsert every row": await seed_way(args, upsert=True),
    }
    folder = Path(tempfile.mkdtemp(prefix="sahha-sync-bench-", dir=args.db_dir))
    overlapping, on = await sahha_sync_way(args, folder, overlap=True)
    ways["(c) sahha-sync"], off = await sahha_sync_way(args, folder, overlap=False)
    args.overlap_items = overlapping.items_fetched
    shutil.rmtree(folder, ignore_errors=True)
    report(args, ways, on, off)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--per-day", type=int, default=3, help="analyses a day per user and analysis type")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--db-dir", default=None, help="where the SQLite files go (default: the temp folder)")
    parser.add_argument(
        "--postgres", default=None, help="run (c) on this Postgres server instead (postgresql://user@host/postgres)"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(main(parse()))
