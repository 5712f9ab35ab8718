"""An unchanged input costs no analyst call: the stored analysis of the last run is returned, and recorded so."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import openai
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.clock import ManualClock
from sahha_sync.adapters.llm import OfflineAnalyst, OpenAIAnalyst
from sahha_sync.adapters.memory import InMemoryHealthDataSource, InMemoryJobQueue
from sahha_sync.adapters.sql import sql_unit_of_work_factory
from sahha_sync.application.ports import Analyst, UnitOfWorkFactory
from sahha_sync.application.use_cases import ArchiveHealthData, RunAnalysis
from sahha_sync.domain import AnalysisCompleted, Biomarker, HealthRecords, stream_id_for
from tests.unit.application.conftest import ARCHETYPE, BEHAVIOR, START, USER, Harness, ScriptedAnalyst, days_of_data

REPLY = {
    "summary": "Steps were steady across the week.",
    "insights": [{"text": "Steps averaged about 8,000 a day.", "metric": "behavior.steps.level"}],
    "recommendations": ["Keep the weekday walks."],
    "data_quality_notes": [],
}


class CountingModel:
    """An OpenAI-compatible server on ``httpx.MockTransport`` that answers every chat completion the same way."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        return httpx.Response(200, json=completion(json.dumps(REPLY)))


def completion(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_764_380_000,
        "model": "gpt-4o",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 2000, "completion_tokens": 300, "total_tokens": 2300},
    }


@pytest.fixture
async def model() -> AsyncIterator[tuple[CountingModel, Callable[..., OpenAIAnalyst]]]:
    """The counting server, and a builder of OpenAI analysts that talk to it (no SDK retries)."""
    server = CountingModel()
    http = httpx.AsyncClient(transport=httpx.MockTransport(server))
    client = openai.AsyncOpenAI(api_key="sk-test", base_url="http://llm.test/v1", http_client=http)

    def build(**options: Any) -> OpenAIAnalyst:
        options.setdefault("max_retries", 0)
        return OpenAIAnalyst(client, **options)

    yield server, build
    await http.aclose()


def rewire(harness: Harness, analyst: Analyst, fallback: Analyst | None = None) -> RunAnalysis:
    """The harness's pipeline with other analysts."""
    harness.run = RunAnalysis(
        source=harness.source,
        analyst=analyst,
        unit_of_work=harness.stores.unit_of_work,
        queue=harness.queue,
        clock=harness.clock,
        fallback_analyst=fallback,
    )
    return harness.run


async def run_archived(harness: Harness, archetype: str = ARCHETYPE, analysis_type: str = BEHAVIOR) -> Any:
    """One run, then its archival, then an hour passes."""
    outcome = await harness.run.run_analysis(USER, archetype, analysis_type)
    await harness.drain()
    harness.clock.advance(timedelta(hours=1))
    return outcome


def six_days() -> HealthRecords:
    """Six days of data that stay inside the 7-day analysis period for the next hours."""
    return days_of_data(USER, START - timedelta(days=6), 6)


def with_steps(records: HealthRecords, index: int, value: int) -> Biomarker:
    return dataclasses.replace(records.biomarkers[index], value=str(value))


async def test_the_same_input_twice_calls_the_model_once(
    harness: Harness, model: tuple[CountingModel, Callable[..., OpenAIAnalyst]]
) -> None:
    server, build = model
    rewire(harness, build())
    harness.source.add(six_days())

    first = await run_archived(harness)
    second = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)

    assert server.calls == 1
    assert not first.reused
    assert second.reused
    assert second.reused_from == first.run_id
    assert second.analysis == first.analysis
    assert second.analysis.metrics == first.analysis.metrics
    assert second.is_incremental  # the data was still fetched, and will be archived
    (completed,) = await harness.events_of(second.run_id, AnalysisCompleted)
    assert completed.reused
    assert completed.input_hash == first.analysis.input_hash
    assert (completed.prompt_tokens, completed.completion_tokens) == (0, 0)  # no tokens spent on this run
    (original,) = await harness.events_of(first.run_id, AnalysisCompleted)
    assert not original.reused
    assert (original.prompt_tokens, original.completion_tokens) == (2000, 300)


async def test_one_changed_biomarker_that_a_metric_uses_makes_a_new_call(
    harness: Harness, model: tuple[CountingModel, Callable[..., OpenAIAnalyst]]
) -> None:
    server, build = model
    rewire(harness, build())
    data = six_days()
    harness.source.add(data)
    first = await run_archived(harness)

    harness.source.add(HealthRecords(biomarkers=(with_steps(data, -1, 12_345),)))  # the newest day's steps
    second = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)

    assert server.calls == 2
    assert not second.reused
    assert second.analysis.input_hash != first.analysis.input_hash
    (completed,) = await harness.events_of(second.run_id, AnalysisCompleted)
    assert not completed.reused


async def test_a_run_that_reused_an_analysis_is_reused_in_turn_naming_the_run_that_produced_it(
    harness: Harness, model: tuple[CountingModel, Callable[..., OpenAIAnalyst]]
) -> None:
    server, build = model
    rewire(harness, build())
    harness.source.add(six_days())

    first = await run_archived(harness)
    second = await run_archived(harness)
    third = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)

    assert server.calls == 1
    assert (second.reused_from, third.reused_from) == (first.run_id, first.run_id)
    stored = await harness.stores.analysis_results.get(third.run_id)
    assert stored is not None
    assert stored.produced_by == first.run_id


async def test_another_archetype_or_analysis_type_is_analysed_on_its_own(
    harness: Harness, model: tuple[CountingModel, Callable[..., OpenAIAnalyst]]
) -> None:
    server, build = model
    rewire(harness, build())
    harness.source.add(six_days())

    await run_archived(harness)
    other_type = await run_archived(harness, analysis_type="circadian_analysis")
    other_archetype = await harness.run.run_analysis(USER, "Night Owl", BEHAVIOR)

    assert server.calls == 3
    assert not other_type.reused
    assert not other_archetype.reused


async def test_another_model_for_the_same_input_is_a_new_call(
    harness: Harness, model: tuple[CountingModel, Callable[..., OpenAIAnalyst]]
) -> None:
    server, build = model
    rewire(harness, build(model="gpt-4o"))
    harness.source.add(six_days())
    first = await run_archived(harness)

    rewire(harness, build(model="gpt-4.1"))
    second = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)

    assert server.calls == 2
    assert not second.reused
    assert (first.analysis.model, second.analysis.model) == ("gpt-4o", "gpt-4.1")


async def test_an_analyst_without_an_input_hash_is_called_every_time(harness: Harness) -> None:
    harness.source.add(six_days())

    await run_archived(harness)
    second = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)

    assert len(harness.analyst.inputs) == 2
    assert not second.reused


async def test_the_offline_analyst_is_reused_too(harness: Harness) -> None:
    offline = OfflineAnalyst()
    rewire(harness, offline)
    harness.source.add(six_days())

    first = await run_archived(harness)
    second = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)

    assert second.reused_from == first.run_id
    assert second.analysis == first.analysis


class HashFailingAnalyst(ScriptedAnalyst):
    def input_hash(self, analysis_input: object) -> str:
        raise ValueError("cannot hash")


async def test_an_input_hash_that_cannot_be_computed_only_means_the_analyst_is_called(harness: Harness) -> None:
    analyst = HashFailingAnalyst()
    rewire(harness, analyst)
    harness.source.add(six_days())

    await run_archived(harness)
    second = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)

    assert len(analyst.inputs) == 2
    assert not second.reused


async def database_run(factory: UnitOfWorkFactory, analyst: Analyst) -> tuple[RunAnalysis, InMemoryJobQueue]:
    clock = ManualClock(START)
    source = InMemoryHealthDataSource(six_days())
    queue = InMemoryJobQueue(backoff_base=0.001)
    queue.register(ArchiveHealthData.JOB_TYPE, ArchiveHealthData(unit_of_work=factory, clock=clock, source=source))
    await queue.start()
    run = RunAnalysis(source=source, analyst=analyst, unit_of_work=factory, queue=queue, clock=clock)
    return run, queue


async def test_in_a_database_the_stored_analysis_equals_what_the_host_got_and_is_reused(
    sql_engine: AsyncEngine, model: tuple[CountingModel, Callable[..., OpenAIAnalyst]]
) -> None:
    server, build = model
    factory = sql_unit_of_work_factory(sql_engine)
    run, queue = await database_run(factory, build())
    try:
        first = await run.run_analysis(USER, ARCHETYPE, BEHAVIOR)
        assert await queue.wait_idle(timeout=10)
        second = await run.run_analysis(USER, ARCHETYPE, BEHAVIOR)
    finally:
        await queue.stop(drain=False)

    assert server.calls == 1
    assert second.reused_from == first.run_id
    async with factory() as uow:
        stored = await uow.analysis_results.get(first.run_id)
        latest = await uow.analysis_results.latest(USER, ARCHETYPE, BEHAVIOR)
        events = [r.event for r in await uow.events.read_stream(stream_id_for(second.run_id))]
    assert stored is not None
    assert stored.analysis == first.analysis
    assert stored.analysis.metrics == first.analysis.metrics
    assert latest is not None
    assert latest.run_id == second.run_id
    assert [e.reused for e in events if isinstance(e, AnalysisCompleted)] == [True]
