"""Sahha's real shapes archived as they come: one user's data served by the faithful emulator through the real
client, polled through two days (running totals revised under the daily key, 18:00 sleep days, weekly records,
types no list names, no ``createdAtUtc`` on API biomarkers), ends in the SQL archive once per key with the newest
value, nothing quarantined."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.clock import ManualClock
from sahha_sync.adapters.sahha.emulator import SahhaEmulator, SyntheticPopulation
from sahha_sync.adapters.sql import sql_unit_of_work_factory
from sahha_sync.domain import RECORD_KINDS, FetchWindow
from tests.unit.sahha.conftest import MakeSource, fake_time, make_source

__all__ = ["fake_time", "make_source"]  # the client fixtures of the Sahha unit tests

START = datetime(2026, 11, 20, 6, tzinfo=UTC)


async def test_polls_of_two_days_leave_each_key_once_with_sahhas_newest_value(
    sql_engine: AsyncEngine, make_source: MakeSource
) -> None:
    clock = ManualClock(START)
    user = "alice"  # a fixed id: the emulator seeds its data by the id, so the test sees the same days every run
    emulator = SahhaEmulator(SyntheticPopulation(3, size=0), clock=clock.now)
    source = make_source(emulator, now=clock.now)
    unit_of_work = sql_unit_of_work_factory(sql_engine)
    window = FetchWindow(START - timedelta(days=7), START + timedelta(days=2))
    running: set[object] = set()
    for _ in range(12):  # every 4 hours: today's totals grow, then the daily values come
        records = await source.fetch(user, window, include_archetypes=True)
        assert records.quarantined == ()
        running |= {b.key for b in records.biomarkers if b.periodicity == "intraday"}
        async with unit_of_work() as uow:
            for kind in RECORD_KINDS:
                await uow.archive.upsert(kind, kind.records_in(records))
            await uow.commit()
        clock.advance(timedelta(hours=4))

    truth = emulator.ground_truth(user, window, as_of=START + timedelta(hours=44))
    async with unit_of_work() as uow:
        stored = await uow.archive.read_window(user, FetchWindow(window.start - timedelta(days=40), window.end))
    for kind in RECORD_KINDS:
        got = kind.records_in(stored)
        assert len({r.key for r in got}) == len(got)
        assert sorted(got, key=str) == sorted(kind.records_in(truth), key=str), kind.plural
    final = {b.key: b.periodicity for b in stored.biomarkers}
    assert any(final[key] == "daily" for key in running)  # a running total stored, then its day's value
    assert {"daily", "weekly"} <= set(final.values())
    assert source.stats().unlisted  # types no list names, fetched by their category
    assert "engagement" in {b.category for b in stored.biomarkers}
    assert all(b.created_at_utc is None for b in stored.biomarkers)
