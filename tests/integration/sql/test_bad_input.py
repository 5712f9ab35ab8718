"""Bad records are refused with an error naming the record's key and field, and nothing of their batch is
written; database errors reach callers as the ports' errors, without passwords or health values."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.sql import SqlUnitOfWork, TrackingStoreUnavailableError, create_engine
from sahha_sync.adapters.sql.errors import redact
from sahha_sync.application.ports import (
    AnalysisResultStoreError,
    AnalysisResultStoreUnavailableError,
    ArchiveError,
    ArchiveUnavailableError,
    EventStoreUnavailableError,
)
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.health import Biomarker, Score
from sahha_sync.domain.windows import FetchWindow
from sahha_sync.testing.records import T0, analysis_requested, archetype, biomarker, score, unique_id
from tests.contract.suites.analysis_results import stored
from tests.sql_stores import Committed

WINDOW = FetchWindow(T0 - timedelta(days=1), T0 + timedelta(days=4000))


def forced(record: object, **fields: object) -> object:
    """``record`` with fields set past the domain's checks, as a buggy caller might hand it over."""
    for name, value in fields.items():
        object.__setattr__(record, name, value)
    return record


def test_the_domain_refuses_a_naive_datetime_and_names_the_field() -> None:
    with pytest.raises(InvalidInputError) as caught:
        biomarker("u1", start_date_time=datetime(2025, 1, 1))
    assert caught.value.field == "start_date_time"


def test_the_domain_refuses_a_nan_and_names_the_field() -> None:
    with pytest.raises(InvalidInputError) as caught:
        score("u1", score=math.nan)
    assert caught.value.field == "score"
    with pytest.raises(InvalidInputError) as caught:
        biomarker("u1", value="nan", value_type="double")
    assert caught.value.field == "value"


@pytest.mark.parametrize("size", [10, 2500], ids=["small batch", "copy-sized batch"])
async def test_a_batch_with_a_naive_datetime_writes_nothing(sql_engine: AsyncEngine, size: int) -> None:
    user = unique_id()
    rows: list[Biomarker] = [biomarker(user, day=d) for d in range(size)]
    bad = rows[-1]
    forced(bad, start_date_time=bad.start_date_time.replace(tzinfo=None))
    archive = Committed(sql_engine, "archive")
    with pytest.raises(InvalidInputError) as caught:
        await archive.upsert_biomarkers(rows)
    assert caught.value.field == "start_date_time"
    assert user in str(caught.value)
    assert "8500" not in str(caught.value)  # the key names the record, the value stays out
    assert (await archive.read_window(user, WINDOW)).total_items == 0


async def test_a_score_batch_with_a_nan_writes_nothing(sql_engine: AsyncEngine) -> None:
    user = unique_id()
    rows: list[Score] = [score(user, day=d) for d in range(5)]
    forced(rows[2], score=math.nan)
    archive = Committed(sql_engine, "archive")
    with pytest.raises(InvalidInputError) as caught:
        await archive.upsert_scores(rows)
    assert caught.value.field == "score"
    assert (await archive.read_window(user, WINDOW)).total_items == 0


async def test_a_refused_batch_inside_a_unit_of_work_leaves_the_rest_of_the_unit_intact(
    sql_engine: AsyncEngine,
) -> None:
    user = unique_id()
    async with SqlUnitOfWork(sql_engine) as uow:
        await uow.archive.upsert_biomarkers([biomarker(user, day=0)])
        bad = [biomarker(user, day=1), forced(biomarker(user, day=2), end_date_time=datetime(2025, 1, 1))]
        with pytest.raises(InvalidInputError):
            await uow.archive.upsert_biomarkers(bad)  # type: ignore[arg-type]
        await uow.commit()
    stored = await Committed(sql_engine, "archive").read_window(user, WINDOW)
    assert [b.start_date_time for b in stored.biomarkers] == [biomarker(user, day=0).start_date_time]


@pytest.mark.postgres
@pytest.mark.parametrize("size", [10, 2500], ids=["small batch", "copy-sized batch"])
@pytest.mark.parametrize(
    "refused",
    [{"state": "lo\x00w"}, {"data_sources": ("sle\x00ep",)}],
    ids=["text the driver refuses", "JSON the server refuses"],
)
async def test_a_batch_the_database_refuses_leaves_the_rest_of_the_unit_intact(
    postgres_engine: AsyncEngine, size: int, refused: dict[str, Any]
) -> None:
    """A refusal (a NUL in a text, in a JSON string) rolls back that call alone: the writes before and after it
    in the unit of work, an event among them, are committed."""
    user = unique_id()
    async with SqlUnitOfWork(postgres_engine) as uow:
        await uow.archive.upsert_scores([score(user, day=0)])
        bad = [score(user, day=d + 1, **(refused if d == size - 1 else {})) for d in range(size)]
        with pytest.raises(ArchiveError) as caught:
            await uow.archive.upsert_scores(bad)
        assert caught.value.retryable is False
        await uow.archive.upsert_scores([score(user, day=size + 5)])
        await uow.events.append(f"run-{user}", [analysis_requested(f"run-{user}", user_id=user)], expected_version=0)
        await uow.commit()
    stored = await Committed(postgres_engine, "archive").read_window(user, WINDOW)
    assert [s.score_date_time for s in stored.scores] == [
        score(user, day=0).score_date_time,
        score(user, day=size + 5).score_date_time,
    ]
    assert await Committed(postgres_engine, "events").stream_version(f"run-{user}") == 1


async def test_something_that_is_not_a_biomarker_is_refused(sql_engine: AsyncEngine) -> None:
    with pytest.raises(InvalidInputError) as caught:
        await Committed(sql_engine, "archive").upsert_biomarkers([score("u1")])
    assert "Biomarker" in str(caught.value)


async def test_an_unreachable_database_is_a_retryable_error_that_hides_the_password() -> None:
    engine = create_engine("postgresql://sahha:s3cret-pw@127.0.0.1:1/none")
    try:
        with pytest.raises(ArchiveUnavailableError) as caught:
            async with SqlUnitOfWork(engine):
                pass
    finally:
        await engine.dispose()
    assert caught.value.retryable is True
    assert "s3cret-pw" not in str(caught.value)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("store", "call", "error"),
    [
        ("archive", lambda archive: archive.upsert_biomarkers([biomarker("u1")]), ArchiveUnavailableError),
        ("events", lambda events: events.stream_version("run-x"), EventStoreUnavailableError),
        ("tracking", lambda tracking: tracking.get("run-x"), TrackingStoreUnavailableError),
        ("analysis_results", lambda results: results.get("run-x"), AnalysisResultStoreUnavailableError),
    ],
)
async def test_a_connection_lost_inside_a_unit_of_work_is_the_ports_retryable_error(
    postgres_engine: AsyncEngine, store: str, call: Any, error: type[Exception]
) -> None:
    async with SqlUnitOfWork(postgres_engine) as uow:
        async with postgres_engine.connect() as other:  # ends every other session of the test's database
            await other.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        with pytest.raises(error) as caught:
            await call(getattr(uow, store))
    assert getattr(caught.value, "retryable", False) is True


def test_passwords_are_redacted_from_urls_and_keyword_pairs() -> None:
    text = "failed for postgresql://user:hunter2@db:5432/x and host=db password=hunter2 port=5432"
    assert "hunter2" not in redact(text)
    assert "postgresql://user:***@db:5432/x" in redact(text)


async def test_a_failed_read_of_a_sqlite_archive_is_the_ports_error_without_the_user(
    sqlite_engine: AsyncEngine,
) -> None:
    """SQLite's window reads go to the driver directly: its errors still reach callers as the archive's."""
    async with SqlUnitOfWork(sqlite_engine) as uow:
        await uow.archive.upsert_biomarkers([biomarker("user-with-a-secret-name")])
        await uow.commit()
    async with sqlite_engine.begin() as connection:
        await connection.execute(text("ALTER TABLE scores RENAME TO scores_elsewhere"))
    try:
        async with SqlUnitOfWork(sqlite_engine) as uow:
            with pytest.raises(ArchiveError) as caught:
                await uow.archive.read_window("user-with-a-secret-name", WINDOW)
    finally:
        async with sqlite_engine.begin() as connection:
            await connection.execute(text("ALTER TABLE scores_elsewhere RENAME TO scores"))
    assert "read of an archive window failed: OperationalError" in str(caught.value)
    assert "user-with-a-secret-name" not in str(caught.value)


async def test_a_write_refused_by_sqlite_leaves_nothing_and_the_unit_goes_on(sqlite_engine: AsyncEngine) -> None:
    """On SQLite a one-statement write has no savepoint of its own: SQLite undoes the failed statement alone,
    and the unit of work keeps what it wrote before and commits what it writes after."""
    async with sqlite_engine.begin() as connection:
        await connection.execute(
            text(
                "CREATE TRIGGER refuse_one BEFORE INSERT ON analysis_results WHEN NEW.run_id = 'refused' "
                "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            )
        )
    first, refused, after = stored("u1", run_id="first"), stored("u1", run_id="refused"), stored("u1", run_id="after")
    async with SqlUnitOfWork(sqlite_engine) as uow:
        await uow.analysis_results.save(first)
        with pytest.raises(AnalysisResultStoreError):
            await uow.analysis_results.save(refused)
        await uow.analysis_results.save(after)
        await uow.commit()
    async with SqlUnitOfWork(sqlite_engine) as uow:
        assert [r.run_id for r in await uow.analysis_results.list_for_user("u1")] == ["after", "first"]


@pytest.mark.postgres
async def test_an_integer_past_64_bits_is_the_archives_error_and_writes_nothing(postgres_engine: AsyncEngine) -> None:
    user = unique_id()
    weeks = [archetype(user, week=0), forced(archetype(user, week=1), ordinality=2**70)]
    archive = Committed(postgres_engine, "archive")
    with pytest.raises(ArchiveError):
        await archive.upsert_archetypes(weeks)  # type: ignore[arg-type]
    assert (await archive.read_window(user, WINDOW)).archetypes == ()
