"""Engines from the URLs people paste, prepared statements off for Supabase's pooler, lost connections."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.sql import SqlUnitOfWork, create_engine
from sahha_sync.adapters.sql.engine import async_url, postgres_connect_args
from sahha_sync.application.ports import ArchiveUnavailableError
from sahha_sync.domain.windows import FetchWindow
from sahha_sync.testing.records import T0, biomarker, unique_id

WINDOW = FetchWindow(T0, T0 + timedelta(days=1))


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://postgres:pw@db.abc.supabase.co:5432/postgres", "postgresql+psycopg"),
        ("postgres://postgres:pw@db.abc.supabase.co:5432/postgres", "postgresql+psycopg"),
        ("postgresql+psycopg://postgres@localhost/x", "postgresql+psycopg"),
        ("sqlite:///./sahha_sync.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:///./sahha_sync.db", "sqlite+aiosqlite"),
    ],
)
def test_plain_urls_get_the_async_driver(given: str, driver: str) -> None:
    assert async_url(given).drivername == driver


def test_prepared_statements_are_off_for_the_transaction_pooler_port_or_when_asked() -> None:
    pooler = "postgresql://postgres.abc:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres"
    direct = "postgresql://postgres:pw@db.abc.supabase.co:5432/postgres"
    assert postgres_connect_args(pooler) == {"prepare_threshold": None}
    assert postgres_connect_args(direct) == {}
    assert postgres_connect_args(direct, prepared_statements=False) == {"prepare_threshold": None}
    assert postgres_connect_args(pooler, prepared_statements=True) == {}


async def prepared_after_repeats(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        for _ in range(8):  # psycopg prepares a statement from its fifth run on
            await connection.execute(text("SELECT count(*) FROM biomarkers WHERE profile_id = :p"), {"p": "x"})
        count = await connection.scalar(text("SELECT count(*) FROM pg_prepared_statements"))
    await engine.dispose()
    return int(count or 0)


@pytest.mark.postgres
async def test_an_engine_without_prepared_statements_prepares_nothing_on_the_server(postgres_url: str) -> None:
    assert await prepared_after_repeats(create_engine(postgres_url, prepared_statements=False)) == 0
    assert await prepared_after_repeats(create_engine(postgres_url)) > 0


@pytest.mark.postgres
async def test_a_connection_lost_inside_a_unit_of_work_is_a_retryable_archive_error(
    postgres_engine: AsyncEngine,
) -> None:
    async with SqlUnitOfWork(postgres_engine) as uow:
        await uow.archive.upsert_biomarkers([biomarker(unique_id())])
        await terminate_the_idle_transaction(postgres_engine)
        with pytest.raises(ArchiveUnavailableError) as caught:
            await uow.archive.upsert_biomarkers([biomarker(unique_id())])
    assert caught.value.retryable is True


@pytest.mark.postgres
async def test_a_connection_lost_before_a_reading_unit_of_work_ends_is_a_retryable_archive_error(
    postgres_engine: AsyncEngine,
) -> None:
    """A unit left without committing rolls back as it ends: that rollback failing is the same retryable error."""
    with pytest.raises(ArchiveUnavailableError) as caught:
        await read_then_lose_the_connection(postgres_engine)
    assert caught.value.retryable is True


async def read_then_lose_the_connection(engine: AsyncEngine) -> None:
    async with SqlUnitOfWork(engine) as uow:
        await uow.archive.read_window(unique_id(), WINDOW)
        await terminate_the_idle_transaction(engine)


async def terminate_the_idle_transaction(engine: AsyncEngine) -> None:
    """The server ends the connection of the unit of work open beside (as a crash or an operator would)."""
    async with engine.connect() as killer:
        pid = await killer.scalar(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'"
            )
        )
        await killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


async def test_an_in_memory_sqlite_engine_keeps_one_database_across_connections() -> None:
    engine = create_engine("sqlite://")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (x INTEGER)"))
        await connection.execute(text("INSERT INTO t VALUES (1)"))
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM t")) == 1
    await engine.dispose()
