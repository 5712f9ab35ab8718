"""``UnitOfWorkContract``: work over the archive, the events and the tracking rows commits or rolls back whole."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from sahha_sync.application.ports.event_store import ConcurrencyError
from sahha_sync.application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from sahha_sync.domain.events import stream_id_for
from sahha_sync.domain.tracking import TrackingRecord
from sahha_sync.domain.windows import FetchWindow
from sahha_sync.testing.records import T0, analysis_requested, biomarker, score, unique_id

WEEK = FetchWindow(T0 - timedelta(days=1), T0 + timedelta(days=8))


class _Boom(Exception):
    pass


async def _write_a_run(uow: UnitOfWork, user: str) -> str:
    """Writes one row to each of the three stores; returns the run id."""
    run_id = uuid.uuid4().hex
    await uow.archive.upsert_biomarkers([biomarker(user)])
    await uow.archive.upsert_scores([score(user)])
    await uow.events.append(stream_id_for(run_id), [analysis_requested(run_id, user_id=user)], expected_version=0)
    await uow.tracking.save(
        TrackingRecord(run_id=run_id, user_id=user, archetype="Peak Performer", analysis_type="behavior_analysis")
    )
    return run_id


async def _commit_a_run(factory: UnitOfWorkFactory, user: str) -> str:
    """``_write_a_run`` in a unit of its own, committed; returns the run id."""
    async with factory() as uow:
        run_id = await _write_a_run(uow, user)
        await uow.commit()
    return run_id


async def _what_was_kept(factory: UnitOfWorkFactory, user: str, run_id: str) -> tuple[int, int, bool]:
    """(archived records of ``user``, events of the run, whether the run's tracking row exists)."""
    async with factory() as uow:
        records = await uow.archive.read_window(user, WEEK)
        events = await uow.events.read_stream(stream_id_for(run_id))
        row = await uow.tracking.get(run_id)
    return records.total_items, len(events), row is not None


class UnitOfWorkContract:
    """Override ``unit_of_work_factory`` to return a factory of the units of work under test."""

    @pytest.fixture
    def unit_of_work_factory(self) -> UnitOfWorkFactory:
        """Override: the adapter under test (a generator fixture may clean up after it)."""
        raise NotImplementedError("override the 'unit_of_work_factory' fixture to return a UnitOfWorkFactory")

    async def test_committed_work_is_kept_in_all_three_stores(self, unit_of_work_factory: UnitOfWorkFactory) -> None:
        user = unique_id()
        run_id = await _commit_a_run(unit_of_work_factory, user)
        assert await _what_was_kept(unit_of_work_factory, user, run_id) == (2, 1, True)

    async def test_a_unit_declared_reading_reads_every_store_and_stays_one_unit(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        user = unique_id()
        run_id = await _commit_a_run(unit_of_work_factory, user)
        unit = unit_of_work_factory()
        assert unit.reading() is unit
        assert await _what_was_kept(lambda: unit, user, run_id) == (2, 1, True)

    async def test_work_left_uncommitted_is_rolled_back(self, unit_of_work_factory: UnitOfWorkFactory) -> None:
        user = unique_id()
        async with unit_of_work_factory() as uow:
            run_id = await _write_a_run(uow, user)
        assert await _what_was_kept(unit_of_work_factory, user, run_id) == (0, 0, False)

    async def test_an_error_inside_the_block_rolls_everything_back(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        user = unique_id()
        run_ids: list[str] = []

        async def fail_halfway() -> None:
            async with unit_of_work_factory() as uow:
                run_ids.append(await _write_a_run(uow, user))
                raise _Boom

        with pytest.raises(_Boom):
            await fail_halfway()
        assert await _what_was_kept(unit_of_work_factory, user, run_ids[0]) == (0, 0, False)

    async def test_an_explicit_rollback_discards_the_work(self, unit_of_work_factory: UnitOfWorkFactory) -> None:
        user = unique_id()
        async with unit_of_work_factory() as uow:
            run_id = await _write_a_run(uow, user)
            await uow.rollback()
        assert await _what_was_kept(unit_of_work_factory, user, run_id) == (0, 0, False)

    async def test_a_rollback_keeps_what_was_committed_before(self, unit_of_work_factory: UnitOfWorkFactory) -> None:
        user = unique_id()
        async with unit_of_work_factory() as uow:
            kept = await _write_a_run(uow, user)
            await uow.commit()
        async with unit_of_work_factory() as uow:
            await uow.archive.upsert_biomarkers([biomarker(user, day=1)])
            await uow.events.append(stream_id_for(kept), [analysis_requested(kept)], expected_version=1)
        assert await _what_was_kept(unit_of_work_factory, user, kept) == (2, 1, True)

    async def test_a_concurrency_error_rolls_back_the_work_around_it(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        user = unique_id()
        run_id = await _commit_a_run(unit_of_work_factory, user)

        async def append_stale() -> None:
            async with unit_of_work_factory() as uow:
                await uow.archive.upsert_biomarkers([biomarker(user, day=1)])
                await uow.events.append(stream_id_for(run_id), [analysis_requested(run_id)], expected_version=0)

        with pytest.raises(ConcurrencyError):
            await append_stale()
        assert await _what_was_kept(unit_of_work_factory, user, run_id) == (2, 1, True)

    async def test_units_of_work_one_after_another_see_each_others_commits(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        user = unique_id()
        run_id = await _commit_a_run(unit_of_work_factory, user)
        async with unit_of_work_factory() as uow:
            assert await uow.events.stream_version(stream_id_for(run_id)) == 1
            await uow.events.append(stream_id_for(run_id), [analysis_requested(run_id)], expected_version=1)
            await uow.commit()
        async with unit_of_work_factory() as uow:
            assert await uow.events.stream_version(stream_id_for(run_id)) == 2
