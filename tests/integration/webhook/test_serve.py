"""``serve_async``: a receiver alone under uvicorn, on a real socket; its queue stays its owner's."""

from __future__ import annotations

import asyncio
import socket

import httpx

from sahha_sync.adapters.clock import ManualClock
from sahha_sync.adapters.memory import InMemoryJobQueue, InMemoryStores
from sahha_sync.adapters.webhook import serve_async
from sahha_sync.application.use_cases.ingest_webhook import IngestWebhookRecords
from tests.unit.webhook.deliveries import NOW, biomarker_body, encode, receiver_for, signed_headers

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


async def post_when_up(port: int, raw: bytes, headers: dict[str, str], tries: int = 200) -> httpx.Response:
    """POST once the server listens (it binds in the background task); connection refusals mean 'not yet'."""
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}") as client:
        for _ in range(tries):
            try:
                return await client.post("/sahha/webhook", content=raw, headers=headers)
            except httpx.ConnectError:
                await asyncio.sleep(0.05)
    raise AssertionError("the webhook server never started listening")


async def test_a_served_receiver_archives_a_signed_delivery_and_refuses_an_unsigned_one() -> None:
    stores, stop, port, clock = InMemoryStores(), asyncio.Event(), free_port(), ManualClock(NOW)
    queue = InMemoryJobQueue()
    queue.register(IngestWebhookRecords.JOB_TYPE, IngestWebhookRecords(unit_of_work=stores.unit_of_work, clock=clock))
    await queue.start()
    receiver = receiver_for(queue, stores.unit_of_work, clock)
    server = asyncio.create_task(serve_async(receiver, HOST, port, stop=stop))
    raw = encode(biomarker_body())

    response = await post_when_up(port, raw, signed_headers(raw))
    unsigned = await post_when_up(port, raw, {"X-Event-Type": "BiomarkerCreatedIntegrationEvent"})
    stop.set()
    await asyncio.wait_for(server, 30)
    await queue.stop(drain=True, timeout=30)

    assert (response.status_code, unsigned.status_code) == (202, 401)
    assert stores.archive.counts()["biomarkers"] == 1


async def test_the_server_only_submits_and_leaves_the_queue_to_its_owner() -> None:
    queue, stop, port = InMemoryJobQueue(), asyncio.Event(), free_port()
    receiver = receiver_for(queue, InMemoryStores().unit_of_work, ManualClock(NOW))
    server = asyncio.create_task(serve_async(receiver, HOST, port, stop=stop))
    raw = encode(biomarker_body())

    response = await post_when_up(port, raw, signed_headers(raw))
    stop.set()
    await asyncio.wait_for(server, 30)

    assert response.status_code == 202
    assert (await queue.get_stats()).queued == 1  # for the workers that run elsewhere
    await queue.submit_job(IngestWebhookRecords.JOB_TYPE, {})  # still open: the server did not stop it
