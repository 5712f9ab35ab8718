"""Property: whatever valid records the emulator holds come back through the client unchanged."""

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sahha_sync.adapters.sahha import BIOMARKER_CATEGORIES, BIOMARKER_TYPES, SCORE_TYPES, SahhaHealthDataSource
from sahha_sync.adapters.sahha.catalog import SCORE_STATES
from sahha_sync.adapters.sahha.emulator import (
    EMULATOR_BASE_URL,
    EMULATOR_CLIENT_ID,
    EMULATOR_CLIENT_SECRET,
    SahhaEmulator,
    StaticPopulation,
    emulator_transport,
)
from sahha_sync.domain import Archetype, Biomarker, FetchWindow, HealthRecords, Score, ScoreFactor
from sahha_sync.domain.snapshot import dedupe_by_key, observed_by_default

BASE = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = FetchWindow(BASE, BASE + timedelta(days=45))

text = st.text(max_size=20)
name = st.text(min_size=1, max_size=20).filter(str.strip)
offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
moments = st.builds(
    lambda seconds, micro, tz: (BASE + timedelta(seconds=seconds, microseconds=micro)).astimezone(tz),
    st.integers(0, 45 * 86400 - 1),
    st.integers(0, 999_999),
    offsets,
)
created = st.none() | st.builds(lambda m: m.astimezone(UTC), moments)
finite = st.none() | st.floats(allow_nan=False, allow_infinity=False, width=64)


@st.composite
def biomarkers(draw: st.DrawFn, user_id: str) -> Biomarker:
    value_type = draw(st.sampled_from(["integer", "long", "double", "datetime", "string"]))
    value = {
        "integer": st.integers(-(10**12), 10**12).map(str),
        "long": st.integers(-(10**15), 10**15).map(str),
        "double": st.floats(allow_nan=False, allow_infinity=False).map(repr),
        "datetime": moments.map(datetime.isoformat),
        "string": text,
    }[value_type]
    start = draw(moments)
    return Biomarker(
        user_id=user_id,
        category=draw(st.sampled_from(BIOMARKER_CATEGORIES)),
        type=draw(st.sampled_from(BIOMARKER_TYPES)),
        value=draw(value),
        unit=draw(text),
        value_type=value_type,
        start_date_time=start,
        end_date_time=start + draw(st.timedeltas(timedelta(0), timedelta(days=2))),
        periodicity=draw(st.sampled_from(["daily", "intraday", "weekly"])),
        aggregation=draw(st.sampled_from(["total", "average", "none", "min"])),
        sahha_profile_id=draw(st.none() | text),
        sahha_id=draw(st.none() | text),
        created_at_utc=draw(created),
    )


factors = st.builds(
    ScoreFactor,
    name=name,
    value=finite,
    goal=finite,
    score=finite,
    state=st.none() | text,
    unit=st.none() | text,
    id=st.none() | text,
)


@st.composite
def scores(draw: st.DrawFn, user_id: str) -> Score:
    return Score(
        user_id=user_id,
        type=draw(st.sampled_from(SCORE_TYPES)),
        score_date_time=draw(moments),
        score=draw(st.none() | st.floats(0.0, 1.0)),
        state=draw(st.none() | st.sampled_from(SCORE_STATES)),
        factors=tuple(draw(st.lists(factors, max_size=3))),
        data_sources=tuple(draw(st.lists(text, max_size=3))),
        created_at_utc=draw(created),
        sahha_profile_id=draw(st.none() | text),
        sahha_id=draw(st.none() | text),
        version=draw(st.none() | text),
    )


@st.composite
def archetypes(draw: st.DrawFn, user_id: str) -> Archetype:
    start = draw(moments)
    return Archetype(
        user_id=user_id,
        name=draw(name),
        value=draw(text),
        periodicity=draw(st.sampled_from(["weekly", "monthly"])),
        start_date_time=start,
        end_date_time=start + timedelta(days=7),
        data_type=draw(st.none() | st.sampled_from(["ordinal", "categorical"])),
        ordinality=draw(st.none() | st.integers(-(2**31), 2**31 - 1)),  # the 32-bit column
        created_at_utc=draw(created),
        sahha_profile_id=draw(st.none() | text),
        sahha_id=draw(st.none() | text),
        version=draw(st.none() | text),
    )


@st.composite
def populations(draw: st.DrawFn) -> tuple[str, HealthRecords]:
    user_id = draw(name)
    return user_id, HealthRecords(
        biomarkers=tuple(draw(st.lists(biomarkers(user_id), max_size=8))),
        scores=tuple(draw(st.lists(scores(user_id), max_size=5))),
        archetypes=tuple(draw(st.lists(archetypes(user_id), max_size=3))),
    )


async def fetch_through_the_client(user_id: str, records: HealthRecords) -> HealthRecords:
    emulator = SahhaEmulator(StaticPopulation(records))
    async with httpx.AsyncClient(transport=emulator_transport(emulator)) as http:
        source = SahhaHealthDataSource(
            http,
            client_id=EMULATOR_CLIENT_ID,
            client_secret=EMULATOR_CLIENT_SECRET,
            base_url=EMULATOR_BASE_URL,
            rate_limit_delay=0.0,
            cache_ttl=0.0,
        )
        return await source.fetch(user_id, WINDOW, include_archetypes=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(populations())
def test_any_valid_emulator_records_round_trip_through_the_client_unchanged(population):
    user_id, records = population
    before = datetime.now(UTC)
    fetched = asyncio.run(fetch_through_the_client(user_id, records))
    assert fetched.quarantined == ()
    for kind in ("biomarkers", "scores", "archetypes"):
        # of a key's records the newest wins: Sahha's createdAtUtc, else when the client read the answer
        stamps = [r.observed_at for r in getattr(fetched, kind) if r.created_at_utc is None]
        stamp = stamps[0] if stamps else before
        got = by_key(getattr(fetched, kind))
        sent = by_key(dedupe_by_key(observed_by_default(r, stamp) for r in getattr(records, kind)))
        assert got == sent
        assert len(getattr(fetched, kind)) == len(sent)  # one record per key, nothing doubled
        for key, record in got.items():  # equal instants are not enough: the local offset survives too
            assert offsets_of(record) == offsets_of(sent[key])


def by_key(records) -> dict:
    return {r.key: r for r in records}  # the last record of a key wins, as in the client and the archive


def offsets_of(record) -> list:
    return [
        getattr(record, f).utcoffset()
        for f in ("start_date_time", "end_date_time", "score_date_time")
        if hasattr(record, f)
    ]
