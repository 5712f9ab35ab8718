"""``CollectStats``: the monitoring figures agree with what the stores hold after a scenario with failures."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from rich.console import Console

from sahha_sync.adapters.llm import OfflineAnalyst
from sahha_sync.adapters.memory import InMemoryRateBudget
from sahha_sync.adapters.sahha import SahhaHealthDataSource
from sahha_sync.adapters.sahha.emulator import (
    EMULATOR_BASE_URL,
    EMULATOR_CLIENT_ID,
    EMULATOR_CLIENT_SECRET,
    SahhaEmulator,
    SyntheticPopulation,
    emulator_transport,
)
from sahha_sync.application.ports import ArchiveIntegrityError, ArchiveUnavailableError, SahhaUnavailableError, Usage
from sahha_sync.application.use_cases import CollectStats
from sahha_sync.infrastructure.stats_format import to_prometheus, to_tables
from tests.prometheus_text import samples
from tests.unit.operations.pipeline import START, Pipeline, days_of_data

USERS = ("ann", "ben", "cat", "dan")


async def _scenario(pipeline: Pipeline) -> None:
    """ann syncs; ben's scores fail once, then sync; cat syncs;
    dan's scores fail for good (a dead job); six hours on, ann again, and cat's Sahha fetch fails (the archive
    stands in, and the run records the failure)."""
    for n, user in enumerate(USERS):
        pipeline.source.add(days_of_data(user, base=1000 * (n + 1)))
    faults = pipeline.stores.archive.faults
    await pipeline.analyse("ann")
    await pipeline.analyse("cat")
    faults.fail_with(ArchiveUnavailableError("connection lost"), times=1, operations={"upsert_scores"})
    await pipeline.analyse("ben")
    faults.fail_with(ArchiveIntegrityError("bad row"), operations={"upsert_scores"})
    await pipeline.analyse("dan")
    faults.clear_failures()
    pipeline.clock.advance(timedelta(hours=6))
    await pipeline.analyse("ann")  # incremental: the lookback meets rows archived before
    pipeline.source.fail_with(SahhaUnavailableError("503"), times=10)
    await pipeline.analyse("cat")
    pipeline.source.clear_failures()


async def test_storage_figures_equal_the_rows_in_the_archive(pipeline: Pipeline) -> None:
    await _scenario(pipeline)
    figures = (await pipeline.stats.collect()).to_dict()
    counts = pipeline.stores.archive.counts()
    assert figures["storage"]["inserted"] == {t: counts[t] for t in ("biomarkers", "scores", "archetypes")}
    assert sum(day["biomarkers"] for day in figures["storage"]["inserted_by_day"].values()) == counts["biomarkers"]
    assert figures["storage"]["updated"]["biomarkers"] > 0  # ann's second run saw stored rows again, later


async def test_sync_states_and_failures_equal_the_tracking_rows_and_the_queue(pipeline: Pipeline) -> None:
    await _scenario(pipeline)
    figures = (await pipeline.stats.collect()).to_dict()
    rows = await pipeline.stores.tracking.list_all()
    states = Counter(row.status.state for row in rows)
    assert figures["sync_states"] == {s: states[s] for s in ("synced", "pending", "failed", "not_requested")}
    assert states["failed"] == 2  # dan's archival, cat's fetch
    dead = await pipeline.queue.dead_jobs()
    assert figures["archival"]["dead_jobs"] == len(dead) == 1
    assert figures["archival"]["failures_by_reason"] == {"ArchiveIntegrityError": 1, "ArchiveUnavailableError": 1}
    assert figures["archival"]["failed_for_good"] == 1
    assert figures["archival"]["synced"] == states["synced"]
    assert figures["archival"]["success_rate"] == states["synced"] / (states["synced"] + 1)
    assert figures["runs"]["requested"] == len(rows) == 6
    assert figures["sahha_api"]["fetch_failures"] == {"SahhaUnavailableError": 1}
    assert figures["sahha_api"]["archive_fallbacks"] == 1


async def test_freshness_is_the_age_of_each_users_newest_archived_window(pipeline: Pipeline) -> None:
    await _scenario(pipeline)
    rows = {f.user_id: f for f in (await pipeline.stats.collect()).freshness}
    assert set(rows) == set(USERS)
    assert rows["ann"].archived_through == START + timedelta(hours=6)
    assert rows["ann"].age_seconds == 0
    assert rows["ben"].archived_through == START
    assert rows["ben"].age_seconds == 6 * 3600
    assert rows["dan"].archived_through is None
    assert (rows["dan"].failed, rows["dan"].pending) == (1, 0)
    assert rows["cat"].runs == 2
    assert not any(row.no_data for row in rows.values())


async def test_a_user_sahha_has_no_data_for_is_not_counted_as_fresh(pipeline: Pipeline) -> None:
    pipeline.source.add(days_of_data("ann"))
    await pipeline.analyse("ann")
    await pipeline.analyse("nobody")  # synced, with nothing to archive
    rows = {f.user_id: f for f in (await pipeline.stats.collect()).freshness}
    assert (rows["nobody"].archived_through, rows["nobody"].age_seconds, rows["nobody"].no_data) == (None, None, True)
    assert (rows["nobody"].runs, rows["nobody"].failed, rows["nobody"].pending) == (1, 0, 0)
    assert (rows["ann"].archived_through, rows["ann"].no_data) == (START, False)


async def test_since_leaves_out_earlier_events_but_not_the_current_state(pipeline: Pipeline) -> None:
    await _scenario(pipeline)
    later = await pipeline.stats.collect(since=START + timedelta(hours=1))
    assert later.runs["requested"] == 2
    assert later.inserted["biomarkers"] == 0
    assert later.updated["biomarkers"] > 0  # the same values seen again: their observed_at moved on
    assert sum(later.sync_states.values()) == 6


async def test_a_forgotten_user_is_no_longer_counted(pipeline: Pipeline) -> None:
    await _scenario(pipeline)
    await pipeline.forget("ann")
    figures = await pipeline.stats.collect()
    assert "ann" not in {f.user_id for f in figures.freshness}
    assert figures.runs["forgotten"] == 2
    assert figures.runs["requested"] == 4
    assert figures.inserted["biomarkers"] == pipeline.stores.archive.counts()["biomarkers"]


async def test_the_sahha_clients_counters_are_added_when_given(pipeline: Pipeline) -> None:
    stats = CollectStats(
        unit_of_work=pipeline.stores.unit_of_work, clock=pipeline.clock, sahha_stats=lambda: {"rate_limited": 3}
    )
    figures = (await stats.collect()).to_dict()
    assert figures["sahha_api"]["client"] == {"rate_limited": 3}
    assert figures["queue"] is None
    assert figures["archival"]["success_rate"] is None


async def test_the_accounts_shared_figures_are_added_when_a_rate_budget_is_given(pipeline: Pipeline) -> None:
    budget = InMemoryRateBudget(holder="host")
    await budget.reserve(2, 0.5, Usage(requests=40, rate_limited=2))
    await budget.peer("worker").pause(30.0, Usage(requests=20))
    stats = CollectStats(unit_of_work=pipeline.stores.unit_of_work, clock=pipeline.clock, rate_budget=budget)
    figures = (await stats.collect()).to_dict()
    account = figures["sahha_api"]["account"]
    assert (account["requests"], account["rate_limited"], account["processes"]) == (60, 2, 2)
    assert account["request_rate"] == pytest.approx(1.0, rel=0.01)  # 60 requests over the last minute
    assert 29 < account["paused_for"] <= 30
    prometheus = to_prometheus(figures)
    assert samples(prometheus)["sahha_sync_sahha_account_requests_total"] == 60
    assert "# TYPE sahha_sync_sahha_account_request_rate gauge" in prometheus
    console = Console(record=True, width=160)
    console.print(to_tables(figures))
    table = console.export_text()
    assert "all processes: requests/s (last minute)" in table
    assert "all processes: 429s" in table


async def _nap(seconds: float) -> None:
    await asyncio.sleep(0)


@pytest.fixture
async def on_the_emulator() -> AsyncIterator[tuple[Pipeline, SahhaEmulator, SahhaHealthDataSource]]:
    """The pipeline with the real Sahha client on the emulator (no waiting, no cache, two retries)."""
    emulator = SahhaEmulator(SyntheticPopulation(seed=0, size=4), clock=lambda: START)
    async with httpx.AsyncClient(transport=emulator_transport(emulator)) as http:
        source = SahhaHealthDataSource(
            http,
            client_id=EMULATOR_CLIENT_ID,
            client_secret=EMULATOR_CLIENT_SECRET,
            base_url=EMULATOR_BASE_URL,
            rate_limit_delay=0.0,
            cache_ttl=0.0,
            max_retries=2,
            sleep=_nap,
            wall_clock=START.timestamp,
            now=lambda: START,
        )
        pipeline = Pipeline(source=source)
        await pipeline.queue.start()
        yield pipeline, emulator, source
        await pipeline.queue.stop(drain=False)


async def test_the_sahha_api_figures_equal_what_sahha_saw(
    on_the_emulator: tuple[Pipeline, SahhaEmulator, SahhaHealthDataSource],
) -> None:
    """Two runs meet a 429 and a 500 and get through on a retry; a third meets 500s until the retries run out
    (the archive stands in). The figures come from the events only (no client counters given)."""
    pipeline, emulator, source = on_the_emulator
    emulator.faults.add(429, 500)
    await pipeline.analyse("user-0001")
    await pipeline.analyse("user-0002")
    before_third = emulator.count()
    pipeline.clock.advance(timedelta(hours=1))
    emulator.faults.add(*([500] * 9))
    await pipeline.analyse("user-0003")
    api = (await pipeline.stats.collect()).to_dict()["sahha_api"]
    answered_ok = sum(emulator.count(status=s) for s in (200, 204))
    assert api["requests"] == emulator.count() == source.stats().requests
    assert api["successes"] == answered_ok
    assert api["failed_requests"] == emulator.count(status=500) + emulator.count(status=429) >= 4
    assert api["rate_limited"] == emulator.count(status=429) == 1
    assert api["token_refreshes"] == emulator.count("token") == 1
    assert api["retries"] == source.stats().retries >= 4
    assert api["success_rate"] == answered_ok / emulator.count()
    assert api["fetch_failures"] == {"SahhaUnavailableError": 1}
    assert api["client"] is None
    later = (await pipeline.stats.collect(since=START + timedelta(minutes=30))).to_dict()["sahha_api"]
    assert later["requests"] == emulator.count() - before_third >= 3
    assert later["successes"] == 0


async def test_runs_answered_from_the_archive_are_counted_apart_from_fetches(pipeline: Pipeline) -> None:
    pipeline.run = type(pipeline.run)(
        source=pipeline.source,
        analyst=OfflineAnalyst(),
        unit_of_work=pipeline.stores.unit_of_work,
        queue=pipeline.queue,
        clock=pipeline.clock,
        max_staleness=timedelta(hours=1),
    )
    pipeline.source.add(days_of_data("ann"))
    await pipeline.analyse("ann")
    pipeline.clock.advance(timedelta(minutes=10))
    await pipeline.analyse("ann", "circadian_analysis")
    await pipeline.analyse("ann")

    figures = (await pipeline.stats.collect()).to_dict()

    assert figures["runs"]["requested"] == 3
    assert figures["runs"]["fetched"] == 1
    assert figures["runs"]["served_from_archive"] == 2
    assert 'sahha_sync_runs_total{event="served_from_archive"} 2' in to_prometheus(figures)
