"""The three degradations, each visible in the result, in the events and in the stored analysis:
Sahha down → the archive, said to be stale and up to when; the model down → the offline analysis, marked;
both down → a clear error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import openai
import pytest

from sahha_sync.adapters.llm import OfflineAnalyst, OpenAIAnalyst
from sahha_sync.application.ports import Analyst, AnalystUnavailableError, SahhaUnavailableError
from sahha_sync.application.use_cases import AnalysisUnavailableError, RunAnalysis
from sahha_sync.domain import (
    AnalysisCompleted,
    AnalysisFailed,
    HealthDataFetched,
    HealthDataFetchFailed,
    HealthRecords,
)
from sahha_sync.domain.metrics import stale_data_note
from tests.unit.application.conftest import ARCHETYPE, BEHAVIOR, START, USER, Harness, ScriptedAnalyst, days_of_data
from tests.unit.application.test_reuse import CountingModel


class SwitchableModel(CountingModel):
    """The counting model server, answering 503 while ``down``."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            self.calls += 1
            return httpx.Response(503, json={"error": {"message": "overloaded", "type": "server_error"}})
        return super().__call__(request)


@pytest.fixture
async def model() -> AsyncIterator[tuple[SwitchableModel, OpenAIAnalyst]]:
    server = SwitchableModel()
    http = httpx.AsyncClient(transport=httpx.MockTransport(server))
    client = openai.AsyncOpenAI(api_key="sk-test", base_url="http://llm.test/v1", http_client=http)
    yield server, OpenAIAnalyst(client, model="gpt-4o", max_retries=0)
    await http.aclose()


def rewire(harness: Harness, analyst: Analyst, fallback: Analyst | None = None) -> None:
    harness.run = RunAnalysis(
        source=harness.source,
        analyst=analyst,
        unit_of_work=harness.stores.unit_of_work,
        queue=harness.queue,
        clock=harness.clock,
        fallback_analyst=fallback,
    )


def six_days() -> HealthRecords:
    return days_of_data(USER, START - timedelta(days=6), 6)


async def archived_first_run(harness: Harness) -> Any:
    """A run while everything is up, archived; then an hour passes."""
    harness.source.add(six_days())
    outcome = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)
    await harness.drain()
    harness.clock.advance(timedelta(hours=1))
    return outcome


async def test_with_sahha_down_the_archive_is_analysed_and_the_analysis_says_it_may_be_stale_as_of_when(
    harness: Harness, model: tuple[SwitchableModel, OpenAIAnalyst]
) -> None:
    _, analyst = model
    rewire(harness, analyst, OfflineAnalyst())
    first = await archived_first_run(harness)
    harness.source.fail_with(SahhaUnavailableError("Sahha answered 503 after 3 retries"))

    outcome = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)

    newest = max(b.end_date_time for b in first.snapshot.biomarkers)
    assert outcome.data_source == "archive"
    assert outcome.stale_as_of == newest
    assert outcome.degraded
    assert not outcome.fallback_analyst_used
    assert outcome.analysis.analyst == "openai"
    note = stale_data_note(newest)
    assert newest.isoformat() in note
    assert outcome.analysis.data_quality_notes.count(note) == 1
    (failed,) = await harness.events_of(outcome.run_id, HealthDataFetchFailed)
    assert (failed.fallback_used, failed.error_kind) == (True, "SahhaUnavailableError")
    (fetched,) = await harness.events_of(outcome.run_id, HealthDataFetched)
    assert fetched.source == "archive"
    stored = await harness.stores.analysis_results.get(outcome.run_id)
    assert stored is not None
    assert note in stored.analysis.data_quality_notes


async def test_the_stale_note_is_added_whatever_the_analyst_writes(harness: Harness) -> None:
    await archived_first_run(harness)
    harness.source.fail_with(SahhaUnavailableError("503"))

    outcome = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)

    assert outcome.stale_as_of is not None
    assert outcome.analysis.data_quality_notes == (stale_data_note(outcome.stale_as_of),)


async def test_with_the_model_down_the_offline_analysis_answers_marked_as_such(
    harness: Harness, model: tuple[SwitchableModel, OpenAIAnalyst]
) -> None:
    server, analyst = model
    rewire(harness, analyst, OfflineAnalyst())
    server.down = True
    harness.source.add(six_days())

    outcome = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)

    assert server.calls == 1
    assert outcome.data_source == "sahha"
    assert outcome.fallback_analyst_used
    assert outcome.degraded
    assert outcome.analysis.analyst == "offline"
    assert any("openai analyst failed" in note for note in outcome.analysis.data_quality_notes)
    (failed,) = await harness.events_of(outcome.run_id, AnalysisFailed)
    assert (failed.analyst, failed.error_kind) == ("openai", "AnalystUnavailableError")
    (completed,) = await harness.events_of(outcome.run_id, AnalysisCompleted)
    assert completed.analyst == "offline"
    stored = await harness.stores.analysis_results.get(outcome.run_id)
    assert stored is not None
    assert stored.analyst == "offline"
    assert stored.analysis == outcome.analysis


async def test_when_the_model_is_back_the_same_data_is_analysed_by_it_not_served_from_the_offline_result(
    harness: Harness, model: tuple[SwitchableModel, OpenAIAnalyst]
) -> None:
    server, analyst = model
    rewire(harness, analyst, OfflineAnalyst())
    server.down = True
    harness.source.add(six_days())
    await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)
    await harness.drain()
    harness.clock.advance(timedelta(hours=1))

    server.down = False
    outcome = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)

    assert server.calls == 2
    assert not outcome.reused
    assert outcome.analysis.analyst == "openai"


async def test_with_sahha_and_the_model_both_down_the_error_names_both_and_no_analysis_is_made(
    harness: Harness, model: tuple[SwitchableModel, OpenAIAnalyst]
) -> None:
    server, analyst = model
    fallback = ScriptedAnalyst(name="offline")
    rewire(harness, analyst, fallback)
    harness.source.fail_with(SahhaUnavailableError("Sahha answered 503 after 3 retries"))
    server.down = True

    with pytest.raises(AnalysisUnavailableError, match=r"Sahha is unavailable.*openai analyst failed") as raised:
        await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)

    error = raised.value
    assert isinstance(error, AnalystUnavailableError)  # hosts catching the analyst's errors still catch it
    assert error.retryable
    assert (error.source_error_kind, error.analyst_error_kind) == ("SahhaUnavailableError", "AnalystUnavailableError")
    assert fallback.inputs == []  # no analysis of stale data by the stand-in
    (row,) = await harness.stores.tracking.list_all()
    assert row.analysis_timestamp is None  # the watermark did not move
    assert len(await harness.events_of(row.run_id, HealthDataFetchFailed)) == 1
    (failed,) = await harness.events_of(row.run_id, AnalysisFailed)
    assert failed.analyst == "openai"
    assert await harness.events_of(row.run_id, AnalysisCompleted) == []
    assert await harness.stores.analysis_results.get(row.run_id) is None


async def test_with_both_down_an_unchanged_archived_input_is_still_answered_from_the_stored_analysis(
    harness: Harness, model: tuple[SwitchableModel, OpenAIAnalyst]
) -> None:
    server, analyst = model
    rewire(harness, analyst, OfflineAnalyst())
    await archived_first_run(harness)
    harness.source.fail_with(SahhaUnavailableError("503"))
    stale = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)  # the model analyses the archive
    harness.clock.advance(timedelta(minutes=10))
    server.down = True

    outcome = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)

    assert server.calls == 2  # the first run and the stale run; none for this one
    assert outcome.reused_from == stale.run_id
    assert outcome.data_source == "archive"
    assert outcome.analysis == stale.analysis


async def test_with_sahha_down_and_the_offline_analyst_alone_the_archive_is_still_analysed(harness: Harness) -> None:
    rewire(harness, OfflineAnalyst())
    await archived_first_run(harness)
    harness.source.fail_with(SahhaUnavailableError("503"))

    outcome = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)

    assert outcome.data_source == "archive"
    assert outcome.analysis.analyst == "offline"
    assert outcome.stale_as_of is not None
    assert stale_data_note(outcome.stale_as_of) in outcome.analysis.data_quality_notes
