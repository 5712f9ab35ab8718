"""The seed's agents and the on-demand service: named entry points over RunAnalysis, and past analyses."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sahha_sync.application.ports import AnalystUnavailableError
from sahha_sync.application.use_cases import BehaviorAnalysisAgent, CircadianAnalysisAgent, OnDemandAnalysisService
from sahha_sync.domain import AnalysisRequested, AnalysisType, InvalidInputError
from tests.unit.application.conftest import ARCHETYPE, START, USER, Harness, days_of_data


def service(harness: Harness) -> OnDemandAnalysisService:
    return OnDemandAnalysisService(run_analysis=harness.run, unit_of_work=harness.stores.unit_of_work)


async def requested_type(harness: Harness, run_id: str) -> str:
    (requested,) = await harness.events_of(run_id, AnalysisRequested)
    return str(requested.analysis_type)


async def test_the_behaviour_agent_runs_a_behaviour_analysis(harness: Harness) -> None:
    harness.source.add(days_of_data(USER, START - timedelta(days=6), 6))

    outcome = await BehaviorAnalysisAgent(run_analysis=harness.run).analyze_behavior(USER, ARCHETYPE)

    assert await requested_type(harness, outcome.run_id) == "behavior_analysis"
    assert harness.analyst.inputs[-1].analysis_type is AnalysisType.BEHAVIOR
    assert (await harness.record(outcome.run_id)).analysis_type == "behavior_analysis"


async def test_the_circadian_agent_runs_a_circadian_analysis(harness: Harness) -> None:
    harness.source.add(days_of_data(USER, START - timedelta(days=6), 6))

    outcome = await CircadianAnalysisAgent(run_analysis=harness.run).analyze_circadian(USER, ARCHETYPE)

    assert await requested_type(harness, outcome.run_id) == "circadian_analysis"
    assert harness.analyst.inputs[-1].analysis_type is AnalysisType.CIRCADIAN


async def test_each_agent_keeps_its_own_watermark(harness: Harness) -> None:
    harness.source.add(days_of_data(USER, START - timedelta(days=6), 6))
    behaviour = BehaviorAnalysisAgent(run_analysis=harness.run)
    circadian = CircadianAnalysisAgent(run_analysis=harness.run)

    first = await behaviour.analyze_behavior(USER, ARCHETYPE)
    harness.clock.advance(timedelta(hours=2))
    other = await circadian.analyze_circadian(USER, ARCHETYPE)
    again = await behaviour.analyze_behavior(USER, ARCHETYPE)

    assert not first.is_incremental
    assert not other.is_incremental  # no circadian analysis before: the initial days
    assert again.is_incremental
    assert again.watermark == first.window.end


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        ("behavior", "behavior_analysis"),
        ("circadian_analysis", "circadian_analysis"),
        (AnalysisType.CIRCADIAN, "circadian_analysis"),
    ],
)
async def test_the_service_analyses_the_type_asked_for_now(
    harness: Harness, asked: str | AnalysisType, expected: str
) -> None:
    harness.source.add(days_of_data(USER, START - timedelta(days=6), 6))

    outcome = await service(harness).analyze(USER, ARCHETYPE, asked)

    assert await requested_type(harness, outcome.run_id) == expected


async def test_the_service_refuses_an_unknown_analysis_type_and_records_nothing(harness: Harness) -> None:
    with pytest.raises(InvalidInputError, match="unknown analysis type") as raised:
        await service(harness).analyze(USER, ARCHETYPE, "sleep_analysis")

    assert raised.value.field == "analysis_type"
    assert await harness.stores.tracking.list_all() == []
    assert harness.source.calls == []


async def test_a_stored_analysis_reads_back_equal_to_what_the_host_got(harness: Harness) -> None:
    harness.source.add(days_of_data(USER, START - timedelta(days=6), 6))
    analyses = service(harness)

    outcome = await analyses.analyze(USER, ARCHETYPE, "behavior")
    stored = await analyses.get(outcome.run_id)

    assert stored is not None
    assert stored.analysis == outcome.analysis
    assert stored.analysis.metrics == outcome.analysis.metrics
    assert (stored.user_id, stored.archetype, stored.analysis_type) == (USER, ARCHETYPE, "behavior_analysis")
    assert stored.created_at == harness.clock.now()
    assert stored.reused_from is None


async def test_the_service_reads_the_latest_analysis_and_the_history_newest_first(harness: Harness) -> None:
    harness.source.add(days_of_data(USER, START - timedelta(days=6), 6))
    analyses = service(harness)
    runs = []
    for analysis_type in ("behavior", "circadian", "behavior"):
        runs.append(await analyses.analyze(USER, ARCHETYPE, analysis_type))
        harness.clock.advance(timedelta(hours=1))

    latest = await analyses.latest(USER, ARCHETYPE, "behavior")
    history = await analyses.history(USER)
    behaviour_only = await analyses.history(USER, archetype=ARCHETYPE, analysis_type="behavior", limit=5)

    assert latest is not None
    assert latest.run_id == runs[2].run_id
    assert [r.run_id for r in history] == [r.run_id for r in reversed(runs)]
    assert [r.run_id for r in behaviour_only] == [runs[2].run_id, runs[0].run_id]
    assert [r.run_id for r in await analyses.history(USER, limit=1)] == [runs[2].run_id]
    assert await analyses.latest("someone-else", ARCHETYPE, "behavior") is None


async def test_a_run_whose_analysis_failed_has_no_stored_analysis(harness: Harness) -> None:
    harness.source.add(days_of_data(USER, START - timedelta(days=6), 6))
    harness.analyst.error = AnalystUnavailableError("model down")

    with pytest.raises(AnalystUnavailableError):
        await service(harness).analyze(USER, ARCHETYPE, "behavior")

    (row,) = await harness.stores.tracking.list_all()
    assert await service(harness).get(row.run_id) is None
    assert await service(harness).history(USER) == []


async def test_reading_with_a_bad_argument_names_it(harness: Harness) -> None:
    analyses = service(harness)
    with pytest.raises(InvalidInputError) as no_run:
        await analyses.get("  ")
    with pytest.raises(InvalidInputError) as bad_limit:
        await analyses.history(USER, limit=-1)
    assert (no_run.value.field, bad_limit.value.field) == ("run_id", "limit")
