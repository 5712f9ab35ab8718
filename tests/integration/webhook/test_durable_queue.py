"""Webhook jobs on the durable queue: a delivery is committed before it is acknowledged, a job that dies keeps the
record's key and never its values, and a retried dead letter fetches the record again."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.clock import ManualClock
from sahha_sync.adapters.memory import InMemoryHealthDataSource
from sahha_sync.adapters.queue import ProcrastinateJobQueue
from sahha_sync.adapters.sql import create_engine, sql_unit_of_work_factory
from sahha_sync.application.ports import JobContext
from sahha_sync.application.use_cases.ingest_webhook import IngestWebhookRecords
from sahha_sync.domain import FetchWindow, HealthRecords
from tests.integration.queue._durable import fast_queue, jobs_table_text, rows, until
from tests.unit.webhook.deliveries import NOW, STEPS_VALUE, USER, biomarker_body, encode, receiver_for, signed_headers
from tests.unit.webhook.test_ingest_webhook import steps

pytestmark = pytest.mark.postgres

NOVEMBER = FetchWindow(NOW.replace(day=1), NOW)


@pytest.fixture
async def engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(postgres_url)
    yield engine
    await engine.dispose()


async def post(queue: ProcrastinateJobQueue, engine: AsyncEngine, body: dict[str, Any]) -> httpx.Response:
    receiver = receiver_for(queue, sql_unit_of_work_factory(engine), ManualClock(NOW))
    raw = encode(body)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver), base_url="http://h") as client:
        return await client.post("/", content=raw, headers=signed_headers(raw, external_id=None))


async def test_an_acknowledged_delivery_is_a_committed_job(postgres_url: str, engine: AsyncEngine) -> None:
    queue = fast_queue(postgres_url, run_worker=False)
    await queue.start()
    try:
        response = await post(queue, engine, biomarker_body())
        # another connection sees it at once: the submit returned after its commit
        found = rows(postgres_url, "SELECT args->'payload'->>'user_id', task_name FROM procrastinate_jobs")
    finally:
        await queue.stop(drain=False)

    assert response.status_code == 202
    assert found == [(USER, IngestWebhookRecords.JOB_TYPE)]


async def test_a_dead_webhook_job_keeps_the_key_and_never_the_record(postgres_url: str, engine: AsyncEngine) -> None:
    queue = fast_queue(postgres_url, max_attempts=1)

    async def dies(payload: Mapping[str, Any], context: JobContext) -> None:
        raise ValueError("not retried")

    queue.register(IngestWebhookRecords.JOB_TYPE, dies)
    await queue.start()
    try:
        await post(queue, engine, biomarker_body())
        await until(lambda: _dead_count(postgres_url) == 1)
        (dead,) = await queue.dead_jobs()
    finally:
        await queue.stop(drain=False)

    assert (dead.payload["kind"], dead.payload["user_id"], dead.payload["key"]["type"]) == ("biomarker", USER, "steps")
    assert "sahha_data" not in dead.payload
    assert STEPS_VALUE not in jobs_table_text(postgres_url)


async def test_a_retried_dead_webhook_job_fetches_its_record_again(postgres_url: str, engine: AsyncEngine) -> None:
    source = InMemoryHealthDataSource(HealthRecords(biomarkers=(steps("4242"),)))
    healthy = IngestWebhookRecords(unit_of_work=sql_unit_of_work_factory(engine), clock=ManualClock(NOW), source=source)
    failing = True

    async def handler(payload: Mapping[str, Any], context: JobContext) -> None:
        if failing:
            raise ValueError("not retried")
        await healthy(payload, context)

    queue = fast_queue(postgres_url, max_attempts=1)
    queue.register(IngestWebhookRecords.JOB_TYPE, handler)
    await queue.start()
    try:
        await post(queue, engine, biomarker_body())
        await until(lambda: _dead_count(postgres_url) == 1)
        failing = False
        assert len(await queue.retry_dead()) == 1
        assert await queue.wait_idle(20)
    finally:
        await queue.stop(drain=False)

    async with sql_unit_of_work_factory(engine)() as uow:
        (row,) = (await uow.archive.read_window(USER, NOVEMBER)).biomarkers
    assert row.value == "4242"  # Sahha's current value, fetched again


async def test_forgetting_a_user_purges_their_queued_webhook_jobs(postgres_url: str, engine: AsyncEngine) -> None:
    queue = fast_queue(postgres_url, run_worker=False)
    await queue.start()
    try:
        assert (await post(queue, engine, biomarker_body())).status_code == 202
        assert (await post(queue, engine, biomarker_body(externalId="someone-else"))).status_code == 202
        purged = await queue.purge_user(USER)
    finally:
        await queue.stop(drain=False)

    assert purged == 1
    assert rows(postgres_url, "SELECT args->'payload'->>'user_id' FROM procrastinate_jobs") == [("someone-else",)]


def _dead_count(url: str) -> int:
    return int(rows(url, "SELECT count(*) FROM procrastinate_jobs WHERE status = 'failed'")[0][0])
