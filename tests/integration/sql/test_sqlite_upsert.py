"""SQLite's upsert writes rows in their stored form on the driver's connection: that form must be the one
SQLAlchemy stores (rows read and compared by SQL stay equal), and a driver error must still reach callers as the
archive port's error, without health values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.sql import SqlUnitOfWork, _sqlite_upsert
from sahha_sync.adapters.sql._bind import SQLITE_STATEMENT_ROWS
from sahha_sync.adapters.sql._records import ARCHETYPES, BIOMARKERS, SCORES, KindTable
from sahha_sync.application.ports import ArchiveError
from sahha_sync.domain.health import ScoreFactor
from sahha_sync.testing.records import archetype, biomarker, score

KOLKATA = timezone(timedelta(hours=5, minutes=30))
SEEN = datetime(2025, 10, 2, 3, 4, 5, 678901, tzinfo=KOLKATA)


def sqlalchemy_stored(kind: KindTable[Any], row: tuple[Any, ...]) -> list[Any]:
    """``row`` as SQLAlchemy's own bind processors store it on SQLite."""
    dialect = sqlite.dialect()
    stored = []
    for name, value in zip(kind.columns, row, strict=True):
        process = kind.table.c[name].type._cached_bind_processor(dialect)
        stored.append(value if process is None else process(value))
    return stored


@pytest.mark.parametrize(
    ("kind", "record"),
    [
        (BIOMARKERS, biomarker("u1", observed_at=SEEN)),
        (BIOMARKERS, biomarker("u1", created_at_utc=datetime(2025, 10, 1, 23, 59, 59, tzinfo=UTC), value="7")),
        (BIOMARKERS, biomarker("u1", value="2025-10-01T22:10:00+05:30", value_type="datetime", observed_at=SEEN)),
        (
            SCORES,
            score(
                "u1",
                score=1,
                factors=(ScoreFactor(name="sleep_duration", value=480, goal=None, unit="minute"),),
                data_sources=("watch",),
                observed_at=SEEN,
            ),
        ),
        (SCORES, score("u1", score=None, observed_at=SEEN)),
        (ARCHETYPES, archetype("u1", ordinality=3, observed_at=SEEN.astimezone(UTC).replace(microsecond=0))),
    ],
)
def test_rows_are_stored_as_sqlalchemy_stores_them(kind: KindTable[Any], record: Any) -> None:
    row = kind.to_values(record)
    assert _sqlite_upsert.sqlite_stored(kind, [row]) == [sqlalchemy_stored(kind, row)]


def test_a_naive_datetime_is_refused_by_the_stored_form() -> None:
    row = list(BIOMARKERS.to_values(biomarker("u1", observed_at=SEEN)))
    row[BIOMARKERS.columns.index("observed_at")] = datetime(2025, 10, 1)
    with pytest.raises(ValueError, match="naive"):
        _sqlite_upsert.sqlite_stored(BIOMARKERS, [tuple(row)])


async def test_a_driver_error_is_the_archive_error_without_health_values(sqlite_engine: AsyncEngine) -> None:
    async with sqlite_engine.begin() as connection:
        await connection.execute(text("DROP TABLE biomarkers"))
    with pytest.raises(ArchiveError) as caught:
        async with SqlUnitOfWork(sqlite_engine) as uow:
            await uow.archive.upsert_biomarkers([biomarker("u1", value="918273")])
    assert "918273" not in str(caught.value)
    assert "biomarkers" in str(caught.value)


@pytest.mark.parametrize("kind", [BIOMARKERS, SCORES, ARCHETYPES])
async def test_the_stored_keys_are_counted_by_searching_the_natural_key(
    sqlite_engine: AsyncEngine, kind: KindTable[Any]
) -> None:
    """Counting must not scan the table: its cost would grow with the archive."""
    _, count_sql = _sqlite_upsert._sqlite_sql(kind)
    async with sqlite_engine.connect() as connection:
        plan = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {count_sql(3)}", tuple(["x"] * 3 * len(kind.key)))
        details = [row[-1] for row in plan]
    assert any(d.startswith("SEARCH stored USING COVERING INDEX") for d in details), details
    assert not any(d.startswith("SCAN stored") for d in details), details


def test_rows_sharing_instants_in_other_offsets_are_each_stored_as_sqlalchemy_stores_them() -> None:
    records = [
        biomarker("u1", day=day, observed_at=seen)
        for day in range(3)
        for seen in (SEEN, SEEN.astimezone(UTC), SEEN + timedelta(microseconds=1))
    ]
    rows = [BIOMARKERS.to_values(record) for record in records]
    assert _sqlite_upsert.sqlite_stored(BIOMARKERS, rows) == [sqlalchemy_stored(BIOMARKERS, row) for row in rows]


async def test_a_call_failing_in_its_second_batch_leaves_nothing_of_it_and_the_unit_intact(
    sqlite_engine: AsyncEngine,
) -> None:
    async with sqlite_engine.begin() as connection:
        await connection.execute(
            text(
                "CREATE TRIGGER refuse_boom BEFORE INSERT ON biomarkers WHEN NEW.value = '13' "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        )
    size = SQLITE_STATEMENT_ROWS + 100
    earlier = [biomarker("u2", day=day) for day in range(3)]
    failing = [biomarker("u1", day=day, value="13" if day == size - 1 else "7") for day in range(size)]
    async with SqlUnitOfWork(sqlite_engine) as uow:
        assert (await uow.archive.upsert_biomarkers(earlier)).inserted == 3
        with pytest.raises(ArchiveError):
            await uow.archive.upsert_biomarkers(failing)
        await uow.commit()
    async with sqlite_engine.connect() as connection:
        stored = (await connection.execute(text("SELECT profile_id, count(*) FROM biomarkers GROUP BY 1"))).all()
    assert [tuple(row) for row in stored] == [("u2", 3)]
