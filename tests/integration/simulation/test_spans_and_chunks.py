"""The emulator and the client select by span, as the port says, and a chunked fetch returns each record once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from sahha_sync.adapters.sahha import SahhaHealthDataSource
from sahha_sync.adapters.sahha.emulator import (
    EMULATOR_BASE_URL,
    EMULATOR_CLIENT_ID,
    EMULATOR_CLIENT_SECRET,
    SahhaEmulator,
    SyntheticPopulation,
    emulator_transport,
)
from sahha_sync.domain import Archetype, Biomarker, FetchWindow, HealthRecords, Score
from sahha_sync.domain.windows import MAX_CHUNK

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def every(records: HealthRecords) -> list[Biomarker | Score | Archetype]:
    return [*records.biomarkers, *records.scores, *records.archetypes]


def keys(records: HealthRecords) -> list[object]:
    return [r.key for r in every(records)]


async def test_a_fetch_longer_than_a_chunk_returns_the_ground_truth_once_even_across_the_chunk_boundary() -> None:
    emulator = SahhaEmulator(SyntheticPopulation(5, size=2), clock=lambda: NOW)
    window = FetchWindow(NOW - timedelta(days=45, hours=5), NOW - timedelta(hours=3))
    boundary = window.start + MAX_CHUNK
    async with httpx.AsyncClient(transport=emulator_transport(emulator), base_url=EMULATOR_BASE_URL) as http:
        source = SahhaHealthDataSource(
            http,
            client_id=EMULATOR_CLIENT_ID,
            client_secret=EMULATOR_CLIENT_SECRET,
            base_url=EMULATOR_BASE_URL,
            rate_limit_delay=0.0,
        )
        for user in emulator.population.profile_ids:
            fetched = await source.fetch(user, window, include_archetypes=True)
            truth = emulator.ground_truth(user, window)

            assert len(keys(fetched)) == len(set(keys(fetched)))
            assert sorted(keys(fetched), key=str) == sorted(keys(truth), key=str)
            straddling = [r for r in every(fetched) if r.period[0] < boundary < r.period[1]]
            assert straddling, "no record spans the chunk boundary: the test would prove nothing"


async def test_a_record_that_started_before_the_window_but_ends_in_it_is_served() -> None:
    emulator = SahhaEmulator(SyntheticPopulation(5, size=1), clock=lambda: NOW)
    user = emulator.population.profile_ids[0]
    window = FetchWindow(NOW - timedelta(days=5, hours=17), NOW)  # starts mid-day: that day's records meet it

    truth = emulator.ground_truth(user, window)

    assert any(b.start_date_time < window.start for b in truth.biomarkers)
    assert all(window.overlaps(*r.period) for r in every(truth))
