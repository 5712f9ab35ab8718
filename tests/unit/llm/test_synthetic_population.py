"""Both analysts on ninety days of the emulator's synthetic users: every analysis succeeds within the budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sahha_sync.adapters.llm import DEFAULT_TOKEN_BUDGET, OfflineAnalyst, build_prompt
from sahha_sync.adapters.sahha.emulator import SyntheticPopulation
from sahha_sync.domain.analysis import AnalysisInput, AnalysisType
from sahha_sync.domain.metrics import compute_facts
from sahha_sync.domain.windows import FetchWindow

END = datetime(2026, 11, 29, tzinfo=UTC)


def inputs(days: int, analysis_type: AnalysisType) -> list[AnalysisInput]:
    population = SyntheticPopulation(seed=7, size=5)
    window = FetchWindow(END - timedelta(days=days), END)
    made = []
    for profile_id in population.profile_ids:
        records = population.records_for(profile_id, window)
        analysis_input = AnalysisInput(
            user_id=profile_id, archetype="Peak Performer", analysis_type=analysis_type, period=window,
            biomarkers=records.biomarkers, scores=records.scores, archetypes=records.archetypes,
        )  # fmt: skip
        made.append(analysis_input)
    return made


@pytest.mark.parametrize("analysis_type", list(AnalysisType))
def test_ninety_days_of_every_synthetic_user_fit_the_prompt_budget(analysis_type: AnalysisType) -> None:
    for analysis_input in inputs(90, analysis_type):
        facts = compute_facts(analysis_input)
        prompt = build_prompt(facts)

        assert prompt.estimated_tokens <= DEFAULT_TOKEN_BUDGET
        assert facts.metrics.coverage.nights >= 60
        assert prompt.digest_days == len(facts.digest.rows)


async def test_the_offline_analyst_finds_sleep_timing_for_every_synthetic_user() -> None:
    for analysis_input in inputs(28, AnalysisType.CIRCADIAN):
        analysis = await OfflineAnalyst().analyse(analysis_input)

        cited = {i.metric for i in analysis.insights}
        assert {"circadian.onset.mean", "circadian.wake.mean"} <= cited
