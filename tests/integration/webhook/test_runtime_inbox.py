"""``SahhaSync`` with the in-memory queue and a SQL database: its receiver answers once a delivery is in the
webhook inbox, its queue archives and empties it, a start archives what an earlier process left there, and
forgetting a user empties their entries, and a delivery for a user erased before is acknowledged and not stored."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from sahha_sync.adapters.sql import SqlWebhookInbox, create_engine
from sahha_sync.adapters.sql.tables import biomarkers
from sahha_sync.application.use_cases.collect_stats import OperationsStats
from sahha_sync.application.use_cases.webhook_delivery import WebhookDelivery
from sahha_sync.infrastructure import SahhaSync
from sahha_sync.infrastructure.settings import Settings
from tests.unit.webhook.deliveries import NOW, SECRET, USER, biomarker_body, encode, signed_headers
from tests.unit.webhook.test_ingest_webhook import steps


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(database_url=f"sqlite:///{tmp_path / 'sync.db'}", queue="memory", webhook_secret=SECRET)


async def held(settings: Settings) -> int:
    engine = create_engine(settings.database_url)
    try:
        return len(await SqlWebhookInbox(engine).pending())
    finally:
        await engine.dispose()


async def leave_in_inbox(settings: Settings, user_id: str = USER) -> None:
    """What a process killed after acknowledging leaves behind: an entry and no job."""
    delivery = WebhookDelivery(record=replace(steps(), user_id=user_id), received_at=NOW)
    engine = create_engine(settings.database_url)
    try:
        await SqlWebhookInbox(engine).put(delivery.to_payload(), dedup_key=delivery.dedup_key, user_id=user_id)
    finally:
        await engine.dispose()


async def deliver(sync: SahhaSync) -> tuple[httpx.Response, OperationsStats]:
    """One signed biomarker delivery through ``sync``'s receiver, once archived: the answer, and the stats then."""
    receiver = await sync.webhook_receiver()
    raw = encode(biomarker_body())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver), base_url="http://h") as client:
        response = await client.post("/", content=raw, headers=signed_headers(raw))
    assert await sync.wait_for_archival(30)
    return response, await sync.stats()


async def test_the_runtimes_receiver_goes_through_the_inbox_and_its_queue_empties_it(settings: Settings) -> None:
    async with SahhaSync(settings) as sync:
        response, figures = await deliver(sync)

    assert response.status_code == 202
    assert figures.webhook_inserted["biomarkers"] == 1
    assert await held(settings) == 0


async def test_a_start_archives_the_deliveries_an_earlier_process_left_in_the_inbox(settings: Settings) -> None:
    async with SahhaSync(settings) as first:
        await first.start()  # migrates the SQLite file
    await leave_in_inbox(settings)
    assert await held(settings) == 1

    async with SahhaSync(settings) as sync:
        await sync.wait_for_recovery()
        assert await sync.wait_for_archival(30)
        figures = await sync.stats()

    assert figures.webhook_inserted["biomarkers"] == 1
    assert await held(settings) == 0


async def test_forgetting_a_user_empties_their_inbox_entries(settings: Settings) -> None:
    async with SahhaSync(settings, recover_on_start=False) as first:
        await first.start()
    await leave_in_inbox(settings)
    await leave_in_inbox(settings, "someone-else")

    async with SahhaSync(settings, recover_on_start=False) as sync:
        report = await sync.forget_user(USER)

    assert report.queued_jobs == 1
    assert await held(settings) == 1


async def test_a_delivery_for_an_erased_user_is_acknowledged_and_stores_nothing(settings: Settings) -> None:
    async with SahhaSync(settings) as sync:
        await sync.forget_user(USER)
        response, figures = await deliver(sync)

    assert response.status_code == 200  # Sahha need not send it again
    assert response.json() == {"status": "acknowledged", "reason": "user_erased"}
    assert figures.webhook_inserted["biomarkers"] == 0
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(select(func.count()).select_from(biomarkers)) == 0
    finally:
        await engine.dispose()
    assert await held(settings) == 0
