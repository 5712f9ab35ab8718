import asyncio
import time
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qsl

import httpx
import pytest

from sahha_sync.adapters.sahha import BIOMARKER_CATEGORIES, SCORE_TYPES
from sahha_sync.adapters.sahha.emulator import SahhaEmulator, SyntheticPopulation
from sahha_sync.domain import FetchWindow

AWKWARD_IDS = [
    "a/b/c",
    "what?x=1&y=2",
    "hash#tag",
    "with space",
    "plus+sign",
    "ünïcødé-用户-🙂",
    "percent%2Fliteral",
    "..",
    ".",
    "semi;colon,comma",
]


def empty(request: httpx.Request) -> httpx.Response:
    return httpx.Response(204)


def query_pairs(request: httpx.Request) -> list[tuple[str, str]]:
    return parse_qsl(request.url.query.decode(), keep_blank_values=True)


async def test_biomarkers_are_asked_for_by_every_category_and_no_closed_list_of_types(make_source, stub, week):
    fake = stub(empty)
    await make_source(fake.transport).fetch("u", week)
    biomarker = next(r for r in fake.data_requests if "/biomarker/" in r.url.path)
    pairs = query_pairs(biomarker)
    assert [v for k, v in pairs if k == "categories"] == list(BIOMARKER_CATEGORIES)
    assert "engagement" in BIOMARKER_CATEGORIES
    assert [v for k, v in pairs if k == "types"] == []
    score = next(r for r in fake.data_requests if "/score/" in r.url.path)
    assert [v for k, v in query_pairs(score) if k == "types"] == list(SCORE_TYPES)


async def test_the_categories_and_types_asked_for_are_configurable(make_source, stub, week):
    fake = stub(empty)
    source = make_source(
        fake.transport, categories=["sleep"], biomarker_types=["sleep_duration"], score_types=["sleep"]
    )
    await source.fetch("u", week)
    biomarker = next(r for r in fake.data_requests if "/biomarker/" in r.url.path)
    assert b"categories=sleep&types=sleep_duration&" in biomarker.url.query


async def test_datetimes_are_sent_with_their_offset_and_a_plus_is_percent_encoded(make_source, stub):
    fake = stub(empty)
    local = timezone(timedelta(hours=10))
    window = FetchWindow(datetime(2026, 3, 1, tzinfo=local), datetime(2026, 3, 2, 12, 30, tzinfo=local))
    await make_source(fake.transport).fetch("u", window)
    raw = fake.data_requests[0].url.query
    assert b"startDateTime=2026-03-01T00%3A00%3A00.000%2B10%3A00" in raw
    assert b"endDateTime=2026-03-02T12%3A30%3A00.000%2B10%3A00" in raw
    assert b"+" not in raw


async def test_a_window_in_a_positive_offset_is_understood_by_the_emulator(make_source, emulator, week):
    local = timezone(timedelta(hours=13))
    window = FetchWindow(week.start.astimezone(local), week.end.astimezone(local))
    records = await make_source(emulator).fetch("user-0003", window)
    assert records == emulator.ground_truth("user-0003", week, include_archetypes=False)
    assert emulator.count(status=400) == 0


@pytest.mark.parametrize("external_id", AWKWARD_IDS)
async def test_awkward_external_ids_are_percent_encoded_into_one_path_segment(make_source, stub, week, external_id):
    fake = stub(empty)
    await make_source(fake.transport).fetch(external_id, week)
    for request in fake.data_requests:
        segments = request.url.raw_path.split(b"?")[0].split(b"/")
        assert len(segments) == 6  # "", api, v1, profile, route, id
        for character in (b"?", b"#", b" ", b"/"):
            assert character not in segments[5]


@pytest.mark.parametrize("external_id", AWKWARD_IDS)
async def test_awkward_external_ids_round_trip_through_the_emulator(make_source, week, external_id):
    population = SyntheticPopulation(seed=0, profile_ids=[external_id, "decoy"])
    emulator = SahhaEmulator(population, clock=lambda: week.end)
    records = await make_source(emulator).fetch(external_id, week, include_archetypes=True)
    assert records.biomarkers
    assert records == emulator.ground_truth(external_id, week)
    assert {r.external_id for r in emulator.requests if r.route != "token"} == {external_id}


async def test_biomarkers_and_scores_are_fetched_in_parallel(make_source, stub, week):
    arrived: set[str] = set()
    both_in_flight = asyncio.Event()

    async def wait_for_the_other(request: httpx.Request) -> httpx.Response:
        arrived.add(request.url.path.split("/")[4])
        if len(arrived) == 2:
            both_in_flight.set()
        try:
            await asyncio.wait_for(both_in_flight.wait(), timeout=5.0)
        except TimeoutError:
            return httpx.Response(500, text="the other request never arrived while this one was in flight")
        return httpx.Response(204)

    source = make_source(stub(wait_for_the_other).transport, max_retries=0)
    await source.fetch("u", week)
    assert arrived == {"biomarker", "score"}


async def test_the_requests_overlap_in_time_on_the_emulator(make_source, population, week):
    emulator = SahhaEmulator(population, latency=0.05, clock=lambda: week.end)
    await make_source(emulator).fetch("user-0001", week, include_archetypes=True)
    data = [r for r in emulator.requests if r.route != "token"]
    assert {r.route for r in data} == {"biomarker", "score", "archetypes"}
    assert max(r.started for r in data) < min(r.finished for r in data)


async def test_archetypes_are_fetched_only_when_asked_for(make_source, emulator, week):
    source = make_source(emulator)
    without = await source.fetch("user-0001", FetchWindow(week.start - timedelta(days=14), week.end))
    assert without.archetypes == ()
    assert emulator.count("archetypes") == 0
    wide = FetchWindow(week.start - timedelta(days=14), week.end)
    with_them = await source.fetch("user-0001", wide, include_archetypes=True)
    assert with_them.archetypes == emulator.ground_truth("user-0001", wide).archetypes
    assert with_them.archetypes


async def test_archetype_names_and_periodicity_are_sent_when_configured(make_source, stub, week):
    fake = stub(empty)
    source = make_source(
        fake.transport, archetype_names=["sleep_pattern", "activity_level"], archetype_periodicity="weekly"
    )
    await source.fetch("u", week, include_archetypes=True)
    request = next(r for r in fake.data_requests if "/archetypes/" in r.url.path)
    pairs = query_pairs(request)
    assert [v for k, v in pairs if k == "name"] == ["sleep_pattern", "activity_level"]
    assert ("periodicity", "weekly") in pairs


async def test_a_window_longer_than_30_days_is_requested_in_chunks(make_source, emulator):
    end = datetime(2026, 11, 29, tzinfo=UTC)
    window = FetchWindow(end - timedelta(days=75), end)
    records = await make_source(emulator).fetch("user-0004", window)
    truth = emulator.ground_truth("user-0004", window, include_archetypes=False)
    assert sorted(records.biomarkers, key=str) == sorted(truth.biomarkers, key=str)
    assert sorted(records.scores, key=str) == sorted(truth.scores, key=str)
    biomarker_requests = [r for r in emulator.requests if r.route == "biomarker"]
    assert len(biomarker_requests) == 3
    spans = [
        datetime.fromisoformat(r.query["endDateTime"][0]) - datetime.fromisoformat(r.query["startDateTime"][0])
        for r in biomarker_requests
    ]
    assert max(spans) <= timedelta(days=30)
    assert sum(spans, timedelta()) == timedelta(days=75)


async def test_requests_start_rate_limit_delay_apart_on_average(make_source, stub, week):
    starts: list[float] = []

    def record(request: httpx.Request) -> httpx.Response:
        starts.append(time.monotonic())
        return httpx.Response(204)

    source = make_source(stub(record).transport, rate_limit_delay=0.02, sleep=asyncio.sleep, monotonic=time.monotonic)
    await asyncio.gather(*(source.fetch(f"u{i}", week) for i in range(5)))
    assert len(starts) == 10
    # measured in the handler, a moment after the limiter let each request go (the first may be a little late)
    assert starts[-1] - starts[0] >= 9 * 0.02 - 0.01


async def test_no_more_requests_than_the_concurrency_cap_are_in_flight(make_source, stub, week):
    in_flight = peak = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(204)

    source = make_source(stub(slow).transport, max_concurrency=3)
    await asyncio.gather(*(source.fetch(f"u{i}", week) for i in range(10)))
    assert peak == 3
