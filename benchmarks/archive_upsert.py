"""How fast ``SqlHealthArchive`` upserts biomarkers into Postgres, against a plain COPY of the same rows.

    python benchmarks/archive_upsert.py --rows 100000
    python benchmarks/archive_upsert.py --rows 1000000

Creates a scratch database on the server of ``--server`` (default: ``SAHHA_SYNC_TEST_POSTGRES_URL`` or the local
server), migrates it, and runs four phases over the same synthetic biomarkers:

- ``plain COPY``: a ``COPY`` into an empty table of the same shape (``LIKE biomarkers INCLUDING ALL``, the same
  storage parameters), the physical reference;
- ``first load``: the archive's upsert into the empty ``biomarkers`` table;
- ``reload, half changed``: the same keys again, every second row with a new value;
- ``reload, unchanged``: the same rows once more (nothing may be written).

Each phase prints rows/s, its ratio to COPY, and the peak resident memory it added above where it started
(sampled every 5 ms; the largest of the passes). The phases run ``--repeat`` times on emptied tables and the
fastest pass of each phase is shown, as the figures of a shared machine vary from run to run.
The rows are built before the timing starts and are not part of either figure.
The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import resource
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from typing import Any

import psycopg
from psycopg import sql as pgsql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync import migrations
from sahha_sync.adapters.sql import SqlUnitOfWork, create_engine
from sahha_sync.adapters.sql._records import BIOMARKERS
from sahha_sync.adapters.sql._upsert import copy_types
from sahha_sync.domain.health import Biomarker, UpsertCounts

DEFAULT_SERVER = os.environ.get("SAHHA_SYNC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
T0 = datetime(2025, 1, 1, tzinfo=UTC)
LOCAL = timezone(timedelta(hours=10))
TYPES = ("steps", "sleep_duration", "heart_rate_resting", "active_energy_burned", "floors_climbed")


def synthetic_biomarkers(count: int) -> list[Biomarker]:
    """``count`` distinct biomarkers: 1,000 users x 5 types x as many days as needed, local offsets."""
    rows = []
    for i in range(count):
        user, rest = divmod(i, len(TYPES) * (count // (1000 * len(TYPES)) + 1))
        day, kind = divmod(rest, len(TYPES))
        start = (T0 + timedelta(days=day)).astimezone(LOCAL)
        rows.append(
            Biomarker(
                user_id=f"user-{user:05d}",
                category="activity",
                type=TYPES[kind],
                value=str(1000 + i % 9000),
                unit="count",
                value_type="long",
                start_date_time=start,
                end_date_time=start + timedelta(days=1),
                periodicity="daily",
                aggregation="total",
                sahha_profile_id=f"sahha-{user:05d}",
                sahha_id=f"{i:032x}",
                created_at_utc=T0,
            )
        )
    return rows


def half_changed(rows: list[Biomarker]) -> list[Biomarker]:
    return [dataclasses.replace(r, value=str(int(r.value) + 1)) if i % 2 == 0 else r for i, r in enumerate(rows)]


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """Samples the resident set every 5 ms while open; ``added`` is the peak above the start."""

    def __init__(self) -> None:
        self.start = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_bytes())

    def __enter__(self) -> PeakRss:
        self.start = self.peak = rss_bytes()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def added(self) -> int:
        return self.peak - self.start


async def copy_reference(url: str, rows: list[Biomarker]) -> None:
    """A plain COPY of the rows (through the archive's own row conversion) into an empty same-shape table."""
    columns = BIOMARKERS.columns
    names = pgsql.SQL(", ").join(pgsql.Identifier(c) for c in columns)
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await conn.execute("CREATE TABLE copy_reference (LIKE biomarkers INCLUDING ALL)")
        options = await (await conn.execute("SELECT reloptions FROM pg_class WHERE relname = 'biomarkers'")).fetchone()
        for option in (options or [None])[0] or ():  # the same storage parameters (fillfactor) as biomarkers
            await conn.execute(pgsql.SQL("ALTER TABLE copy_reference SET ({})").format(pgsql.SQL(option)))
        async with conn.cursor() as cursor:
            copy_sql = pgsql.SQL("COPY copy_reference ({}) FROM STDIN (FORMAT BINARY)").format(names)
            async with cursor.copy(copy_sql) as copy:
                copy.set_types(copy_types(BIOMARKERS))
                for record in rows:
                    await copy.write_row(BIOMARKERS.to_values(record))
        await conn.commit()


async def timed(rows: int, action: Callable[[], Awaitable[Any]]) -> tuple[float, Any, int]:
    with PeakRss() as memory:
        started = time.perf_counter()
        result = await action()
        elapsed = time.perf_counter() - started
    rate = rows / elapsed
    return rate, result, memory.added


def report(label: str, rate: float, reference: float, added: int, counts: UpsertCounts | None) -> None:
    ratio = rate / reference
    shown = "" if counts is None else f"  {counts.inserted} ins / {counts.updated} upd / {counts.unchanged} same"
    print(f"{label:<22} {rate:>11,.0f} rows/s  {ratio:5.2f} x COPY  +{added / 2**20:7.1f} MiB RSS{shown}")


PHASES = ("plain COPY", "first load", "reload, half changed", "reload, unchanged")


async def upsert(engine: AsyncEngine, batch: list[Biomarker]) -> UpsertCounts:
    """One archival's upsert: its own unit of work, committed."""
    async with SqlUnitOfWork(engine) as uow:
        counts = await uow.archive.upsert_biomarkers(batch)
        await uow.commit()
    return counts


async def run_once(database: str, rows: list[Biomarker], changed: list[Biomarker]) -> dict[str, Any]:
    """One pass over the four phases on empty tables: ``{phase: (rows/s, counts, added RSS)}``."""
    async with await psycopg.AsyncConnection.connect(database, autocommit=True) as conn:
        await conn.execute("DROP TABLE IF EXISTS copy_reference")
        await conn.execute("TRUNCATE biomarkers RESTART IDENTITY")
    engine = create_engine(database)
    results: dict[str, Any] = {}
    try:
        results["plain COPY"] = await timed(len(rows), partial(copy_reference, database, rows))
        for label, batch in zip(PHASES[1:], (rows, changed, changed), strict=True):
            results[label] = await timed(len(rows), partial(upsert, engine, batch))
    finally:
        await engine.dispose()
    return results


async def run(database: str, count: int, repeat: int) -> None:
    print(f"building {count:,} synthetic biomarkers ...", flush=True)
    rows = synthetic_biomarkers(count)
    changed = half_changed(rows)
    passes = [await run_once(database, rows, changed) for _ in range(repeat)]
    print(f"{count:,} rows, best of {repeat} passes (the machine is shared; the best pass is the least disturbed):")
    best = {phase: max((p[phase] for p in passes), key=lambda result: result[0]) for phase in PHASES}
    copy_rate = best["plain COPY"][0]
    for phase in PHASES:
        rate, counts, _ = best[phase]
        added = max(p[phase][2] for p in passes)
        report(phase, rate, copy_rate, added, counts)
    print(f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


def admin(server: str, statement: pgsql.Composed) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(statement)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="passes over the phases; the best of each is shown")
    parser.add_argument("--server", default=DEFAULT_SERVER, help="a Postgres URL; a scratch database is made on it")
    args = parser.parse_args()
    name = f"sahha_sync_bench_{uuid.uuid4().hex[:10]}"
    admin(args.server, pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name)))
    target = make_url(args.server).set(database=name).render_as_string(hide_password=False)
    try:
        migrations.upgrade(target)
        asyncio.run(run(target, args.rows, args.repeat))
    finally:
        admin(args.server, pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(name)))


if __name__ == "__main__":
    main()
