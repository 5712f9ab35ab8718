import asyncio
from datetime import timedelta

import httpx
import pytest

from sahha_sync.adapters.sahha.emulator import SahhaEmulator
from sahha_sync.application.ports.health_data_source import SahhaUnavailableError


async def test_the_same_user_and_window_within_the_ttl_cost_one_set_of_api_calls(make_source, emulator, week):
    source = make_source(emulator, cache_ttl=60.0)
    first = await source.fetch("user-0001", week)
    second = await source.fetch("user-0001", week)
    assert second == first
    assert emulator.count("biomarker") == 1
    assert emulator.count("score") == 1
    assert source.stats().cache_hits == 1


async def test_after_the_ttl_the_api_is_asked_again(make_source, emulator, fake_time, week):
    source = make_source(emulator, cache_ttl=60.0)
    await source.fetch("user-0001", week)
    fake_time.advance(61)
    await source.fetch("user-0001", week)
    assert emulator.count("biomarker") == 2


async def test_another_user_or_a_window_reaching_further_is_not_served_from_the_cache(make_source, emulator, week):
    source = make_source(emulator, cache_ttl=60.0)
    await source.fetch("user-0001", week)
    await source.fetch("user-0002", week)
    await source.fetch("user-0001", type(week)(week.start, week.end + timedelta(hours=2)))
    assert emulator.count("biomarker") == 3


async def test_a_fetch_with_archetypes_also_answers_one_without_them(make_source, emulator, week):
    source = make_source(emulator, cache_ttl=60.0)
    await source.fetch("user-0001", week, include_archetypes=True)
    without = await source.fetch("user-0001", week)
    assert without.archetypes == ()
    assert emulator.count("biomarker") == 1


async def test_concurrent_identical_fetches_share_one_in_flight_request(make_source, population, week):
    emulator = SahhaEmulator(population, latency=0.02, clock=lambda: week.end)
    source = make_source(emulator, cache_ttl=0.0)
    results = await asyncio.gather(*(source.fetch("user-0001", week) for _ in range(10)))
    assert all(r == results[0] for r in results)
    assert emulator.count("biomarker") == 1
    assert source.stats().coalesced == 9


async def test_a_caller_giving_up_does_not_cancel_the_fetch_others_wait_for(make_source, population, week):
    emulator = SahhaEmulator(population, latency=0.05, clock=lambda: week.end)
    source = make_source(emulator)
    impatient = asyncio.ensure_future(source.fetch("user-0001", week))
    patient = asyncio.ensure_future(source.fetch("user-0001", week))
    await asyncio.sleep(0.01)
    impatient.cancel()
    records = await patient
    assert records.biomarkers
    assert impatient.cancelled()


async def test_failures_are_not_cached(make_source, stub, week):
    calls = 0

    def fail_once(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(500) if calls <= 2 else httpx.Response(204)

    source = make_source(stub(fail_once).transport, cache_ttl=60.0, max_retries=0)
    with pytest.raises(SahhaUnavailableError):
        await source.fetch("u", week)
    assert (await source.fetch("u", week)).total_items == 0
    assert source.stats().failed_fetches == 1


async def test_a_wider_fetch_answers_a_narrower_one_cut_to_its_window(make_source, emulator, week):
    source = make_source(emulator, cache_ttl=60.0)
    wide = await source.fetch("user-0001", week, include_archetypes=True)
    narrow_window = type(week)(week.start + (week.end - week.start) / 2, week.end)
    narrow = await source.fetch("user-0001", narrow_window)
    assert emulator.count("biomarker") == 1
    assert narrow.archetypes == ()
    assert 0 < len(narrow.biomarkers) < len(wide.biomarkers)
    assert all(narrow_window.overlaps(*b.period) for b in narrow.biomarkers)
    assert narrow.biomarkers == tuple(b for b in wide.biomarkers if narrow_window.overlaps(*b.period))


async def test_a_narrower_fetch_joins_a_wider_one_in_flight(make_source, population, week):
    emulator = SahhaEmulator(population, latency=0.02, clock=lambda: week.end)
    source = make_source(emulator, cache_ttl=0.0)
    narrow_window = type(week)(week.end - (week.end - week.start) / 3, week.end)
    wide, narrow = await asyncio.gather(source.fetch("user-0001", week), source.fetch("user-0001", narrow_window))
    assert emulator.count("biomarker") == 1
    assert source.stats().coalesced == 1
    assert narrow.biomarkers == tuple(b for b in wide.biomarkers if narrow_window.overlaps(*b.period))
