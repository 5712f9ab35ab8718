import dataclasses

import httpx
import pytest
from structlog.testing import capture_logs

from sahha_sync.adapters.sahha import SahhaHealthDataSource, SahhaStats
from sahha_sync.adapters.sahha.emulator import SahhaEmulator
from tests.unit.sahha.test_responses import GOOD_BIOMARKER


async def test_stats_count_requests_successes_failures_retries_429s_and_token_refreshes(make_source, emulator, week):
    emulator.faults.add(429, 500)
    source = make_source(emulator)
    await source.fetch("user-0001", week)
    stats = source.stats()
    assert isinstance(stats, SahhaStats)
    assert dataclasses.is_dataclass(stats)
    assert stats.requests == 5  # token, two data requests, two retries
    assert stats.successes == 3
    assert stats.failures == {"rate_limited": 1, "server_error": 1}
    assert stats.retries == 2
    assert stats.rate_limited == 1
    assert stats.token_refreshes == 1
    assert stats.fetches == 1


async def test_stats_read_as_a_plain_dict(make_source, emulator, week):
    source = make_source(emulator)
    await source.fetch("user-0001", week)
    as_dict = source.stats().to_dict()
    assert as_dict["requests"] == 3
    assert as_dict["success_rate"] == 1.0
    assert set(as_dict) >= {"requests", "successes", "failures", "retries", "rate_limited", "token_refreshes"}


async def test_stats_are_a_snapshot_that_later_calls_do_not_change(make_source, emulator, week):
    source = make_source(emulator)
    before = source.stats()
    await source.fetch("user-0001", week)
    assert before.requests == 0


async def test_quarantine_logs_name_fields_and_never_values(make_source, population, week):
    emulator = SahhaEmulator(population, malformed_rate=1.0, clock=lambda: week.end)
    source = make_source(emulator)
    with capture_logs() as logs:
        records = await source.fetch("user-0001", week)
    (entry,) = [e for e in logs if e["event"] == "sahha.records_quarantined"]
    assert entry["count"] == len(records.quarantined) == 2
    logged = repr(logs)
    for quarantined in records.quarantined:
        assert quarantined.raw not in logged
    for biomarker in records.biomarkers:
        assert f'"{biomarker.value}"' not in logged


@pytest.mark.parametrize(
    "options",
    [{"client_secret": ""}, {"request_timeout": 0}, {"max_retries": -1}, {"cache_ttl": -1}, {"rate_limit_delay": -0.1}],
)
def test_bad_client_options_are_refused_at_construction(options):
    with pytest.raises(ValueError):
        SahhaHealthDataSource(
            httpx.AsyncClient(), client_id="id", client_secret=options.pop("client_secret", "secret"), **options
        )


async def test_a_type_and_a_category_no_list_names_are_kept_and_counted_by_name(make_source, stub, week):
    new = dict(GOOD_BIOMARKER, category="engagement", type="app_sessions_next", unit="count", value="3")

    def answer(request: httpx.Request) -> httpx.Response:
        if "/biomarker/" in request.url.path:
            return httpx.Response(200, json=[GOOD_BIOMARKER, new, dict(new, type="focus_minutes", category="mind")])
        return httpx.Response(204)

    source = make_source(stub(answer).transport)
    records = await source.fetch("u", week)
    assert sorted(b.type for b in records.biomarkers) == ["app_sessions_next", "focus_minutes", "steps"]
    unlisted = {"engagement/app_sessions_next": 1, "mind/focus_minutes": 1}
    assert source.stats().unlisted == unlisted
    assert source.stats().to_dict()["unlisted"] == unlisted
