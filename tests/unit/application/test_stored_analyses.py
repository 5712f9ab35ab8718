"""``ReadStoredAnalyses``: the analyses past runs answered with, read back by run, newest, and history."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sahha_sync.application.ports import AnalystUnavailableError
from sahha_sync.application.use_cases import ReadStoredAnalyses
from sahha_sync.domain import InvalidInputError
from tests.unit.application.conftest import ARCHETYPE, START, USER, Harness, days_of_data


def stored(harness: Harness) -> ReadStoredAnalyses:
    return ReadStoredAnalyses(unit_of_work=harness.stores.unit_of_work)


async def test_a_stored_analysis_reads_back_equal_to_what_the_host_got(harness: Harness) -> None:
    harness.source.add(days_of_data(USER, START - timedelta(days=6), 6))

    outcome = await harness.run.run_analysis(USER, ARCHETYPE, "behavior")
    found = await stored(harness).get(outcome.run_id)

    assert found is not None
    assert found.analysis == outcome.analysis
    assert found.analysis.metrics == outcome.analysis.metrics
    assert (found.user_id, found.archetype, found.analysis_type) == (USER, ARCHETYPE, "behavior_analysis")
    assert found.created_at == harness.clock.now()
    assert found.reused_from is None


async def test_the_latest_analysis_and_the_history_newest_first_are_read(harness: Harness) -> None:
    harness.source.add(days_of_data(USER, START - timedelta(days=6), 6))
    analyses = stored(harness)
    runs = []
    for analysis_type in ("behavior", "circadian", "behavior"):
        runs.append(await harness.run.run_analysis(USER, ARCHETYPE, analysis_type))
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
        await harness.run.run_analysis(USER, ARCHETYPE, "behavior")

    (row,) = await harness.stores.tracking.list_all()
    assert await stored(harness).get(row.run_id) is None
    assert await stored(harness).history(USER) == []


async def test_reading_with_a_bad_argument_names_it(harness: Harness) -> None:
    analyses = stored(harness)
    with pytest.raises(InvalidInputError) as no_run:
        await analyses.get("  ")
    with pytest.raises(InvalidInputError) as bad_limit:
        await analyses.history(USER, limit=-1)
    assert (no_run.value.field, bad_limit.value.field) == ("run_id", "limit")
