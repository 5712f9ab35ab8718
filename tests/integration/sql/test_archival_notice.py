"""A host hears when a run's data lands: the optional ``on_archived`` listener once the archival committed, and on
Postgres the ``sahha_sync_archived`` channel, for completions and failed attempts alike."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.clock import ManualClock
from sahha_sync.adapters.sql import sql_unit_of_work_factory
from sahha_sync.application.use_cases import ArchivalOutcome, ArchiveHealthData
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.testing.records import T0, biomarker, unique_id
from tests.integration.sql.test_newest_value import ANALYSIS, ARCHETYPE, WINDOW, attempt, fetched, queued, record_run
from tests.sql_stores import Committed

CHANNEL = "sahha_sync_archived"


async def archive_one(engine: AsyncEngine, listener: Any, *, with_data: bool = True) -> tuple[str, str]:
    """Record a run of a new user and run its archival job (with its data, or without and nothing to fetch it);
    returns the user and the run."""
    unit_of_work = sql_unit_of_work_factory(engine)
    archival = ArchiveHealthData(
        unit_of_work=unit_of_work, clock=ManualClock(T0 + timedelta(hours=3)), on_archived=listener
    )
    user = unique_id()
    run = await record_run(unit_of_work, user, T0 + timedelta(hours=1))
    payload = queued(run, fetched(biomarker(user), "400", T0 + timedelta(hours=1)))
    if not with_data:
        del payload["sahha_data"]
    await archival.archive(payload, attempt(1))
    return user, run.run_id


async def test_the_listener_hears_a_completion_once_the_data_is_readable(sql_engine: AsyncEngine) -> None:
    heard: list[tuple[ArchivalOutcome, int]] = []

    async def listener(outcome: ArchivalOutcome) -> None:
        archived = await Committed(sql_engine, "archive").read_window(outcome.user_id, WINDOW)
        heard.append((outcome, len(archived.biomarkers)))

    user, run_id = await archive_one(sql_engine, listener)
    expected = ArchivalOutcome(run_id=run_id, user_id=user, archetype=ARCHETYPE, analysis_type=ANALYSIS, completed=True)
    assert heard == [(expected, 1)]


async def test_the_listener_hears_a_failed_attempt_by_its_kind(sql_engine: AsyncEngine) -> None:
    heard: list[ArchivalOutcome] = []
    with pytest.raises(InvalidInputError):
        await archive_one(sql_engine, heard.append, with_data=False)
    (outcome,) = heard
    assert (outcome.completed, outcome.will_retry, outcome.error_kind) == (False, False, "InvalidInputError")


async def test_a_listener_that_raises_leaves_the_archival_standing(sql_engine: AsyncEngine) -> None:
    def listener(_outcome: ArchivalOutcome) -> None:
        raise RuntimeError("the host's bug")

    user, _run_id = await archive_one(sql_engine, listener)
    assert len((await Committed(sql_engine, "archive").read_window(user, WINDOW)).biomarkers) == 1


@pytest.mark.postgres
async def test_postgres_announces_each_outcome_on_its_channel(postgres_engine: AsyncEngine, postgres_url: str) -> None:
    with psycopg.connect(postgres_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f"LISTEN {CHANNEL}")
        user, run_id = await archive_one(postgres_engine, None)
        with pytest.raises(InvalidInputError):
            await archive_one(postgres_engine, None, with_data=False)
        notices = [json.loads(n.payload) for n in conn.notifies(timeout=5, stop_after=2) if n.channel == CHANNEL]
    assert notices[0] == {
        "run_id": run_id,
        "user_id": user,
        "archetype": ARCHETYPE,
        "analysis_type": ANALYSIS,
        "outcome": "completed",
        "will_retry": False,
    }
    assert (notices[1]["outcome"], notices[1]["will_retry"]) == ("failed", False)
