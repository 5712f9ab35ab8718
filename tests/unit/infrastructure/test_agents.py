"""The seed's agents and on-demand service: handles on a ``SahhaSync`` (the one given, or the shared one)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from sahha_sync.domain import AnalysisType, InvalidInputError
from sahha_sync.infrastructure import (
    BehaviorAnalysisAgent,
    CircadianAnalysisAgent,
    OnDemandAnalysisService,
    SahhaSync,
    accessors,
    aclose,
)

USER = "user-0001"
ARCHETYPE = "Peak Performer"


@pytest.fixture
async def sync() -> AsyncIterator[SahhaSync]:
    async with SahhaSync.from_env(database_url="memory://") as runtime:
        yield runtime


async def analysis_type_of(sync: SahhaSync, run_id: str) -> str | None:
    record = await sync.tracking_record(run_id)
    return None if record is None else record.analysis_type


async def test_the_behaviour_agent_runs_a_behaviour_analysis(sync: SahhaSync) -> None:
    outcome = await BehaviorAnalysisAgent(sync).analyze_behavior(USER, ARCHETYPE)
    assert await analysis_type_of(sync, outcome.run_id) == "behavior_analysis"
    assert outcome.snapshot.total_items > 0


async def test_the_circadian_agent_runs_a_circadian_analysis(sync: SahhaSync) -> None:
    outcome = await CircadianAnalysisAgent(sync).analyze_circadian(USER, ARCHETYPE)
    assert await analysis_type_of(sync, outcome.run_id) == "circadian_analysis"


async def test_the_agents_share_the_users_data_fetched_once_within_the_bound(sync: SahhaSync) -> None:
    behaviour, circadian = BehaviorAnalysisAgent(sync), CircadianAnalysisAgent(sync)

    first = await behaviour.analyze_behavior(USER, ARCHETYPE)
    other = await circadian.analyze_circadian(USER, ARCHETYPE)
    again = await behaviour.analyze_behavior(USER, ARCHETYPE)

    assert (first.data_source, first.is_incremental, first.data_age) == ("emulator", False, timedelta(0))
    for later in (other, again):  # the data is the user's: the first fetch answers both, from the archive
        assert (later.data_source, later.source_failed) == ("archive", False)
        assert later.fresh_as_of == first.window.end
        assert later.data_age is not None
        assert later.data_age <= timedelta(seconds=sync.settings.max_staleness)
    assert await analysis_type_of(sync, other.run_id) == "circadian_analysis"


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        ("behavior", "behavior_analysis"),
        ("circadian_analysis", "circadian_analysis"),
        (AnalysisType.CIRCADIAN, "circadian_analysis"),
    ],
)
async def test_the_service_analyses_the_type_asked_for_now(
    sync: SahhaSync, asked: str | AnalysisType, expected: str
) -> None:
    outcome = await OnDemandAnalysisService(sync).analyze(USER, ARCHETYPE, asked)
    assert await analysis_type_of(sync, outcome.run_id) == expected


async def test_the_service_refuses_an_unknown_analysis_type_naming_the_field(sync: SahhaSync) -> None:
    with pytest.raises(InvalidInputError, match="unknown analysis type") as raised:
        await OnDemandAnalysisService(sync).analyze(USER, ARCHETYPE, "sleep_analysis")
    assert raised.value.field == "analysis_type"


async def test_the_service_reads_back_the_analyses_the_host_got(sync: SahhaSync) -> None:
    service = OnDemandAnalysisService(sync)
    first = await service.analyze(USER, ARCHETYPE, "behavior")
    second = await service.analyze(USER, ARCHETYPE, "circadian")

    stored = await service.get(first.run_id)
    latest = await service.latest(USER, ARCHETYPE, "circadian")
    history = await service.history(USER, limit=5)

    assert stored is not None
    assert stored.analysis == first.analysis
    assert latest is not None
    assert latest.run_id == second.run_id
    assert {r.run_id for r in history} == {first.run_id, second.run_id}
    with pytest.raises(InvalidInputError) as bad_limit:
        await service.history(USER, limit=-1)
    assert bad_limit.value.field == "limit"


async def test_without_a_runtime_the_agents_share_the_accessors_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAHHA_SYNC_DATABASE_URL", "memory://")
    agent, service = BehaviorAnalysisAgent(), OnDemandAnalysisService()
    assert accessors._shared is None  # taking a handle builds nothing
    try:
        outcome = await agent.analyze_behavior(USER, ARCHETYPE)
        stored = await service.get(outcome.run_id)
        runtime = accessors._shared
    finally:
        await aclose()
    assert runtime is not None
    assert stored is not None
    assert stored.analysis == outcome.analysis
