"""FetchHealthData: the seed's fetch_health_data call and its return shape."""

from __future__ import annotations

import itertools
from datetime import timedelta

from sahha_sync.application.use_cases import FetchHealthData
from tests.unit.application.conftest import START, USER, Harness, RecordingQueue, days_of_data


def fetcher(harness: Harness) -> FetchHealthData:
    return FetchHealthData(source=harness.source, clock=harness.clock, lookback=timedelta(hours=48), initial_days=7)


async def test_it_returns_the_seeds_dict_shape() -> None:
    harness = Harness(queue=RecordingQueue())
    harness.source.add(days_of_data(USER, START - timedelta(days=7), 7))

    data = (await fetcher(harness).fetch_health_data(user_id=USER, days=7)).to_dict()

    assert set(data) == {"biomarkers", "scores", "fetched_at", "is_incremental", "watermark", "total_items"}
    assert data["total_items"] == 14
    assert len(data["biomarkers"]) == 7
    assert len(data["scores"]) == 7
    assert data["is_incremental"] is False
    assert data["watermark"] is None
    assert data["fetched_at"] == START.isoformat()
    assert data["biomarkers"][0]["type"] == "steps"
    assert data["scores"][0]["type"] == "sleep"


async def test_with_a_watermark_it_fetches_incrementally_from_the_lookback() -> None:
    harness = Harness(queue=RecordingQueue())
    harness.source.add(days_of_data(USER, START - timedelta(days=7), 7))
    watermark = START - timedelta(hours=20)

    snapshot = await fetcher(harness).fetch_health_data(USER, since_timestamp=watermark)

    assert snapshot.is_incremental
    assert snapshot.watermark == watermark
    assert (snapshot.window.start, snapshot.window.end) == (watermark - timedelta(hours=48), START)
    assert snapshot.to_dict()["watermark"] == watermark.isoformat()
    assert all(snapshot.window.overlaps(*b.period) for b in snapshot.biomarkers)


async def test_a_90_day_window_is_fetched_in_30_day_chunks_and_put_together() -> None:
    harness = Harness(queue=RecordingQueue())
    harness.source.add(days_of_data(USER, START - timedelta(days=90), 90))

    snapshot = await fetcher(harness).fetch_health_data(USER, days=90)

    windows = [call.window for call in harness.source.calls]
    assert [w.end - w.start for w in windows] == [timedelta(days=30)] * 3
    assert windows[0].start == START - timedelta(days=90)
    assert windows[-1].end == START
    assert all(a.end == b.start for a, b in itertools.pairwise(windows))
    assert len(snapshot.biomarkers) == 90
    assert len(snapshot.scores) == 90
    assert len({b.key for b in snapshot.biomarkers}) == 90
