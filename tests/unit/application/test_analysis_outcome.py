"""What a run answers about its analysis: the host's work schedule reaches the metrics, which the outcome exposes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sahha_sync.adapters.llm import OfflineAnalyst
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.schedule import WorkSchedule
from tests.unit.application.conftest import ARCHETYPE, BEHAVIOR, START, USER, Harness, days_of_data

MONDAY_TO_WEDNESDAY = WorkSchedule.of_days(["mon", "tue", "wed"])


async def test_the_hosts_work_schedule_is_what_the_analyst_is_given(harness: Harness) -> None:
    harness.source.add(days_of_data(USER, START - timedelta(days=7), 7))

    await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR, work_schedule=MONDAY_TO_WEDNESDAY)
    await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR)

    assert [i.work_schedule for i in harness.analyst.inputs] == [MONDAY_TO_WEDNESDAY, None]


async def test_the_outcome_exposes_the_metrics_with_their_days_and_the_schedule_they_used() -> None:
    harness = Harness(analyst=OfflineAnalyst())  # type: ignore[arg-type]
    harness.source.add(days_of_data(USER, START - timedelta(days=7), 7))

    outcome = await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR, work_schedule=MONDAY_TO_WEDNESDAY)

    metrics = outcome.metrics
    assert metrics["schedule"] == {
        "description": "work days Monday to Wednesday; free days Thursday to Sunday",
        "given": True,
    }
    behaviour = {m["name"]: m for m in metrics["behavior"]}  # type: ignore[union-attr]
    assert behaviour["behavior.steps.level"]["days"] == 7
    assert behaviour["behavior.steps.level"]["unit"] == "count"
    assert behaviour["behavior.steps.trend"]["reason"] == "needs at least 14 days of data, has 7"


async def test_a_work_schedule_that_is_not_one_is_refused(harness: Harness) -> None:
    with pytest.raises(InvalidInputError, match="work_schedule"):
        await harness.run.run_analysis(USER, ARCHETYPE, BEHAVIOR, work_schedule="mon-fri")  # type: ignore[arg-type]
