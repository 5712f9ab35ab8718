"""The offline analyst: deterministic, true to the computed figures, every insight citing its metric."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import openai
import pytest

from sahha_sync.adapters.llm import OFFLINE_MODEL, OFFLINE_VERSION, PROMPT_VERSION, OfflineAnalyst, OpenAIAnalyst
from sahha_sync.domain.analysis import AnalysisType
from sahha_sync.domain.metrics import analysis_input_hash, check_insight, compute_metrics
from sahha_sync.testing.analyst import HealthDataBuilder, sample_input

MONDAY = date(2026, 11, 2)


async def test_equal_inputs_give_equal_analyses() -> None:
    analyst = OfflineAnalyst()

    assert await analyst.analyse(sample_input()) == await analyst.analyse(sample_input())


@pytest.mark.parametrize("sahha_sleep_days", [False, True])
@pytest.mark.parametrize("analysis_type", list(AnalysisType))
async def test_every_insight_cites_a_computed_metric_and_agrees_with_it(
    analysis_type: AnalysisType, sahha_sleep_days: bool
) -> None:
    analysis_input = sample_input(21, analysis_type=analysis_type, sahha_sleep_days=sahha_sleep_days)
    metrics = compute_metrics(analysis_input)
    analysis = await OfflineAnalyst().analyse(analysis_input)

    assert len(analysis.insights) >= 3
    for insight in analysis.insights:
        assert check_insight(insight, metrics) is None, insight.text
    assert analysis.metrics == metrics.to_dict()


async def test_the_summary_states_the_figures_the_code_computed() -> None:
    builder = HealthDataBuilder()
    for offset, steps in enumerate((10000, 9000, 11000, 10000, 10000, 6000, 8000)):
        builder.daily(MONDAY + timedelta(days=offset), "steps", steps)
    analysis = await OfflineAnalyst().analyse(builder.build())

    assert "Steps: a typical day had 10,000 (the median over 7 days)." in analysis.summary
    assert "7 day(s) of data (2026-11-02 to 2026-11-08)" in analysis.summary
    assert analysis.metrics["coverage"] == compute_metrics(builder.build()).coverage.to_dict()


async def test_a_large_social_jet_lag_gets_an_insight_and_a_recommendation() -> None:
    analysis = await OfflineAnalyst().analyse(sample_input(14, analysis_type=AnalysisType.CIRCADIAN))

    cited = {i.metric: i.text for i in analysis.insights}
    assert cited["circadian.social_jet_lag_relative"] == (
        "Social jet lag is 2.0 hours: free-day mid-sleep is that much later than on work days."
    )
    assert "Keep free-day sleep times within an hour of work-day ones." in analysis.recommendations


async def test_no_data_gives_an_analysis_that_says_so() -> None:
    analysis = await OfflineAnalyst().analyse(HealthDataBuilder().build(AnalysisType.CIRCADIAN))

    assert "no data" in analysis.summary
    assert analysis.insights == ()
    assert any("no data" in note for note in analysis.data_quality_notes)


async def test_a_single_day_is_analysed_with_a_note_that_it_is_thin() -> None:
    analysis = await OfflineAnalyst().analyse(HealthDataBuilder().daily(MONDAY, "steps", 4000).build())

    assert "Steps: a typical day had 4,000 (the median over 1 day)." in analysis.summary
    assert any("Only 1 day(s)" in note for note in analysis.data_quality_notes)
    assert not any(i.metric and i.metric.endswith(".trend") for i in analysis.insights)


async def test_archived_data_are_flagged_as_possibly_stale() -> None:
    stale = datetime(2026, 11, 15, 8, 0, tzinfo=UTC)
    archived = dataclasses.replace(sample_input(), data_source="archive", stale_as_of=stale)
    analysis = await OfflineAnalyst().analyse(archived)

    assert any("may be stale as of 2026-11-15T08:00:00+00:00" in note for note in analysis.data_quality_notes)


async def test_the_input_hash_is_the_domains_hash_with_the_analysts_version_and_model() -> None:
    analysis_input = sample_input()
    analyst = OfflineAnalyst()
    analysis = await analyst.analyse(analysis_input)

    expected = analysis_input_hash(analysis_input, prompt_version=OFFLINE_VERSION, model=OFFLINE_MODEL)
    assert analysis.input_hash == analyst.input_hash(analysis_input) == expected
    assert (analysis.model, analysis.prompt_version) == (OFFLINE_MODEL, OFFLINE_VERSION)


async def test_the_openai_analysts_hash_can_be_computed_without_calling_the_model() -> None:
    client = openai.AsyncOpenAI(api_key="sk-test", base_url="http://llm.invalid/v1")
    analyst = OpenAIAnalyst(client, model="gpt-4o")
    analysis_input = sample_input()

    expected = analysis_input_hash(analysis_input, prompt_version=PROMPT_VERSION, model="gpt-4o")
    assert analyst.input_hash(analysis_input) == expected
    assert analyst.input_hash(analysis_input) != OfflineAnalyst().input_hash(analysis_input)
    await client.close()


@pytest.mark.parametrize(
    ("free_onset", "free_wake", "kind"),
    [("23:00", "06:00", "an early"), ("01:00", "08:00", "an intermediate"), ("03:00", "12:00", "a late")],
)  # MSFsc 02:30, 04:30 (SDf 7 h <= SDw 8 h: no correction) and 07:09
async def test_the_chronotype_is_named_from_mid_sleep_on_free_days(free_onset: str, free_wake: str, kind: str) -> None:
    builder = HealthDataBuilder()
    for offset in range(14):
        day = MONDAY + timedelta(days=offset)
        if day.weekday() < 5:
            builder.night(datetime.fromisoformat(f"{day - timedelta(days=1)}T23:00+00:00"),
                          datetime.fromisoformat(f"{day}T07:00+00:00"))  # fmt: skip
        else:
            before = day - timedelta(days=1) if free_onset >= "12:00" else day
            builder.night(datetime.fromisoformat(f"{before}T{free_onset}+00:00"),
                          datetime.fromisoformat(f"{day}T{free_wake}+00:00"))  # fmt: skip
    analysis = await OfflineAnalyst().analyse(builder.build(AnalysisType.CIRCADIAN))

    cited = {i.metric: i.text for i in analysis.insights}
    assert f"{kind} chronotype" in cited["circadian.chronotype_msfsc"]
