"""``AnalysisResultStoreContract``: one stored analysis per run, read back equal, the newest of a key, a user's
history; and ``AnalysisResultsUnitOfWorkContract``: stored analyses commit and roll back with the run's events.

A host proves its own store keeps the promises by subclassing and overriding the fixture::

    class TestMyResults(AnalysisResultStoreContract):
        @pytest.fixture
        def analysis_results(self) -> AnalysisResultStore:
            return MyResults(...)
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from sahha_sync.application.ports.analysis_results import AnalysisResultStore, StoredAnalysis
from sahha_sync.application.ports.unit_of_work import UnitOfWorkFactory
from sahha_sync.domain.analysis import Analysis, Insight
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.events import AnalysisRequested, stream_id_for
from sahha_sync.testing.records import LOCAL, T0, unique_id

BEHAVIOR = "behavior_analysis"
CIRCADIAN = "circadian_analysis"


def sample_analysis(**fields: Any) -> Analysis:
    """A realistic analysis: insights naming metrics, notes, token use and a nested metrics dict."""
    values: dict[str, Any] = {
        "summary": "Steps averaged 8,412 a day — steadier on weekdays. «Ünïcode» stays intact.",
        "analyst": "openai",
        "model": "gpt-4o",
        "prompt_version": "analysis-prompt-1",
        "input_hash": uuid.uuid4().hex * 2,
        "insights": (
            Insight("Steps averaged 8,412 a day.", "behavior.steps.level"),
            Insight("A finding without a metric.", None),
        ),
        "recommendations": ("Take a longer walk on Saturdays.",),
        "data_quality_notes": ("Data cover 6 of the 7 days.",),
        "prompt_tokens": 2345,
        "completion_tokens": 321,
        "dropped_insights": 2,
        "metrics": {
            "analysis_type": BEHAVIOR,
            "coverage": {"days_with_data": 6, "first_day": "2025-10-01", "nights": 0},
            "behavior": [{"name": "behavior.steps.level", "value": 8412.5, "unit": "steps", "days": 6, "reason": None}],
        },
    }
    values.update(fields)
    return Analysis(**values)


def stored(
    user_id: str,
    *,
    run_id: str | None = None,
    archetype: str = "Peak Performer",
    analysis_type: str = BEHAVIOR,
    created_at: datetime = T0,
    reused_from: str | None = None,
    analysis: Analysis | None = None,
) -> StoredAnalysis:
    return StoredAnalysis(
        run_id=run_id or uuid.uuid4().hex,
        user_id=user_id,
        archetype=archetype,
        analysis_type=analysis_type,
        analysis=analysis or sample_analysis(),
        created_at=created_at,
        reused_from=reused_from,
    )


def assert_same(found: StoredAnalysis | None, expected: StoredAnalysis) -> None:
    """Equal in every field, the analysis's metrics included (``Analysis`` equality leaves them out)."""
    assert found is not None
    assert found == expected
    assert found.analysis.metrics == expected.analysis.metrics
    assert found.created_at == expected.created_at


class AnalysisResultStoreContract:
    """Override ``analysis_results`` to yield the adapter under test."""

    @pytest.fixture
    def analysis_results(self) -> AnalysisResultStore:
        """Override: the adapter under test."""
        raise NotImplementedError("override the 'analysis_results' fixture to return the AnalysisResultStore")

    async def test_a_saved_analysis_reads_back_equal_metrics_included(
        self, analysis_results: AnalysisResultStore
    ) -> None:
        result = stored(unique_id(), created_at=T0.astimezone(LOCAL))
        await analysis_results.save(result)
        assert_same(await analysis_results.get(result.run_id), result)

    async def test_an_unknown_run_has_no_stored_analysis(self, analysis_results: AnalysisResultStore) -> None:
        assert await analysis_results.get(uuid.uuid4().hex) is None
        assert await analysis_results.latest(unique_id(), "Peak Performer", BEHAVIOR) is None
        assert await analysis_results.list_for_user(unique_id()) == []

    async def test_the_columns_of_the_key_and_the_analyst_come_from_the_analysis(
        self, analysis_results: AnalysisResultStore
    ) -> None:
        result = stored(unique_id(), analysis=sample_analysis(analyst="offline", model="offline-rules"))
        await analysis_results.save(result)
        found = await analysis_results.get(result.run_id)
        assert found is not None
        assert (found.analyst, found.model, found.prompt_version) == ("offline", "offline-rules", "analysis-prompt-1")
        assert found.input_hash == result.analysis.input_hash

    async def test_latest_is_the_newest_of_that_user_archetype_and_type_only(
        self, analysis_results: AnalysisResultStore
    ) -> None:
        user = unique_id()
        older = stored(user, created_at=T0)
        newer = stored(user, created_at=T0 + timedelta(hours=1))
        for other in (
            stored(user, created_at=T0 + timedelta(days=1), archetype="Night Owl"),
            stored(user, created_at=T0 + timedelta(days=1), analysis_type=CIRCADIAN),
            stored(unique_id(), created_at=T0 + timedelta(days=1)),
        ):
            await analysis_results.save(other)
        await analysis_results.save(newer)
        await analysis_results.save(older)  # saved last, but older
        assert_same(await analysis_results.latest(user, "Peak Performer", BEHAVIOR), newer)

    async def test_of_two_analyses_stored_at_the_same_time_the_one_saved_last_is_latest(
        self, analysis_results: AnalysisResultStore
    ) -> None:
        user = unique_id()
        first, second = stored(user), stored(user)
        await analysis_results.save(first)
        await analysis_results.save(second)
        assert_same(await analysis_results.latest(user, "Peak Performer", BEHAVIOR), second)

    async def test_saving_a_run_again_replaces_its_analysis(self, analysis_results: AnalysisResultStore) -> None:
        user = unique_id()
        first = stored(user)
        again = stored(user, run_id=first.run_id, analysis=sample_analysis(summary="The second answer."))
        await analysis_results.save(first)
        await analysis_results.save(again)
        assert_same(await analysis_results.get(first.run_id), again)
        assert len(await analysis_results.list_for_user(user)) == 1

    async def test_a_reused_analysis_names_the_run_that_produced_it(
        self, analysis_results: AnalysisResultStore
    ) -> None:
        user = unique_id()
        original = stored(user)
        reused = stored(
            user, created_at=T0 + timedelta(hours=2), reused_from=original.run_id, analysis=original.analysis
        )
        await analysis_results.save(original)
        await analysis_results.save(reused)
        found = await analysis_results.get(reused.run_id)
        assert_same(found, reused)
        assert found is not None
        assert found.produced_by == original.run_id
        assert found.input_hash == original.input_hash

    async def test_a_users_history_is_newest_first_filtered_and_limited(
        self, analysis_results: AnalysisResultStore
    ) -> None:
        user = unique_id()
        results = [
            stored(user, created_at=T0 + timedelta(hours=3)),
            stored(user, created_at=T0 + timedelta(hours=2), analysis_type=CIRCADIAN),
            stored(user, created_at=T0 + timedelta(hours=1), archetype="Night Owl"),
            stored(user, created_at=T0),
        ]
        for result in reversed(results):
            await analysis_results.save(result)
        await analysis_results.save(stored(unique_id()))

        assert [r.run_id for r in await analysis_results.list_for_user(user)] == [r.run_id for r in results]
        behavior = await analysis_results.list_for_user(user, analysis_type=BEHAVIOR)
        assert [r.run_id for r in behavior] == [results[0].run_id, results[2].run_id, results[3].run_id]
        owl = await analysis_results.list_for_user(user, archetype="Night Owl", analysis_type=BEHAVIOR)
        assert [r.run_id for r in owl] == [results[2].run_id]
        assert [r.run_id for r in await analysis_results.list_for_user(user, limit=2)] == [
            results[0].run_id,
            results[1].run_id,
        ]
        assert await analysis_results.list_for_user(user, limit=0) == []

    async def test_deleting_a_user_erases_their_analyses_only(self, analysis_results: AnalysisResultStore) -> None:
        user, other = unique_id(), unique_id()
        mine = [stored(user), stored(user, analysis_type=CIRCADIAN)]
        theirs = stored(other)
        for result in (*mine, theirs):
            await analysis_results.save(result)
        assert await analysis_results.delete_user(user) == 2
        assert await analysis_results.list_for_user(user) == []
        assert [await analysis_results.get(r.run_id) for r in mine] == [None, None]
        assert_same(await analysis_results.get(theirs.run_id), theirs)

    async def test_a_negative_limit_is_refused(self, analysis_results: AnalysisResultStore) -> None:
        with pytest.raises(InvalidInputError):
            await analysis_results.list_for_user(unique_id(), limit=-1)


def requested(run_id: str, user: str) -> AnalysisRequested:
    return AnalysisRequested(
        run_id=run_id, occurred_at=T0, user_id=user, archetype="Peak Performer", analysis_type=BEHAVIOR
    )


class AnalysisResultsUnitOfWorkContract:
    """Override ``unit_of_work_factory``: its units hold ``analysis_results`` in the same transaction."""

    @pytest.fixture
    def unit_of_work_factory(self) -> UnitOfWorkFactory:
        """Override: a factory of units of work whose ``analysis_results`` is the store under test."""
        raise NotImplementedError("override the 'unit_of_work_factory' fixture to return a UnitOfWorkFactory")

    async def test_a_committed_analysis_is_kept_with_the_runs_events(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        user, run_id = unique_id(), uuid.uuid4().hex
        result = stored(user, run_id=run_id)
        async with unit_of_work_factory() as uow:
            await uow.events.append(stream_id_for(run_id), [requested(run_id, user)], expected_version=0)
            await uow.analysis_results.save(result)
            await uow.commit()
        async with unit_of_work_factory() as uow:
            assert await uow.events.stream_version(stream_id_for(run_id)) == 1
            assert_same(await uow.analysis_results.get(run_id), result)

    async def test_an_uncommitted_analysis_is_rolled_back_with_the_runs_events(
        self, unit_of_work_factory: UnitOfWorkFactory
    ) -> None:
        user, run_id = unique_id(), uuid.uuid4().hex
        async with unit_of_work_factory() as uow:
            await uow.events.append(stream_id_for(run_id), [requested(run_id, user)], expected_version=0)
            await uow.analysis_results.save(stored(user, run_id=run_id))
        async with unit_of_work_factory() as uow:
            assert await uow.events.stream_version(stream_id_for(run_id)) == 0
            assert await uow.analysis_results.get(run_id) is None
            assert await uow.analysis_results.latest(user, "Peak Performer", BEHAVIOR) is None
