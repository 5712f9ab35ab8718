"""Webhooks end to end into the SQL archive: receiver → queue → ``IngestWebhookRecords`` → ``SqlHealthArchive``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.clock import ManualClock
from sahha_sync.adapters.memory import InMemoryJobQueue
from sahha_sync.adapters.sql import sql_unit_of_work_factory
from sahha_sync.adapters.sql.tables import archetypes, biomarkers, scores
from sahha_sync.application.use_cases.ingest_webhook import IngestWebhookRecords
from sahha_sync.domain import FetchWindow, RecordsArchived
from tests.sql_stores import Committed
from tests.unit.webhook.deliveries import (
    ARCHETYPE_EVENT,
    BIOMARKER_EVENT,
    NOW,
    SCORE_EVENT,
    STEPS_VALUE,
    USER,
    archetype_body,
    biomarker_body,
    encode,
    receiver_for,
    score_body,
    signed_headers,
)

NOVEMBER = FetchWindow(datetime.fromisoformat("2026-11-01T00:00:00+00:00"), NOW)


@dataclass
class SqlHooks:
    engine: AsyncEngine
    queue: InMemoryJobQueue
    client: httpx.AsyncClient

    async def deliver(self, body: dict[str, object], event_type: str, **headers: str) -> httpx.Response:
        raw = encode(body)
        response = await self.client.post("/", content=raw, headers={**signed_headers(raw, event_type), **headers})
        assert await self.queue.wait_idle(10)
        return response

    async def count(self, table: Table) -> int:
        async with self.engine.connect() as connection:
            return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())


@pytest.fixture
async def sql_hooks(sql_engine: AsyncEngine) -> AsyncIterator[SqlHooks]:
    clock = ManualClock(NOW)
    queue = InMemoryJobQueue(backoff_base=0.001)
    queue.register(
        IngestWebhookRecords.JOB_TYPE,
        IngestWebhookRecords(unit_of_work=sql_unit_of_work_factory(sql_engine), clock=clock),
    )
    receiver = receiver_for(queue, sql_unit_of_work_factory(sql_engine), clock)
    await queue.start()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver), base_url="http://h") as client:
            yield SqlHooks(sql_engine, queue, client)
    finally:
        await queue.stop(drain=True, timeout=10)


async def test_signed_deliveries_of_every_kind_land_in_their_tables_once(sql_hooks: SqlHooks) -> None:
    for _ in range(2):  # Sahha delivering everything twice changes nothing the second time
        assert (await sql_hooks.deliver(biomarker_body(), BIOMARKER_EVENT)).status_code == 202
        assert (await sql_hooks.deliver(score_body(), SCORE_EVENT)).status_code == 202
        assert (await sql_hooks.deliver(archetype_body(), ARCHETYPE_EVENT)).status_code == 202

    assert [await sql_hooks.count(t) for t in (biomarkers, scores, archetypes)] == [1, 1, 1]
    stored = await Committed(sql_hooks.engine, "archive").read_window(USER, NOVEMBER)
    assert stored.biomarkers[0].value == STEPS_VALUE
    assert stored.scores[0].factors[0].name == "sleep_duration"
    assert stored.archetypes[0].value == "highly_active"
    events = await Committed(sql_hooks.engine, "events").read_all()
    archived = [e for e in events if isinstance(e.event, RecordsArchived)]
    assert len(archived) == 3  # the user's freshness mark is one more event, in the user's delivery stream
    assert all(e.stream_id.startswith("run-webhook-2026-11-29-") for e in archived)
    assert (await sql_hooks.queue.get_stats()).dead == 0


async def test_a_changed_redelivery_updates_the_sql_row(sql_hooks: SqlHooks) -> None:
    await sql_hooks.deliver(biomarker_body(value="100"), BIOMARKER_EVENT)
    await sql_hooks.deliver(biomarker_body(value="250"), BIOMARKER_EVENT)

    assert await sql_hooks.count(biomarkers) == 1
    (row,) = (await Committed(sql_hooks.engine, "archive").read_window(USER, NOVEMBER)).biomarkers
    assert (row.value, row.value_numeric) == ("250", 250.0)
    events = [r.event for r in await Committed(sql_hooks.engine, "events").read_all()]
    assert [(e.inserted, e.updated) for e in events if isinstance(e, RecordsArchived) and e.kind == "biomarker"] == [
        (1, 0),
        (0, 1),
    ]


async def test_an_older_delivery_arriving_last_leaves_the_newer_value(sql_hooks: SqlHooks) -> None:
    first = biomarker_body(value="400", createdAtUtc="2026-11-28T11:05:00Z")
    later = biomarker_body(value="455", createdAtUtc="2026-11-28T12:05:00Z")
    for body in (first, later, first):  # Sahha redelivering the first after the second
        response = await sql_hooks.deliver(body, BIOMARKER_EVENT)
        assert (response.status_code, response.json()["duplicate"]) == (202, False)

    (row,) = (await Committed(sql_hooks.engine, "archive").read_window(USER, NOVEMBER)).biomarkers
    assert row.value == "455"
    events = [r.event for r in await Committed(sql_hooks.engine, "events").read_all()]
    assert [(e.inserted, e.updated) for e in events if isinstance(e, RecordsArchived)] == [(1, 0), (0, 1)]
    assert (await sql_hooks.queue.get_stats()).completed == 3


async def test_a_value_delivered_again_later_beats_an_older_other_value_delivered_after_it(
    sql_hooks: SqlHooks,
) -> None:
    """455 created at 11:05, 455 again at 13:05, then 400 created at 12:05: 455 stays, as new as 13:05."""
    for value, created in (("455", "11:05"), ("455", "13:05"), ("400", "12:05")):
        body = biomarker_body(value=value, createdAtUtc=f"2026-11-28T{created}:00Z")
        assert (await sql_hooks.deliver(body, BIOMARKER_EVENT)).status_code == 202

    (row,) = (await Committed(sql_hooks.engine, "archive").read_window(USER, NOVEMBER)).biomarkers
    assert (row.value, row.observed_at) == ("455", datetime.fromisoformat("2026-11-28T13:05:00+00:00"))


async def test_a_delivery_without_created_at_counts_as_new_as_when_it_was_received(sql_hooks: SqlHooks) -> None:
    undated = biomarker_body(value="455")
    del undated["createdAtUtc"]
    await sql_hooks.deliver(undated, BIOMARKER_EVENT)
    await sql_hooks.deliver(biomarker_body(value="400"), BIOMARKER_EVENT)  # created before NOW

    (row,) = (await Committed(sql_hooks.engine, "archive").read_window(USER, NOVEMBER)).biomarkers
    assert (row.value, row.observed_at) == ("455", NOW)


async def test_a_refused_delivery_leaves_the_sql_tables_empty(sql_hooks: SqlHooks) -> None:
    response = await sql_hooks.deliver(biomarker_body(), BIOMARKER_EVENT, **{"X-Signature": "f" * 64})

    assert response.status_code == 401
    assert [await sql_hooks.count(t) for t in (biomarkers, scores, archetypes)] == [0, 0, 0]
    assert await Committed(sql_hooks.engine, "events").read_all() == []


async def test_parallel_workers_ingest_a_burst_into_sql_without_a_dead_job(sql_engine: AsyncEngine) -> None:
    queue = InMemoryJobQueue(concurrency=4, backoff_base=0.01)
    queue.register(
        IngestWebhookRecords.JOB_TYPE,
        IngestWebhookRecords(unit_of_work=sql_unit_of_work_factory(sql_engine), clock=ManualClock(NOW)),
    )
    receiver = receiver_for(queue, sql_unit_of_work_factory(sql_engine), ManualClock(NOW))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver), base_url="http://h") as client:
        for n in range(120):
            user = f"user-{n % 6}"
            raw = encode(biomarker_body(value=str(n), external_id=user, type=f"type_{n // 6}"))
            response = await client.post("/", content=raw, headers=signed_headers(raw, external_id=user))
            assert response.status_code == 202
    await queue.start()
    assert await queue.wait_idle(60)
    await queue.stop()

    stats = await queue.get_stats()
    assert (stats.completed, stats.dead) == (120, 0)
    async with sql_engine.connect() as connection:
        assert (await connection.execute(select(func.count()).select_from(biomarkers))).scalar_one() == 120
    events = await Committed(sql_engine, "events").read_all()
    assert (
        sum(e.event.inserted for e in events if isinstance(e.event, RecordsArchived) and e.event.kind == "biomarker")
        == 120
    )
