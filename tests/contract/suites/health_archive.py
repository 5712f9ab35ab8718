"""``HealthArchiveContract``: idempotent upserts on the natural keys, the newest value kept whatever order writes
come in, honest counts, window reads."""

from __future__ import annotations

import dataclasses
from datetime import UTC, timedelta
from typing import Any

import pytest

from sahha_sync.application.ports.health_archive import HealthArchive
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.health import Biomarker, QuarantinedRecord, Score, UpsertCounts
from sahha_sync.domain.record_kinds import BIOMARKER, RECORD_KINDS, SCORE, RecordKind
from sahha_sync.domain.windows import FetchWindow
from sahha_sync.testing.records import T0, archetype, biomarker, score, unique_id

WEEK = FetchWindow(T0 - timedelta(days=1), T0 + timedelta(days=8))
BUILDERS = {"biomarker": biomarker, "score": score, "archetype": archetype}


def fetched(record: Biomarker, value: str, *, at: timedelta) -> Biomarker:
    """``record`` as a real API answer carries it (no ``created_at_utc``), with ``value``, fetched ``at`` after T0."""
    return dataclasses.replace(record, value=value, created_at_utc=None, observed_at=T0 + at)


async def stored_values(archive: HealthArchive, user: str) -> list[str]:
    found = await archive.read_window(user, WEEK)
    return [b.value for b in sorted(found.biomarkers, key=lambda b: b.start_date_time)]


class HealthArchiveContract:
    """Override ``archive`` to yield the adapter under test."""

    @pytest.fixture
    def archive(self) -> HealthArchive:
        """Override: the adapter under test (a generator fixture may clean up after it)."""
        raise NotImplementedError("override the 'archive' fixture to return the HealthArchive under test")

    async def test_new_biomarkers_are_counted_as_inserted(self, archive: HealthArchive) -> None:
        user = unique_id()
        counts = await archive.upsert_biomarkers([biomarker(user, day=d) for d in range(3)])
        assert counts == UpsertCounts(inserted=3, updated=0, unchanged=0)

    async def test_upserting_the_same_biomarkers_twice_changes_nothing(self, archive: HealthArchive) -> None:
        user = unique_id()
        rows = [biomarker(user, day=d) for d in range(3)]
        await archive.upsert_biomarkers(rows)
        again = await archive.upsert_biomarkers([Biomarker.from_dict(r.to_dict()) for r in rows])  # equal copies
        assert again == UpsertCounts(inserted=0, updated=0, unchanged=3)
        stored = await archive.read_window(user, WEEK)
        assert sorted(stored.biomarkers, key=lambda b: b.start_date_time) == rows

    async def test_a_changed_biomarker_is_updated_in_place(self, archive: HealthArchive) -> None:
        user = unique_id()
        first = biomarker(user, value="8500")
        await archive.upsert_biomarkers([first])
        changed = dataclasses.replace(first, value="9100")
        counts = await archive.upsert_biomarkers([changed, biomarker(user, day=1)])
        assert counts == UpsertCounts(inserted=1, updated=1, unchanged=0)
        stored = await archive.read_window(user, WEEK)
        assert [b.value for b in sorted(stored.biomarkers, key=lambda b: b.start_date_time)] == ["9100", "8500"]

    async def test_duplicates_within_one_batch_are_merged_and_the_last_wins(self, archive: HealthArchive) -> None:
        user = unique_id()
        rows = [biomarker(user, value="1"), biomarker(user, value="2"), biomarker(user, value="3")]
        counts = await archive.upsert_biomarkers(rows)
        assert counts.total == 1
        assert counts.inserted == 1
        stored = await archive.read_window(user, WEEK)
        assert [b.value for b in stored.biomarkers] == ["3"]

    async def test_an_empty_batch_counts_nothing(self, archive: HealthArchive) -> None:
        assert await archive.upsert_biomarkers([]) == UpsertCounts()
        assert await archive.upsert_scores([]) == UpsertCounts()
        assert await archive.upsert_archetypes([]) == UpsertCounts()

    async def test_scores_are_upserted_on_user_type_and_score_time(self, archive: HealthArchive) -> None:
        user = unique_id()
        sleep, activity = score(user, type="sleep"), score(user, type="activity")
        assert await archive.upsert_scores([sleep, activity]) == UpsertCounts(inserted=2)
        rescored = dataclasses.replace(sleep, score=0.91, state="high")
        same = Score.from_dict(activity.to_dict())
        assert await archive.upsert_scores([rescored, same]) == UpsertCounts(updated=1, unchanged=1)
        stored = await archive.read_window(user, WEEK)
        assert {s.type: s.score for s in stored.scores} == {"sleep": 0.91, "activity": 0.72}

    async def test_a_score_comes_back_with_its_factors_and_data_sources(self, archive: HealthArchive) -> None:
        user = unique_id()
        row = score(user)
        await archive.upsert_scores([row])
        stored = await archive.read_window(user, WEEK)
        assert stored.scores == (row,)

    async def test_archetypes_are_upserted_on_their_natural_key(self, archive: HealthArchive) -> None:
        user = unique_id()
        row = archetype(user)
        assert await archive.upsert_archetypes([row, archetype(user, week=1)]) == UpsertCounts(inserted=2)
        counts = await archive.upsert_archetypes([dataclasses.replace(row, value="late_sleeper")])
        assert counts == UpsertCounts(updated=1)
        stored = await archive.read_window(user, FetchWindow(T0 - timedelta(days=1), T0 + timedelta(days=30)))
        values = [a.value for a in sorted(stored.archetypes, key=lambda a: a.start_date_time)]
        assert values == ["late_sleeper", "consistent_early_riser"]

    async def test_a_window_holds_records_that_start_inside_it(self, archive: HealthArchive) -> None:
        user = unique_id()
        rows = [biomarker(user, day=d) for d in range(5)]
        scores = [score(user, day=d) for d in range(5)]
        await archive.upsert_biomarkers(rows)
        await archive.upsert_scores(scores)
        window = FetchWindow(rows[1].start_date_time, rows[3].start_date_time)  # [start, end): day 3 excluded
        stored = await archive.read_window(user, window)
        assert {b.key for b in stored.biomarkers} == {rows[1].key, rows[2].key}
        assert {s.key for s in stored.scores} == {s.key for s in scores if window.contains(s.score_date_time)}

    @pytest.mark.parametrize("kind", RECORD_KINDS, ids=lambda kind: kind.name)
    async def test_every_kind_is_upserted_through_one_method_and_read_back(
        self, archive: HealthArchive, kind: RecordKind[Any]
    ) -> None:
        user = unique_id()
        record = {"biomarker": biomarker, "score": score, "archetype": archetype}[kind.name](user)
        assert await archive.upsert(kind, [record, record]) == UpsertCounts(inserted=1)
        assert await archive.upsert(kind, [record]) == UpsertCounts(unchanged=1)
        stored = await archive.read_window(user, WEEK)
        assert kind.records_in(stored) == (record,)
        assert stored.total_items == 1

    async def test_a_record_of_another_kind_is_refused_and_nothing_of_the_call_is_written(
        self, archive: HealthArchive
    ) -> None:
        user = unique_id()
        with pytest.raises(InvalidInputError):
            await archive.upsert(SCORE, [score(user), biomarker(user)])
        assert (await archive.read_window(user, WEEK)).total_items == 0

    async def test_a_window_read_for_some_kinds_holds_only_those(self, archive: HealthArchive) -> None:
        user = unique_id()
        await archive.upsert_biomarkers([biomarker(user)])
        await archive.upsert_scores([score(user)])
        await archive.upsert_archetypes([archetype(user)])
        stored = await archive.read_window(user, WEEK, kinds=("scores",))
        assert (len(stored.biomarkers), len(stored.scores), len(stored.archetypes)) == (0, 1, 0)
        both = await archive.read_window(user, WEEK, kinds=("biomarkers", "archetypes"))
        assert (len(both.biomarkers), len(both.scores), len(both.archetypes)) == (1, 0, 1)

    async def test_a_window_holds_only_the_users_own_records(self, archive: HealthArchive) -> None:
        user, other = unique_id(), unique_id()
        await archive.upsert_biomarkers([biomarker(user), biomarker(other)])
        stored = await archive.read_window(user, WEEK)
        assert [b.user_id for b in stored.biomarkers] == [user]

    async def test_an_unknown_user_has_an_empty_window(self, archive: HealthArchive) -> None:
        stored = await archive.read_window(unique_id(), WEEK)
        assert stored.total_items == 0

    async def test_the_local_offset_of_a_record_is_kept(self, archive: HealthArchive) -> None:
        user = unique_id()
        row = biomarker(user)
        await archive.upsert_biomarkers([row])
        (stored,) = (await archive.read_window(user, WEEK)).biomarkers
        assert stored.start_date_time == row.start_date_time
        assert stored.start_date_time.utcoffset() == row.start_date_time.utcoffset() == timedelta(hours=10)

    async def test_the_same_instant_in_another_offset_is_the_same_record(self, archive: HealthArchive) -> None:
        user = unique_id()
        row = biomarker(user)
        await archive.upsert_biomarkers([row])
        in_utc = dataclasses.replace(
            row, start_date_time=row.start_date_time.astimezone(UTC), end_date_time=row.end_date_time.astimezone(UTC)
        )
        counts = await archive.upsert_biomarkers([in_utc])
        assert counts.inserted == 0
        assert len((await archive.read_window(user, WEEK)).biomarkers) == 1

    async def test_quarantined_records_are_kept_and_counted(self, archive: HealthArchive) -> None:
        user = unique_id()
        records = [
            QuarantinedRecord(user_id=user, kind="biomarker", reason="value: not a number", raw="{}", received_at=T0),
            QuarantinedRecord(user_id=user, kind="score", reason="score: out of range", raw="{}", received_at=T0),
        ]
        assert await archive.quarantine(records) == 2
        assert await archive.quarantine([]) == 0

    async def test_deleting_a_user_erases_their_rows_and_quarantine_and_counts_them(
        self, archive: HealthArchive
    ) -> None:
        user, other = unique_id(), unique_id()
        for someone in (user, other):
            await archive.upsert_biomarkers([biomarker(someone, day=d) for d in range(3)])
            await archive.upsert_scores([score(someone, day=d) for d in range(2)])
            await archive.upsert_archetypes([archetype(someone)])
            bad = QuarantinedRecord(user_id=someone, kind="biomarker", reason="value: bad", raw="{}", received_at=T0)
            await archive.quarantine([bad])
        counts = await archive.delete_user(user)
        assert counts == {"biomarkers": 3, "scores": 2, "archetypes": 1, "quarantined_records": 1}
        assert (await archive.read_window(user, WEEK)).total_items == 0
        others = await archive.read_window(other, WEEK)
        assert (len(others.biomarkers), len(others.scores), len(others.archetypes)) == (3, 2, 1)

    async def test_deleting_an_unknown_user_erases_nothing(self, archive: HealthArchive) -> None:
        counts = await archive.delete_user(unique_id())
        assert counts == {"biomarkers": 0, "scores": 0, "archetypes": 0, "quarantined_records": 0}

    # -- the newest value wins -------------------------------------------------------------------------------

    async def test_a_newer_version_replaces_the_stored_value(self, archive: HealthArchive) -> None:
        user = unique_id()
        await archive.upsert_biomarkers([biomarker(user, value="400", created_at_utc=T0)])
        newer = biomarker(user, value="455", created_at_utc=T0 + timedelta(hours=1))
        assert await archive.upsert_biomarkers([newer]) == UpsertCounts(updated=1)
        (stored,) = (await archive.read_window(user, WEEK)).biomarkers
        assert (stored.value, stored.observed_at) == ("455", T0 + timedelta(hours=1))

    @pytest.mark.parametrize("kind", RECORD_KINDS, ids=lambda kind: kind.name)
    async def test_an_older_version_written_later_is_left_alone_and_counted_unchanged(
        self, archive: HealthArchive, kind: RecordKind[Any]
    ) -> None:
        user = unique_id()
        first = BUILDERS[kind.name](user, created_at_utc=T0)
        changed = {"biomarker": {"value": "455"}, "score": {"score": 0.91}, "archetype": {"value": "late_sleeper"}}
        newer = dataclasses.replace(first, created_at_utc=T0 + timedelta(hours=1), **changed[kind.name])
        assert await archive.upsert(kind, [first]) == UpsertCounts(inserted=1)
        assert await archive.upsert(kind, [newer]) == UpsertCounts(updated=1)
        assert await archive.upsert(kind, [first]) == UpsertCounts(unchanged=1)  # a late retry of the first
        assert kind.records_in(await archive.read_window(user, WEEK)) == (newer,)

    async def test_an_equally_new_version_with_another_value_replaces_the_stored_one(
        self, archive: HealthArchive
    ) -> None:
        user = unique_id()
        day = biomarker(user)
        await archive.upsert_biomarkers([fetched(day, "400", at=timedelta(hours=1))])
        counts = await archive.upsert_biomarkers([fetched(day, "455", at=timedelta(hours=1))])
        assert counts == UpsertCounts(updated=1)
        assert await stored_values(archive, user) == ["455"]

    async def test_an_equal_value_observed_later_keeps_its_value_and_moves_its_observed_at_on(
        self, archive: HealthArchive
    ) -> None:
        user = unique_id()
        day = biomarker(user)
        await archive.upsert_biomarkers([fetched(day, "400", at=timedelta(hours=1))])
        counts = await archive.upsert_biomarkers([fetched(day, "400", at=timedelta(hours=5))])
        assert counts == UpsertCounts(updated=1)
        (stored,) = (await archive.read_window(user, WEEK)).biomarkers
        assert (stored.value, stored.observed_at) == ("400", T0 + timedelta(hours=5))

    async def test_an_equal_value_as_new_as_the_stored_one_is_left_alone(self, archive: HealthArchive) -> None:
        user = unique_id()
        day = fetched(biomarker(user), "400", at=timedelta(hours=1))
        await archive.upsert_biomarkers([day])
        assert await archive.upsert_biomarkers([day]) == UpsertCounts(unchanged=1)

    async def test_a_value_seen_again_later_beats_an_older_other_value_arriving_after_it(
        self, archive: HealthArchive
    ) -> None:
        """v1@t1, v1@t3, v0@t2: the second sighting of v1 makes it as new as t3, so v0 (t2) loses."""
        user = unique_id()
        day = biomarker(user)
        for value, hour in (("455", 1), ("455", 3), ("400", 2)):
            await archive.upsert_biomarkers([fetched(day, value, at=timedelta(hours=hour))])
        (stored,) = (await archive.read_window(user, WEEK)).biomarkers
        assert (stored.value, stored.observed_at) == ("455", T0 + timedelta(hours=3))

    async def test_records_without_created_at_are_ordered_by_when_they_were_fetched(
        self, archive: HealthArchive
    ) -> None:
        user = unique_id()
        day = biomarker(user)
        early, late = fetched(day, "400", at=timedelta(hours=1)), fetched(day, "455", at=timedelta(hours=2))
        assert await archive.upsert_biomarkers([late]) == UpsertCounts(inserted=1)
        assert await archive.upsert_biomarkers([early]) == UpsertCounts(unchanged=1)
        assert await stored_values(archive, user) == ["455"]

    async def test_intraday_revisions_ending_in_the_daily_value_keep_the_final_one(
        self, archive: HealthArchive
    ) -> None:
        user = unique_id()
        day = biomarker(user, periodicity="intraday")
        revisions = [
            fetched(day, "3263", at=timedelta(hours=9)),
            fetched(day, "6120", at=timedelta(hours=14)),
            fetched(day, "9874", at=timedelta(hours=20)),
            dataclasses.replace(fetched(day, "10412", at=timedelta(days=1, hours=2)), periodicity="daily"),
        ]
        for revision in (revisions[1], revisions[3], revisions[0], revisions[2]):  # as a queue may run them
            await archive.upsert_biomarkers([revision])
        (stored,) = (await archive.read_window(user, WEEK)).biomarkers
        assert (stored.value, stored.periodicity) == ("10412", "daily")

    async def test_duplicates_within_one_batch_keep_the_newest_whatever_their_order(
        self, archive: HealthArchive
    ) -> None:
        user = unique_id()
        day = biomarker(user)
        rows = [fetched(day, str(hour), at=timedelta(hours=hour)) for hour in (2, 5, 1, 3)]
        counts = await archive.upsert_biomarkers(rows)
        assert counts == UpsertCounts(inserted=1)
        assert await stored_values(archive, user) == ["5"]

    async def test_a_record_that_does_not_say_when_it_was_observed_counts_as_observed_when_written(
        self, archive: HealthArchive
    ) -> None:
        user = unique_id()
        day = biomarker(user)
        await archive.upsert_biomarkers([fetched(day, "400", at=timedelta(hours=1))])
        unstamped = dataclasses.replace(day, value="455", created_at_utc=None, observed_at=None)
        assert await archive.upsert_biomarkers([unstamped]) == UpsertCounts(updated=1)
        (stored,) = (await archive.read_window(user, WEEK)).biomarkers
        assert stored.value == "455"
        assert stored.observed_at is not None
        assert stored.observed_at > T0 + timedelta(hours=1)

    # -- several users at once -------------------------------------------------------------------------------

    async def test_an_upsert_by_user_of_nothing_counts_no_user(self, archive: HealthArchive) -> None:
        assert await archive.upsert_by_user(SCORE, []) == {}

    async def test_an_upsert_by_user_counts_each_user_as_an_upsert_of_their_rows_would(
        self, archive: HealthArchive
    ) -> None:
        """Two sets of three users in the same state; one set upserted user by user, the other at once."""
        one_by_one, together = [unique_id() for _ in range(3)], [unique_id() for _ in range(3)]
        for users in (one_by_one, together):
            for user in users:
                await archive.upsert_biomarkers(_stored_days(user))
        counted_apart = [await archive.upsert_biomarkers(_next_days(user)) for user in one_by_one]
        rows = [row for user in together for row in _next_days(user)]
        counted = await archive.upsert_by_user(BIOMARKER, rows[::2] + rows[1::2])  # users interleaved
        assert [counted[user] for user in together] == counted_apart
        assert counted_apart[0] == UpsertCounts(inserted=2, updated=3, unchanged=3)  # 1 merged, 1 older, 1 equal
        for apart, user in zip(one_by_one, together, strict=True):
            assert await stored_values(archive, user) == await stored_values(archive, apart)
        assert await stored_values(archive, together[0]) == ["400", "2", "3", "8500", "5", "6", "7", "8"]

    async def test_an_upsert_by_user_counts_each_kind_of_a_user_apart(self, archive: HealthArchive) -> None:
        user, other = unique_id(), unique_id()
        stored_score = score(user)
        await archive.upsert_scores([stored_score])
        later = {"biomarker": {"day": 1}, "score": {"day": 1}, "archetype": {"week": 1}}
        for kind in RECORD_KINDS:
            build = BUILDERS[kind.name]
            first = stored_score if kind == SCORE else build(user)
            counts = await archive.upsert_by_user(kind, [first, build(other), build(user, **later[kind.name])])
            expected = UpsertCounts(inserted=1, unchanged=1) if kind == SCORE else UpsertCounts(inserted=2)
            assert counts == {user: expected, other: UpsertCounts(inserted=1)}
        stored = await archive.read_window(user, WEEK)
        assert (len(stored.biomarkers), len(stored.scores), len(stored.archetypes)) == (2, 2, 2)

    async def test_an_upsert_by_user_with_a_record_of_another_kind_writes_no_user(self, archive: HealthArchive) -> None:
        user, other = unique_id(), unique_id()
        with pytest.raises(InvalidInputError):
            await archive.upsert_by_user(SCORE, [score(user), biomarker(user), score(other)])
        for someone in (user, other):
            assert (await archive.read_window(someone, WEEK)).total_items == 0


def _stored_days(user: str) -> list[Biomarker]:
    """Days 0-5 of ``user`` as first stored: values "1" to "6", observed an hour after T0."""
    return [fetched(_day(user, d), str(d + 1), at=timedelta(hours=1)) for d in range(6)]


def _next_days(user: str) -> list[Biomarker]:
    """A later batch of ``user`` over ``_stored_days``: day 0 changed by two rows merged (the newest wins), day 1
    equal and as new, day 2 the same value seen later, day 3 changed, day 4 older and different (it loses), day 5
    equal again, days 6 and 7 new."""
    day = [_day(user, d) for d in range(8)]
    return [
        fetched(day[0], "300", at=timedelta(hours=3)),
        fetched(day[0], "400", at=timedelta(hours=4)),
        fetched(day[1], "2", at=timedelta(hours=1)),
        fetched(day[2], "3", at=timedelta(hours=2)),
        fetched(day[3], "8500", at=timedelta(hours=2)),
        fetched(day[4], "999", at=timedelta(minutes=30)),
        fetched(day[5], "6", at=timedelta(hours=1)),
        fetched(day[6], "7", at=timedelta(hours=2)),
        fetched(day[7], "8", at=timedelta(hours=2)),
    ]


def _day(user: str, day: int) -> Biomarker:
    """The steps of ``user`` on ``day``, the same record at each call."""
    return biomarker(user, day=day, sahha_id=f"{user}-{day}")
