"""The seed's migration (0002) on a database that already holds duplicate rows, and its rollback."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool
from structlog.testing import capture_logs

from sahha_sync import migrations
from sahha_sync.adapters.sql.engine import sync_url

KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
T0 = datetime(2025, 3, 1, tzinfo=UTC)
SUPABASE = "postgresql://postgres@db.example.supabase.co:5432/postgres"


def engine_for(url: str) -> Engine:
    return create_sync_engine(sync_url(url), poolclass=NullPool)


def seed_host_data(engine: Engine) -> None:
    """What a host's tables hold before the seed: three copies of one biomarker, two of one score."""
    biomarker = (
        "INSERT INTO biomarkers (profile_id, category, type, value, start_date_time, end_date_time, "
        "archived_at, updated_at) VALUES ('u1', 'activity', 'steps', :value, :start, :end, :at, :at)"
    )
    score = (
        "INSERT INTO scores (profile_id, type, score, score_date_time, archived_at, updated_at) "
        "VALUES ('u1', 'sleep', :score, :moment, :at, :at)"
    )
    tracking = (
        "INSERT INTO archetype_analysis_tracking (user_id, archetype, analysis_type, last_analysis_at) "
        "VALUES ('u1', 'Peak Performer', 'behavior_analysis', :at)"
    )
    end = T0 + timedelta(days=1)
    with engine.begin() as connection:
        for hours, value in ((1, "100"), (3, "300"), (2, "200")):
            at = T0 + timedelta(days=2, hours=hours)
            connection.execute(text(biomarker), {"value": value, "start": T0, "end": end, "at": at})
        connection.execute(
            text(biomarker), {"value": "other day", "start": end, "end": end + timedelta(days=1), "at": T0}
        )
        for hours, points in ((5, 0.5), (4, 0.4)):
            connection.execute(text(score), {"score": points, "moment": T0, "at": T0 + timedelta(hours=hours)})
        connection.execute(text(tracking), {"at": T0})


def columns(engine: Engine, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}


@pytest.mark.parametrize("kind", KINDS)
def test_the_seed_migration_keeps_the_newest_of_each_duplicate_and_reports_how_many_went(
    kind: str, database_factory: Callable[[str], str]
) -> None:
    url = database_factory(kind)
    migrations.upgrade(url, "0001_baseline")
    engine = engine_for(url)
    try:
        seed_host_data(engine)
        with capture_logs() as logs:
            migrations.upgrade(url, "0002_add_sahha_sync_tracking")
        removed = {e["table"]: e["removed"] for e in logs if e["event"] == "migration.duplicates_removed"}
        assert removed == {"biomarkers": 2, "scores": 1}
        with engine.connect() as connection:
            values = connection.execute(text("SELECT value FROM biomarkers ORDER BY start_date_time")).scalars()
            assert list(values) == ["300", "other day"]
            assert connection.execute(text("SELECT score FROM scores")).scalars().all() == [0.5]
            watermark = connection.execute(text("SELECT analysis_timestamp FROM archetype_analysis_tracking"))
            assert watermark.scalar_one() is not None
        added = {"sahha_data_synced", "sync_completed_at", "sync_error"}
        assert added <= columns(engine, "archetype_analysis_tracking")
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", KINDS)
def test_the_seed_rollback_brings_the_old_columns_back_with_their_data(
    kind: str, database_factory: Callable[[str], str]
) -> None:
    url = database_factory(kind)
    migrations.upgrade(url, "0001_baseline")
    engine = engine_for(url)
    try:
        seed_host_data(engine)
        before = columns(engine, "archetype_analysis_tracking")
        migrations.upgrade(url, "0002_add_sahha_sync_tracking")
        migrations.downgrade(url, "0001_baseline")
        assert columns(engine, "archetype_analysis_tracking") == before
        assert "last_analysis_at" in before
        with engine.connect() as connection:
            kept = connection.execute(text("SELECT last_analysis_at FROM archetype_analysis_tracking")).scalar_one()
        assert kept is not None
        assert inspect(engine).get_unique_constraints("biomarkers") == []
    finally:
        engine.dispose()


def test_the_migrations_print_their_sql_for_psql_users() -> None:
    script = migrations.sql(SUPABASE, None, "0002_add_sahha_sync_tracking")
    assert "ALTER TABLE archetype_analysis_tracking RENAME last_analysis_at TO analysis_timestamp" in script
    assert "ENABLE ROW LEVEL SECURITY" in script
    assert "uq_biomarkers_natural_key" in script
    rollback = migrations.sql(SUPABASE, "0002_add_sahha_sync_tracking", "0001_baseline")
    assert "RENAME analysis_timestamp TO last_analysis_at" in rollback
