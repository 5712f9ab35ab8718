"""A scripted scenario on a real database, with failures, for the ``stats`` and ``forget-user`` tests; and a scan
of every table's rows as text."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from sahha_sync.adapters.clock import SystemClock
from sahha_sync.adapters.llm import OfflineAnalyst
from sahha_sync.adapters.memory import InMemoryHealthDataSource
from sahha_sync.adapters.sahha import SahhaHealthDataSource, SahhaStats
from sahha_sync.application.ports import JobContext, SahhaUnavailableError
from sahha_sync.application.use_cases import ArchiveHealthData, IngestWebhookRecords, RunAnalysis
from sahha_sync.application.use_cases.ingest_webhook import WebhookDelivery
from sahha_sync.domain import Biomarker, InvalidInputError
from sahha_sync.infrastructure import SahhaSync, Settings
from sahha_sync.infrastructure.container import resolve
from tests.unit.application.conftest import RecordingQueue

FORGOTTEN, KEPT = "user-0011", "user-0012"
WEBHOOK_VALUE = "734519"


async def run_scenario(database_url: str) -> SahhaStats:
    """ann: two runs (behavior, circadian) and a webhook biomarker; ben: one run; cat: Sahha fails (no archive to
    fall back on); dan: a 429 and a 500 retried, then archival fails for good; eve: archival still pending.
    Returns the Sahha client's own counters (what the emulator was asked, seen by the only process that asked)."""
    # every run fetches (a zero bound), so each of ann's two runs has its own fetch and archival to count
    settings = Settings.from_env(database_url=database_url, queue="memory", max_staleness=0)
    async with SahhaSync(settings) as sync:
        await sync.run_analysis(FORGOTTEN, "Peak Performer", "behavior_analysis")
        await sync.run_analysis(FORGOTTEN, "Peak Performer", "circadian_analysis")
        await sync.run_analysis(KEPT, "Foundation Builder", "behavior_analysis")
        assert await sync.wait_for_archival(120)
        unit_of_work = await resolve(sync.container.unit_of_work)
        source = await resolve(sync.container.source)
        clock = SystemClock()
        await _webhook(unit_of_work, clock)
        failing = InMemoryHealthDataSource()
        failing.fail_with(SahhaUnavailableError("503 from /biomarkers"))
        held = RecordingQueue()  # keeps the jobs without running them: eve's archival stays pending
        emulator = await resolve(sync.container.emulator)
        emulator.faults.add(429, 500)  # dan's fetch gets through on retries
        for user, from_source in (("cat", failing), ("dan", source), ("eve", source)):
            run = RunAnalysis(source=from_source, analyst=OfflineAnalyst(), unit_of_work=unit_of_work, queue=held,
                              clock=clock)  # fmt: skip
            await run.run_analysis(user, "Peak Performer", "behavior_analysis")
        dan = next(payload for _, payload, _ in held.submitted if payload["user_id"] == "dan")
        dan.pop("sahha_data")  # and no source to fetch it again: the job fails for good
        archiver = ArchiveHealthData(unit_of_work=unit_of_work, clock=clock, source=None)
        with pytest.raises(InvalidInputError):
            await archiver.archive(dan, JobContext("held-dan", ArchiveHealthData.JOB_TYPE, 3, 3))
        assert isinstance(source, SahhaHealthDataSource)
        return source.stats()


async def _webhook(unit_of_work: Any, clock: SystemClock) -> None:
    start = datetime(2026, 1, 5, tzinfo=UTC)
    record = Biomarker(
        user_id=FORGOTTEN, category="activity", type="steps", value=WEBHOOK_VALUE, unit="count",
        value_type="long", start_date_time=start, end_date_time=start.replace(hour=23), aggregation="total",
    )  # fmt: skip
    delivery = WebhookDelivery(record=record, received_at=clock.now())
    ingest = IngestWebhookRecords(unit_of_work=unit_of_work, clock=clock)
    await ingest.ingest(delivery.to_payload(), JobContext("hook-1", IngestWebhookRecords.JOB_TYPE, 1, 3))


def sqlite_path(url: str) -> str:
    database = make_url(url).database
    assert database is not None
    return database


def all_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (Postgres: every schema but the system ones), by table."""
    if url.startswith("sqlite"):
        with sqlite3.connect(sqlite_path(url)) as db:
            names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {name: db.execute(f'SELECT * FROM "{name}"').fetchall() for name in names}
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as db:
        tables = db.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
            "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        return {f"{s}.{t}": db.execute(f'SELECT * FROM "{s}"."{t}"').fetchall() for s, t in tables}


def table_text(url: str) -> dict[str, str]:
    return {name: "\n".join(" ".join(map(str, row)) for row in rows) for name, rows in all_rows(url).items()}
