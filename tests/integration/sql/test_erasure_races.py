"""Erasure wins every race on PostgreSQL (revision 0012): a write for an erased user, in any later transaction,
stores nothing; a write under way when the erasure starts is waited for, then erased with the rest."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import psycopg
import pytest

from sahha_sync.adapters.clock import SystemClock
from sahha_sync.adapters.sql import create_engine, sql_unit_of_work_factory
from sahha_sync.application.use_cases import ForgetUser

pytestmark = pytest.mark.postgres

GONE, KEPT = "user-erased", "user-kept"


@pytest.fixture
async def forget(postgres_url: str) -> AsyncIterator[ForgetUser]:
    engine = create_engine(postgres_url)
    yield ForgetUser(unit_of_work=sql_unit_of_work_factory(engine), clock=SystemClock())
    await engine.dispose()


def freshness_rows(url: str, user: str) -> int:
    with psycopg.connect(url) as conn:
        return int(
            conn.execute("SELECT count(*) FROM sahha_sync.user_freshness WHERE user_id = %s", (user,)).fetchone()[0]
        )


def write_freshness(conn: psycopg.Connection, user: str) -> None:
    conn.execute(
        "INSERT INTO sahha_sync.user_freshness (user_id, fetched_through) VALUES (%s, now()) "
        "ON CONFLICT (user_id) DO UPDATE SET fetched_through = excluded.fetched_through",
        (user,),
    )


async def test_a_write_after_the_erasure_stores_nothing_for_the_erased_user_only(
    postgres_url: str, forget: ForgetUser
) -> None:
    await forget.forget(GONE)
    with psycopg.connect(postgres_url) as conn:  # a job that ran later, in its own transaction
        write_freshness(conn, GONE)
        write_freshness(conn, KEPT)
    assert freshness_rows(postgres_url, GONE) == 0
    assert freshness_rows(postgres_url, KEPT) == 1
    with psycopg.connect(postgres_url) as conn:
        stored = conn.execute("SELECT user_digest FROM sahha_sync.user_erasures").fetchall()
    assert len(stored) == 1
    assert GONE not in stored[0][0]  # a digest, not the id


async def test_an_erasure_waits_for_a_write_under_way_and_then_erases_it(postgres_url: str, forget: ForgetUser) -> None:
    with psycopg.connect(postgres_url) as job:
        write_freshness(job, GONE)  # uncommitted: the job's transaction is still open
        erasure = asyncio.create_task(forget.forget(GONE))
        await asyncio.sleep(0.5)
        assert not erasure.done()  # it waits for the job's transaction
    # the job committed its row as it left the block
    report = await asyncio.wait_for(erasure, 10)
    assert report.tracking_rows == 0
    assert freshness_rows(postgres_url, GONE) == 0


async def test_one_transaction_writing_several_users_skips_only_the_erased_ones(
    postgres_url: str, forget: ForgetUser
) -> None:
    await forget.forget(GONE)
    with psycopg.connect(postgres_url) as conn:  # the trigger remembers the last user it let through
        conn.execute(
            "INSERT INTO sahha_sync.user_freshness (user_id) VALUES (%s), (%s), (%s)", (KEPT, GONE, "user-other")
        )
    with psycopg.connect(postgres_url) as conn:
        users = [
            row[0] for row in conn.execute("SELECT user_id FROM sahha_sync.user_freshness ORDER BY user_id").fetchall()
        ]
    assert users == [KEPT, "user-other"]


def test_the_guard_looks_a_user_up_once_per_transaction_not_once_per_row(postgres_url: str) -> None:
    """Revision 0015: the trigger's function is called for a user's first row only (its ``WHEN`` condition skips
    the rows of the user the transaction already found not erased); a row of another user calls it again."""
    users = [KEPT] * 5 + ["user-other"] * 3 + [KEPT]
    with psycopg.connect(postgres_url) as conn:
        conn.execute("SET LOCAL track_functions = 'pl'")
        for user in users:
            conn.execute(
                "INSERT INTO sahha_sync.quarantined_records (profile_id, kind, reason, raw, received_at) "
                "VALUES (%s, 'biomarker', 'test', '{}', now())",
                (user,),
            )
        calls = conn.execute(
            "SELECT pg_stat_get_xact_function_calls('sahha_sync.sahha_sync_skip_erased_profile_id'::regproc)"
        ).fetchone()
    assert calls is not None
    assert calls[0] == 3  # KEPT, user-other, KEPT again: once each time the user changes
    with psycopg.connect(postgres_url) as conn:
        stored = conn.execute("SELECT count(*) FROM sahha_sync.quarantined_records").fetchone()
    assert stored == (len(users),)
