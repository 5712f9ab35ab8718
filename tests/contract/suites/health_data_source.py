"""``HealthDataSourceContract``: the records of a window come back, for any user id, and nothing else."""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Hashable, Iterable
from datetime import timedelta
from typing import Any

import pytest

from sahha_sync.application.ports.health_data_source import HealthDataSource
from sahha_sync.domain.health import HealthRecords
from sahha_sync.domain.windows import FetchWindow
from sahha_sync.testing.records import T0, archetype, biomarker, score, unique_id

SourceMaker = Callable[[HealthRecords], HealthDataSource | Awaitable[HealthDataSource]]
MakeSource = Callable[[HealthRecords], Awaitable[HealthDataSource]]

WEEK = FetchWindow(T0, T0 + timedelta(days=7))
ODD_IDS = [
    "user/with/slashes",
    "what?about=this&that",
    "hash#tag",
    "with spaces  and\ttabs",
    "ünïcødé-用户-🙂",
    "percent%20encoded%2F",
    "..",
    "a" * 200,
]


def week_of(user_id: str, days: int = 7) -> HealthRecords:
    """A week of steps, a resting heart rate, sleep and activity scores and one archetype for ``user_id``."""
    return HealthRecords(
        biomarkers=tuple(
            [biomarker(user_id, day=d) for d in range(days)]
            + [biomarker(user_id, day=d, type="heart_rate_resting", value="58", unit="bpm") for d in range(days)]
        ),
        scores=tuple([score(user_id, day=d) for d in range(days)] + [score(user_id, day=0, type="activity")]),
        archetypes=(archetype(user_id),),
    )


def _by_key(records: Iterable[Any]) -> dict[Hashable, Any]:
    return {r.key: r for r in records}


def _summary(records: HealthRecords) -> dict[str, dict[Hashable, Any]]:
    """What must survive the trip through a source: keys, biomarker values and units, score values and states."""
    return {
        "biomarkers": {k: (b.value, b.unit) for k, b in _by_key(records.biomarkers).items()},
        "scores": {k: (s.score, s.state) for k, s in _by_key(records.scores).items()},
        "archetypes": {k: a.value for k, a in _by_key(records.archetypes).items()},
    }


def _in(window: FetchWindow, records: HealthRecords, *, archetypes: bool) -> HealthRecords:
    return HealthRecords(
        biomarkers=tuple(b for b in records.biomarkers if window.overlaps(*b.period)),
        scores=tuple(s for s in records.scores if window.overlaps(*s.period)),
        archetypes=tuple(a for a in records.archetypes if archetypes and window.overlaps(*a.period)),
    )


class HealthDataSourceContract:
    """Override ``make_source``: a callable ``make_source(records)`` → a source serving exactly ``records``."""

    @pytest.fixture
    def make_source(self) -> SourceMaker:
        raise NotImplementedError("override the 'make_source' fixture to return a factory of the source under test")

    @pytest.fixture
    def source_for(self, make_source: SourceMaker) -> MakeSource:
        async def build(records: HealthRecords) -> HealthDataSource:
            source = make_source(records)
            return await source if inspect.isawaitable(source) else source

        return build

    async def test_the_records_of_a_window_come_back(self, source_for: MakeSource) -> None:
        user = unique_id()
        records = week_of(user)
        source = await source_for(records)
        fetched = await source.fetch(user, WEEK)
        assert _summary(fetched) == _summary(_in(WEEK, records, archetypes=False))

    async def test_only_records_whose_span_meets_the_window_come_back(self, source_for: MakeSource) -> None:
        user = unique_id()
        records = week_of(user)
        source = await source_for(records)
        window = FetchWindow(T0 + timedelta(days=2), T0 + timedelta(days=4))
        fetched = await source.fetch(user, window)
        expected = _in(window, records, archetypes=False)
        assert expected.biomarkers
        assert _summary(fetched) == _summary(expected)

    async def test_archetypes_come_back_only_when_asked_for(self, source_for: MakeSource) -> None:
        user = unique_id()
        records = week_of(user)
        source = await source_for(records)
        with_archetypes = await source.fetch(user, WEEK, include_archetypes=True)
        assert _summary(with_archetypes) == _summary(_in(WEEK, records, archetypes=True))
        assert (await source.fetch(user, WEEK)).archetypes == ()

    async def test_the_records_keep_their_local_offset(self, source_for: MakeSource) -> None:
        user = unique_id()
        records = week_of(user, days=1)
        source = await source_for(records)
        fetched = await source.fetch(user, WEEK)
        offsets = {b.start_date_time.utcoffset() for b in fetched.biomarkers}
        assert offsets == {b.start_date_time.utcoffset() for b in records.biomarkers}

    async def test_an_unknown_user_has_no_records(self, source_for: MakeSource) -> None:
        source = await source_for(week_of(unique_id()))
        fetched = await source.fetch(unique_id("nobody"), WEEK, include_archetypes=True)
        assert fetched.total_items == 0

    async def test_another_users_records_do_not_come_back(self, source_for: MakeSource) -> None:
        user, other = unique_id(), unique_id()
        source = await source_for(HealthRecords(biomarkers=(biomarker(user), biomarker(other))))
        fetched = await source.fetch(user, WEEK)
        assert [b.user_id for b in fetched.biomarkers] == [user]

    async def test_the_client_counters_are_none_or_json_that_counts_the_fetches(self, source_for: MakeSource) -> None:
        user = unique_id()
        source = await source_for(week_of(user, days=1))
        before = source.client_stats()
        await source.fetch(user, WEEK)
        after = source.client_stats()
        assert (before is None) == (after is None)
        if before is not None and after is not None:
            assert json.loads(json.dumps(dict(after))) == dict(after)
            assert after != before

    @pytest.mark.parametrize("user_id", ODD_IDS)
    async def test_any_user_id_string_works(self, source_for: MakeSource, user_id: str) -> None:
        records = week_of(user_id, days=2)
        source = await source_for(records)
        fetched = await source.fetch(user_id, WEEK)
        assert _summary(fetched) == _summary(_in(WEEK, records, archetypes=False))
        assert {b.user_id for b in fetched.biomarkers} == {user_id}
