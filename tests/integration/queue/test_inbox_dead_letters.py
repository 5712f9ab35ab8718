"""A webhook inbox entry whose job keeps dying is not queued again at every start: each job that begins archiving
it counts an attempt in the inbox, and after the maximum the entry is a dead letter that recovery leaves alone."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from sahha_sync.adapters.sql import SqlWebhookInbox, create_engine
from sahha_sync.application.use_cases.recover_webhook_inbox import MAX_ATTEMPTS
from sahha_sync.application.use_cases.webhook_delivery import WebhookDelivery
from sahha_sync.infrastructure import SahhaSync
from sahha_sync.infrastructure.settings import Settings
from tests.unit.webhook.deliveries import NOW, SECRET, USER
from tests.unit.webhook.test_ingest_webhook import steps


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(database_url=f"sqlite:///{tmp_path / 'sync.db'}", queue="memory", webhook_secret=SECRET)


async def entry_begun(settings: Settings, times: int) -> str:
    """An entry that ``times`` jobs began and none finished: each one's process died mid-way."""
    delivery = WebhookDelivery(record=replace(steps(), user_id=USER), received_at=NOW)
    engine = create_engine(settings.database_url)
    try:
        inbox = SqlWebhookInbox(engine)
        receipt = await inbox.put(delivery.to_payload(), dedup_key=delivery.dedup_key, user_id=USER)
        counts = [await inbox.begin(receipt.entry_id) for _ in range(times)]
        assert counts == list(range(1, times + 1))
        return receipt.entry_id
    finally:
        await engine.dispose()


async def attempts_held(settings: Settings) -> list[int]:
    engine = create_engine(settings.database_url)
    try:
        return [entry.attempts for entry in await SqlWebhookInbox(engine).pending()]
    finally:
        await engine.dispose()


async def restart(settings: Settings) -> int:
    """A process start: recovery queues the held entries, and the queue runs them; returns the biomarkers stored."""
    async with SahhaSync(settings) as sync:
        await sync.wait_for_recovery()
        assert await sync.wait_for_archival(30)
        return (await sync.stats()).webhook_inserted["biomarkers"]


async def migrated(settings: Settings) -> None:
    async with SahhaSync(settings, recover_on_start=False) as first:
        await first.start()


async def test_an_entry_whose_jobs_died_fewer_times_than_the_maximum_is_archived_at_the_next_start(
    settings: Settings,
) -> None:
    await migrated(settings)
    await entry_begun(settings, MAX_ATTEMPTS - 1)
    assert await restart(settings) == 1
    assert await attempts_held(settings) == []


async def test_an_entry_whose_jobs_died_the_maximum_times_stays_dead_across_starts(settings: Settings) -> None:
    await migrated(settings)
    await entry_begun(settings, MAX_ATTEMPTS)
    for _ in range(2):
        assert await restart(settings) == 0
    assert await attempts_held(settings) == [MAX_ATTEMPTS]  # kept for an operator, not counted up by starts
