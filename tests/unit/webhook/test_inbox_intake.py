"""With the in-memory queue a delivery is acknowledged once it is in the inbox: the job that archives it names the
entry (no values), and what a process left in the inbox is queued again at the next start."""

from __future__ import annotations

import json

import httpx
import pytest

from sahha_sync.adapters.clock import ManualClock
from sahha_sync.adapters.memory import InMemoryJobQueue, InMemoryStores, InMemoryWebhookInbox
from sahha_sync.application.ports import QueueUnavailableError, WebhookInboxUnavailableError
from sahha_sync.application.use_cases import RecoverWebhookInbox
from sahha_sync.application.use_cases.ingest_webhook import IngestWebhookRecords
from tests.unit.webhook.deliveries import (
    NOW,
    SCORE_EVENT,
    STEPS_VALUE,
    USER,
    biomarker_body,
    encode,
    receiver_for,
    score_body,
    signed_headers,
)


class BrokenInbox(InMemoryWebhookInbox):
    async def put(self, *args: object, **kwargs: object) -> object:  # type: ignore[override]
        raise WebhookInboxUnavailableError("database away")


def worker(stores: InMemoryStores, inbox: InMemoryWebhookInbox) -> InMemoryJobQueue:
    queue = InMemoryJobQueue(backoff_base=0.001)
    handler = IngestWebhookRecords(unit_of_work=stores.unit_of_work, clock=ManualClock(NOW), inbox=inbox)
    queue.register(IngestWebhookRecords.JOB_TYPE, handler)
    return queue


async def deliver(queue: InMemoryJobQueue, stores: InMemoryStores, inbox: InMemoryWebhookInbox) -> httpx.Response:
    receiver = receiver_for(queue, stores.unit_of_work, ManualClock(NOW), inbox=inbox)
    raw = encode(biomarker_body())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver), base_url="http://h") as client:
        return await client.post("/", content=raw, headers=signed_headers(raw))


async def run_to_idle(queue: InMemoryJobQueue) -> None:
    """Start ``queue``, let it run every job it holds, and stop it."""
    await queue.start()
    assert await queue.wait_idle(5)
    await queue.stop()


async def test_an_acknowledged_delivery_is_in_the_inbox_and_its_job_holds_no_value() -> None:
    stores, inbox = InMemoryStores(), InMemoryWebhookInbox()
    queue = worker(stores, inbox)  # not started: the job stays pending

    response = await deliver(queue, stores, inbox)

    assert response.status_code == 202
    (entry,) = await inbox.pending()
    assert entry.payload["sahha_data"]["value"] == STEPS_VALUE
    await run_to_idle(queue)
    assert stores.archive.counts()["biomarkers"] == 1
    assert len(inbox) == 0


async def test_the_job_of_an_inbox_entry_names_it_without_values() -> None:
    stores, inbox = InMemoryStores(), InMemoryWebhookInbox()
    queue = worker(stores, inbox)
    queue.register(IngestWebhookRecords.JOB_TYPE, _failing)
    await queue.start()

    await deliver(queue, stores, inbox)
    assert await queue.wait_idle(5)
    await queue.stop()

    (dead,) = await queue.dead_jobs()
    assert dead.payload["inbox_id"] == (await inbox.pending())[0].entry_id
    assert (dead.payload["user_id"], dead.payload["key"]["type"]) == (USER, "steps")
    assert STEPS_VALUE not in json.dumps(dead.payload)


async def _failing(payload: object, context: object) -> None:
    raise ValueError("not retried")


async def test_a_delivery_whose_queue_is_closed_is_still_acknowledged_and_queued_at_the_next_start() -> None:
    stores, inbox = InMemoryStores(), InMemoryWebhookInbox()
    stopped = worker(stores, inbox)
    await stopped.stop()

    response = await deliver(stopped, stores, inbox)

    assert response.status_code == 202
    assert response.json()["job_id"] is None
    restarted = worker(stores, inbox)
    await restarted.start()
    assert await RecoverWebhookInbox(inbox=inbox, queue=restarted).recover() == 1
    assert await restarted.wait_idle(5)
    await restarted.stop()
    assert stores.archive.counts()["biomarkers"] == 1
    assert len(inbox) == 0


async def test_an_inbox_that_cannot_store_gets_503_so_the_sender_retries() -> None:
    stores, inbox = InMemoryStores(), BrokenInbox()

    response = await deliver(worker(stores, inbox), stores, inbox)

    assert (response.status_code, response.json()["reason"]) == (503, "storage_unavailable")
    assert response.headers["retry-after"] == "30"


async def test_recovery_queues_every_held_entry_once_and_archives_them_all() -> None:
    stores, inbox = InMemoryStores(), InMemoryWebhookInbox()
    first_life = worker(stores, inbox)  # never started: the process died with its jobs
    receiver = receiver_for(first_life, stores.unit_of_work, ManualClock(NOW), inbox=inbox)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver), base_url="http://h") as client:
        for n in range(7):
            raw = encode(biomarker_body(value=str(n), type=f"type_{n}"))
            assert (await client.post("/", content=raw, headers=signed_headers(raw))).status_code == 202
        raw = encode(score_body())
        assert (await client.post("/", content=raw, headers=signed_headers(raw, SCORE_EVENT))).status_code == 202

    second_life = worker(stores, inbox)
    recovery = RecoverWebhookInbox(inbox=inbox, queue=second_life, page_size=3)
    queued = await recovery.recover()
    again = await recovery.recover()  # the jobs are still pending: nothing is queued twice
    await second_life.start()
    assert await second_life.wait_idle(5)
    await second_life.stop()

    assert (queued, again) == (8, 0)
    assert stores.archive.counts() == {"biomarkers": 7, "scores": 1, "archetypes": 0, "quarantined_records": 0}
    assert len(inbox) == 0
    assert (await second_life.get_stats()).completed == 8


async def test_recovery_without_an_inbox_queues_nothing() -> None:
    assert await RecoverWebhookInbox(inbox=None, queue=InMemoryJobQueue()).recover() == 0


async def test_an_unreadable_entry_is_left_for_an_operator_and_the_rest_recovered() -> None:
    stores, inbox = InMemoryStores(), InMemoryWebhookInbox()
    await inbox.put({"kind": "heart"}, dedup_key="bad", user_id=USER)
    await deliver(worker(stores, inbox), stores, inbox)
    queue = worker(stores, inbox)

    assert await RecoverWebhookInbox(inbox=inbox, queue=queue).recover() == 1
    await run_to_idle(queue)
    assert [e.payload for e in await inbox.pending()] == [{"kind": "heart"}]


async def test_a_queue_that_refuses_during_recovery_fails_the_recovery_and_keeps_the_entries() -> None:
    stores, inbox = InMemoryStores(), InMemoryWebhookInbox()
    await deliver(worker(stores, inbox), stores, inbox)

    class Refusing(InMemoryJobQueue):
        async def submit_job(self, *args: object, **kwargs: object) -> object:  # type: ignore[override]
            raise QueueUnavailableError("away")

    with pytest.raises(QueueUnavailableError):
        await RecoverWebhookInbox(inbox=inbox, queue=Refusing()).recover()
    assert len(inbox) == 1


async def test_a_dead_entry_is_queued_again_only_once_revived() -> None:
    stores, inbox = InMemoryStores(), InMemoryWebhookInbox()
    stopped = worker(stores, inbox)
    await stopped.stop()
    await deliver(stopped, stores, inbox)  # acknowledged, held in the inbox
    [entry] = await inbox.pending()
    for _ in range(3):  # three jobs began it and died
        await inbox.begin(entry.entry_id)
    queue = worker(stores, inbox)
    recovery = RecoverWebhookInbox(inbox=inbox, queue=queue, max_attempts=3)

    assert await recovery.recover() == 0  # a dead letter: left alone
    assert await recovery.revive_dead() == 1
    assert await recovery.revive_dead() == 0
    assert await recovery.recover() == 1
    await run_to_idle(queue)
    assert stores.archive.counts()["biomarkers"] == 1
    assert len(inbox) == 0


async def test_reviving_without_an_inbox_revives_nothing() -> None:
    assert await RecoverWebhookInbox(inbox=None, queue=InMemoryJobQueue()).revive_dead() == 0
