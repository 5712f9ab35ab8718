"""``TrackingStoreContract``: one row per run, ids kept on replace, the latest analysed run, a user's runs; and
one freshness row per user."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta

import pytest

from sahha_sync.application.ports.tracking_store import TrackingStore
from sahha_sync.domain.freshness import UserFreshness
from sahha_sync.domain.tracking import SyncStatus, TrackingRecord
from sahha_sync.domain.windows import FetchWindow, Watermark
from sahha_sync.testing.records import T0, unique_id


def run(
    user_id: str,
    *,
    archetype: str = "Peak Performer",
    analysis_type: str = "behavior_analysis",
    analysed_at: datetime | None = None,
    window: FetchWindow | None = None,
    status: SyncStatus | None = None,
) -> TrackingRecord:
    if window is None and analysed_at is not None:
        window = FetchWindow(analysed_at - timedelta(days=7), analysed_at)
    return TrackingRecord(
        run_id=uuid.uuid4().hex,
        user_id=user_id,
        archetype=archetype,
        analysis_type=analysis_type,
        analysis_timestamp=analysed_at,
        window=window,
        data_source=None if window is None else "sahha",
        status=status or SyncStatus(),
    )


class TrackingStoreContract:
    """Override ``tracking_store`` to yield the adapter under test."""

    @pytest.fixture
    def tracking_store(self) -> TrackingStore:
        """Override: the adapter under test (a generator fixture may clean up after it)."""
        raise NotImplementedError("override the 'tracking_store' fixture to return the TrackingStore under test")

    async def test_a_saved_row_gets_an_id_and_reads_back_equal(self, tracking_store: TrackingStore) -> None:
        record = run(unique_id(), analysed_at=T0)
        saved = await tracking_store.save(record)
        assert saved.id is not None
        assert saved == dataclasses.replace(record, id=saved.id)
        assert await tracking_store.get(record.run_id) == saved

    async def test_later_rows_get_greater_ids(self, tracking_store: TrackingStore) -> None:
        user = unique_id()
        first = await tracking_store.save(run(user))
        second = await tracking_store.save(run(user))
        assert first.id is not None
        assert second.id is not None
        assert second.id > first.id

    async def test_saving_a_run_again_replaces_its_row_and_keeps_the_id(self, tracking_store: TrackingStore) -> None:
        saved = await tracking_store.save(run(unique_id()))
        status = SyncStatus(
            sahha_data_synced=True,
            synced_kinds=frozenset({"biomarker", "score", "archetype"}),
            sync_completed_at=T0 + timedelta(minutes=5),
            archival_requested=True,
        )
        updated = dataclasses.replace(saved, id=None, analysis_timestamp=T0, status=status)
        replaced = await tracking_store.save(updated)
        assert replaced.id == saved.id
        assert await tracking_store.get(saved.run_id) == dataclasses.replace(updated, id=saved.id)

    async def test_save_many_inserts_and_replaces_in_order_keeping_the_stored_ids(
        self, tracking_store: TrackingStore
    ) -> None:
        user = unique_id()
        kept = await tracking_store.save(run(user, analysed_at=T0))
        replaced = dataclasses.replace(
            kept, id=None, status=SyncStatus(sahha_data_synced=True, archival_requested=True)
        )
        records = [run(user, analysed_at=T0 + timedelta(days=1)), replaced, run(unique_id(), analysed_at=T0)]
        saved = await tracking_store.save_many(records)
        assert [r.run_id for r in saved] == [r.run_id for r in records]
        assert saved[1] == dataclasses.replace(replaced, id=kept.id)
        assert all(s == dataclasses.replace(r, id=s.id) for s, r in zip(saved, records, strict=True))
        assert len({s.id for s in saved}) == 3
        assert kept.id is not None
        assert saved[0].id is not None
        assert saved[0].id > kept.id
        assert [await tracking_store.get(r.run_id) for r in records] == saved

    async def test_save_many_keeps_given_ids_no_other_row_holds(self, tracking_store: TrackingStore) -> None:
        user = unique_id()
        held = await tracking_store.save(run(user))
        assert held.id is not None
        free = held.id + 1000
        saved = await tracking_store.save_many(
            [dataclasses.replace(run(user), id=free), dataclasses.replace(run(user), id=held.id)]
        )
        assert saved[0].id == free
        assert saved[1].id not in (None, free, held.id)
        assert await tracking_store.get(held.run_id) == held
        assert await tracking_store.save_many([]) == []

    async def test_a_sync_error_is_kept(self, tracking_store: TrackingStore) -> None:
        status = SyncStatus(
            synced_kinds=frozenset({"biomarker"}), sync_error="ArchiveUnavailableError: scores", archival_requested=True
        )
        saved = await tracking_store.save(run(unique_id(), status=status))
        stored = await tracking_store.get(saved.run_id)
        assert stored is not None
        assert stored.status == status

    async def test_an_unknown_run_has_no_row(self, tracking_store: TrackingStore) -> None:
        assert await tracking_store.get(uuid.uuid4().hex) is None

    async def test_latest_is_the_run_with_the_greatest_analysis_timestamp(self, tracking_store: TrackingStore) -> None:
        user = unique_id()
        await tracking_store.save(run(user, analysed_at=T0 + timedelta(days=2)))
        newest = await tracking_store.save(run(user, analysed_at=T0 + timedelta(days=3)))
        await tracking_store.save(run(user, analysed_at=T0 + timedelta(days=1)))
        assert await tracking_store.latest(user, "behavior_analysis") == newest

    async def test_latest_ignores_runs_that_were_never_analysed(self, tracking_store: TrackingStore) -> None:
        user = unique_id()
        analysed = await tracking_store.save(run(user, analysed_at=T0))
        await tracking_store.save(run(user, window=FetchWindow(T0, T0 + timedelta(days=1))))
        assert await tracking_store.latest(user, "behavior_analysis") == analysed

    async def test_latest_with_an_archetype_looks_at_that_archetype_only(self, tracking_store: TrackingStore) -> None:
        user = unique_id()
        peak = await tracking_store.save(run(user, archetype="Peak Performer", analysed_at=T0))
        other = await tracking_store.save(run(user, archetype="Night Owl", analysed_at=T0 + timedelta(days=1)))
        assert await tracking_store.latest(user, "behavior_analysis", "Peak Performer") == peak
        assert await tracking_store.latest(user, "behavior_analysis") == other
        assert await tracking_store.latest(user, "behavior_analysis", "Unknown") is None

    async def test_latest_looks_at_the_analysis_type_and_user_only(self, tracking_store: TrackingStore) -> None:
        user = unique_id()
        await tracking_store.save(run(user, analysis_type="circadian_analysis", analysed_at=T0))
        await tracking_store.save(run(unique_id(), analysed_at=T0))
        assert await tracking_store.latest(user, "behavior_analysis") is None

    async def test_runs_for_user_returns_every_archetype_and_type(self, tracking_store: TrackingStore) -> None:
        user = unique_id()
        a = await tracking_store.save(run(user, archetype="Night Owl", analysed_at=T0))
        b = await tracking_store.save(run(user, analysis_type="circadian_analysis", analysed_at=T0))
        await tracking_store.save(run(unique_id(), analysed_at=T0))
        assert await tracking_store.runs_for_user(user) == [a, b]

    async def test_runs_for_user_filters_on_the_window_end(self, tracking_store: TrackingStore) -> None:
        user = unique_id()
        await tracking_store.save(run(user, analysed_at=T0))
        later = await tracking_store.save(run(user, analysed_at=T0 + timedelta(days=2)))
        await tracking_store.save(run(user))  # no window yet
        assert await tracking_store.runs_for_user(user, window_end_after=T0) == [later]

    async def test_clear_removes_every_row(self, tracking_store: TrackingStore) -> None:
        saved = await tracking_store.save(run(unique_id(), analysed_at=T0))
        await tracking_store.clear()
        assert await tracking_store.list_all() == []
        assert await tracking_store.get(saved.run_id) is None

    async def test_a_cleared_row_saved_again_with_its_id_keeps_that_id(self, tracking_store: TrackingStore) -> None:
        user = unique_id()
        saved = [await tracking_store.save(run(user, analysed_at=T0)) for _ in range(3)]
        await tracking_store.clear()
        for row in reversed(saved):
            await tracking_store.save(row)
        assert [await tracking_store.get(row.run_id) for row in saved] == saved
        fresh = await tracking_store.save(run(user))
        assert fresh.id is not None
        assert all(fresh.id != row.id for row in saved)

    async def test_list_all_is_ordered_by_id(self, tracking_store: TrackingStore) -> None:
        user = unique_id()
        saved = [await tracking_store.save(run(user)) for _ in range(3)]
        rows = [r for r in await tracking_store.list_all() if r.user_id == user]
        assert rows == saved

    async def test_deleting_a_user_erases_their_rows_only(self, tracking_store: TrackingStore) -> None:
        user, other = unique_id(), unique_id()
        mine = [await tracking_store.save(run(user, analysed_at=T0)) for _ in range(2)]
        theirs = await tracking_store.save(run(other, analysed_at=T0))
        assert await tracking_store.delete_user(user) == 2
        assert await tracking_store.runs_for_user(user) == []
        assert [await tracking_store.get(r.run_id) for r in mine] == [None, None]
        assert await tracking_store.get(theirs.run_id) == theirs
        assert await tracking_store.delete_user(user) == 0

    async def test_a_users_freshness_reads_back_equal_and_a_save_replaces_it(
        self, tracking_store: TrackingStore
    ) -> None:
        user = unique_id()
        assert await tracking_store.freshness(user) is None
        first = UserFreshness(user_id=user, fetched=Watermark(T0))
        await tracking_store.save_freshness(first)
        assert await tracking_store.freshness(user) == first
        later = UserFreshness(
            user_id=user,
            fetched=Watermark(T0 + timedelta(hours=1)),
            delivered=Watermark(T0 + timedelta(hours=2)),
            archetypes=Watermark(T0),
            delivery_run_id="delivery-1",
        )
        await tracking_store.save_freshness(later)
        assert await tracking_store.freshness(user) == later
        assert [f for f in await tracking_store.list_freshness() if f.user_id == user] == [later]

    async def test_an_advance_keeps_the_later_of_each_mark_and_the_rest_of_the_row(
        self, tracking_store: TrackingStore
    ) -> None:
        user, hour = unique_id(), timedelta(hours=1)
        await tracking_store.advance_freshness(UserFreshness(user_id=user, fetched=Watermark(T0)))
        assert await tracking_store.freshness(user) == UserFreshness(user_id=user, fetched=Watermark(T0))
        stored = UserFreshness(
            user_id=user,
            fetched=Watermark(T0 + hour),
            delivered=Watermark(T0 + 2 * hour),
            delivery_run_id="delivery-1",
        )
        await tracking_store.save_freshness(stored)
        await tracking_store.advance_freshness(UserFreshness(user_id=user, fetched=Watermark(T0)))
        assert await tracking_store.freshness(user) == stored  # an older mark moves nothing
        await tracking_store.advance_freshness(
            UserFreshness(user_id=user, fetched=Watermark(T0 + 3 * hour), archetypes=Watermark(T0 + 3 * hour))
        )
        moved = dataclasses.replace(stored, fetched=Watermark(T0 + 3 * hour), archetypes=Watermark(T0 + 3 * hour))
        assert await tracking_store.freshness(user) == moved
        await tracking_store.advance_freshness(UserFreshness(user_id=user, archetypes=Watermark(T0)))
        assert await tracking_store.freshness(user) == moved

    async def test_advance_freshness_many_moves_several_users_at_once(self, tracking_store: TrackingStore) -> None:
        user, other, new, hour = unique_id(), unique_id(), unique_id(), timedelta(hours=1)
        stored = UserFreshness(user_id=user, fetched=Watermark(T0 + hour), delivered=Watermark(T0), delivery_run_id="d")
        theirs = UserFreshness(user_id=other, fetched=Watermark(T0 + 2 * hour), archetypes=Watermark(T0))
        for freshness in (stored, theirs):
            await tracking_store.save_freshness(freshness)
        await tracking_store.advance_freshness_many(
            [
                UserFreshness(user_id=user, fetched=Watermark(T0 + 4 * hour)),
                UserFreshness(user_id=other, fetched=Watermark(T0), archetypes=Watermark(T0 - hour)),
                UserFreshness(user_id=new, archetypes=Watermark(T0 + hour)),
                UserFreshness(user_id=user, fetched=Watermark(T0 + 3 * hour), archetypes=Watermark(T0 + hour)),
            ]
        )
        assert await tracking_store.freshness(user) == dataclasses.replace(
            stored, fetched=Watermark(T0 + 4 * hour), archetypes=Watermark(T0 + hour)
        )
        assert await tracking_store.freshness(other) == theirs  # older marks move nothing
        assert await tracking_store.freshness(new) == UserFreshness(user_id=new, archetypes=Watermark(T0 + hour))
        await tracking_store.advance_freshness_many([])
        assert await tracking_store.freshness(other) == theirs

    async def test_freshness_rows_are_listed_by_user_and_go_with_the_user_and_with_clear(
        self, tracking_store: TrackingStore
    ) -> None:
        user, other = sorted((unique_id(), unique_id()))
        for who in (other, user):
            await tracking_store.save_freshness(UserFreshness(user_id=who, delivered=Watermark(T0)))
        listed = [f.user_id for f in await tracking_store.list_freshness() if f.user_id in (user, other)]
        assert listed == [user, other]
        await tracking_store.delete_user(user)
        assert await tracking_store.freshness(user) is None
        assert await tracking_store.freshness(other) is not None
        await tracking_store.clear()
        assert await tracking_store.list_freshness() == []
