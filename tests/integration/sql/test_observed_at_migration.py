"""The migration that adds ``observed_at`` gives rows already stored what is known of them, so the newest-value
rule holds for them at once: their ``created_at_utc``, else the time they were last written."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Table, insert, inspect, select
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.pool import NullPool

from sahha_sync import migrations
from sahha_sync.adapters.sql.engine import create_engine, sync_url
from sahha_sync.adapters.sql.tables import archetypes, biomarkers, scores
from sahha_sync.domain.health import UpsertCounts
from sahha_sync.domain.windows import FetchWindow
from tests.sql_stores import Committed

KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
REVISION, BEFORE = "0007_observed_at", "0006_analysis_results"
T0 = datetime(2025, 10, 1, tzinfo=UTC)
SUPABASE = "postgresql://postgres@db.example.supabase.co:5432/postgres"


def hours(n: int) -> datetime:
    return T0 + timedelta(hours=n)


ROWS: dict[Table, list[dict[str, Any]]] = {
    biomarkers: [
        {"profile_id": "u", "type": "steps", "value": "400", "start_date_time": T0, "end_date_time": hours(23),
         "created_at_utc": hours(25), "updated_at": hours(30), "start_utc_offset": 0, "end_utc_offset": 0},
        {"profile_id": "u", "type": "steps", "value": "455", "start_date_time": hours(24), "end_date_time": hours(47),
         "created_at_utc": None, "updated_at": hours(50), "start_utc_offset": 0, "end_utc_offset": 0},
    ],
    scores: [{"profile_id": "u", "type": "sleep", "score": 0.7, "score_date_time": T0, "created_at_utc": hours(9),
              "updated_at": hours(12)}],
    archetypes: [{"profile_id": "u", "name": "sleep_pattern", "value": "early", "periodicity": "weekly",
                  "start_date_time": T0, "end_date_time": hours(167), "updated_at": hours(170)}],
}  # fmt: skip


def stored_before_the_migration(url: str) -> None:
    migrations.upgrade(url, BEFORE)
    engine = create_sync_engine(sync_url(url), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            for table, rows in ROWS.items():
                for row in rows:
                    connection.execute(insert(table).values(**row))
        migrations.upgrade(url, REVISION)
        with engine.connect() as connection:
            found = {t.name: connection.execute(select(t.c.observed_at).order_by(t.c.id)).scalars().all() for t in ROWS}
        assert found == {"biomarkers": [hours(25), hours(50)], "scores": [hours(9)], "archetypes": [hours(170)]}
        migrations.downgrade(url, BEFORE)
        assert all("observed_at" not in {c["name"] for c in inspect(engine).get_columns(t.name)} for t in ROWS)
        migrations.upgrade(url)
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", KINDS)
async def test_stored_rows_are_as_new_as_their_creation_else_their_last_write(
    kind: str, database_factory: Callable[[str], str]
) -> None:
    url = database_factory(kind)
    await asyncio.to_thread(stored_before_the_migration, url)
    engine = create_engine(url)
    try:
        archive = Committed(engine, "archive")
        (_, undated) = (await archive.read_window("u", FetchWindow(T0, hours(48)))).biomarkers
        assert (undated.value, undated.observed_at) == ("455", hours(50))
        older = dataclasses.replace(undated, value="430", observed_at=hours(49))
        assert await archive.upsert_biomarkers([older]) == UpsertCounts(unchanged=1)
        newer = dataclasses.replace(undated, value="470", observed_at=hours(51))
        assert await archive.upsert_biomarkers([newer]) == UpsertCounts(updated=1)
    finally:
        await engine.dispose()


def test_the_migration_prints_its_sql_for_postgres_and_for_sqlite() -> None:
    script = migrations.sql(SUPABASE, BEFORE, REVISION)
    assert "ADD COLUMN observed_at" in script
    assert "coalesce(created_at_utc, updated_at, archived_at)" in script
    assert "ALTER COLUMN observed_at SET NOT NULL" in script
    on_sqlite = migrations.sql("sqlite:///never-opened.db", "0003_event_store", "head")  # copies no table
    assert on_sqlite.count("ADD COLUMN observed_at") == 3
