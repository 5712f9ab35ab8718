"""The erasure guard keeps an erased user erased on SQLite as on PostgreSQL: a write of the library for that user,
in any transaction after the erasure, stores nothing, and the stores answer alike on both databases. On SQLite the
guard is the library connections' own (temporary triggers): a program writing the file directly is not refused."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.clock import SystemClock
from sahha_sync.adapters.sql import SqlUnitOfWork, SqlWebhookInbox, create_engine, sql_unit_of_work_factory
from sahha_sync.adapters.sql.tables import archetype_analysis_tracking as tracking
from sahha_sync.adapters.sql.tables import biomarkers, user_freshness
from sahha_sync.application.ports import JobContext
from sahha_sync.application.ports.tracking_store import UserErasedError
from sahha_sync.application.use_cases import ArchivalJob, ArchiveHealthData, ForgetUser
from sahha_sync.domain import FetchWindow
from sahha_sync.domain.events import AnalysisRequested, ArchivalRequested, HealthDataFetched, stream_id_for
from sahha_sync.domain.freshness import UserFreshness
from sahha_sync.domain.record_kinds import BIOMARKER
from sahha_sync.domain.snapshot import HealthSnapshot
from sahha_sync.domain.tracking import TrackingRecord
from sahha_sync.domain.windows import Watermark
from tests.contract.suites.records import T0, biomarker
from tests.sql_stores import Committed

GONE, KEPT = "user-erased", "user-kept"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    engine = create_engine(url)
    yield engine
    await engine.dispose()


async def forget(engine: AsyncEngine, user: str) -> None:
    await ForgetUser(unit_of_work=sql_unit_of_work_factory(engine), clock=SystemClock()).forget(user)


async def stored_biomarkers(engine: AsyncEngine, user: str) -> int:
    async with engine.connect() as connection:
        count = await connection.scalar(select(func.count()).where(biomarkers.c.profile_id == user))
    return int(count or 0)


async def test_the_archive_stores_nothing_for_an_erased_user_and_counts_their_rows_as_unchanged(
    engine: AsyncEngine,
) -> None:
    await forget(engine, GONE)
    rows = [biomarker(user, day=day) for user in (GONE, KEPT) for day in range(3)]
    counts = await Committed(engine, "archive").upsert_by_user(BIOMARKER, rows)
    assert await stored_biomarkers(engine, GONE) == 0
    assert await stored_biomarkers(engine, KEPT) == 3
    assert (counts[KEPT].inserted, counts[GONE].inserted, counts[GONE].updated, counts[GONE].unchanged) == (3, 0, 0, 3)


def requested(run_id: str, user: str) -> TrackingRecord:
    return TrackingRecord.fold(
        [AnalysisRequested(run_id=run_id, occurred_at=T0, user_id=user, archetype="a", analysis_type="t")]
    )


async def test_a_run_of_an_erased_user_is_refused_by_name_and_other_users_are_tracked(engine: AsyncEngine) -> None:
    await forget(engine, GONE)
    runs = Committed(engine, "tracking")
    with pytest.raises(UserErasedError, match="run r-gone: its user was erased") as refused:
        await runs.save(requested("r-gone", GONE))
    assert GONE not in str(refused.value)
    with pytest.raises(UserErasedError):  # in a batch too
        await runs.save_many([requested("r-other", "user-other"), requested("r-gone", GONE)])
    saved = await runs.save(requested("r-kept", KEPT))
    assert saved.id is not None
    assert [record.user_id for record in await runs.list_all()] == [KEPT]


async def test_freshness_of_an_erased_user_is_not_stored_beside_that_of_others(engine: AsyncEngine) -> None:
    await forget(engine, GONE)
    await Committed(engine, "tracking").advance_freshness_many(
        [UserFreshness(user_id=user, fetched=Watermark(T0)) for user in (KEPT, GONE, "user-other")]
    )
    async with engine.connect() as connection:
        users = (await connection.execute(select(user_freshness.c.user_id).order_by(user_freshness.c.user_id))).all()
    assert [user for (user,) in users] == ["user-kept", "user-other"]


async def test_a_job_queued_before_the_erasure_archives_nothing_of_the_user(engine: AsyncEngine) -> None:
    window = FetchWindow(T0, T0 + timedelta(days=3))
    events = [
        AnalysisRequested(run_id="run-1", occurred_at=T0, user_id=GONE, archetype="a", analysis_type="t"),
        HealthDataFetched(
            run_id="run-1", occurred_at=T0, window_start=window.start, window_end=window.end, biomarker_count=3,
            score_count=0, is_incremental=False, watermark=None,
        ),
        ArchivalRequested(run_id="run-1", occurred_at=T0, job_id=None, biomarker_count=0, score_count=0),
    ]  # fmt: skip
    async with SqlUnitOfWork(engine) as uow:
        await uow.events.append(stream_id_for("run-1"), events, expected_version=0)
        record = await uow.tracking.save(TrackingRecord.fold(events))
        await uow.commit()
    records = tuple(biomarker(GONE, day=day) for day in range(3))
    snapshot = HealthSnapshot(
        biomarkers=records, scores=(), fetched_at=window.end, window=window, is_incremental=False, watermark=None
    )
    job = ArchivalJob.from_payload(ArchivalJob.for_run(record, snapshot).to_payload())  # as a worker reads it

    await forget(engine, GONE)  # the job was queued (or running) meanwhile
    archival = ArchiveHealthData(unit_of_work=sql_unit_of_work_factory(engine), clock=SystemClock())
    (outcome,) = await archival.archive_jobs([(job, JobContext("job-1", ArchivalJob.JOB_TYPE, 1, 3))])

    assert await stored_biomarkers(engine, GONE) == 0
    async with engine.connect() as connection:
        for table in (tracking, user_freshness):
            assert await connection.scalar(select(func.count()).select_from(table)) == 0, (table.name, outcome)


async def test_on_sqlite_a_program_writing_the_file_directly_is_not_refused(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        await forget(engine, GONE)
        await Committed(engine, "tracking").advance_freshness_many([UserFreshness(user_id=KEPT, fetched=Watermark(T0))])
    finally:
        await engine.dispose()
    path = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as direct:  # no digest function here: the library's triggers are not in the file
        direct.execute("INSERT INTO user_freshness (user_id) VALUES (?)", (GONE,))
        assert direct.execute("SELECT count(*) FROM user_freshness").fetchone() == (2,)
        assert direct.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'").fetchone() == (0,)


async def test_on_sqlite_the_guard_comes_back_after_its_connection_made_the_table_anew(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        await forget(engine, GONE)
        async with engine.begin() as connection:  # dropping a table drops the connection's triggers on it
            created = await connection.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'user_freshness'"))
            await connection.execute(text("DROP TABLE user_freshness"))
            await connection.execute(text(str(created)))
        await Committed(engine, "tracking").advance_freshness_many(
            [UserFreshness(user_id=user, fetched=Watermark(T0)) for user in (GONE, KEPT)]
        )
        async with engine.connect() as connection:
            users = (await connection.execute(select(user_freshness.c.user_id))).scalars().all()
    finally:
        await engine.dispose()
    assert users == [KEPT]


async def test_the_webhook_inbox_holds_nothing_for_an_erased_user_and_says_so(engine: AsyncEngine) -> None:
    await forget(engine, GONE)
    inbox = SqlWebhookInbox(engine)
    receipt = await inbox.put({"n": 1}, dedup_key="delivery-gone", user_id=GONE)
    kept = await inbox.put({"n": 2}, dedup_key="delivery-kept", user_id=KEPT)
    assert (receipt.erased, receipt.entry_id, kept.erased) == (True, "", False)
    assert [entry.entry_id for entry in await inbox.pending()] == [kept.entry_id]


async def test_on_sqlite_rows_cost_no_trigger_until_a_user_is_erased(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    triggers = text("SELECT count(*) FROM sqlite_temp_master WHERE type = 'trigger'")
    try:
        await Committed(engine, "archive").upsert_by_user(BIOMARKER, [biomarker(KEPT)])
        async with engine.begin() as connection:
            before = await connection.scalar(triggers)
        await forget(engine, GONE)
        await Committed(engine, "archive").upsert_by_user(BIOMARKER, [biomarker(GONE), biomarker(KEPT, day=1)])
        async with engine.begin() as connection:
            after = await connection.scalar(triggers)
    finally:
        await engine.dispose()
    assert (before, after) == (0, 16)  # an INSERT and an UPDATE trigger on each of the eight tables
    assert await stored_biomarkers_at(sqlite_url, GONE) == 0


async def stored_biomarkers_at(url: str, user: str) -> int:
    engine = create_engine(url)
    try:
        return await stored_biomarkers(engine, user)
    finally:
        await engine.dispose()
