"""Each ``fetch`` reports what it cost at the API (``HealthRecords.api``, or the error's ``api``), never mixing in
the requests of concurrent fetches; together the calls' figures add up to the client's own counters."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from sahha_sync.application.ports import HealthDataSourceError, SahhaUnavailableError
from sahha_sync.application.use_cases._support import fetch_in_chunks
from sahha_sync.domain import FetchMetrics, FetchWindow


def _delta(before, after) -> FetchMetrics:  # type: ignore[no-untyped-def]
    kinds = {k: n - before.failures.get(k, 0) for k, n in after.failures.items()}
    return FetchMetrics(
        requests=after.requests - before.requests,
        successes=after.successes - before.successes,
        failures=tuple(sorted((k, n) for k, n in kinds.items() if n)),
        retries=after.retries - before.retries,
        rate_limited=after.rate_limited - before.rate_limited,
        token_refreshes=after.token_refreshes - before.token_refreshes,
    )


async def test_concurrent_fetches_each_carry_their_own_counts_which_add_up_to_the_clients(make_source, emulator, week):
    emulator.faults.add(429, 500, 503)
    source = make_source(emulator)
    before = source.stats()
    first, second = await asyncio.gather(source.fetch("user-0001", week), source.fetch("user-0002", week))
    delta = _delta(before, source.stats())
    assert first.api is not None
    assert second.api is not None
    assert first.api + second.api == delta
    assert delta.requests == emulator.count() == 8  # one token, four data requests, three retries
    assert delta.rate_limited == emulator.count(status=429) == 1
    assert delta.retries == 3
    assert delta.token_refreshes == emulator.count("token") == 1
    for api in (first.api, second.api):
        assert api.requests == api.successes + api.failed_requests
        assert api.successes >= 2  # its own biomarker and score requests, at least
    assert first.api.token_refreshes + second.api.token_refreshes == 1


async def test_sequential_fetches_count_only_their_own_requests(make_source, emulator, week):
    source = make_source(emulator)
    first = await source.fetch("user-0001", week)
    emulator.faults.add(500)
    second = await source.fetch("user-0002", week)
    assert first.api == FetchMetrics(requests=3, successes=3, token_refreshes=1)
    assert second.api == FetchMetrics(requests=3, successes=2, failures=(("server_error", 1),), retries=1)


async def test_a_cache_hit_and_a_coalesced_fetch_count_no_requests(make_source, emulator, week):
    source = make_source(emulator, cache_ttl=60.0)
    fetched, coalesced = await asyncio.gather(source.fetch("user-0001", week), source.fetch("user-0001", week))
    cached = await source.fetch("user-0001", week)
    assert fetched.api is not None
    assert fetched.api.requests == emulator.count() == 3
    assert coalesced.api == cached.api == FetchMetrics()
    assert cached == fetched  # the records are the same; only the figures differ


async def test_a_failed_fetch_carries_its_figures_on_the_error(make_source, emulator, week):
    emulator.faults.add(500, 500, 500, 500)
    source = make_source(emulator, max_retries=1)
    with pytest.raises(SahhaUnavailableError) as failed:
        await source.fetch("user-0001", week)
    api = failed.value.api
    assert api is not None
    assert api.requests == emulator.count() == source.stats().requests
    assert api.retries == source.stats().retries >= 1
    assert dict(api.failures)["server_error"] == emulator.count(status=500)


async def test_callers_sharing_a_failed_fetch_each_get_their_own_figures(make_source, emulator, week):
    emulator.faults.add(*([500] * 8))
    source = make_source(emulator, max_retries=0, cache_ttl=60.0)
    results = await asyncio.gather(
        source.fetch("user-0001", week), source.fetch("user-0001", week), return_exceptions=True
    )
    errors = [r for r in results if isinstance(r, HealthDataSourceError)]
    assert len(errors) == 2
    figures = sorted(e.api.requests for e in errors if e.api is not None)
    assert figures == [0, source.stats().requests]


async def test_a_window_fetched_in_chunks_sums_every_chunks_figures(make_source, emulator, week):
    source = make_source(emulator)
    window = FetchWindow(week.end - timedelta(days=45), week.end)
    emulator.faults.add(500)
    records = await fetch_in_chunks(source, "user-0001", window, include_archetypes=False)
    assert records.api is not None
    assert records.api.requests == emulator.count() == source.stats().requests == 6  # a token, 2 x 2, a retry
    assert records.api.retries == 1


async def test_a_chunked_fetch_that_fails_carries_the_figures_of_the_chunks_before(make_source, emulator, week):
    source = make_source(emulator, max_retries=0)
    window = FetchWindow(week.end - timedelta(days=45), week.end)
    emulator.faults.add("ok", "ok", 500, 500)
    with pytest.raises(SahhaUnavailableError) as failed:
        await fetch_in_chunks(source, "user-0001", window, include_archetypes=False)
    assert failed.value.api is not None
    assert failed.value.api.requests == emulator.count() == source.stats().requests
    assert failed.value.api.successes == 3  # the token and the first chunk's two requests
